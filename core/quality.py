"""How good a segmentation is: metrics on stratified samples, and stability under bootstrap refits.

A full silhouette costs O(n^2), so metrics use a sample in which every segment is represented; noise rows (label -1)
are left out of the geometric metrics and reported as a share instead.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from hdbscan.validity import validity_index
from sklearn.metrics import (
    calinski_harabasz_score,
    davies_bouldin_score,
    pairwise_distances,
    silhouette_samples,
    silhouette_score,
)

from core.algorithms import AlgorithmSpec, scaled_value
from core.workers import FitTask, fit_in_order

UNSTABLE_BELOW = 0.6  # Hennig's rule of thumb: a segment recovered with Jaccard < 0.6 is not to be trusted
DBCV_SAMPLE = 2_000


def stratified_sample(labels: np.ndarray, size: int, rng: np.random.Generator, min_per_cluster: int = 50) -> np.ndarray:
    """Row positions of a sample of about ``size`` rows in which every label appears (small segments whole)."""
    if len(labels) <= size:
        return np.arange(len(labels))
    values, counts = np.unique(labels, return_counts=True)
    picks = []
    for value, count in zip(values, counts):
        take = min(count, max(min_per_cluster, int(round(size * count / len(labels)))))
        picks.append(rng.choice(np.flatnonzero(labels == value), take, replace=False))
    return np.sort(np.concatenate(picks))


def segment_shares(labels: np.ndarray) -> dict[str, float]:
    """Number of segments, and the shares of noise, of the smallest and of the largest segment (over all rows)."""
    assigned = labels[labels >= 0]
    counts = np.bincount(assigned) if len(assigned) else np.array([], dtype=int)
    counts = counts[counts > 0]
    return {
        "n_clusters": int(len(counts)),
        "noise_share": float(np.mean(labels < 0)),
        "smallest_share": float(counts.min() / len(labels)) if len(counts) else 0.0,
        "largest_share": float(counts.max() / len(labels)) if len(counts) else 0.0,
    }


class SharedDistances:
    """The pairwise distances of one random sample of customers, computed once for a sweep's every candidate.

    A silhouette on 5,000 customers costs about 0.35 s when its distances are computed anew, and a default sweep
    has 22 candidates: 7.7 s of the credit-card file's 30 s. From shared distances, a candidate's silhouette is one
    matrix product with its one-hot labels. Where a segment has fewer than ``MIN_SHARED`` customers in the sample
    (and more in the table), the candidate's silhouette is taken on its own stratified sample instead.
    """

    MIN_SHARED = 25

    def __init__(self, Z: np.ndarray, size: int, rng: np.random.Generator) -> None:
        self.rows = np.arange(len(Z)) if len(Z) <= size else np.sort(rng.choice(len(Z), size, replace=False))
        self.distances = pairwise_distances(Z[self.rows])

    def silhouette(self, labels: np.ndarray) -> float | None:
        """Mean silhouette of the sample's assigned customers (as sklearn's silhouette_score), or None when a
        segment is too thin in the sample. ``labels``: every row of the matrix the sample was drawn from."""
        segments, everywhere = np.unique(labels[labels >= 0], return_counts=True)
        y = labels[self.rows]
        assigned = np.flatnonzero(y >= 0)
        codes = np.searchsorted(segments, y[assigned])
        counts = np.bincount(codes, minlength=len(segments)).astype(np.float64)
        if (counts < np.minimum(everywhere, self.MIN_SHARED)).any():
            return None
        if len(segments) < 2 or len(segments) >= len(assigned):
            return float("nan")
        onehot = np.zeros((len(y), len(segments)))
        onehot[assigned, codes] = 1.0
        sums = (self.distances @ onehot)[assigned]
        inside = np.arange(len(assigned)), codes
        own_size = counts[codes]
        a = sums[inside] / np.maximum(own_size - 1, 1)
        others = sums / counts
        others[inside] = np.inf
        b = others.min(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.nan_to_num((b - a) / np.maximum(a, b))
        return float(np.where(own_size > 1, values, 0.0).mean())


def geometric_metrics(
    Z: np.ndarray,
    labels: np.ndarray,
    rng: np.random.Generator,
    sample_size: int,
    density: bool,
    shared: SharedDistances | None = None,
) -> dict[str, float]:
    """Silhouette, Davies-Bouldin and Calinski-Harabasz on a stratified sample without noise; DBCV for density
    models (on a smaller sample, as it is quadratic). The silhouette comes from ``shared`` distances where they
    represent every segment."""
    nan = {"silhouette": np.nan, "davies_bouldin": np.nan, "calinski_harabasz": np.nan, "dbcv": np.nan}
    assigned = np.flatnonzero(labels >= 0)
    if len(np.unique(labels[assigned])) < 2:
        return nan
    rows = assigned[stratified_sample(labels[assigned], sample_size, rng)]
    X, y = Z[rows], labels[rows]
    if len(np.unique(y)) < 2 or len(np.unique(y)) >= len(y):
        return nan
    silhouette = shared.silhouette(labels) if shared is not None else None
    metrics = {
        "silhouette": float(silhouette_score(X, y)) if silhouette is None else silhouette,
        "davies_bouldin": float(davies_bouldin_score(X, y)),
        "calinski_harabasz": float(calinski_harabasz_score(X, y)),
        "dbcv": np.nan,
    }
    if density:
        small = stratified_sample(labels, DBCV_SAMPLE, rng, min_per_cluster=10)
        metrics["dbcv"] = _dbcv(Z[small], labels[small])
    return metrics


def _dbcv(X: np.ndarray, labels: np.ndarray) -> float:
    if len(np.unique(labels[labels >= 0])) < 2:
        return np.nan
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            value = float(validity_index(X.astype(np.float64), labels))
        except (ValueError, ZeroDivisionError, IndexError):
            return np.nan
    return value if np.isfinite(value) else np.nan


def within_sum_of_squares(Z: np.ndarray, labels: np.ndarray) -> float:
    """Total squared distance of assigned rows to their segment's centre (the elbow's 'inertia'), in O(n d)."""
    mask = labels >= 0
    if not mask.any():
        return np.nan
    y = labels[mask]
    X = Z[mask]
    counts = np.bincount(y).astype(float)
    sums = np.stack([np.bincount(y, weights=X[:, j], minlength=len(counts)) for j in range(X.shape[1])], axis=1)
    centres = sums / np.maximum(counts, 1)[:, None]
    return float(((X - centres[y]) ** 2).sum())


@dataclass
class Stability:
    """Bootstrap stability of one segmentation.

    Attributes:
        per_segment: segment label -> mean Jaccard of its best match across refits.
        per_customer: for ``rows``, the share of refits that put the customer in its segment's match.
        rows: positions of the customers evaluated.
        labels: their segments.
    """

    per_segment: dict[int, float]
    per_customer: np.ndarray
    rows: np.ndarray
    labels: np.ndarray

    @property
    def overall(self) -> float:
        values = list(self.per_segment.values())
        return float(np.mean(values)) if values else np.nan


def bootstrap_stability(
    spec: AlgorithmSpec,
    params: dict[str, Any],
    value: Any,
    Z: np.ndarray,
    labels: np.ndarray,
    n_boot: int,
    eval_size: int,
    seed: int,
) -> Stability:
    """Refit on bootstrap resamples and measure how well each segment is found again (Hennig's clusterboot).

    Each refit sees a resample (with replacement) of an evaluation sample and then assigns every evaluated customer;
    a segment's score is the Jaccard index with its best-matching refit segment, averaged over refits.
    """
    rng = np.random.default_rng(seed)
    rows = stratified_sample(labels, eval_size, rng)
    X, y = Z[rows], labels[rows]
    segments = [int(s) for s in np.unique(y) if s >= 0]
    jaccards: dict[int, list[float]] = {s: [] for s in segments}
    stable = np.zeros(len(rows))
    fit_size = min(len(rows), spec.fit_limit(Z.shape[1]) or len(rows))
    # fit_labels scales a minimum segment size from the evaluated rows to the refit's sample; first scale it from
    # the whole table to the evaluated rows.
    boot_value = scaled_value(spec, value, len(rows), len(labels))
    refits = [
        FitTask(spec.key, params, boot_value, np.unique(rng.choice(len(rows), fit_size, replace=True)), seed + b + 1)
        for b in range(n_boot)
    ]
    for refit in fit_in_order([[task] for task in refits], X, seed):  # in worker processes where there are some
        again = np.full(len(X), -1)
        if isinstance(refit.error, MemoryError):
            raise refit.error
        if refit.error is None:
            try:
                again = np.asarray(refit.assigner(X))
            except (ValueError, np.linalg.LinAlgError):
                pass  # a refit that cannot assign finds no segment again
        match = {}
        for s in segments:
            members = y == s
            best, best_j = -2, 0.0
            for t in np.unique(again[members]):
                if t < 0:
                    continue
                other = again == t
                j = np.sum(members & other) / np.sum(members | other)
                if j > best_j:
                    best, best_j = int(t), float(j)
            jaccards[s].append(best_j)
            match[s] = best
        expected = np.array([match.get(int(s), -1) if s >= 0 else -1 for s in y])
        stable += again == expected
    return Stability(
        per_segment={s: float(np.mean(v)) for s, v in jaccards.items()},
        per_customer=stable / max(n_boot, 1),
        rows=rows,
        labels=y,
    )


def stability_table(stability: Stability, names: dict[int, str]) -> pd.DataFrame:
    """Per segment: Jaccard stability, the mean stability of its customers, and whether it can be trusted."""
    rows = []
    for segment, jaccard in sorted(stability.per_segment.items()):
        customers = stability.per_customer[stability.labels == segment]
        rows.append(
            {
                "cluster": segment,
                "segment": names.get(segment, str(segment)),
                "stability": round(jaccard, 4),
                "customer_stability": round(float(customers.mean()), 4) if len(customers) else np.nan,
                "trusted": bool(jaccard >= UNSTABLE_BELOW),
            }
        )
    return pd.DataFrame(rows, columns=["cluster", "segment", "stability", "customer_stability", "trusted"])


def silhouette_values(
    features: Callable[[np.ndarray], np.ndarray], labels: np.ndarray, sample_size: int = 3_000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer silhouette on a stratified sample without noise: (values, their segments).

    Args:
        features: gives the model-space rows for row positions, so only the sample is ever transformed.

    Empty when fewer than two segments are assigned.
    """
    assigned = np.flatnonzero(labels >= 0)
    if len(np.unique(labels[assigned])) < 2:
        return np.array([]), np.array([], dtype=int)
    rows = assigned[stratified_sample(labels[assigned], sample_size, np.random.default_rng(seed))]
    return silhouette_samples(features(rows), labels[rows]), labels[rows]
