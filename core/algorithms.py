"""The clustering algorithms analysts ask for, each described once: parameters, sweep and how it scales.

The app renders each :class:`ParamSpec` as a control and `segment run --params` validates against the same specs,
so adding an algorithm means adding one entry to :data:`ALGORITHMS`.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import hdbscan
import joblib
import numpy as np
from scipy.spatial import cKDTree
from sklearn.cluster import (
    DBSCAN,
    AgglomerativeClustering,
    Birch,
    BisectingKMeans,
    KMeans,
    MiniBatchKMeans,
    SpectralClustering,
)
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

from core.errors import SegmentationError
from core.mixture import ModalMixture
from core.threads import parallel_threads


@dataclass(frozen=True)
class ParamSpec:
    """One tunable parameter: its type, default, bounds and a one-line help text."""

    name: str
    kind: str  # "int", "float" or "choice"
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()

    def validate(self, value: Any, algorithm: str) -> Any:
        """Return the value converted to the parameter's type, or raise a message naming the rule it breaks."""
        where = f"{algorithm} parameter '{self.name}'"
        if self.kind == "choice":
            if value not in self.choices:
                raise SegmentationError(f"{where} must be one of {', '.join(self.choices)}; got {value!r}.")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SegmentationError(f"{where} must be a number; got {value!r}.")
        if self.kind == "int":
            if float(value) != int(value):
                raise SegmentationError(f"{where} must be a whole number; got {value!r}.")
            value = int(value)
        else:
            value = float(value)
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise SegmentationError(f"{where} must be between {self.low:g} and {self.high:g}; got {value:g}.")
        return value


@dataclass(frozen=True)
class AlgorithmSpec:
    """How to build, sweep and scale one algorithm.

    Attributes:
        key: name used on the command line and in the leaderboard.
        label: name shown to people.
        params: the tunable parameters (the swept one excluded).
        build: makes an unfitted estimator from (parameters, swept value, seed).
        sweep: what the sweep varies: "k" (number of segments), "min_cluster_size" or "eps".
        max_fit_rows: above this many rows the model is fitted on a random sample and the other rows are assigned.
        max_fit_rows_wide: the same limit when there are more than LOW_DIMENSIONS features (one-hot columns count).
        can_predict: the fitted estimator assigns new rows itself (otherwise a nearest-neighbour step does).
        density: the algorithm can leave rows unassigned (noise, label -1).
    """

    key: str
    label: str
    params: tuple[ParamSpec, ...]
    build: Callable[[dict[str, Any], Any, int], Any]
    sweep: str
    max_fit_rows: int | None = None
    max_fit_rows_wide: int | None = None
    can_predict: bool = True
    density: bool = False
    help: str = ""

    def fit_limit(self, n_features: int) -> int | None:
        """The most rows this algorithm is fitted on, for data with ``n_features`` features."""
        if self.max_fit_rows_wide and n_features > LOW_DIMENSIONS:
            return self.max_fit_rows_wide
        return self.max_fit_rows

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def validate(self, params: dict[str, Any] | None) -> dict[str, Any]:
        """Fill in defaults and validate the analyst's parameters."""
        given = dict(params or {})
        known = {p.name: p for p in self.params}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise SegmentationError(
                f"{self.key} has no parameter {', '.join(unknown)}; it has: {', '.join(known) or 'none'}."
            )
        return {name: spec.validate(given.get(name, spec.default), self.key) for name, spec in known.items()}


_TREE_CACHE: ContextVar[str | None] = ContextVar("hdbscan_tree_cache", default=None)


@contextmanager
def shared_hdbscan_trees(folder: str | None = None) -> Iterator[str]:
    """Within it, HDBSCAN fits of the same rows share their minimum spanning tree, which depends on the rows and
    min_samples but not on the minimum segment size a sweep varies (the library's own joblib cache, in a folder
    removed afterwards; or in ``folder``, another process's, which that process removes). Measured on the
    8,950-customer credit-card file: four sizes in 2.8 s instead of 5.6 s, the same labels. Yields the folder."""
    with tempfile.TemporaryDirectory(prefix="segstudio-hdbscan-") if folder is None else nullcontext(folder) as used:
        token = _TREE_CACHE.set(used)
        try:
            yield used
        finally:
            _TREE_CACHE.reset(token)


class _Hdbscan(hdbscan.HDBSCAN):
    """HDBSCAN with its tree chosen by the number of features: a ball tree is about 30% faster than the default kd
    tree on 48 one-hot-encoded features (measured); on few features the library's own choice stands."""

    def fit(self, X, y=None):
        self.algorithm = "boruvka_balltree" if X.shape[1] > LOW_DIMENSIONS else "best"
        folder = _TREE_CACHE.get()
        if folder is None:
            return super().fit(X, y)
        self.memory = joblib.Memory(folder, verbose=0)
        try:
            return super().fit(X, y)
        finally:
            self.memory = joblib.Memory(None, verbose=0)  # the fitted model keeps no link to the folder


def _hdbscan(params: dict[str, Any], min_cluster_size: int, seed: int) -> hdbscan.HDBSCAN:
    return _Hdbscan(
        min_cluster_size=int(min_cluster_size),
        min_samples=params["min_samples"] or None,
        cluster_selection_method=params["cluster_selection_method"],
        core_dist_n_jobs=1,
    )


ALGORITHMS: dict[str, AlgorithmSpec] = {
    spec.key: spec
    for spec in (
        AlgorithmSpec(
            key="kmeans",
            label="KMeans",
            help="Round segments of similar size; fast on millions of rows.",
            params=(ParamSpec("n_init", "int", 3, "Restarts per k; the best is kept.", 1, 50),),
            build=lambda p, k, seed: KMeans(n_clusters=k, n_init=p["n_init"], random_state=seed),
            sweep="k",
        ),
        AlgorithmSpec(
            key="bisecting_kmeans",
            label="BisectingKMeans",
            help="KMeans splitting the largest segment in two until there are k; the Spark engine's other k-means.",
            params=(ParamSpec("n_init", "int", 1, "Restarts of each split; the best is kept.", 1, 50),),
            build=lambda p, k, seed: BisectingKMeans(n_clusters=k, n_init=p["n_init"], random_state=seed),
            sweep="k",
        ),
        AlgorithmSpec(
            key="minibatch_kmeans",
            label="MiniBatchKMeans",
            help="KMeans on small batches; approximate.",
            params=(
                ParamSpec("batch_size", "int", 4096, "Rows per batch.", 64, 1_000_000),
                ParamSpec("n_init", "int", 3, "Restarts per k; the best is kept.", 1, 50),
            ),
            build=lambda p, k, seed: MiniBatchKMeans(
                n_clusters=k, batch_size=p["batch_size"], n_init=p["n_init"], random_state=seed
            ),
            sweep="k",
        ),
        AlgorithmSpec(
            key="gmm",
            label="Gaussian mixture",
            help="Elliptical segments of any size, with a probability for each customer.",
            params=(
                ParamSpec(
                    "covariance_type",
                    "choice",
                    "auto",
                    "Shape of each segment's spread. auto: full where each component has at least twice as many "
                    "customers as there are features, else diagonal.",
                    choices=("auto", "full", "tied", "diag", "spherical"),
                ),
                ParamSpec("n_init", "int", 1, "Restarts per k; the best is kept.", 1, 20),
                ParamSpec(
                    "merge",
                    "choice",
                    "valleys",
                    "valleys: components that no density valley separates form one segment (a skewed or bent "
                    "group takes several components); none: a segment per component.",
                    choices=("valleys", "none"),
                ),
            ),
            build=lambda p, k, seed: ModalMixture(
                n_components=k,
                covariance_type=p["covariance_type"],
                n_init=p["n_init"],
                random_state=seed,
                reg_covar=1e-4,
                merge=p["merge"],
            ),
            sweep="k",
            max_fit_rows=50_000,
            # a full-covariance EM step on 48 features costs ~0.1 s per 10,000 rows; on 100,000 x 50, nine fits on
            # 20,000 rows took 31 s
            max_fit_rows_wide=10_000,
        ),
        AlgorithmSpec(
            key="agglomerative",
            label="Agglomerative",
            help="Hierarchical merging of similar customers; needs memory that grows with rows squared.",
            params=(
                ParamSpec(
                    "linkage",
                    "choice",
                    "ward",
                    "How the distance between groups is measured.",
                    choices=("ward", "average", "complete"),
                ),
            ),
            build=lambda p, k, seed: AgglomerativeClustering(n_clusters=k, linkage=p["linkage"]),
            sweep="k",
            max_fit_rows=10_000,
            can_predict=False,
        ),
        AlgorithmSpec(
            key="spectral",
            label="Spectral",
            help="Segments of any shape from a nearest-neighbour graph; slow on large data.",
            params=(ParamSpec("n_neighbors", "int", 15, "Neighbours in the similarity graph.", 2, 200),),
            build=lambda p, k, seed: SpectralClustering(
                n_clusters=k,
                affinity="nearest_neighbors",
                n_neighbors=p["n_neighbors"],
                random_state=seed,
                assign_labels="cluster_qr",
            ),
            sweep="k",
            max_fit_rows=3_000,
            can_predict=False,
        ),
        AlgorithmSpec(
            key="birch",
            label="BIRCH",
            help="A compact tree summary of the data, then k segments; fast and memory-light.",
            params=(
                ParamSpec("threshold", "float", 0.5, "Radius of the tree's sub-clusters (scaled units).", 0.01, 10.0),
            ),
            build=lambda p, k, seed: Birch(n_clusters=k, threshold=p["threshold"]),
            sweep="k",
            max_fit_rows=200_000,
        ),
        AlgorithmSpec(
            key="hdbscan",
            label="HDBSCAN",
            help="Dense groups of any shape; leaves outliers unassigned; finds the number of segments itself.",
            params=(
                ParamSpec(
                    "min_samples",
                    "int",
                    10,
                    "Neighbours that make a point 'core'; larger is more "
                    "conservative and slower (0: same as the minimum segment size).",
                    0,
                    1000,
                ),
                ParamSpec(
                    "cluster_selection_method",
                    "choice",
                    "eom",
                    "eom favours large segments, leaf small homogeneous ones.",
                    choices=("eom", "leaf"),
                ),
                ParamSpec(
                    "fixed_min_cluster_size",
                    "int",
                    0,
                    "The smallest segment, in customers, instead of the sweep (0: try 0.5%, 1%, 2% and 5% of them).",
                    0,
                    10_000_000,
                ),
            ),
            build=_hdbscan,
            sweep="min_cluster_size",
            max_fit_rows=20_000,
            max_fit_rows_wide=10_000,  # 20,000 rows of 48 features take 4.5 s per fit, 10,000 take 1.5 s
            density=True,
        ),
        AlgorithmSpec(
            key="dbscan",
            label="DBSCAN",
            help="Dense groups within a radius eps; leaves outliers unassigned.",
            params=(
                ParamSpec("min_samples", "int", 10, "Neighbours within eps that make a point 'core'.", 2, 1000),
                ParamSpec(
                    "fixed_eps",
                    "float",
                    0.0,
                    "The radius eps (scaled units) instead of the sweep (0: try 0.5 to 1.5 times the knee of the "
                    "k-distance curve, shown on the Compare page).",
                    0.0,
                    1000.0,
                ),
            ),
            build=lambda p, eps, seed: DBSCAN(eps=float(eps), min_samples=p["min_samples"]),
            sweep="eps",
            max_fit_rows=20_000,
            can_predict=False,
            density=True,
        ),
    )
}
MAX_EXEMPLARS = 2_500  # fitted customers an HDBSCAN assignment compares with, in many dimensions
LOW_DIMENSIONS = 10  # up to this many features a tree index finds the nearest of all fitted customers quickly
K_SWEEP_ALGORITHMS = tuple(key for key, spec in ALGORITHMS.items() if spec.sweep == "k")


def get_algorithm(key: str) -> AlgorithmSpec:
    try:
        return ALGORITHMS[key]
    except KeyError:
        raise SegmentationError(f"Unknown algorithm '{key}'; choose from: {', '.join(ALGORITHMS)}.") from None


def sweep_values(
    spec: AlgorithmSpec,
    n_rows: int,
    k_range: tuple[int, int],
    eps: float | None = None,
    params: dict[str, Any] | None = None,
) -> list[Any]:
    """The values the sweep tries: k for k-based algorithms, segment sizes for HDBSCAN, and for DBSCAN radii around
    ``eps``, the knee of the k-distance curve (see :func:`suggest_eps`); a value the analyst fixed instead."""
    fixed = (params or {}).get({"min_cluster_size": "fixed_min_cluster_size", "eps": "fixed_eps"}.get(spec.sweep, ""))
    if fixed:
        return [fixed]
    if spec.sweep == "k":
        return list(range(k_range[0], k_range[1] + 1))
    if spec.sweep == "min_cluster_size":
        sizes = sorted({max(5, int(round(n_rows * share))) for share in (0.005, 0.01, 0.02, 0.05)})
        while len(sizes) < 4 and sizes[-1] * 2 <= n_rows // 2:  # small tables: keep four distinct sizes
            sizes.append(sizes[-1] * 2)
        return sizes
    if eps is None:
        raise ValueError("a DBSCAN sweep needs the suggested eps")
    return [round(eps * factor, 6) for factor in (0.5, 0.75, 1.0, 1.5)]


def k_distances(Z: np.ndarray, k: int, sample_size: int = 5_000, seed: int = 0) -> np.ndarray:
    """Sorted distance of each (sampled) point to its k-th nearest neighbour: the curve DBSCAN's eps is read from."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(Z), min(sample_size, len(Z)), replace=False)
    neighbours = NearestNeighbors(n_neighbors=min(k + 1, len(rows))).fit(Z[rows])
    distances, _ = neighbours.kneighbors(Z[rows])
    return np.sort(distances[:, -1])


def knee_index(values: np.ndarray) -> int:
    """Position of the knee of a monotone curve: the point farthest from the chord joining its ends (Kneedle)."""
    y = np.asarray(values, dtype=float)
    if len(y) < 3:
        return 0
    x = np.linspace(0.0, 1.0, len(y))
    span = y.max() - y.min()
    yn = (y - y.min()) / span if span > 0 else np.zeros_like(y)
    chord = yn[0] + (yn[-1] - yn[0]) * x
    return int(np.argmax(np.abs(yn - chord)))


def eps_at_knee(curve: np.ndarray) -> float:
    """The distance at the knee of a sorted k-distance curve (kept above zero for duplicated rows)."""
    return float(max(curve[knee_index(curve)], 1e-6))


def suggest_eps(Z: np.ndarray, min_samples: int, seed: int = 0) -> float:
    """eps at the knee of the k-distance curve."""
    return eps_at_knee(k_distances(Z, min_samples, seed=seed))


def fit_labels(
    spec: AlgorithmSpec,
    params: dict[str, Any],
    value: Any,
    Z: np.ndarray,
    seed: int,
    fit_rows: np.ndarray | None = None,
) -> tuple[Any, np.ndarray, Any]:
    """Fit one candidate and label every row of Z.

    Returns (fitted estimator, labels of all rows, assigner) where the assigner labels new rows: the estimator's own
    predict, HDBSCAN's nearest fitted customer, or a nearest-neighbour classifier trained on the fitted rows.
    """
    rows = np.arange(len(Z)) if fit_rows is None else fit_rows
    model = spec.build(params, scaled_value(spec, value, len(rows), len(Z)), seed)
    with warnings.catch_warnings(record=True) as caught:
        # Library warnings (a disconnected neighbour graph, fewer distinct points than k) are kept, not printed:
        # the leaderboard's note column shows them next to the candidate they concern.
        warnings.simplefilter("always")
        fitted_labels = np.asarray(model.fit_predict(Z[rows]), dtype=np.int64)
    model.fit_warnings_ = sorted({str(w.message).splitlines()[0] for w in caught})
    assigner = make_assigner(spec, model, Z[rows], fitted_labels, seed)
    if len(rows) == len(Z):
        return model, fitted_labels, assigner
    labels = np.empty(len(Z), dtype=np.int64)
    labels[rows] = fitted_labels
    rest = np.setdiff1d(np.arange(len(Z)), rows, assume_unique=True)
    labels[rest] = assigner(Z[rest])
    return model, labels, assigner


def make_assigner(
    spec: AlgorithmSpec, model: Any, Z_fit: np.ndarray, labels: np.ndarray, seed: int
) -> Callable[[np.ndarray], np.ndarray]:
    """A picklable function that assigns new rows to the segments the fitted model found."""
    if spec.key == "hdbscan":
        return HdbscanAssigner(model, Z_fit, seed)
    if spec.can_predict:
        return model.predict
    if spec.key == "dbscan":
        return DbscanAssigner(model, Z_fit)
    return KNeighborsClassifier(n_neighbors=min(10, len(Z_fit))).fit(Z_fit, labels).predict


class HdbscanAssigner:
    """Nearest-exemplar assignment for HDBSCAN: a new point joins the segment of its nearest fitted customer (noise
    when that customer is noise).

    HDBSCAN's own approximate_predict agrees with this on about 97-100% of points in our measurements but costs
    15-260 us per point (hours at millions of rows); a neighbour index costs 1-40. Its strength is the nearest
    customer's membership probability, lowered when the point lies farther out than that customer's core distance
    (its distance to its min_samples-th nearest exemplar).
    In few dimensions the index is scipy's k-d tree, queried on the run's threads: 1,000,000 points against 20,000
    exemplars in 3 dimensions took 0.36 s on two threads and 0.82 s on one, where scikit-learn's tree took 1.2 s
    (the same neighbours). In many dimensions a tree does not help (scipy's took 14 s where scikit-learn's brute
    force took 1.2 s for 100,000 points in 17), so each query compares against every exemplar, and the fitted
    customers are thinned to :data:`MAX_EXEMPLARS` (every segment and the noise kept in proportion).
    """

    def __init__(self, model: hdbscan.HDBSCAN, Z_fit: np.ndarray, seed: int = 0) -> None:
        keep = np.arange(len(Z_fit))
        if Z_fit.shape[1] > LOW_DIMENSIONS and len(keep) > MAX_EXEMPLARS:
            rng = np.random.default_rng(seed)
            keep = np.sort(
                np.concatenate(
                    [
                        rng.choice(members, max(1, round(MAX_EXEMPLARS * len(members) / len(keep))), replace=False)
                        for members in (np.flatnonzero(model.labels_ == label) for label in np.unique(model.labels_))
                    ]
                )
            )
        self.labels = np.asarray(model.labels_[keep], dtype=np.int64)
        self.probabilities = np.asarray(model.probabilities_[keep], dtype=float)
        exemplars = Z_fit[keep]
        self.index: cKDTree | NearestNeighbors = (
            cKDTree(exemplars)
            if exemplars.shape[1] <= LOW_DIMENSIONS
            else NearestNeighbors(n_neighbors=1).fit(exemplars)
        )
        k = min(len(keep), (model.min_samples or model.min_cluster_size) + 1)  # +1: each exemplar finds itself
        self.core_distances = self._neighbours(exemplars, k)[0][:, -1]

    def _neighbours(self, X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Distances and positions of each point's k nearest exemplars (models saved before the k-d tree have
        scikit-learn's index)."""
        if isinstance(self.index, cKDTree):
            distance, nearest = self.index.query(X, k=[*range(1, k + 1)], workers=parallel_threads())
            return distance, nearest
        return self.index.kneighbors(X, n_neighbors=k)

    def _nearest(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        distance, nearest = self._neighbours(X, 1)
        return distance[:, 0], nearest[:, 0]

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return self.labels[self._nearest(X)[1]]

    def strength(self, X: np.ndarray) -> np.ndarray:
        """How firmly each point belongs to its segment (0 for noise, 1 at the segment's core)."""
        return self.label_and_strength(X)[1]

    def label_and_strength(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Segment and strength of each point from one neighbour query."""
        distance, nearest = self._nearest(X)
        labels = self.labels[nearest]
        reach = np.minimum(1.0, self.core_distances[nearest] / np.maximum(distance, 1e-12))
        return labels, np.where(labels >= 0, self.probabilities[nearest] * reach, 0.0)


class DbscanAssigner:
    """A new point joins the segment of its nearest core point when within eps, else it is noise (as DBSCAN would)."""

    def __init__(self, model: DBSCAN, Z_fit: np.ndarray) -> None:
        core = model.core_sample_indices_
        self.eps = model.eps
        self.core_labels = model.labels_[core]
        self.index = NearestNeighbors(n_neighbors=1).fit(Z_fit[core]) if len(core) else None

    def __call__(self, X: np.ndarray) -> np.ndarray:
        if self.index is None:
            return np.full(len(X), -1)
        distance, nearest = self.index.kneighbors(X)
        return np.where(distance[:, 0] <= self.eps, self.core_labels[nearest[:, 0]], -1)


def scaled_value(spec: AlgorithmSpec, value: Any, rows: int, total: int) -> Any:
    """The swept value for a fit on ``rows`` of ``total`` rows: a minimum segment size shrinks with the sample."""
    if spec.sweep == "min_cluster_size":
        return max(5, int(round(value * rows / total)))
    return value
