"""The local engine's preprocessing as a Spark ML pipeline, and its export to the equivalent scikit-learn pipeline.

Spark computes the statistics over every row (medians, means and standard deviations, the most common category
levels, the newest date); :class:`FittedFeatures` holds them, the contract between the two forms. The local form is
:func:`core.preprocess.build_preprocessor`'s pipeline with those statistics in place, so ``segment predict`` and
the app transform a new customer exactly as Spark transformed the training customers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import PowerTransformer

from core.errors import SegmentationError
from core.preprocess import MAX_CATEGORIES, build_preprocessor

if TYPE_CHECKING:
    from pyspark.ml import PipelineModel
    from pyspark.sql import DataFrame

FEATURES = "features"
LEVELS_COLLECTED = 1_000  # of a categorical column's levels, the most common; the encoder keeps at most 19
_RARE = ("\x00rare-1", "\x00rare-2")  # stand-ins for a column's infrequent levels in the local encoder's fit


@dataclass
class FittedFeatures:
    """What Spark learned about the feature columns, in the local pipeline's column order.

    Attributes:
        plain: numeric columns scaled as they are.
        skewed: numeric columns transformed (log1p or Yeo-Johnson) before scaling.
        dates: date columns, as days before ``reference``.
        categorical: one-hot encoded columns.
        transform: ``none``, ``log1p`` or ``yeo-johnson``.
        lambdas: the Yeo-Johnson exponent of each skewed column (fitted on the driver's sample).
        reference: the date that dates are counted back from (ISO), or None without date columns.
        medians: missing numbers (and days) are filled with these, per column (the median, or the mean with
            ``impute`` mean).
        means: per scaled column (plain, skewed, dates), the centre the scaler subtracts: the mean (standard),
            median (robust) or minimum (minmax), after imputation and transform.
        stds: the same columns' spread it divides by: the standard deviation, interquartile range or range.
        levels: per categorical column, the levels that get their own column, sorted.
        infrequent: per categorical column, whether the other levels share one column.
        modes: per categorical column, the level a missing value becomes.
        impute: ``median`` or ``mean``.
        scale: ``standard``, ``robust`` or ``minmax``.
        fences: per numeric column, the outlier fences it is capped at (empty: not capped).
    """

    plain: list[str]
    skewed: list[str]
    dates: list[str]
    categorical: list[str]
    transform: str = "none"
    lambdas: list[float] = field(default_factory=list)
    reference: str | None = None
    medians: dict[str, float] = field(default_factory=dict)
    means: list[float] = field(default_factory=list)
    stds: list[float] = field(default_factory=list)
    levels: dict[str, list[str]] = field(default_factory=dict)
    infrequent: dict[str, bool] = field(default_factory=dict)
    modes: dict[str, str] = field(default_factory=dict)
    impute: str = "median"
    scale: str = "standard"
    fences: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def scaled(self) -> list[str]:
        return [*self.plain, *self.skewed, *self.dates]

    @property
    def names(self) -> list[str]:
        """The model features, as the local pipeline names them."""
        onehot = [
            name
            for column in self.categorical
            for name in [
                *(f"{column}_{level}" for level in self.levels[column]),
                *([f"{column}_infrequent_sklearn"] if self.infrequent[column] else []),
            ]
        ]
        return [*self.scaled, *onehot]

    def roles(self) -> dict[str, str]:
        return {
            **{c: "numeric" for c in [*self.plain, *self.skewed]},
            **{c: "date" for c in self.dates},
            **{c: "categorical" for c in self.categorical},
        }


def _quoted(column: str) -> str:
    return "`" + column.replace("`", "``") + "`"


def _yeo_johnson(expr: str, lam: float) -> str:
    """Yeo-Johnson of a SQL expression, as scikit-learn's PowerTransformer computes it."""
    if abs(lam) < np.spacing(1.0):
        positive = f"ln(1 + {expr})"
    else:
        positive = f"(power({expr} + 1, {lam!r}) - 1) / {lam!r}"
    if abs(lam - 2) > np.spacing(1.0):
        negative = f"-(power(1 - {expr}, {2 - lam!r}) - 1) / {2 - lam!r}"
    else:
        negative = f"-ln(1 - {expr})"
    return f"CASE WHEN {expr} >= 0 THEN {positive} ELSE {negative} END"


def fit_features(
    frame: DataFrame,
    roles: dict[str, str],
    sample: pd.DataFrame,
    transform: str = "none",
    transform_columns: list[str] | None = None,
    as_of: str | None = None,
    impute: str = "median",
    scale: str = "standard",
    fences: dict[str, tuple[float, float]] | None = None,
) -> tuple[PipelineModel, FittedFeatures]:
    """Fit the Spark ML pipeline that turns the feature columns into one ``features`` vector per row.

    ``sample``: the driver's sample of the customers, for the Yeo-Johnson exponents (a maximum-likelihood fit that
    settles on thousands of rows). ``fences``: numeric columns are capped at these (outliers capped). Everything
    else is computed by Spark over the rows of ``frame``.
    """
    from pyspark.ml import Pipeline
    from pyspark.ml.feature import Imputer, MinMaxScaler, RobustScaler, SQLTransformer, StandardScaler, VectorAssembler

    numeric = [c for c, r in roles.items() if r == "numeric"]
    skewed = [c for c in (transform_columns or []) if c in numeric] if transform != "none" else []
    spec = FittedFeatures(
        plain=[c for c in numeric if c not in skewed],
        skewed=skewed,
        dates=[c for c, r in roles.items() if r == "date"],
        categorical=[c for c, r in roles.items() if r == "categorical"],
        transform=transform if skewed else "none",
        impute=impute,
        scale=scale,
        fences=dict(fences or {}),
    )
    inner = {c: f"__x{i}" for i, c in enumerate(spec.scaled)}  # safe names inside the pipeline
    if spec.dates:
        spec.reference = as_of or _newest(frame, spec.dates)
    casts = [f"{_capped(c, spec.fences.get(c))} AS {inner[c]}" for c in [*spec.plain, *spec.skewed]]
    reference = f"to_timestamp('{pd.Timestamp(spec.reference).isoformat()}')" if spec.dates else ""
    casts += [
        f"(CAST({reference} AS DOUBLE) - CAST(to_timestamp({_quoted(c)}) AS DOUBLE)) / 86400.0 AS {inner[c]}"
        for c in spec.dates
    ]
    stages: list = []
    if spec.scaled:
        stages.append(SQLTransformer(statement=f"SELECT *, {', '.join(casts)} FROM __THIS__"))
        filled = [f"{inner[c]}_filled" for c in spec.scaled]
        stages.append(Imputer(strategy=impute, inputCols=[inner[c] for c in spec.scaled], outputCols=filled))
        shaped = {c: f"{inner[c]}_filled" for c in spec.scaled}
        if spec.skewed:
            spec.lambdas = _lambdas(sample, spec.skewed) if transform == "yeo-johnson" else []
            exprs = []
            for i, c in enumerate(spec.skewed):
                source = f"{inner[c]}_filled"
                formula = f"ln(1 + {source})" if transform == "log1p" else _yeo_johnson(source, spec.lambdas[i])
                exprs.append(f"{formula} AS {inner[c]}_shaped")
                shaped[c] = f"{inner[c]}_shaped"
            stages.append(SQLTransformer(statement=f"SELECT *, {', '.join(exprs)} FROM __THIS__"))
        stages.append(VectorAssembler(inputCols=[shaped[c] for c in spec.scaled], outputCol="__scalable"))
        scaler_class = {"standard": StandardScaler, "robust": RobustScaler, "minmax": MinMaxScaler}[scale]
        options = {"standard": {"withMean": True, "withStd": True}, "robust": {"withCentering": True}}.get(scale, {})
        stages.append(scaler_class(inputCol="__scalable", outputCol="__scaled", **options))
    indicators: list[str] = []
    if spec.categorical:
        exprs = []
        for j, column in enumerate(spec.categorical):
            _levels_of(frame, column, spec)
            value = f"coalesce({_as_text(frame, column)}, {_literal(spec.modes[column])})"
            for m, level in enumerate(spec.levels[column]):
                exprs.append(f"CAST({value} = {_literal(level)} AS DOUBLE) AS __c{j}_{m}")
                indicators.append(f"__c{j}_{m}")
            if spec.infrequent[column]:
                known = ", ".join(_literal(level) for level in spec.levels[column])
                exprs.append(f"CAST({value} NOT IN ({known}) AS DOUBLE) AS __c{j}_rest")
                indicators.append(f"__c{j}_rest")
        stages.append(SQLTransformer(statement=f"SELECT *, {', '.join(exprs)} FROM __THIS__"))
    parts = (["__scaled"] if spec.scaled else []) + indicators
    stages.append(VectorAssembler(inputCols=parts, outputCol=FEATURES))
    model = Pipeline(stages=stages).fit(frame)
    if spec.scaled:
        imputer, scaler = model.stages[1], model.stages[-2 - bool(spec.categorical)]
        surrogates = imputer.surrogateDF.collect()[0].asDict()
        spec.medians = {c: float(surrogates[inner[c]]) for c in spec.scaled}
        if scale == "standard":
            spec.means, spec.stds = list(map(float, scaler.mean.toArray())), list(map(float, scaler.std.toArray()))
        elif scale == "robust":
            spec.means, spec.stds = list(map(float, scaler.median.toArray())), list(map(float, scaler.range.toArray()))
        else:
            low, high = scaler.originalMin.toArray(), scaler.originalMax.toArray()
            spec.means, spec.stds = list(map(float, low)), list(map(float, high - low))
    return model, spec


def _capped(column: str, fence: tuple[float, float] | None) -> str:
    """The column as a number (NaN as missing), capped at its outlier fences when given."""
    value = f"nanvl(CAST({_quoted(column)} AS DOUBLE), CAST(NULL AS DOUBLE))"
    if fence is None:
        return value
    low, high = (f"CAST('{v!r}' AS DOUBLE)" for v in fence)  # 'inf' and '-inf' too
    # greatest and least skip nulls (a missing value would become the lower fence): it stays missing, for imputing
    return f"CASE WHEN {value} IS NULL THEN NULL ELSE least(greatest({value}, {low}), {high}) END"


def _as_text(frame: DataFrame, column: str) -> str:
    """A category as the text pandas makes of it (True/False for booleans, where Spark says true/false)."""
    if frame.schema[column].dataType.typeName() == "boolean":
        return f"CASE WHEN {_quoted(column)} THEN 'True' WHEN NOT {_quoted(column)} THEN 'False' END"
    return f"CAST({_quoted(column)} AS STRING)"


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _newest(frame: DataFrame, dates: list[str]) -> str:
    from pyspark.sql import functions as F

    newest = [F.max(F.to_timestamp(F.col(c))) for c in dates]
    row = frame.select((F.greatest(*newest) if len(newest) > 1 else newest[0]).alias("newest")).collect()[0]
    return (pd.Timestamp(row["newest"]) if row["newest"] is not None else pd.Timestamp("1970-01-01")).isoformat()


def _levels_of(frame: DataFrame, column: str, spec: FittedFeatures) -> None:
    """The levels the local encoder would keep over every row: all of them when there are at most 20, else the 19
    most common (ties: the later in sort order, as scikit-learn keeps them), the rest sharing one column. A missing
    value is the most common level (ties: the first in sort order), as scikit-learn imputes it."""
    from pyspark.sql import functions as F

    counted = frame.groupBy(F.expr(_as_text(frame, column)).alias("level")).count()
    distinct = counted.count()
    rows = counted.orderBy(F.desc("count"), F.desc("level")).limit(LEVELS_COLLECTED + 1).collect()
    missing = next((int(r["count"]) for r in rows if r["level"] is None), 0)
    counts = {str(r["level"]): int(r["count"]) for r in rows if r["level"] is not None}
    if not counts:
        raise SegmentationError(f"Column '{column}' has no values at all; leave it out.")
    top = max(counts.values())
    mode = min(level for level, n in counts.items() if n == top)
    counts[mode] += missing
    present = distinct - (1 if missing else 0)
    if present <= MAX_CATEGORIES:
        kept = sorted(counts)
    else:
        kept = sorted(sorted(counts, key=lambda level: (counts[level], level), reverse=True)[: MAX_CATEGORIES - 1])
    spec.levels[column], spec.infrequent[column], spec.modes[column] = kept, present > MAX_CATEGORIES, mode


def _lambdas(sample: pd.DataFrame, columns: list[str]) -> list[float]:
    values = sample[columns].apply(pd.to_numeric, errors="coerce")
    values = values.fillna(values.median())
    return [float(v) for v in PowerTransformer(method="yeo-johnson", standardize=False).fit(values).lambdas_]


def local_preprocessor(spec: FittedFeatures) -> ColumnTransformer:
    """The scikit-learn pipeline equivalent to the fitted Spark one: built as the local engine builds it, fitted on
    a few stand-in rows for its structure, then given Spark's statistics."""
    cap = ("iqr", 1.5) if spec.fences else None  # the fences themselves are Spark's, set below
    local = build_preprocessor(
        spec.roles(), spec.transform, spec.skewed, cap, spec.reference, impute=spec.impute, scale=spec.scale
    )
    local.fit(_stand_in(spec))
    position = {c: i for i, c in enumerate(spec.scaled)}
    for name, pipeline, columns in local.transformers_:
        if name in ("numeric", "skewed", "date"):
            at = [position[c] for c in columns]
            pipeline.named_steps["impute"].statistics_ = np.array([spec.medians[c] for c in columns])
            if name == "skewed" and spec.transform == "yeo-johnson":
                pipeline.named_steps["yeo_johnson"].lambdas_ = np.array(spec.lambdas)
            if name == "date":
                pipeline.named_steps["days"].reference_ = pd.Timestamp(spec.reference)
            if "cap" in pipeline.named_steps:
                pipeline.named_steps["cap"].fences_ = {c: spec.fences[c] for c in columns}
            _set_scaler(
                pipeline.named_steps["scale"], spec.scale, [spec.means[i] for i in at], [spec.stds[i] for i in at]
            )
        elif name == "categorical":
            pipeline.named_steps["impute"].statistics_ = np.array([spec.modes[c] for c in columns], dtype=object)
    names = [str(n) for n in local.get_feature_names_out()]
    if names != spec.names:
        raise SegmentationError("The exported preprocessing does not match Spark's features (internal error).")
    return local


def _set_scaler(scaler: Any, kind: str, centre: list[float], spread: list[float]) -> None:
    """Give a fitted scikit-learn scaler Spark's statistics (a spread of 0 divides by 1, as scikit-learn does)."""
    width = np.array(spread)
    safe = np.where(width > 0, width, 1.0)
    if kind == "standard":
        scaler.mean_, scaler.scale_, scaler.var_ = np.array(centre), safe, width**2
    elif kind == "robust":
        scaler.center_, scaler.scale_ = np.array(centre), safe
    else:
        low = np.array(centre)
        scaler.data_min_, scaler.data_max_, scaler.data_range_ = low, low + width, width
        scaler.scale_ = 1.0 / safe
        scaler.min_ = -low * scaler.scale_


def _stand_in(spec: FittedFeatures) -> pd.DataFrame:
    """Rows whose only purpose is to give the local pipeline its shape: each kept level three times, and where a
    column has infrequent levels two rare stand-ins once each, so the encoder groups exactly those."""
    columns: dict[str, list] = {}
    for column in spec.categorical:
        values = [level for level in spec.levels[column] for _ in range(3)]
        columns[column] = values + (list(_RARE) if spec.infrequent[column] else [])
    length = max([4, *(len(v) for v in columns.values())])
    frame = {c: (v + [v[0]] * (length - len(v))) for c, v in columns.items()}
    frame.update({c: list(np.arange(length, dtype=float)) for c in [*spec.plain, *spec.skewed]})
    frame.update({c: list(pd.date_range("2000-01-01", periods=length, freq="D")) for c in spec.dates})
    return pd.DataFrame(frame)[list(spec.roles())]
