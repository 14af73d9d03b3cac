"""Engineered features (core.features) computed by Spark, row by row where the data lives, with the same values
core.features.add_features gives: model.joblib rebuilds them the local way for every new customer."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from core.errors import SegmentationError
from core.features import COUPLE_STATUSES, FeatureSpec, check_feature

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame


def add_spark_features(frame: DataFrame, specs: list[FeatureSpec]) -> tuple[DataFrame, list[FeatureSpec]]:
    """``frame`` with the engineered columns appended, and the specs with their reference dates resolved."""
    from pyspark.sql import functions as F

    resolved = []
    for spec in specs:
        check_feature(spec, list(frame.columns))
        numbers = [_number(c) for c in spec.columns]
        if spec.kind == "sum":
            present = _any([n.isNotNull() for n in numbers])
            total = sum((F.coalesce(n, F.lit(0.0)) for n in numbers[1:]), F.coalesce(numbers[0], F.lit(0.0)))
            value = F.when(present, total)
        elif spec.kind == "count":
            value = sum((F.coalesce(n > 0, F.lit(False)).cast("int") for n in numbers[1:]),
                        F.coalesce(numbers[0] > 0, F.lit(False)).cast("int"))  # fmt: skip
        elif spec.kind == "ratio":
            value = numbers[0] / F.when(numbers[1] != 0, numbers[1])
        elif spec.kind == "age":
            spec = FeatureSpec(spec.name, spec.kind, spec.columns, spec.as_of or date.today().isoformat())
            year = pd.Timestamp(spec.as_of).year
            value = F.when(numbers[0].between(1900, year), F.lit(float(year)) - numbers[0])
        elif spec.kind == "family_size":
            value = _family_size(spec)
        else:
            moment = F.to_timestamp(F.col(f"`{spec.columns[0]}`"))
            if spec.as_of:
                reference = pd.Timestamp(spec.as_of)
            else:
                newest = frame.select(F.max(moment).alias("newest")).collect()[0]["newest"]
                if newest is None:
                    raise SegmentationError(f"Feature '{spec.name}': column '{spec.columns[0]}' has no readable dates.")
                reference = pd.Timestamp(newest)
            spec = FeatureSpec(spec.name, spec.kind, spec.columns, reference.strftime("%Y-%m-%d"))
            seconds = F.lit(reference.timestamp()) - moment.cast("double")  # the newest moment, as pandas has it
            value = F.floor(seconds / 86400.0)
        frame = frame.withColumn(spec.name, value.cast("double") if spec.kind != "count" else value.cast("long"))
        resolved.append(spec)
    return frame, resolved


def _number(column: str) -> Column:
    from pyspark.sql import functions as F

    value = F.col(f"`{column}`").cast("double")
    return F.nanvl(value, F.lit(None).cast("double"))


def _family_size(spec: FeatureSpec) -> Column:
    """Adults (2 for a couple status, 1 for any other stated one, unknown when missing) plus the children."""
    from pyspark.sql import functions as F

    status = F.col(f"`{spec.columns[0]}`")
    text = F.regexp_replace(F.lower(F.trim(status.cast("string"))), r"[\s_-]+", " ")
    adults = (
        F.when(status.isNull(), F.lit(None).cast("double"))
        .when(text.isin(*sorted(COUPLE_STATUSES)), F.lit(2.0))
        .otherwise(F.lit(1.0))
    )
    children = [F.greatest(_number(c), F.lit(0.0)) for c in spec.columns[1:]]
    if not children:
        return adults
    total = sum((F.coalesce(c, F.lit(0.0)) for c in children[1:]), F.coalesce(children[0], F.lit(0.0)))
    return adults + F.when(_any([c.isNotNull() for c in children]), total).otherwise(F.lit(0.0))


def _any(conditions: list[Column]) -> Column:
    out = conditions[0]
    for condition in conditions[1:]:
        out = out | condition
    return out
