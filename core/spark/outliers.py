"""Outlier fences (core.outliers' IQR rule or z-scores) computed by Spark over every row, and the rows they flag."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from core.errors import SegmentationError
from core.outliers import METHODS
from core.spark.profiles import MEDIAN_ACCURACY

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame


def _number(column: str) -> Column:
    from pyspark.sql import functions as F

    return F.nanvl(F.col(f"`{column}`").cast("double"), F.lit(None).cast("double"))


def spark_fences(frame: DataFrame, columns: list[str], method: str, threshold: float) -> dict[str, tuple[float, float]]:
    """Per column, the limits beyond which a value is an outlier (quartiles approximate, to 1/10,000 of the rank)."""
    from pyspark.sql import functions as F

    if method not in METHODS:
        raise SegmentationError(f"Unknown outlier method '{method}'; use one of: {', '.join(METHODS)}.")
    if not columns:
        return {}
    if method == "iqr":
        stats = [F.percentile_approx(_number(c), [0.25, 0.75], MEDIAN_ACCURACY).alias(f"q{i}") for i, c in
                 enumerate(columns)]  # fmt: skip
    else:
        stats = [F.avg(_number(c)).alias(f"m{i}") for i, c in enumerate(columns)]
        stats += [F.stddev_samp(_number(c)).alias(f"s{i}") for i, c in enumerate(columns)]
    row = frame.agg(*stats).collect()[0]
    out = {}
    for i, column in enumerate(columns):
        if method == "iqr":
            quartiles = row[f"q{i}"]
            if quartiles is None:
                out[column] = (-np.inf, np.inf)  # a column without numbers has no outliers
                continue
            q1, q3 = float(quartiles[0]), float(quartiles[1])
            out[column] = (q1 - threshold * (q3 - q1), q3 + threshold * (q3 - q1))
        else:
            mean, sd = row[f"m{i}"], row[f"s{i}"]
            if mean is None or sd is None:
                out[column] = (-np.inf, np.inf)
                continue
            out[column] = (float(mean) - threshold * float(sd), float(mean) + threshold * float(sd))
    return out


def flagged(fences: dict[str, tuple[float, float]]) -> Column:
    """True where any column is beyond its fences (missing values are not outliers)."""
    from pyspark.sql import functions as F

    out = F.lit(False)
    for column, (low, high) in fences.items():
        value = _number(column)
        out = out | F.coalesce((value < F.lit(low)) | (value > F.lit(high)), F.lit(False))
    return out


def flagged_counts(frame: DataFrame, fences: dict[str, tuple[float, float]]) -> dict[str, int]:
    """Rows flagged per column."""
    from pyspark.sql import functions as F

    if not fences:
        return {}
    sums = [
        F.sum(F.coalesce((_number(c) < F.lit(low)) | (_number(c) > F.lit(high)), F.lit(False)).cast("long")).alias(
            f"n{i}"
        )
        for i, (c, (low, high)) in enumerate(fences.items())
    ]
    row = frame.agg(*sums).collect()[0]
    return {c: int(row[f"n{i}"] or 0) for i, c in enumerate(fences)}
