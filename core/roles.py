"""Infer what each column of a customer table is, so the engine knows what to cluster on.

Roles: ``id`` (kept in exports, never a feature), ``numeric``, ``categorical``, ``date`` (turned into days before
the newest date), ``text`` and ``constant`` (both excluded). The analyst can override any of them.
"""

from __future__ import annotations

import re

import pandas as pd

ROLES = ("id", "numeric", "categorical", "date", "text", "constant")
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
    """Infer the role of every column of a table."""
    return {str(column): infer_role(table[column]) for column in table.columns}


def feature_columns(roles: dict[str, str], columns: list[str] | None = None) -> list[str]:
    """The columns to cluster on: the chosen ones (or all) whose role makes them a feature."""
    chosen = list(roles) if columns is None else columns
    return [c for c in chosen if roles.get(c) in FEATURE_ROLES]
