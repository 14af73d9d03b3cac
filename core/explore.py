"""Descriptive statistics for the Explore and Data pages: what each column holds, and how much is missing."""

from __future__ import annotations

import numpy as np
import pandas as pd

PLOT_SAMPLE = 50_000
STATS_SAMPLE = 200_000  # statistics settle long before this; exact ones on millions of rows cost seconds


def column_overview(table: pd.DataFrame, roles: dict[str, str], profile: list[dict] | None = None) -> pd.DataFrame:
    """One row per column: name, role, share missing (%), distinct values, an example value.

    ``profile``: :func:`column_profile` of the table, computed once when it was loaded (seconds at millions of rows).
    """
    profile = profile or column_profile(table)
    return pd.DataFrame(
        [
            {
                "column": p["column"],
                "role": roles.get(p["column"], ""),
                "missing": p["missing"],
                "distinct": p["distinct"],
                "example": p["example"],
            }
            for p in profile
        ]
    )


def column_profile(table: pd.DataFrame) -> list[dict]:
    """What each column holds, independent of its role: share missing (%), distinct values, an example value."""
    rows = []
    for column in table.columns:
        values = table[column]
        present = values.dropna()
        example = present.iloc[0] if len(present) else ""
        if isinstance(example, pd.Timestamp):
            example = example.strftime("%Y-%m-%d")
        rows.append(
            {
                "column": str(column),
                "missing": round(100 * float(values.isna().mean()), 1),
                "distinct": int(present.nunique()),
                "example": str(example)[:40],
            }
        )
    return rows


def describe(table: pd.DataFrame, roles: dict[str, str]) -> pd.DataFrame:
    """Per column: role, count, missing, distinct, and mean / sd / min / quartiles / max for numeric columns,
    most common value and its share for the others. Count and missing use every row; on tables of more than
    :data:`STATS_SAMPLE` rows the rest come from a random sample of that many."""
    rows = []
    sample = table if len(table) <= STATS_SAMPLE else table.sample(STATS_SAMPLE, random_state=0)
    for column in table.columns:
        values = sample[column]
        role = roles.get(column, "")
        row = {
            "column": column,
            "role": role,
            "count": int(table[column].notna().sum()),
            "missing": int(table[column].isna().sum()),
            "distinct": int(values.nunique()),
        }
        numbers = pd.to_numeric(values, errors="coerce") if role == "numeric" else None
        if numbers is not None and numbers.notna().any():
            q = numbers.quantile([0.25, 0.5, 0.75])
            row.update(
                mean=numbers.mean(),
                sd=numbers.std(),
                min=numbers.min(),
                p25=q[0.25],
                median=q[0.5],
                p75=q[0.75],
                max=numbers.max(),
                skew=numbers.skew(),
            )
        elif values.notna().any():
            counts = values.astype(str).where(values.notna()).value_counts()
            row.update(top=str(counts.index[0]), top_share=round(float(counts.iloc[0] / values.notna().sum()), 3))
        rows.append(row)
    return pd.DataFrame(rows)


def plot_sample(table: pd.DataFrame, limit: int = PLOT_SAMPLE, seed: int = 0) -> pd.DataFrame:
    """All rows, or a random sample of ``limit`` rows (charts of millions of points help nobody)."""
    return table if len(table) <= limit else table.sample(limit, random_state=seed)


def missing_by_column(table: pd.DataFrame) -> pd.Series:
    """Share of missing values per column, in table order."""
    return table.isna().mean()


def correlations(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Spearman correlations (robust to the skew of money columns) between numeric columns, on at most
    :data:`PLOT_SAMPLE` rows: Pearson correlations of each column's ranks (pandas' own Spearman re-ranks every pair
    of columns, a minute at a million rows)."""
    numbers = plot_sample(table[columns]).apply(pd.to_numeric, errors="coerce")
    return numbers.rank().corr().replace([np.inf, -np.inf], np.nan)
