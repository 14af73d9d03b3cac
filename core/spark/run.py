"""`segment run --engine spark`: the same segmentation with Spark fitting and labelling where the data lives.

What comes to the driver, and how much: a role sample (at most ROLE_ROWS rows), the metric sample (at most the
run's metric_sample_size rows of model features), each candidate's centres or mixture parameters, per-segment
aggregates, and the explanation sample (about EXPLAIN_ROWS rows, every segment represented). The labelled table is
written by Spark; the driver's memory does not grow with the number of customers.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.algorithms import get_algorithm
from core.bundle import ModelBundle
from core.config import RunConfig
from core.contracts import LABELLED_COLUMNS, LEADERBOARD_COLUMNS
from core.errors import SegmentationError
from core.explain import SegmentExplainer
from core.features import FeatureSpec, add_features
from core.naming import NOISE_NAME, auto_names
from core.outliers import METHODS as OUTLIER_THRESHOLDS
from core.pipeline import (
    SegmentationResult,
    _embed,
    _explained,
    _pca,
    _transformed_columns,
    _value_column,
    resolve_roles,
)
from core.predictor import SegmentPredictor
from core.quality import bootstrap_stability, geometric_metrics, within_sum_of_squares
from core.segmenter import MAX_LARGEST_SHARE, MAX_NOISE_SHARE, MIN_SMALLEST_SHARE, Progress, ignore_progress
from core.selection import Selection, add_warnings, structure_test
from core.selection import choose as choose_automatically
from core.spark.engineered import add_spark_features
from core.spark.exported import SparkSegmenter, exported_segmenter
from core.spark.features import FEATURES, fit_features
from core.spark.models import (
    RAW,
    SPARK_ALGORITHMS,
    Candidate,
    MixturePosterior,
    jitter_widths,
    label_on_cluster,
    sweep,
)
from core.spark.outliers import flagged, flagged_counts, spark_fences
from core.spark.profiles import CLUSTER, category_profile, numeric_profile, segment_value

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger("segstudio.spark")
ROLE_ROWS = 20_000
EXPLAIN_ROWS = 100_000
MIN_EXPLAINED_PER_SEGMENT = 500
STABILITY_ROWS = 5_000


@dataclass
class SparkRun:
    """A finished Spark segmentation.

    Attributes:
        result: the segmentation of the driver's sample, with the exported model (what model.joblib, the report and
            the app use).
        sample: the driver's sample of customers (input columns), in the order of ``result.labels``.
        labelled: every customer with ``cluster``, ``segment`` and ``confidence``: a Spark DataFrame, not collected.
        rows: customers read.
        sizes: customers per segment over every row.
        value: customers and value per segment over every row (None without a value column).
        sampling: what was sampled where (run.json's ``spark.sampled``).
        spark: Spark's master and version.
        agreement: share of the driver's sample on which the exported local model gives Spark's segment.
        seconds: where the time went, per step.
        pipeline: the fitted Spark ML preprocessing.
        chosen: the chosen Spark model.
        order: segment number of each of the chosen model's raw clusters.
    """

    result: SegmentationResult
    sample: pd.DataFrame
    labelled: DataFrame
    rows: int
    sizes: dict[int, int]
    value: Any
    sampling: dict[str, int]
    spark: dict[str, str]
    agreement: float
    seconds: dict[str, float]
    pipeline: Any = None
    chosen: Candidate | None = None
    order: np.ndarray | None = None

    def label(self, frame: DataFrame) -> DataFrame:
        """``frame`` with the segment Spark gives each row in ``cluster`` (new customers scored on the cluster)."""
        assert self.chosen is not None and self.order is not None
        return _numbered(label_on_cluster(self.chosen, self.pipeline.transform(frame)), self.order)


def check_spark_options(config: RunConfig) -> None:
    """Refuse, with a message, the options the Spark engine does not carry out (rather than ignore them)."""
    refused = []
    if config.impute == "knn":
        refused.append("--impute knn: Spark imputes the median or the mean")
    if config.criterion == "stability":
        refused.append("--criterion stability: it refits every candidate on the driver")
    other = [a for a in config.algorithms if a not in SPARK_ALGORITHMS]
    if other:
        refused.append(f"algorithm(s) {', '.join(other)}: Spark runs {', '.join(SPARK_ALGORITHMS)}")
    if config.params:
        refused.append("--params: Spark's algorithms run with their defaults")
    if refused:
        raise SegmentationError("Not available with --engine spark: " + "; ".join(refused) + ".")


def run_spark_segmentation(
    spark: SparkSession,
    frame: DataFrame,
    config: RunConfig,
    progress: Progress | None = None,
    previous: ModelBundle | None = None,
) -> SparkRun:
    """Segment the customers of ``frame`` with Spark (see the module's docstring for what reaches the driver).

    ``previous``: an earlier run's model, whose names the segments that reappear keep.
    """
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    check_spark_options(config)
    report = progress or ignore_progress
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        seconds[step] = round(time.perf_counter() - clock, 2)
        clock = time.perf_counter()

    report(0.01, "Spark: counting the customers")
    inputs = list(frame.columns)
    rows = frame.count()
    if rows < config.k_min:
        raise SegmentationError(f"The data has {rows} rows, fewer than the {config.k_min} segments asked for.")
    frame, engineered = add_spark_features(frame, [FeatureSpec(**f) for f in config.features])
    role_sample = _sample(frame, ROLE_ROWS, rows, config.seed).toPandas()
    roles, features = resolve_roles(role_sample, config)
    for built in engineered:  # a feature the analyst built is meant to be used
        if built.name not in features and roles.get(built.name) in ("numeric", "categorical", "date"):
            features.append(built.name)
    numeric = [c for c in features if roles[c] == "numeric"]
    transformed = _transformed_columns(role_sample, config, numeric)
    action = config.outliers["action"]
    method = config.outliers["method"]
    threshold = config.outliers["threshold"] or OUTLIER_THRESHOLDS.get(method, 0.0)
    fences = spark_fences(frame, numeric, method, threshold) if action != "keep" else {}
    counts = flagged_counts(frame, fences)
    excluded = flagged(fences) if action == "exclude" else F.lit(False)
    frame = frame.withColumn("__excluded", excluded)
    fitted = frame.where(~F.col("__excluded")) if action == "exclude" else frame
    fit_total = fitted.count() if action == "exclude" else rows
    if fit_total < config.k_min:
        raise SegmentationError(
            f"Excluding {rows - fit_total:,} outlier rows leaves {fit_total:,}, fewer than the {config.k_min} "
            "segments asked for; cap the outliers instead."
        )
    lap("read and roles")
    report(0.05, "Spark: fitting the preprocessing pipeline")
    pipeline, spec = fit_features(
        fitted,
        {c: roles[c] for c in features},
        role_sample,
        config.transform,
        transformed,
        config.as_of,
        impute=config.impute,
        scale=config.scale,
        fences=fences if action == "cap" else None,
    )
    featured = pipeline.transform(frame)
    lap("preprocessing")
    report(0.1, "Spark: drawing the sample the candidates are fitted on")
    fit_sample = _sample(featured.where(~F.col("__excluded")).select(FEATURES), config.sample_size, fit_total,
                         config.seed).cache()  # fmt: skip
    fit_rows = fit_sample.count()
    metric = _sample(fit_sample, config.metric_sample_size, fit_rows, config.seed + 1)
    collected = metric.select(vector_to_array(F.col(FEATURES)).alias("v")).toPandas()
    Z_metric = np.array(collected["v"].tolist(), dtype=np.float64)
    if len(np.unique(Z_metric, axis=0)) < config.k_min:
        raise SegmentationError(f"The data has fewer distinct customers than the {config.k_min} segments asked for.")
    k_range = (config.k_min, config.k_max)
    widths = jitter_widths(Z_metric)
    candidates = sweep(fit_sample, list(config.algorithms), k_range, config.seed, report, widths)
    for candidate in candidates:
        if isinstance(candidate.local, MixturePosterior):
            candidate.local.merge_valleys(Z_metric)
    fit_sample.unpersist()
    lap("sweep")
    report(0.65, "Choosing the model")
    board, labelings, bic = _leaderboard(candidates, Z_metric, fit_total, config.seed, config.metric_sample_size)
    selection = _select(board, labelings, bic, Z_metric, config, k_range)
    board["selected"] = board.index == selection.row
    chosen = candidates[selection.row]
    lap("metrics and choice")
    report(0.7, "Spark: labelling every customer with the chosen model")
    labelled = label_on_cluster(chosen, featured)
    raw_sizes = {int(r[RAW]): int(r["count"]) for r in labelled.groupBy(RAW).count().collect()}
    order = _cluster_order(raw_sizes, chosen)
    labelled = _numbered(labelled, order)
    sizes = {int(order[raw]): n for raw, n in raw_sizes.items()}
    lap("labelling")
    report(0.75, "Spark: drawing the explanation sample")
    sample, sample_labels = _explanation_sample(labelled, inputs, sizes, rows, config.seed)
    lap("explanation sample")
    report(0.8, "Explaining the segments on the driver's sample")
    sampling = {
        "rows": rows,
        "role_rows": len(role_sample),
        "fit_rows": fit_rows,
        "metric_rows": len(Z_metric),
        "driver_rows": len(sample),
        "excluded_rows": rows - fit_total,
    }
    segmenter = exported_segmenter(
        spec,
        chosen,
        order,
        board[list(LEADERBOARD_COLUMNS)],
        selection,
        sample_labels,
        {"n_clusters": chosen.k},
        k_range,
        sampling,
        config.seed,
    )
    prepared = add_features(sample, engineered)[0]
    Z = segmenter.transform_features(prepared)
    agreement = float((segmenter.predict(prepared) == sample_labels).mean())
    result = _explained_sample(
        prepared, sample_labels, Z, segmenter, roles, features, transformed, config, labelled, chosen
    )
    result = replace(result, engineered=engineered, outlier_counts=counts if action != "keep" else {})
    if previous is not None:
        result, _ = result.with_names_from(previous.explanation, previous.names, previous.edited_actions())
    value = segment_value(labelled, result.value_column) if result.value_column else None
    segmenter.sizes_, segmenter.value_ = sizes, value
    lap("explanation")
    report(1.0, f"Done: {segmenter.n_clusters_} segments")
    segment_names = F.create_map(*[F.lit(x) for k, name in result.names.items() for x in (int(k), name)])
    renamed = {c: f"{c}_input" for c in LABELLED_COLUMNS if c in frame.columns}
    labelled = labelled.select(
        *[F.col(f"`{c}`").alias(renamed.get(c, c)) for c in [*inputs, *(f.name for f in engineered)]],
        F.col(CLUSTER),
        F.coalesce(segment_names[F.col(CLUSTER)], F.lit(NOISE_NAME)).alias("segment"),
        F.col("__posterior").cast("double").alias("confidence"),
        F.col(CLUSTER).alias("meta_cluster"),
        F.lit(None).cast("double").alias("assignment_stability"),
        F.col("__excluded").alias("outlier_excluded"),
    )
    return SparkRun(
        result=result,
        sample=sample,
        labelled=labelled,
        rows=rows,
        sizes=sizes,
        value=value,
        sampling=sampling,
        spark={"master": str(spark.sparkContext.master), "version": spark.version},
        agreement=agreement,
        seconds=seconds,
        pipeline=pipeline,
        chosen=chosen,
        order=order,
    )


def _numbered(labelled: DataFrame, order: np.ndarray) -> DataFrame:
    """Raw clusters renumbered by size, in column ``cluster``."""
    from pyspark.sql import functions as F

    mapping = F.create_map(*[F.lit(x) for raw, new in enumerate(order) for x in (raw, int(new))])
    return labelled.withColumn(CLUSTER, F.coalesce(mapping[F.col(RAW)], F.lit(-1)).cast("int"))


def _sample(frame: DataFrame, size: int, rows: int, seed: int) -> DataFrame:
    """A seeded random sample of at most ``size`` rows, drawn by Spark (every row when there are no more)."""
    if rows <= size:
        return frame
    return frame.sample(fraction=min(1.0, 1.1 * size / rows), seed=seed).limit(size)


def _leaderboard(
    candidates: list[Candidate], Z: np.ndarray, rows: int, seed: int, metric_size: int
) -> tuple[pd.DataFrame, list[np.ndarray | None], dict[int, float]]:
    """The local engine's leaderboard columns for the Spark candidates, their metrics on the driver's sample."""
    board: list[dict[str, Any]] = []
    labelings: list[np.ndarray | None] = []
    bic: dict[int, float] = {}
    for i, c in enumerate(candidates):
        labels = c.assigner(Z)
        counts = np.bincount(labels)
        shares = counts[counts > 0] / len(labels)
        how = "nearest leaf centre" if c.algorithm == "bisecting_kmeans" else "the model's prediction"
        board.append(
            {
                "algorithm": c.algorithm,
                "params": json.dumps({"n_clusters": c.k}),
                "n_clusters": int((counts > 0).sum()),
                "noise_share": 0.0,
                "smallest_share": float(shares.min()),
                "largest_share": float(shares.max()),
                **geometric_metrics(Z, labels, np.random.default_rng(seed), metric_size, False),
                "stability": np.nan,
                "inertia": within_sum_of_squares(Z, labels) * rows / len(Z),
                "fit_seconds": round(c.seconds, 4),
                "fit_rows": c.fit_rows,
                "assignment": f"Spark MLlib on a sample of {c.fit_rows:,}; every row labelled on the cluster ({how})",
                "note": _note(c, int((counts > 0).sum())),
            }
        )
        labelings.append(labels)
        value = c.bic(Z.shape[1])
        if value is not None:
            bic[i] = value
    return pd.DataFrame(board), labelings, bic


def _note(candidate: Candidate, segments: int) -> str:
    if isinstance(candidate.local, MixturePosterior) and candidate.local.n_segments < candidate.k:
        return f"{candidate.k} components merged into {candidate.local.n_segments} segments (no density valley between)"
    return "" if segments == candidate.k else f"{segments} of {candidate.k} segments hold customers"


def _eligible(board: pd.DataFrame) -> pd.Series:
    return (
        (board["largest_share"] <= MAX_LARGEST_SHARE)
        & (board["smallest_share"] >= MIN_SMALLEST_SHARE)
        & (board["noise_share"] <= MAX_NOISE_SHARE)
        & (board["n_clusters"] >= 2)
    )


def _select(
    board: pd.DataFrame,
    labelings: list[np.ndarray | None],
    bic: dict[int, float],
    Z: np.ndarray,
    config: RunConfig,
    k_range: tuple[int, int],
) -> Selection:
    """The local engine's choice (its automatic rule, a criterion, or the analyst's row) among Spark's candidates."""
    ok = _eligible(board)
    natural, evidence = structure_test(Z, board, ok, config.seed)
    components = {i: int(json.loads(board.loc[i, "params"])["n_clusters"]) for i in bic}
    if config.select is not None:
        if not 0 <= config.select < len(board):
            raise SegmentationError(f"There is no leaderboard row {config.select}; rows are 0 to {len(board) - 1}.")
        chosen = Selection(
            config.select, f"Leaderboard row {config.select}, chosen by the analyst.", natural_groups=natural,
            evidence=evidence,
        )  # fmt: skip
        return add_warnings(chosen, board, ok, components, k_range)
    if config.criterion == "auto":
        return choose_automatically(board, ok, labelings, bic, components, k_range, natural, evidence)
    from core.segmenter import select_best

    row = select_best(board, config.criterion)
    best = Selection(
        row,
        f"The best {config.criterion.replace('_', '-')} among the candidates that pass the guards "
        f"({board.loc[row, config.criterion]:.3f}).",
        natural_groups=natural,
        evidence=evidence,
    )
    return add_warnings(best, board, ok, components, k_range)


def _cluster_order(raw_sizes: dict[int, int], chosen: Candidate) -> np.ndarray:
    """Segment numbers by size (0 = largest), as the local engine numbers them; -1 for empty raw clusters."""
    width = max([chosen.k, *(r + 1 for r in raw_sizes)])
    counts = np.zeros(width, dtype=np.int64)
    for raw, n in raw_sizes.items():
        counts[raw] = n
    present = np.flatnonzero(counts)
    order = np.full(width, -1)
    order[present[np.argsort(-counts[present], kind="stable")]] = np.arange(len(present))
    return order


def _explanation_sample(
    labelled: DataFrame, columns: list[str], sizes: dict[int, int], rows: int, seed: int
) -> tuple[pd.DataFrame, np.ndarray]:
    """About EXPLAIN_ROWS customers drawn by Spark in proportion to the segments, at least
    MIN_EXPLAINED_PER_SEGMENT of each (small segments whole), with their segments."""
    share = min(1.0, EXPLAIN_ROWS / rows)
    fractions = {k: min(1.0, max(share, MIN_EXPLAINED_PER_SEGMENT / n)) for k, n in sizes.items()}
    drawn = labelled.sampleBy(CLUSTER, fractions, seed) if share < 1.0 else labelled
    frame = drawn.select(*columns, CLUSTER).toPandas()
    labels = frame.pop(CLUSTER).to_numpy(dtype=np.int32)
    return frame.reset_index(drop=True), labels


def _explained_sample(
    sample: pd.DataFrame,
    labels: np.ndarray,
    Z: np.ndarray,
    segmenter: SparkSegmenter,
    roles: dict[str, str],
    features: list[str],
    transformed: list[str],
    config: RunConfig,
    labelled: DataFrame,
    chosen: Candidate,
) -> SegmentationResult:
    """The result on the driver's sample: predictor, names, rules, importances, stability and the map there;
    profiles replaced by Spark's over every customer."""
    seed = config.seed
    predictor, confidence = None, np.full(len(labels), np.nan)
    if len(np.unique(labels[labels >= 0])) >= 2:
        predictor = SegmentPredictor(classifier=config.classifier, random_state=seed).fit(Z, labels)
        confidence = predictor.confidence_of(Z, labels)
    explanation = SegmentExplainer(features, roles, random_state=seed).fit(sample, labels)
    explanation.profile_ = numeric_profile(labelled, features, roles)
    explanation.category_profile_ = category_profile(labelled, features, roles)
    if config.n_bootstrap > 0:
        local = get_algorithm(chosen.algorithm)
        params = local.validate({"covariance_type": "full"} if chosen.algorithm == "gmm" else {})
        segmenter.stability_ = bootstrap_stability(
            local, params, chosen.k, Z, labels, config.n_bootstrap, STABILITY_ROWS, seed
        )
    pca = _pca(Z, seed)
    return SegmentationResult(
        config=config,
        roles=roles,
        features=features,
        segmenter=segmenter,
        labels=labels,
        names=auto_names(sample, labels, features, roles),
        embedding=_embed(pca, Z),
        explained_variance=_explained(pca),
        meta_labels=labels,
        transformed=transformed,
        predictor=predictor,
        confidence=confidence,
        explanation=explanation,
        pca=pca,
        value_column=_value_column(sample, roles, config.value),
    )
