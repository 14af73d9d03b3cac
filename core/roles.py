"""Infer what each column of a customer table is, so the engine knows what to cluster on.

Roles: ``id`` (kept in exports, never a feature), ``numeric``, ``categorical``, ``date`` (turned into days before
the newest date), ``derived`` (a score or label computed from other columns, such as the R, F, M scores, the RFM
code and the rfm_segment label of `segment rfm`: clustering on them again would count the same information twice and
name segments by codes), ``text`` and ``constant`` (all three excluded). The analyst can override any of them.
"""

from __future__ import annotations

import re

import pandas as pd

ROLES = ("id", "numeric", "categorical", "date", "derived", "text", "constant")
FEATURE_ROLES = ("numeric", "categorical", "date")
_ID_NAME = re.compile(r"(^|[^a-z])(id|key|uuid|guid|code|number|no|nr|num)([^a-z]|$)|id$", re.IGNORECASE)
_CODE_NAME = re.compile(
    r"channel|region|type|code|category|class|group|segment|gender|genre|sex|flag|status|is_|has_", re.IGNORECASE
)
_MAX_CATEGORIES = 50


def infer_role(values: pd.Series) -> str:
    """Return the role of one column from its values and its name."""
    name = str(values.name)
    present = values.dropna()
    n_unique = present.nunique()
    if n_unique <= 1:
        return "constant"
    unique_share = n_unique / len(present)
    if pd.api.types.is_datetime64_any_dtype(values):
        return "date"
    if pd.api.types.is_bool_dtype(values):
        return "categorical"
    if pd.api.types.is_numeric_dtype(values):
        integral = bool((present % 1 == 0).all())
        if integral and unique_share > 0.98 and (_ID_NAME.search(name) or _is_sequence(present)):
            return "id"
        if integral and (n_unique <= 2 or (n_unique <= 12 and _CODE_NAME.search(name))):
            return "categorical"
        return "numeric"
    text = present.astype(str)
    if _ID_NAME.search(name) and n_unique > _MAX_CATEGORIES:
        return "id"
    if unique_share > 0.95 and len(present) > 20:
        return "text" if text.str.len().mean() > 40 or text.str.contains(" ").mean() > 0.5 else "id"
    if n_unique <= _MAX_CATEGORIES or unique_share < 0.05:
        return "categorical" if n_unique <= 200 else "text"
    return "text"


def _is_sequence(present: pd.Series) -> bool:
    ordered = present.sort_values().to_numpy()
    return len(ordered) > 20 and bool(((ordered[1:] - ordered[:-1]) == 1).mean() > 0.9)


def infer_roles(table: pd.DataFrame) -> dict[str, str]:
    """Infer the role of every column of a table (derived scores and labels among them)."""
    roles = {str(column): infer_role(table[column]) for column in table.columns}
    for column in derived_columns(table, roles):
        roles[column] = "derived"
    return roles


SCORE_LEVELS = 10
SCORE_CORRELATION = 0.9
SAMPLE = 50_000


def derived_columns(table: pd.DataFrame, roles: dict[str, str]) -> list[str]:
    """Scores and labels computed from other columns.

    A score is a whole-number column of at most 10 values whose rank correlation with a finer numeric column
    (more than 20 values) is 0.9 or more: quintile scores of recency, frequency and spend. A label is a column that
    the scores determine (each combination of scores gives one value, on 99% of customers): an RFM code, a
    rule-based segment name.
    """
    sample = table.sample(min(len(table), SAMPLE), random_state=0) if len(table) > SAMPLE else table
    numeric = [c for c, r in roles.items() if r == "numeric"]
    fine = [c for c in numeric if sample[c].nunique() > 20]
    scores = []
    for column in numeric:
        values = pd.to_numeric(sample[column], errors="coerce")
        if column in fine or values.nunique() > SCORE_LEVELS or not bool((values.dropna() % 1 == 0).all()):
            continue
        ranked = [abs(values.corr(pd.to_numeric(sample[other], errors="coerce"), method="spearman")) for other in fine]
        if ranked and max(ranked) >= SCORE_CORRELATION:
            scores.append(column)
    if not scores:
        return []
    labels = []
    for column, role in roles.items():
        values = sample[column]
        if column in scores or role not in ("numeric", "categorical") or not 1 < values.nunique() <= 200:
            continue
        # determined by the scores together, and by none alone (a column one score determines is that score's source)
        if _determined(sample, scores, column) and (
            len(scores) == 1 or not any(_determined(sample, [score], column) for score in scores)
        ):
            labels.append(column)
    return scores + labels


def _determined(sample: pd.DataFrame, by: list[str], column: str) -> bool:
    """Each combination of ``by`` gives one value of ``column``, for 99% of the rows that have one."""
    top = sample.groupby(by, dropna=False)[column].agg(lambda v: v.value_counts().iloc[0] if v.notna().any() else 0)
    return bool(top.sum() >= 0.99 * sample[column].notna().sum())


def feature_columns(roles: dict[str, str], columns: list[str] | None = None) -> list[str]:
    """The columns to cluster on: the chosen ones (or all) whose role makes them a feature."""
    chosen = list(roles) if columns is None else columns
    return [c for c in chosen if roles.get(c) in FEATURE_ROLES]
