"""The configuration of one segmentation run: what `segment run` saves in run.json and can replay."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

import pandas as pd

from core.algorithms import ALGORITHMS
from core.errors import SegmentationError
from core.features import FeatureSpec, check_feature
from core.outliers import ACTIONS, METHODS
from core.predictor import CLASSIFIERS
from core.preprocess import IMPUTERS, SCALERS, TRANSFORMS
from core.roles import ROLES

DEFAULT_ALGORITHMS = ("kmeans", "gmm", "hdbscan")


@dataclass
class RunConfig:
    """Everything that decides a run's result, apart from the data itself.

    Attributes:
        columns: the columns the analyst chose (None: every usable column).
        roles: role overrides by column name; the rest are inferred.
        k_min: smallest number of segments to try.
        k_max: largest number of segments to try.
        seed: seed for every random step.
        algorithms: the algorithms to try (keys of core.algorithms.ALGORITHMS).
        params: per algorithm, parameters that differ from the defaults.
        criterion: how the best candidate is chosen (silhouette, davies_bouldin, calinski_harabasz, dbcv,
            stability).
        select: a leaderboard row chosen by hand instead of the automatic choice.
        metric_sample_size: rows used for the quality metrics on large tables.
        sample_size: on larger tables every candidate is fitted and scored on a random sample of this many rows,
            and only the chosen model and the consensus members label every row.
        n_bootstrap: refits used to measure the chosen model's stability.
        max_components: on tables with more model features than this (one-hot columns count), candidates are fitted
            on at most this many principal components, those above noise; profiles, names and rules stay in the
            analyst's columns (0: never).
        features: engineered features (see core.features.FeatureSpec), added before segmenting.
        outliers: ``method`` (iqr or zscore), ``action`` (keep, cap or exclude) and ``threshold`` (default 1.5 for
            IQR, 3 for z-scores), applied to the numeric features.
        transform: ``yeo-johnson`` (default), ``log1p`` or ``none`` for skewed numeric features.
        transform_columns: the columns to transform (default: numeric features with skewness above 1).
        as_of: the reference date for date features (default the newest date in each column).
        classifier: the model that assigns new customers: ``logistic`` (default) or ``forest``.
        impute: how missing numbers and dates are filled: ``median`` (default), ``mean`` or ``knn``.
        scale: ``standard`` (default), ``robust`` or ``minmax`` scaling of numbers and dates.
        value: the column that says what a customer is worth, for each segment's share of value (None: the
            column whose name says spend, revenue or monetary, if any; ``none``: no value column).
    """

    columns: list[str] | None = None
    roles: dict[str, str] = field(default_factory=dict)
    k_min: int = 2
    k_max: int = 10
    seed: int = 0
    algorithms: list[str] = field(default_factory=lambda: list(DEFAULT_ALGORITHMS))
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    criterion: str = "auto"
    select: int | None = None
    metric_sample_size: int = 5_000
    sample_size: int = 100_000
    n_bootstrap: int = 10
    max_components: int = 50
    features: list[dict[str, Any]] = field(default_factory=list)
    outliers: dict[str, Any] = field(default_factory=lambda: {"method": "iqr", "action": "keep", "threshold": None})
    # Skewed amounts (skewness above 1) are Yeo-Johnson transformed by default: raw, a few big spenders dominate the
    # z-scores (measured: the credit-card file gave 10 mixture components and silhouette 0.02 raw, 4 readable
    # segments transformed; the known-structure suite holds at 0.98 mean ARI either way).
    transform: str = "yeo-johnson"
    transform_columns: list[str] | None = None
    as_of: str | None = None
    classifier: str = "logistic"
    impute: str = "median"
    scale: str = "standard"
    value: str | None = None

    def __post_init__(self) -> None:
        for item in fields(self):  # a hand-edited run.json can hold text where a number goes
            value = getattr(self, item.name)
            whole = isinstance(value, int) and not isinstance(value, bool)
            if item.type in ("int", "int | None") and not whole and not (value is None and item.type != "int"):
                raise SegmentationError(f"The setting {item.name} must be a whole number; got {value!r}.")
        bad = {c: r for c, r in self.roles.items() if r not in ROLES}
        if bad:
            column, role = next(iter(bad.items()))
            raise SegmentationError(f"Unknown role '{role}' for column '{column}'; use one of: {', '.join(ROLES)}.")
        unknown = [a for a in self.algorithms if a not in ALGORITHMS]
        if unknown or not self.algorithms:
            raise SegmentationError(
                f"Unknown algorithm(s): {', '.join(unknown) or 'none chosen'}; choose from: {', '.join(ALGORITHMS)}."
            )
        for algorithm, given in self.params.items():
            if algorithm not in self.algorithms:
                raise SegmentationError(f"Parameters given for '{algorithm}', which is not among the algorithms run.")
            ALGORITHMS[algorithm].validate(given)
        self.outliers = {"method": "iqr", "action": "keep", "threshold": None, **(self.outliers or {})}
        if self.outliers["method"] not in METHODS:
            raise SegmentationError(f"Unknown outlier method '{self.outliers['method']}'; use iqr or zscore.")
        if self.outliers["action"] not in ACTIONS:
            raise SegmentationError(f"Unknown outlier action '{self.outliers['action']}'; use keep, cap or exclude.")
        if self.transform not in TRANSFORMS:
            raise SegmentationError(f"Unknown transform '{self.transform}'; use one of: {', '.join(TRANSFORMS)}.")
        for feature in self.features:
            check_feature(FeatureSpec(**feature))
        if self.as_of is not None:
            try:
                pd.Timestamp(self.as_of)
            except ValueError:
                raise SegmentationError(f"--as-of expects a date like 2024-12-31; got '{self.as_of}'.") from None
        if self.impute not in IMPUTERS:
            raise SegmentationError(f"Unknown imputation '{self.impute}'; use one of: {', '.join(IMPUTERS)}.")
        if self.scale not in SCALERS:
            raise SegmentationError(f"Unknown scaling '{self.scale}'; use one of: {', '.join(SCALERS)}.")
        if self.classifier not in CLASSIFIERS:
            raise SegmentationError(f"Unknown classifier '{self.classifier}'; use one of: {', '.join(CLASSIFIERS)}.")
        if self.sample_size < 1_000 or self.metric_sample_size < 100:
            raise SegmentationError("sample_size must be at least 1,000 rows and metric_sample_size at least 100.")
        if self.max_components != 0 and not 2 <= self.max_components <= 2_000:
            raise SegmentationError(
                f"max_components must be 0 (never reduce) or 2 to 2,000; got {self.max_components}."
            )
        if not 2 <= self.k_min <= self.k_max:
            raise SegmentationError(
                f"The range of segments must satisfy 2 <= min <= max; got {self.k_min}-{self.k_max}."
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SegmentationError(f"Unknown setting(s) in the configuration: {', '.join(unknown)}.")
        return cls(**data)


def parse_k_range(text: str) -> tuple[int, int]:
    """Parse '2-10' (or a single '4') into (k_min, k_max)."""
    parts = text.replace(" ", "").split("-")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        raise SegmentationError(f"--k expects a range like 2-10 or a single number; got '{text}'.") from None
    if len(numbers) == 1:
        numbers *= 2
    if len(numbers) != 2 or not 2 <= numbers[0] <= numbers[1]:
        raise SegmentationError(f"--k expects a range like 2-10 with 2 <= min <= max; got '{text}'.")
    return numbers[0], numbers[1]
