"""Features analysts build before segmenting: totals, counts, ratios, age from a birth year, tenure from a date,
family size from a marital status and children counts.

On the command line each is one short expression, ``NAME=KIND(COLUMN, ...)``; in the app, a form.
"""

from __future__ import annotations

import csv
import re
from dataclasses import asdict, dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from core.errors import SegmentationError

KINDS = {
    "sum": "total of several columns",
    "count": "how many of several columns are above zero",
    "ratio": "first column divided by the second",
    "age": "years since a birth year (as of a date, default today)",
    "tenure": "days from a date to a reference date (default the newest date in that column)",
    "family_size": "adults from a marital-status column (2 if married or living together, else 1) plus the "
    "children columns after it",
}
# Marital statuses that mean two adults in the household; any other stated status counts one (a missing one: unknown).
COUPLE_STATUSES = {
    "married",
    "together",
    "partner",
    "partnered",
    "couple",
    "cohabiting",
    "living together",
    "civil union",
    "civil partnership",
    "domestic partner",
    "domestic partnership",
    "in a relationship",
    "de facto",
}
_EXPRESSION = re.compile(r"^\s*(?P<name>[^=]+?)\s*=\s*(?P<kind>[a-z_]+)\s*\((?P<args>.*)\)\s*$", re.DOTALL)


@dataclass
class FeatureSpec:
    """One engineered feature: a new column ``name`` computed by ``kind`` from ``columns``."""

    name: str
    kind: str
    columns: list[str] = field(default_factory=list)
    as_of: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def parse_feature(text: str) -> FeatureSpec:
    """Parse ``total=sum(a, b, "c, with comma")`` (``as_of=YYYY-MM-DD`` may end an age or tenure)."""
    match = _EXPRESSION.match(text)
    if not match:
        raise SegmentationError(
            f"--feature expects NAME=KIND(COLUMN, ...), e.g. total_spend=sum(food, drinks); got '{text}'."
        )
    args = [a.strip() for a in next(csv.reader([match["args"]], skipinitialspace=True))] if match["args"] else []
    as_of = None
    if args and args[-1].startswith("as_of="):
        as_of = args.pop()[len("as_of=") :]
    spec = FeatureSpec(name=match["name"].strip(), kind=match["kind"], columns=args, as_of=as_of)
    check_feature(spec)
    return spec


def check_feature(spec: FeatureSpec, columns: list[str] | None = None) -> None:
    """Raise a message naming what is wrong with a feature definition."""
    if spec.kind not in KINDS:
        raise SegmentationError(f"Unknown feature kind '{spec.kind}'; use one of: {', '.join(KINDS)}.")
    needed = {
        "sum": (2, None),
        "count": (2, None),
        "ratio": (2, 2),
        "age": (1, 1),
        "tenure": (1, 1),
        "family_size": (1, None),
    }[spec.kind]
    low, high = needed
    if len(spec.columns) < low or (high is not None and len(spec.columns) > high):
        wanted = f"exactly {low}" if low == high else f"at least {low}"
        raise SegmentationError(
            f"Feature '{spec.name}': {spec.kind} takes {wanted} column(s); got {len(spec.columns)}."
        )
    if not spec.name:
        raise SegmentationError("A feature needs a name.")
    if columns is not None:
        missing = [c for c in spec.columns if c not in columns]
        if missing:
            raise SegmentationError(f"Feature '{spec.name}' uses column(s) not in the data: {', '.join(missing)}.")
        if spec.name in columns:
            raise SegmentationError(f"Feature '{spec.name}' has the name of an existing column; choose another name.")


def add_features(table: pd.DataFrame, specs: list[FeatureSpec]) -> tuple[pd.DataFrame, list[FeatureSpec]]:
    """The table with the engineered columns appended, and the specs with their reference dates resolved (so a
    replay of the run computes the same values)."""
    out = table.copy() if specs else table
    resolved = []
    for spec in specs:
        check_feature(spec, list(out.columns))
        values = (
            [_numbers(out[c], spec.name, c) for c in spec.columns]
            if spec.kind in {"sum", "count", "ratio", "age"}
            else []
        )
        if spec.kind == "sum":
            out[spec.name] = pd.concat(values, axis=1).sum(axis=1, min_count=1)
        elif spec.kind == "count":
            out[spec.name] = pd.concat(values, axis=1).gt(0).sum(axis=1).astype(int)
        elif spec.kind == "ratio":
            out[spec.name] = (values[0] / values[1].where(values[1] != 0)).astype(float)
        elif spec.kind == "age":
            year = pd.Timestamp(spec.as_of).year if spec.as_of else date.today().year
            spec = FeatureSpec(spec.name, spec.kind, spec.columns, spec.as_of or date.today().isoformat())
            born = values[0].where(values[0].between(1900, year))
            out[spec.name] = (year - born).astype(float)
        elif spec.kind == "family_size":
            out[spec.name] = _family_size(out, spec)
        else:
            dates = (
                pd.to_datetime(out[spec.columns[0]], errors="coerce", format="mixed")
                if not (pd.api.types.is_datetime64_any_dtype(out[spec.columns[0]]))
                else out[spec.columns[0]]
            )
            if dates.isna().all():
                raise SegmentationError(f"Feature '{spec.name}': column '{spec.columns[0]}' has no readable dates.")
            reference = pd.Timestamp(spec.as_of) if spec.as_of else dates.max()
            spec = FeatureSpec(spec.name, spec.kind, spec.columns, reference.strftime("%Y-%m-%d"))
            out[spec.name] = (reference - dates).dt.days.astype(float)
        resolved.append(spec)
    return out, resolved


def _family_size(table: pd.DataFrame, spec: FeatureSpec) -> pd.Series:
    """Adults (2 for a couple status, 1 for any other stated status, unknown when missing) plus children."""
    status = table[spec.columns[0]]
    text = status.astype("string").str.strip().str.lower().str.replace(r"[\s_-]+", " ", regex=True)
    adults = pd.Series(np.where(text.isin(COUPLE_STATUSES).fillna(False), 2.0, 1.0), index=table.index)
    adults[status.isna()] = np.nan
    children = [_numbers(table[c], spec.name, c).clip(lower=0) for c in spec.columns[1:]]
    if not children:
        return adults
    return adults + pd.concat(children, axis=1).sum(axis=1, min_count=1).fillna(0.0)


def _numbers(values: pd.Series, feature: str, column: str) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.isna().all() and values.notna().any():
        raise SegmentationError(f"Feature '{feature}': column '{column}' is not numeric.")
    return numbers.astype(float)


def skewed_columns(table: pd.DataFrame, columns: list[str], threshold: float = 1.0) -> list[str]:
    """Numeric columns whose skewness exceeds ``threshold`` (money columns usually do)."""
    out = []
    for column in columns:
        values = pd.to_numeric(table[column], errors="coerce").dropna()
        if len(values) > 2 and np.isfinite(values.skew()) and values.skew() > threshold:
            out.append(column)
    return out
