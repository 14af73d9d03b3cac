"""The customer segmenter: preprocessing plus a KMeans sweep over k, with the best k chosen by silhouette.

It follows scikit-learn's conventions (parameters in the constructor, fitted state with a trailing underscore), so
it can be saved with joblib, reloaded and used to assign new customers.
"""
from __future__ import annotations

import json
import time
from typing import Callable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score
from sklearn.utils.validation import check_is_fitted

from core.errors import SegmentationError
from core.preprocess import build_preprocessor
from core.roles import FEATURE_ROLES

Progress = Callable[[float, str], None]
LEADERBOARD_COLUMNS = [
    "algorithm", "params", "n_clusters", "silhouette", "davies_bouldin", "calinski_harabasz", "fit_seconds",
    "selected",
]
# A solution where one segment holds nearly everyone, or a segment is a handful of customers, is not a segmentation
# an analyst can use, however good its silhouette; such candidates are only chosen when nothing else is left.
MAX_LARGEST_SHARE = 0.95
MIN_SMALLEST_SHARE = 0.005


def ignore_progress(fraction: float, message: str) -> None:
    """Default progress sink: a fit run from a script reports to nobody."""


class CustomerSegmenter(ClusterMixin, BaseEstimator):
    """Preprocess customer columns and cluster them with KMeans, choosing k by silhouette.

    Args:
        roles: role of each feature column (``numeric``, ``categorical`` or ``date``).
        k_min: smallest number of segments to try.
        k_max: largest number of segments to try.
        metric_sample_size: the metrics are computed on a random sample of at most this many rows, since a full
            silhouette costs O(n^2).
        n_init: KMeans restarts per k.
        random_state: seed for every random step.
    """

    def __init__(
        self,
        roles: dict[str, str] | None = None,
        k_min: int = 2,
        k_max: int = 10,
        metric_sample_size: int = 10_000,
        n_init: int = 3,
        random_state: int = 0,
    ) -> None:
        self.roles = roles
        self.k_min = k_min
        self.k_max = k_max
        self.metric_sample_size = metric_sample_size
        self.n_init = n_init
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y=None, progress: Progress | None = None) -> CustomerSegmenter:
        """Fit the preprocessing and every candidate KMeans, then keep the best one."""
        report = progress or ignore_progress
        features = self._check_input(X)
        report(0.02, "Preparing features")
        self.preprocessor_ = build_preprocessor(self.roles_)
        Z = self.preprocessor_.fit_transform(features).to_numpy(dtype=np.float64)
        if not np.isfinite(Z).all():
            raise SegmentationError("Some feature values are infinite; remove or cap them before segmenting.")
        rng = np.random.default_rng(self.random_state)
        sample = (
            np.sort(rng.choice(len(Z), self.metric_sample_size, replace=False))
            if len(Z) > self.metric_sample_size
            else np.arange(len(Z))
        )
        distinct = len(np.unique(Z[sample], axis=0))
        if distinct < self.k_max:  # only then is counting every distinct row worth its cost
            distinct = len(np.unique(Z, axis=0))
        ks = list(range(self.k_min, min(self.k_max, distinct) + 1))
        if not ks:
            raise SegmentationError(
                f"The data has fewer distinct customers than the {self.k_min} segments asked for."
            )
        rows, models = [], {}
        for step, k in enumerate(ks):
            report(0.05 + 0.9 * step / len(ks), f"Fitting KMeans with k={k} ({step + 1} of {len(ks)})")
            started = time.perf_counter()
            model = KMeans(n_clusters=k, n_init=self.n_init, random_state=self.random_state).fit(Z)
            seconds = time.perf_counter() - started
            labels = model.labels_
            shares = np.bincount(labels, minlength=k) / len(labels)
            rows.append(
                {
                    "algorithm": "kmeans",
                    "params": json.dumps({"n_clusters": k, "n_init": self.n_init, "random_state": self.random_state}),
                    "n_clusters": k,
                    **_metrics(Z[sample], labels[sample]),
                    "fit_seconds": round(seconds, 4),
                    "largest_share": float(shares.max()),
                    "smallest_share": float(shares.min()),
                }
            )
            models[k] = model
        board = pd.DataFrame(rows)
        best = select_best(board)
        board["selected"] = board.index == best
        self.leaderboard_ = board[LEADERBOARD_COLUMNS]
        self.model_ = models[int(board.loc[best, "n_clusters"])]
        counts = np.bincount(self.model_.labels_, minlength=self.model_.n_clusters)
        # Number segments by size (0 = largest), so the numbering means something and is stable across runs.
        self.cluster_order_ = np.argsort(np.argsort(-counts, kind="stable"), kind="stable")
        self.labels_ = self.cluster_order_[self.model_.labels_]
        self.n_clusters_ = int(self.model_.n_clusters)
        report(1.0, f"Done: {self.n_clusters_} segments")
        return self

    def transform_features(self, X: pd.DataFrame) -> np.ndarray:
        """The scaled, encoded feature matrix the model sees for these customers."""
        check_is_fitted(self)
        missing = [c for c in self.feature_names_in_ if c not in X.columns]
        if missing:
            raise SegmentationError(f"Missing column(s): {', '.join(missing)}.")
        return self.preprocessor_.transform(X[list(self.feature_names_in_)]).to_numpy(dtype=np.float64)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Assign customers to the fitted segments."""
        return self.cluster_order_[self.model_.predict(self.transform_features(X))]

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    def _check_input(self, X: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise SegmentationError("The segmenter expects a table with named columns.")
        if not isinstance(self.k_min, int) or not isinstance(self.k_max, int) or not 2 <= self.k_min <= self.k_max:
            raise SegmentationError(
                f"The range of segments must be whole numbers with 2 <= min <= max; got {self.k_min}-{self.k_max}."
            )
        roles = {c: r for c, r in (self.roles or {}).items() if r in FEATURE_ROLES}
        if not roles:
            raise SegmentationError(
                "No usable feature column: choose at least one numeric, categorical or date column."
            )
        absent = [c for c in roles if c not in X.columns]
        if absent:
            raise SegmentationError(f"Column(s) not in the data: {', '.join(absent)}.")
        empty = [c for c in roles if X[c].isna().all()]
        if empty:
            raise SegmentationError(f"Column(s) with no values at all: {', '.join(empty)}; leave them out.")
        if len(X) < self.k_min:
            raise SegmentationError(
                f"The data has {len(X)} rows, fewer than the {self.k_min} segments asked for."
            )
        self.roles_ = roles
        self.feature_names_in_ = np.asarray(list(roles), dtype=object)
        return X[list(roles)]


def _metrics(Z: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    if len(np.unique(labels)) < 2:
        return {"silhouette": np.nan, "davies_bouldin": np.nan, "calinski_harabasz": np.nan}
    return {
        "silhouette": float(silhouette_score(Z, labels)),
        "davies_bouldin": float(davies_bouldin_score(Z, labels)),
        "calinski_harabasz": float(calinski_harabasz_score(Z, labels)),
    }


def select_best(board: pd.DataFrame) -> int:
    """Index of the candidate with the highest silhouette among non-degenerate ones.

    Degenerate: one segment holds more than 95% of customers, or one holds less than 0.5%. If every candidate is
    degenerate, the best silhouette wins anyway.
    """
    usable = board[(board["largest_share"] <= MAX_LARGEST_SHARE) & (board["smallest_share"] >= MIN_SMALLEST_SHARE)]
    pool = usable if usable["silhouette"].notna().any() else board
    return int(pool["silhouette"].fillna(-np.inf).idxmax())
