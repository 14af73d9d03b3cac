"""Turn DataFrames into AG Grid props: safe field names, JSON-friendly values, readable numbers."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def grid_props(frame: pd.DataFrame, header_tooltips: dict[str, str] | None = None) -> tuple[list[dict], list[dict]]:
    """Return (rowData, columnDefs) for a frame.

    A column's field is its name when that is a plain identifier, else positional (``__c0``, ``__c1`` ...): AG Grid
    reads dots in a field name as nesting, and analysts' column names contain dots, spaces and brackets.
    Positional fields start with two underscores so they cannot meet a plain column name.
    """
    tips = header_tooltips or {}
    column_defs = []
    fields = [
        str(c) if _PLAIN.fullmatch(str(c)) and not str(c).startswith("__") else f"__c{i}"
        for i, c in enumerate(frame.columns)
    ]
    for i, column in enumerate(frame.columns):
        definition: dict[str, Any] = {"field": fields[i], "headerName": str(column)}
        if column in tips:
            definition["headerTooltip"] = tips[column]
        if pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column]):
            definition["type"] = "numericColumn"
        column_defs.append(definition)
    rows = []
    values = [_json_column(frame[c]) for c in frame.columns]
    for r in range(len(frame)):
        rows.append({fields[i]: values[i][r] for i in range(len(values))})
    return rows, column_defs


def _json_column(values: pd.Series) -> list[Any]:
    if pd.api.types.is_datetime64_any_dtype(values):
        return [None if pd.isna(v) else v.strftime("%Y-%m-%d") for v in values]
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        floats = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
        return [None if not np.isfinite(v) else (int(v) if float(v).is_integer() else float(v)) for v in floats]
    return [_json_value(v) for v in values]


def _json_value(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value) if np.isfinite(value) else None
    return None if pd.isna(value) else str(value)


def profile_grid_frame(summary: pd.DataFrame) -> pd.DataFrame:
    """A segment summary turned sideways: one row per measure, one column per segment, as marketing reads it."""
    shown = [c for c in summary.columns if c in _PROFILE_COLUMNS or c.startswith(("mean_", "top_"))]
    body = summary[shown].set_index("segment")
    body["share"] = (body["share"] * 100).round(1)
    body = body.rename(columns={"size": "customers", "share": "share of customers (%)"})
    body.columns = [_measure_label(c) for c in body.columns]
    sideways = body.T.map(_readable)
    sideways.insert(0, "measure", sideways.index)
    return sideways.reset_index(drop=True)


_PROFILE_COLUMNS = ("segment", "size", "share", "stability", "confidence", "rule_coverage", "key_features")


def _measure_label(column: str) -> str:
    if column in ("rule_coverage", "key_features"):
        return column.replace("_", " ")
    for prefix, label in (("mean_", "average "), ("top_share_", "share of the most common "), ("top_", "most common ")):
        if column.startswith(prefix):
            return label + column[len(prefix) :]
    return column


def _readable(value: Any) -> str:
    """Numbers with thousands separators and at most two decimals; everything else as text."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        return "" if not np.isfinite(value) else f"{value:,.2f}".rstrip("0").rstrip(".")
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def leaderboard_frame(board: pd.DataFrame) -> pd.DataFrame:
    """The leaderboard as shown: a row number to pick by, readable names, rounded scores."""
    shown = board.copy()
    shown.insert(0, "row", shown.index)
    shown["selected"] = shown["selected"].map({True: "✔", False: ""})
    for column in ("noise_share", "smallest_share", "largest_share"):
        shown[column] = (shown[column] * 100).round(1)
    shown = shown.rename(
        columns={"noise_share": "noise %", "smallest_share": "smallest %", "largest_share": "largest %"}
    )
    for column in ("silhouette", "davies_bouldin", "dbcv", "stability"):
        shown[column] = shown[column].round(3)
    for column in ("calinski_harabasz", "inertia"):
        shown[column] = shown[column].round(1)
    first = [
        "row",
        "selected",
        "algorithm",
        "n_clusters",
        "silhouette",
        "davies_bouldin",
        "calinski_harabasz",
        "dbcv",
        "stability",
        "noise %",
        "smallest %",
        "largest %",
    ]
    return shown[first + [c for c in shown.columns if c not in first]]
