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


def fences(values: pd.Series, method: str, threshold: float) -> tuple[float, float]:
    """Lower and upper limits beyond which a value is an outlier."""
    present = pd.to_numeric(values, errors="coerce").dropna()
    if present.empty:
        return -np.inf, np.inf
    if method == "iqr":
        q1, q3 = present.quantile([0.25, 0.75])
        spread = q3 - q1
        return float(q1 - threshold * spread), float(q3 + threshold * spread)
    if method == "zscore":
        mean, sd = present.mean(), present.std()
        return float(mean - threshold * sd), float(mean + threshold * sd)
    raise SegmentationError(f"Unknown outlier method '{method}'; use one of: {', '.join(METHODS)}.")


def outlier_counts(table: pd.DataFrame, columns: list[str], method: str, threshold: float) -> tuple[pd.Series, dict]:
    """Which rows have an outlier in any of ``columns``, and how many rows each column flags."""
    flagged = pd.Series(False, index=table.index)
    per_column = {}
    for column in columns:
        low, high = fences(table[column], method, threshold)
        values = pd.to_numeric(table[column], errors="coerce")
        hit = (values < low) | (values > high)
        per_column[column] = int(hit.sum())
        flagged |= hit.fillna(False)
    return flagged, per_column


class Winsorizer(TransformerMixin, BaseEstimator):
    """Cap each column at the fences learned in fit (so new customers are capped the same way)."""

    def __init__(self, method: str = "iqr", threshold: float = 1.5) -> None:
        self.method = method
        self.threshold = threshold

    def fit(self, X: pd.DataFrame, y: object = None) -> Winsorizer:
        frame = pd.DataFrame(X)
        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        self.fences_ = {c: fences(frame[c], self.method, self.threshold) for c in frame.columns}
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self)
        frame = pd.DataFrame(X).copy()
        for column, (low, high) in self.fences_.items():
            frame[column] = pd.to_numeric(frame[column], errors="coerce").clip(low, high)
        return frame

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.asarray(self.feature_names_in_, dtype=object)
