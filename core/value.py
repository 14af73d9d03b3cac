"""What each segment is worth: its share of customers beside its share of a value column (revenue, spend, monetary).

Marketing acts on "12% of customers, 41% of revenue", not on a profile. The value column need not be a feature the
model was fitted on; it is any numeric column of the table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.errors import SegmentationError

# Names that say "this is what a customer is worth", strongest first; the first that matches a numeric column wins.
_VALUE_WORDS = (
    "monetary",
    "revenue",
    "lifetime_value",
    "clv",
    "ltv",
    "total_spend",
    "spend",
    "spent",
    "sales",
    "purchases",
    "amount",
    "value",
)


@dataclass
class SegmentValue:
    """Customers and value per segment.

    Attributes:
        column: the value column.
        customers: customers per segment number (-1: unassigned).
        totals: the sum of the value column per segment (missing values count as 0).
    """

    column: str
    customers: dict[int, int]
    totals: dict[int, float]

    @property
    def total(self) -> float:
        return float(sum(self.totals.values()))

    def customer_share(self, cluster: int) -> float:
        return self.customers.get(cluster, 0) / (sum(self.customers.values()) or 1)

    def value_share(self, cluster: int) -> float:
        """The segment's share of all value (NaN when the total is not positive: shares would mislead)."""
        total = self.total
        return self.totals.get(cluster, 0.0) / total if total > 0 else float("nan")

    def per_customer(self, cluster: int) -> float:
        count = self.customers.get(cluster, 0)
        return self.totals.get(cluster, 0.0) / count if count else float("nan")

    def overall_per_customer(self) -> float:
        return self.total / (sum(self.customers.values()) or 1)

    def phrase(self, cluster: int) -> str:
        """'12% of customers, 41% of monetary'."""
        share = self.value_share(cluster)
        worth = "" if np.isnan(share) else f", {share:.0%} of {self.column}"
        return f"{self.customer_share(cluster):.0%} of customers{worth}"


def segment_value(table: pd.DataFrame, labels: np.ndarray, column: str) -> SegmentValue:
    """Customers and the value column's total per segment.

    Raises:
        SegmentationError: the column is not in the table or holds no numbers.
    """
    if column not in table.columns:
        raise SegmentationError(f"The value column '{column}' is not in the data.")
    values = pd.to_numeric(table[column], errors="coerce")
    if values.notna().sum() == 0:
        raise SegmentationError(f"The value column '{column}' holds no numbers; choose a numeric column.")
    grouped = values.fillna(0.0).groupby(np.asarray(labels))
    return SegmentValue(
        column=column,
        customers={int(k): int(v) for k, v in grouped.size().items()},
        totals={int(k): float(v) for k, v in grouped.sum().items()},
    )


def value_candidates(roles: dict[str, str]) -> list[str]:
    """Numeric columns that could be a value column, the likeliest first (the rest in table order)."""
    numeric = [c for c, r in roles.items() if r == "numeric"]
    return sorted(numeric, key=lambda c: (_rank(c), numeric.index(c)))


def suggest_value_column(roles: dict[str, str]) -> str | None:
    """The numeric column whose name says spend, revenue or monetary (None when no name does)."""
    ranked = value_candidates(roles)
    return ranked[0] if ranked and _rank(ranked[0]) < len(_VALUE_WORDS) else None


def _rank(column: str) -> int:
    words = re.sub(r"[^a-z0-9]+", "_", str(column).lower()).strip("_")
    for rank, word in enumerate(_VALUE_WORDS):
        if words == word or re.search(rf"(^|_){word}($|_)", words):
            return rank
    return len(_VALUE_WORDS)
