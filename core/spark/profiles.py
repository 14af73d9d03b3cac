"""Segment profiles as Spark aggregations over every row, in the shape SegmentExplainer's profiles have, so the
report, segments.csv and the pages show every customer's figures rather than the driver sample's."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core.explain import MAX_LEVELS, OTHER_LEVEL
from core.value import SegmentValue

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

CLUSTER = "cluster"
MEDIAN_ACCURACY = 10_000  # percentile_approx's accuracy: a relative error of about 1/10,000 of the rank


def _number(frame: DataFrame, column: str, role: str) -> Column:
    """The feature as the explainer reads it: numbers as numbers, dates as days since 1970."""
    from pyspark.sql import functions as F

    if role == "date":
        return F.to_timestamp(F.col(column)).cast("double") / 86400.0
    return F.nanvl(F.col(column).cast("double"), F.lit(None).cast("double"))  # NaN is missing, as in pandas


def numeric_profile(frame: DataFrame, features: list[str], roles: dict[str, str]) -> pd.DataFrame:
    """One row per (feature, segment): mean, approximate median, min, max and the population's mean and sd."""
    from pyspark.sql import functions as F

    columns = [c for c in features if roles[c] != "categorical"]
    if not columns:
        return pd.DataFrame(
            columns=[
                "cluster", "feature", "kind", "mean", "median", "min", "max",
                "population_mean", "population_sd", "difference", "ratio", "effect",
            ]
        )  # fmt: skip
    values = frame.select(F.col(CLUSTER), *[_number(frame, c, roles[c]).alias(f"v{i}") for i, c in enumerate(columns)])
    stats = []
    for i in range(len(columns)):
        v = F.col(f"v{i}")
        stats += [
            F.avg(v).alias(f"mean{i}"),
            F.percentile_approx(v, 0.5, MEDIAN_ACCURACY).alias(f"median{i}"),
            F.min(v).alias(f"min{i}"),
            F.max(v).alias(f"max{i}"),
        ]
    per_segment = values.where(F.col(CLUSTER) >= 0).groupBy(CLUSTER).agg(*stats).toPandas().sort_values(CLUSTER)
    overall = values.agg(
        *[F.avg(f"v{i}").alias(f"mean{i}") for i in range(len(columns))],
        *[F.stddev_samp(f"v{i}").alias(f"sd{i}") for i in range(len(columns))],
    ).collect()[0]
    rows = []
    for i, column in enumerate(columns):
        population_mean, population_sd = overall[f"mean{i}"], overall[f"sd{i}"]
        population_sd = np.nan if population_sd is None else float(population_sd)
        for _, r in per_segment.iterrows():
            mean = float(r[f"mean{i}"]) if r[f"mean{i}"] is not None else np.nan
            difference = mean - population_mean
            spread = np.isfinite(population_sd) and population_sd != 0
            rows.append(
                {
                    "cluster": int(r[CLUSTER]),
                    "feature": column,
                    "kind": roles[column],
                    "mean": mean,
                    "median": float(r[f"median{i}"]) if r[f"median{i}"] is not None else np.nan,
                    "min": float(r[f"min{i}"]) if r[f"min{i}"] is not None else np.nan,
                    "max": float(r[f"max{i}"]) if r[f"max{i}"] is not None else np.nan,
                    "population_mean": population_mean,
                    "population_sd": population_sd,
                    "difference": difference,
                    "ratio": mean / population_mean
                    if roles[column] == "numeric" and population_mean not in (0, None)
                    else np.nan,
                    "effect": difference / population_sd if spread else 0.0,
                }
            )
    return pd.DataFrame(rows)


def category_profile(frame: DataFrame, features: list[str], roles: dict[str, str]) -> pd.DataFrame:
    """One row per (segment, categorical feature, level): the share of the segment with that level, beside the
    population's (the 10 most common levels one by one, the rest "(other)", missing values "(missing)")."""
    from pyspark.sql import functions as F

    rows = []
    for column in [c for c in features if roles[c] == "categorical"]:
        text = F.coalesce(F.col(column).cast("string"), F.lit("(missing)"))
        counted = frame.select(F.col(CLUSTER), text.alias("level")).where(F.col(CLUSTER) >= 0)
        common = [
            r["level"] for r in counted.groupBy("level").count().orderBy(F.desc("count")).limit(MAX_LEVELS).collect()
        ]
        grouped = F.when(F.col("level").isin(common), F.col("level")).otherwise(F.lit(OTHER_LEVEL))
        counts = counted.select(CLUSTER, grouped.alias("level")).groupBy(CLUSTER, "level").count().toPandas()
        table = counts.pivot(index=CLUSTER, columns="level", values="count").fillna(0.0)
        overall = table.sum(axis=0) / table.to_numpy().sum()
        overall = overall.sort_values(ascending=False, kind="stable")
        shares = table.div(table.sum(axis=1), axis=0)
        for segment, row in shares.sort_index().iterrows():
            for level, population in overall.items():
                share = float(row.get(level, 0.0))
                rows.append(
                    {
                        "cluster": int(segment),
                        "feature": column,
                        "level": str(level),
                        "share": share,
                        "population_share": float(population),
                        "difference": share - population,
                        "ratio": share / population if population else np.nan,
                        "effect": 2 * np.arcsin(np.sqrt(share)) - 2 * np.arcsin(np.sqrt(population)),
                    }
                )
    return pd.DataFrame(
        rows, columns=["cluster", "feature", "level", "share", "population_share", "difference", "ratio", "effect"]
    )


def segment_value(frame: DataFrame, column: str) -> SegmentValue:
    """Customers and the value column's total per segment, over every row."""
    from pyspark.sql import functions as F

    rows = (
        frame.groupBy(CLUSTER)
        .agg(F.count(F.lit(1)).alias("n"), F.sum(F.coalesce(F.col(column).cast("double"), F.lit(0.0))).alias("v"))
        .collect()
    )
    return SegmentValue(
        column=column,
        customers={int(r[CLUSTER]): int(r["n"]) for r in rows},
        totals={int(r[CLUSTER]): float(r["v"] or 0.0) for r in rows},
    )
