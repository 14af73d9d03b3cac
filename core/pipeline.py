"""One segmentation run from a table to a result: the function both the app and the command line call."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from core.config import RunConfig
from core.errors import SegmentationError
from core.explain import SegmentExplainer
from core.features import FeatureSpec, add_features, skewed_columns
from core.naming import NOISE_NAME, auto_names, carry_names
from core.outliers import METHODS as OUTLIER_THRESHOLDS
from core.outliers import outlier_counts
from core.playbook import Play, suggest_plays
from core.predictor import SegmentPredictor
from core.roles import feature_columns, infer_roles
from core.segmenter import CustomerSegmenter, Progress, ignore_progress
from core.value import SegmentValue, segment_value, suggest_value_column

PCA_ROWS = 200_000


@dataclass
class SegmentationResult:
    """What a run produces; everything the exports, figures and later predictions need.

    Attributes:
        config: the configuration that produced it.
        roles: the role of every input column (inferred, then overridden).
        features: the columns the model was fitted on.
        segmenter: the fitted preprocessing and model.
        labels: segment number of every input row, in input order.
        names: readable name of each segment number.
        embedding: 3D PCA coordinates of every row (float32), for the map.
        explained_variance: share of variance each PCA axis explains.
        meta_labels: consensus segment of every row (-1 for rows excluded as outliers).
        engineered: the engineered features, with their reference dates resolved.
        excluded: rows excluded from fitting as outliers (then assigned a segment).
        outlier_counts: rows flagged as outliers, per numeric feature.
        transformed: the columns given a log1p or Yeo-Johnson transform.
        predictor: assigns new customers with a confidence (None with fewer than two segments).
        confidence: per row, the predictor's probability of the row's own segment (times HDBSCAN's membership
            strength when HDBSCAN is the model); NaN for unassigned rows.
        explanation: profiles, importances, tests and rules of the segments.
        pca: the projection behind ``embedding``, to place new customers on the map.
        value_column: the column whose share per segment says what the segment is worth (None: none chosen).
        actions: the analyst's actions per segment, replacing the playbook's suggestions (None: none edited).
    """

    config: RunConfig
    roles: dict[str, str]
    features: list[str]
    segmenter: CustomerSegmenter
    labels: np.ndarray
    names: dict[int, str]
    embedding: np.ndarray
    explained_variance: list[float]
    meta_labels: np.ndarray
    engineered: list[FeatureSpec] = field(default_factory=list)
    excluded: np.ndarray | None = None
    outlier_counts: dict[str, int] = field(default_factory=dict)
    transformed: list[str] = field(default_factory=list)
    predictor: SegmentPredictor | None = None
    confidence: np.ndarray | None = None
    explanation: SegmentExplainer | None = None
    pca: PCA | None = None
    value_column: str | None = None
    actions: dict[int, str] | None = None

    def prepared(self, table: pd.DataFrame) -> pd.DataFrame:
        """The input table with the engineered features added, exactly as at fit time."""
        return add_features(table, self.engineered)[0]

    @property
    def id_column(self) -> str | None:
        """The first column with the id role, shown beside customers on maps and in hover text."""
        return next((c for c, r in self.roles.items() if r == "id"), None)

    @property
    def leaderboard(self) -> pd.DataFrame:
        return self.segmenter.leaderboard_

    def assignment_stability(self) -> np.ndarray:
        """Per customer, the share of bootstrap refits that kept it in its segment; NaN for customers outside the
        evaluation sample (large tables) or excluded as outliers."""
        out = np.full(len(self.labels), np.nan)
        stability = self.segmenter.stability_
        if stability is not None:
            fitted = np.flatnonzero(~self.excluded) if self.excluded is not None else np.arange(len(self.labels))
            out[fitted[stability.rows]] = stability.per_customer
        return out

    def with_names_from(
        self, explanation: SegmentExplainer | None, names: dict[int, str], actions: dict[int, str] | None = None
    ) -> tuple[SegmentationResult, dict[int, int]]:
        """This result with the earlier names and edited actions of the segments that reappear (a refit, a chosen
        leaderboard row, a new batch): the one place they are carried over. Returns the result and which earlier
        segment each matched segment came from."""
        if explanation is None or self.explanation is None:
            return self, {}
        carried, matched = carry_names(explanation, names, self.explanation, self.names)
        kept = {new: (actions or {})[old] for new, old in matched.items() if old in (actions or {})}
        return replace(self, names=carried, actions=kept or None), matched

    def value(self, table: pd.DataFrame) -> SegmentValue | None:
        """Customers and value per segment, when a value column is chosen and still in the table."""
        if self.value_column is None or self.value_column not in table.columns:
            return None
        everyone = getattr(self.segmenter, "value_", None)  # a Spark run: Spark's aggregation over every customer
        if everyone is not None and everyone.column == self.value_column:
            return everyone
        return segment_value(table, self.labels, self.value_column)

    def plays(self, table: pd.DataFrame, value: SegmentValue | None = None) -> dict[int, Play]:
        """Each segment's suggested action and insight, with the analyst's edits (``table``: the input table;
        ``value``: this result's value, when the caller has it already)."""
        prepared = self.prepared(table)
        value = value if value is not None else self.value(prepared)
        return suggest_plays(prepared, self.labels, self.roles, self.explanation, value, self.actions)

    def segment_names(self) -> np.ndarray:
        """The name of each row's segment, in input order ("Unassigned" for noise)."""
        segments = sorted(k for k in self.names if k >= 0)
        lookup = np.array([self.names[i] for i in segments] + [NOISE_NAME], dtype=object)
        return lookup[np.where(self.labels >= 0, self.labels, len(segments))]


def resolve_roles(table: pd.DataFrame, config: RunConfig) -> tuple[dict[str, str], list[str]]:
    """Infer every column's role, apply the analyst's overrides and pick the feature columns."""
    roles = infer_roles(table)
    unknown = [c for c in [*config.roles, *(config.columns or [])] if c not in roles]
    if unknown:
        raise SegmentationError(f"Column(s) not in the data: {', '.join(unknown)}. Available: {', '.join(roles)}.")
    roles.update(config.roles)
    empty = [c for c in (config.columns or []) if table[c].isna().all()]
    if empty:
        raise SegmentationError(f"Column(s) with no values at all: {', '.join(empty)}; leave them out.")
    features = feature_columns(roles, config.columns)
    if not features:
        chosen = config.columns or list(roles)
        described = ", ".join(f"{c} ({roles[c]})" for c in chosen)
        raise SegmentationError(
            f"No usable feature column among: {described}. Choose numeric, categorical or date columns."
        )
    return roles, features


def run_segmentation(
    table: pd.DataFrame,
    config: RunConfig | None = None,
    progress: Progress | None = None,
    keep_candidates: bool = False,
) -> SegmentationResult:
    """Segment a customer table.

    Args:
        table: the customers, one row each, as read by :func:`core.readers.read_table`.
        config: the run's settings (defaults: every usable column, k from 2 to 10, seed 0).
        progress: called with (fraction done, what is happening) as the run goes.

    Raises:
        SegmentationError: the table or the settings cannot give a segmentation.
    """
    config = config or RunConfig()
    report = progress or ignore_progress
    table, engineered = add_features(table, [FeatureSpec(**f) for f in config.features])
    roles, features = resolve_roles(table, config)
    for spec in engineered:  # a feature the analyst built is meant to be used
        if spec.name not in features and roles.get(spec.name) in ("numeric", "categorical", "date"):
            features.append(spec.name)
    numeric = [c for c in features if roles[c] == "numeric"]
    transformed = _transformed_columns(table, config, numeric)
    outliers = config.outliers
    threshold = outliers["threshold"] or OUTLIER_THRESHOLDS[outliers["method"]]
    flagged, counts = outlier_counts(table, numeric, outliers["method"], threshold)
    if outliers["action"] != "exclude":  # kept or capped customers are fitted like everyone else
        flagged = pd.Series(False, index=table.index)
    segmenter = CustomerSegmenter(
        roles={c: roles[c] for c in features},
        algorithms=tuple(config.algorithms),
        params=config.params,
        k_min=config.k_min,
        k_max=config.k_max,
        criterion=config.criterion,
        select=config.select,
        metric_sample_size=config.metric_sample_size,
        sample_size=config.sample_size,
        n_bootstrap=config.n_bootstrap,
        transform=config.transform,
        transform_columns=transformed,
        cap=(outliers["method"], threshold) if outliers["action"] == "cap" else None,
        as_of=config.as_of,
        impute=config.impute,
        scale=config.scale,
        random_state=config.seed,
        max_components=config.max_components,
        keep_candidates=keep_candidates,
    )
    excluded = flagged.to_numpy()
    if excluded.any() and (~excluded).sum() < config.k_min:
        raise SegmentationError(
            f"Excluding {excluded.sum():,} outlier rows leaves {(~excluded).sum():,}, fewer than the {config.k_min} "
            "segments asked for; cap the outliers instead."
        )
    Z = segmenter.fit_transform(table[~excluded] if excluded.any() else table, progress=lambda f, m: report(0.9 * f, m))
    labels, meta = segmenter.labels_.astype(np.int32), segmenter.meta_labels_.astype(np.int32)
    if excluded.any():
        labels, meta = np.empty(len(table), dtype=np.int32), np.full(len(table), -1, dtype=np.int32)
        labels[~excluded], meta[~excluded] = segmenter.labels_, segmenter.meta_labels_
        labels[excluded] = segmenter.predict(table[excluded])
        Z = segmenter.transform_features(table)
    report(0.9, "Projecting customers for the map")
    pca = _pca(Z, config.seed)
    result = SegmentationResult(
        config=config,
        roles=roles,
        features=features,
        segmenter=segmenter,
        labels=labels,
        names={},
        embedding=_embed(pca, Z),
        explained_variance=_explained(pca),
        meta_labels=meta,
        engineered=engineered,
        excluded=excluded if excluded.any() else None,
        outlier_counts=counts if outliers["action"] != "keep" else {},
        transformed=transformed,
        pca=pca,
        value_column=_value_column(table, roles, config.value),
    )
    return _explained_result(table, result, Z, report)


def _value_column(table: pd.DataFrame, roles: dict[str, str], chosen: str | None) -> str | None:
    """The value column: the one asked for ("none": no value), else the one whose name says spend or revenue."""
    if chosen == "none":
        return None
    if chosen is None:
        return suggest_value_column(roles)
    if chosen not in table.columns:
        raise SegmentationError(f"The value column '{chosen}' is not in the data. Available: {', '.join(roles)}.")
    if pd.to_numeric(table[chosen], errors="coerce").notna().sum() == 0:
        raise SegmentationError(f"The value column '{chosen}' holds no numbers; choose a numeric column.")
    return chosen


def _explained_result(
    table: pd.DataFrame, result: SegmentationResult, Z: np.ndarray, report: Progress
) -> SegmentationResult:
    """Add what follows from the labels: names, the predictor and its confidence, and the explanation."""
    labels, seed = result.labels, result.config.seed
    predictor = None
    confidence = np.full(len(labels), np.nan)
    if len(np.unique(labels[labels >= 0])) >= 2:
        report(0.93, "Training the predictor for new customers")
        predictor = SegmentPredictor(classifier=result.config.classifier, random_state=seed).fit(Z, labels)
        segmenter = result.segmenter
        membership = segmenter.membership_ if result.excluded is None else segmenter.membership(Z)
        confidence = predictor.confidence_of(Z, labels, membership)
    report(0.96, "Explaining the segments: profiles, importances and rules")
    explanation = SegmentExplainer(result.features, result.roles, random_state=seed).fit(table, labels)
    report(1.0, f"Done: {result.segmenter.n_clusters_} segments")
    return replace(
        result,
        names=auto_names(table, labels, result.features, result.roles),
        predictor=predictor,
        confidence=confidence,
        explanation=explanation,
    )


def _transformed_columns(table: pd.DataFrame, config: RunConfig, numeric: list[str]) -> list[str]:
    if config.transform == "none":
        return []
    columns = config.transform_columns if config.transform_columns is not None else skewed_columns(table, numeric)
    unknown = [c for c in columns if c not in numeric]
    if unknown:
        raise SegmentationError(f"Only numeric features can be transformed; not: {', '.join(unknown)}.")
    if config.transform == "log1p":
        negative = [c for c in columns if (pd.to_numeric(table[c], errors="coerce") < 0).any()]
        if negative:
            raise SegmentationError(
                f"log1p needs values of 0 or more, but {', '.join(negative)} has negative values; "
                "use the Yeo-Johnson transform instead."
            )
    return list(columns)


def choose_model(
    table: pd.DataFrame, result: SegmentationResult, row: int, progress: Progress | None = None
) -> SegmentationResult:
    """Make another leaderboard row the chosen model; the features, map and consensus stay as they were."""
    table = result.prepared(table)
    excluded = result.excluded
    fitted = table[~excluded] if excluded is not None else table
    report = progress or ignore_progress
    # A copy: the result may be shared (a worker's cache of loaded results), and a cancelled refit must leave it as
    # it was.
    segmenter = copy.deepcopy(result.segmenter).choose(fitted, row, lambda f, m: report(0.9 * f, m))
    labels = segmenter.labels_.astype(np.int32)
    if excluded is not None:
        labels = np.empty(len(table), dtype=np.int32)
        labels[~excluded] = segmenter.labels_
        labels[excluded] = segmenter.predict(table[excluded])
    chosen = replace(result, config=replace(result.config, select=row), segmenter=segmenter, labels=labels)
    return _explained_result(table, chosen, segmenter.transform_features(table), report)


def _pca(Z: np.ndarray, seed: int) -> PCA:
    """Principal axes from at most 200,000 rows (they settle long before that)."""
    rows = np.random.default_rng(seed).choice(len(Z), min(len(Z), PCA_ROWS), replace=False)
    return PCA(n_components=min(3, Z.shape[1], len(Z)), random_state=seed).fit(Z[rows])


def _embed(pca: PCA, Z: np.ndarray) -> np.ndarray:
    """3D map coordinates (padded with zeros when there are fewer than three components)."""
    coords = pca.transform(Z).astype(np.float32)
    if coords.shape[1] < 3:
        coords = np.hstack([coords, np.zeros((len(Z), 3 - coords.shape[1]), dtype=np.float32)])
    return coords


def _explained(pca: PCA) -> list[float]:
    ratios = [float(v) for v in pca.explained_variance_ratio_]
    return ratios + [0.0] * (3 - len(ratios))


def map_position(result: SegmentationResult, Z: np.ndarray) -> np.ndarray:
    """Where customers (in model space) fall on the result's 3D map."""
    return _embed(result.pca, Z)
