"""The k sweep on Spark MLlib (KMeans, BisectingKMeans, GaussianMixture) and each model's local equivalent.

Every candidate is fitted by Spark on a Spark-side sample; its local form (centres, or the mixture's weights, means
and covariances) labels the driver's metric sample, so the leaderboard's metrics are the local engine's own
functions on the same kind of sample, and comparable between the engines.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from core.mixture import ModalMixture
from core.segmenter import ASSIGN_CHUNK, Progress

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

SPARK_ALGORITHMS = ("kmeans", "bisecting_kmeans", "gmm")
DEFAULT_SPARK_ALGORITHMS = SPARK_ALGORITHMS
RAW = "__raw"
EPSILON = float(np.finfo(np.float64).eps)  # Spark's MLUtils.EPSILON
REG_COVAR = 1e-4  # the local engine's mixtures add this to their covariances' diagonal


class NearestCentre:
    """Assigns each row to the nearest centre (squared Euclidean distance): KMeans' own rule, and the rule the
    labelling of BisectingKMeans uses (its leaf centres, without the tree's greedy descent)."""

    def __init__(self, centres: np.ndarray) -> None:
        self.centres = np.asarray(centres, dtype=np.float64)

    def __call__(self, Z: np.ndarray) -> np.ndarray:
        out = np.empty(len(Z), dtype=np.int32)
        squared = (self.centres**2).sum(axis=1)
        for start in range(0, len(Z), ASSIGN_CHUNK):
            block = Z[start : start + ASSIGN_CHUNK]
            out[start : start + ASSIGN_CHUNK] = np.argmin(squared - 2 * block @ self.centres.T, axis=1)
        return out


class MixturePosterior:
    """Assigns each row to the component of highest posterior probability, computed as Spark's
    GaussianMixtureModel computes it: each Gaussian's density through the pseudo-inverse of its covariance (a
    one-hot block makes covariances singular, which scikit-learn's mixture refuses), a floor of machine epsilon
    on every weighted density, the first component winning ties."""

    def __init__(self, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray) -> None:
        self.weights = np.asarray(weights, dtype=np.float64)
        self.means = np.asarray(means, dtype=np.float64)
        self.covariances = np.asarray(covariances, dtype=np.float64)
        self.segment_of_component = np.arange(len(self.weights))
        self.roots, self.constants = [], []
        for sigma in np.asarray(covariances, dtype=np.float64):
            values, vectors = np.linalg.eigh(sigma)
            tolerance = EPSILON * values.max() * len(values)
            kept = values > tolerance
            self.roots.append(vectors[:, kept] / np.sqrt(values[kept]))
            self.constants.append(-0.5 * (len(values) * np.log(2 * np.pi) + np.log(values[kept]).sum()))

    def probabilities(self, Z: np.ndarray) -> np.ndarray:
        densities = np.empty((len(Z), len(self.weights)))
        for j, (mean, root, constant) in enumerate(zip(self.means, self.roots, self.constants)):
            projected = (Z - mean) @ root
            densities[:, j] = EPSILON + self.weights[j] * np.exp(constant - 0.5 * (projected**2).sum(axis=1))
        return densities / densities.sum(axis=1, keepdims=True)

    def merge_valleys(self, Z: np.ndarray) -> None:
        """Components that no density valley separates become one segment, as the local engine's mixture merges
        them (core.mixture, on the rows ``Z``)."""
        modal = ModalMixture(n_components=len(self.weights), covariance_type="full")
        modal.weights_, modal.means_, modal.covariances_ = self.weights, self.means, self.covariances
        self.segment_of_component = modal._segments(np.asarray(Z))

    @property
    def n_segments(self) -> int:
        return int(self.segment_of_component.max() + 1)

    def __call__(self, Z: np.ndarray) -> np.ndarray:
        out = np.empty(len(Z), dtype=np.int32)
        for start in range(0, len(Z), ASSIGN_CHUNK):
            best = self.probabilities(Z[start : start + ASSIGN_CHUNK]).argmax(axis=1)
            out[start : start + ASSIGN_CHUNK] = self.segment_of_component[best]
        return out


@dataclass
class Candidate:
    """One fitted Spark model of the sweep.

    Attributes:
        algorithm: the leaderboard's algorithm key.
        k: the number of segments asked for.
        model: the fitted pyspark.ml model.
        local: its local equivalent (the centres, or the mixture).
        assigner: assigns rows of the model space to the model's raw clusters.
        seconds: how long Spark took to fit it.
        fit_rows: rows of the Spark-side sample it was fitted on.
        log_likelihood: the mixture's log-likelihood of its fit rows (None for the others).
    """

    algorithm: str
    k: int
    model: Any
    local: Any
    assigner: NearestCentre | MixturePosterior
    seconds: float
    fit_rows: int
    log_likelihood: float | None = None

    def bic(self, dimensions: int) -> float | None:
        """The mixture's BIC (full covariances), as scikit-learn defines it."""
        if self.log_likelihood is None:
            return None
        d, k = dimensions, self.k
        parameters = k * d + k * d * (d + 1) / 2 + k - 1
        return float(-2 * self.log_likelihood + parameters * np.log(self.fit_rows))


def fit_candidate(algorithm: str, k: int, sample: DataFrame, rows: int, seed: int) -> Candidate:
    """Fit one Spark model and its local equivalent."""
    from pyspark.ml.clustering import BisectingKMeans, KMeans
    from pyspark.ml.clustering import GaussianMixture as SparkMixture

    started = time.perf_counter()
    if algorithm == "kmeans":
        model = KMeans(k=k, seed=seed, featuresCol="features").fit(sample)
    elif algorithm == "bisecting_kmeans":
        model = BisectingKMeans(k=k, seed=seed, featuresCol="features").fit(sample)
    else:
        model = SparkMixture(k=k, seed=seed, featuresCol="features", tol=0.01, maxIter=100).fit(sample)
    seconds = time.perf_counter() - started
    if algorithm == "gmm":
        local = _local_mixture(model)
        return Candidate(algorithm, k, model, local, local, seconds, rows, float(model.summary.logLikelihood))
    centres = np.array([np.asarray(c, dtype=float) for c in model.clusterCenters()])
    return Candidate(algorithm, k, model, centres, NearestCentre(centres), seconds, rows)


def _local_mixture(model: Any) -> MixturePosterior:
    gaussians = model.gaussiansDF.collect()
    return MixturePosterior(
        np.asarray(model.weights, dtype=np.float64),
        np.array([g["mean"].toArray() for g in gaussians]),
        np.array([g["cov"].toArray() for g in gaussians]),
    )


def sweep(
    sample: DataFrame,
    algorithms: list[str],
    k_range: tuple[int, int],
    seed: int,
    report: Progress,
    widths: np.ndarray | None = None,
) -> list[Candidate]:
    """Every algorithm at every k, fitted by Spark on the (cached) sample; ``widths``: see :func:`jitter_widths`."""
    rows = sample.count()
    mixture_sample = _jittered(sample, widths, seed) if "gmm" in algorithms and widths is not None else sample
    work = [(a, k) for a in algorithms for k in range(k_range[0], k_range[1] + 1)]
    out = []
    for step, (algorithm, k) in enumerate(work):
        report(0.15 + 0.5 * step / len(work), f"Spark: fitting {algorithm} with k={k} ({step + 1} of {len(work)})")
        data = mixture_sample if algorithm == "gmm" else sample
        out.append(fit_candidate(algorithm, k, data, rows, seed))
    if mixture_sample is not sample:
        mixture_sample.unpersist()
    return out


def jitter_widths(Z: np.ndarray) -> np.ndarray:
    """Per model feature, the width of the uniform jitter the mixtures' fit sample gets: the gap from a customer's
    value to the next distinct value, for the median customer (a count: the step between the common counts; a
    continuous feature: next to nothing), at least the width whose variance is the local engine's reg_covar (1e-4),
    which is also the width for one-hot columns and flags (measured: a jitter as wide as their 0-1 gap blurred the
    levels together, ARI 0.61 against 0.98 on the four-group test table)."""
    floor = float(np.sqrt(12 * REG_COVAR))
    widths = []
    for column in np.asarray(Z, dtype=np.float64).T:
        values, counts = np.unique(column, return_counts=True)
        if len(values) <= 2:  # one-hot columns and flags: their levels are the groups, not to be blurred together
            widths.append(floor)
            continue
        gaps = np.diff(values)
        gaps = np.append(gaps, gaps[-1])  # the largest value: the gap below it
        order = np.argsort(gaps)
        median = gaps[order][np.searchsorted(np.cumsum(counts[order]), counts.sum() / 2)]
        widths.append(max(floor, float(median)))
    return np.array(widths)


def _jittered(sample: DataFrame, widths: np.ndarray, seed: int) -> DataFrame:
    """The sample with every value moved by a seeded uniform amount (see :func:`jitter_widths`) for the mixtures'
    fit: the values of a discrete feature spread over the gaps between them (dequantised). Spark's GaussianMixture
    has no covariance regularisation: a component that falls on one value of a one-hot column or of a whole-number
    count has no spread there, and its likelihood grows without bound. Measured: 20,000 customers of four groups
    with a three-level column gave 2 segments (ARI 0.50); on 100,000 RFM customers with whole-number frequencies,
    mixtures of 8 and 10 components had components of weight 0.000-0.002 and twice the log-likelihood of 5
    components, so BIC chose them and their segments merged into 2 or 3 (the local engine: 4); a jitter of variance
    1e-4 alone (the local engine's reg_covar) did not prevent it. The mixtures then label the unmoved customers."""
    from pyspark.ml.functions import array_to_vector, vector_to_array
    from pyspark.sql import functions as F

    width = F.array(*[F.lit(float(w)) for w in widths])
    with_id = sample.withColumn("__id", F.monotonically_increasing_id())

    def shift(x: Any, i: Any) -> Any:
        return x + (F.abs(F.hash(F.col("__id"), i, F.lit(seed))) % 10_000 / 10_000.0 - 0.5) * F.element_at(width, i + 1)

    jitter = F.transform(vector_to_array(F.col("features")), shift)
    return with_id.withColumn("features", array_to_vector(jitter)).drop("__id").cache()


def label_on_cluster(candidate: Candidate, frame: DataFrame) -> DataFrame:
    """``frame`` with the raw cluster of every row in column ``__raw`` (and the mixture's posterior of it in
    ``__posterior``), computed by Spark: the model's own prediction, or for BisectingKMeans the nearest leaf
    centre (the rule its local form uses)."""
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    if candidate.algorithm == "bisecting_kmeans":
        centres = candidate.local
        with_array = frame.withColumn("__vector", vector_to_array("features"))
        distances = [
            F.aggregate(
                F.zip_with(
                    F.col("__vector"), F.array(*[F.lit(float(v)) for v in centre]), lambda a, b: (a - b) * (a - b)
                ),
                F.lit(0.0),
                lambda total, x: total + x,
            )
            for centre in centres
        ]
        nearest = F.array_position(F.array(*distances), F.array_min(F.array(*distances))) - 1
        return with_array.withColumn(RAW, nearest.cast("int")).drop("__vector").withColumn("__posterior", F.lit(None))
    labelled = candidate.model.transform(frame)
    if candidate.algorithm != "gmm":
        return labelled.withColumnRenamed("prediction", RAW).withColumn("__posterior", F.lit(None).cast("double"))
    segments = [int(s) for s in candidate.local.segment_of_component]
    segment_of = F.array(*[F.lit(s) for s in segments])
    labelled = labelled.withColumn(RAW, F.element_at(segment_of, F.col("prediction").cast("int") + 1))
    in_segment: Any = lambda p, s: F.when(s == F.col(RAW), p).otherwise(F.lit(0.0))  # noqa: E731
    posterior = F.aggregate(
        F.zip_with(vector_to_array(F.col("probability")), segment_of, in_segment), F.lit(0.0), lambda a, b: a + b
    )
    return labelled.withColumn("__posterior", posterior).drop("probability", "prediction")
