"""Outliers per numeric column, by the IQR rule or z-scores: kept, capped (winsorized) or excluded from fitting.

Excluded customers are never lost: they are assigned a segment afterwards and marked in the export.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from core.errors import SegmentationError

METHODS = {"iqr": 1.5, "zscore": 3.0}  # method -> default threshold
ACTIONS = ("keep", "cap", "exclude")


def fences(frame: pd.DataFrame, method: str, threshold: float) -> dict[str, tuple[float, float]]:
    """Per column, the lower and upper limits beyond which a value is an outlier (every column at once: one
    quantile per column cost 1.7 ms, 3.4 s on a 2,000-column table)."""
    if method not in METHODS:
        raise SegmentationError(f"Unknown outlier method '{method}'; use one of: {', '.join(METHODS)}.")
    numbers = _numbers(frame)
    if method == "iqr":
        quartiles = numbers.quantile([0.25, 0.75])
        q1, q3 = quartiles.iloc[0], quartiles.iloc[1]
        low, high = q1 - threshold * (q3 - q1), q3 + threshold * (q3 - q1)
    else:
        mean, sd = numbers.mean(), numbers.std()
        low, high = mean - threshold * sd, mean + threshold * sd
    low, high = low.fillna(-np.inf), high.fillna(np.inf)  # a column without numbers has no outliers
    return {c: (float(low[c]), float(high[c])) for c in frame.columns}


def _numbers(frame: pd.DataFrame) -> pd.DataFrame:
    if all(kind in "biuf" for kind in frame.dtypes.map(lambda d: d.kind)):
        return frame.astype(np.float64)
    return frame.apply(pd.to_numeric, errors="coerce").astype(np.float64)


def outlier_counts(table: pd.DataFrame, columns: list[str], method: str, threshold: float) -> tuple[pd.Series, dict]:
    """Which rows have an outlier in any of ``columns``, and how many rows each column flags."""
    limits = fences(table[columns], method, threshold)
    values = _numbers(table[columns]).to_numpy()
    low = np.array([limits[c][0] for c in columns])
    high = np.array([limits[c][1] for c in columns])
    hit = (values < low) | (values > high)  # missing values compare False
    per_column = {c: int(n) for c, n in zip(columns, hit.sum(axis=0))}
    return pd.Series(hit.any(axis=1), index=table.index), per_column


class Winsorizer(TransformerMixin, BaseEstimator):
    """Cap each column at the fences learned in fit (so new customers are capped the same way)."""

    def __init__(self, method: str = "iqr", threshold: float = 1.5) -> None:
        self.method = method
        self.threshold = threshold

    def fit(self, X: pd.DataFrame, y: object = None) -> Winsorizer:
        frame = pd.DataFrame(X)
        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        self.fences_ = fences(frame, self.method, self.threshold)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self)
        frame = pd.DataFrame(X).copy()
        for column, (low, high) in self.fences_.items():
            frame[column] = pd.to_numeric(frame[column], errors="coerce").clip(low, high)
        return frame

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.asarray(self.feature_names_in_, dtype=object)
