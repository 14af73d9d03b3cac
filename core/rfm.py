"""RFM features from a transaction log: one row per customer, plus classic RFM scores and rule-based segments.

The scores and the rule-based segments are the baseline marketing teams know; the learned segments are compared
with them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from core.errors import SegmentationError

RFM_FEATURES = ["recency_days", "frequency", "monetary", "tenure_days", "average_basket"]
# The widely used mapping from the recency and frequency scores (R then F, each 1-5) to named segments.
RULE_SEGMENTS = [
    (r"[1-2][1-2]", "Hibernating"),
    (r"[1-2][3-4]", "At Risk"),
    (r"[1-2]5", "Can't Lose Them"),
    (r"3[1-2]", "About to Sleep"),
    (r"33", "Need Attention"),
    (r"[3-4][4-5]", "Loyal Customers"),
    (r"41", "Promising"),
    (r"51", "New Customers"),
    (r"[4-5][2-3]", "Potential Loyalists"),
    (r"5[4-5]", "Champions"),
]


@dataclass
class RfmReport:
    """What happened to the log's rows, so nothing is dropped silently."""

    transactions: int
    customers: int
    missing_customer_rows: int
    missing_date_rows: int
    return_rows: int
    cancelled_invoices: int
    as_of: str

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        return (
            f"{self.transactions:,} transactions of {self.customers:,} customers as of {self.as_of}; "
            f"{self.return_rows:,} returns or cancellations netted from the totals "
            f"({self.cancelled_invoices:,} cancelled invoices); "
            f"{self.missing_customer_rows:,} rows without a customer id and {self.missing_date_rows:,} without a "
            "valid date left out."
        )


def build_rfm(
    log: pd.DataFrame,
    customer: str,
    date: str,
    amount: str | None = None,
    quantity: str | None = None,
    price: str | None = None,
    invoice: str | None = None,
    as_of: str | pd.Timestamp | None = None,
) -> tuple[pd.DataFrame, RfmReport]:
    """Aggregate a transaction log into one row per customer.

    Args:
        log: one row per transaction (or invoice line).
        customer: the customer id column.
        date: the transaction date column.
        amount: the value of each row; or give ``quantity`` and ``price`` and the value is their product.
        invoice: optional invoice id; frequency counts distinct invoices (else transactions), and invoices starting
            with "C" (a common export convention) are cancellations.
        as_of: the date recency and tenure are measured to (default: the newest date in the log).

    Returns:
        (table, report): the table has the customer id, ``recency_days``, ``frequency``, ``monetary`` (net of
        returns), ``tenure_days``, ``average_basket``, the scores ``R``, ``F``, ``M`` (1-5), ``RFM`` and
        ``rfm_segment``.
    """
    _check_columns(log, customer, date, amount, quantity, price, invoice)
    value = _values(log, amount, quantity, price)
    dates = _dates(log[date], date)
    ids = log[customer].astype("string").str.strip().replace("", pd.NA)
    missing_id = ids.isna()
    missing_date = dates.isna() & ~missing_id
    keep = ~missing_id & ~missing_date & value.notna()
    if not keep.any():
        raise SegmentationError("No transaction has a customer id, a valid date and a value; check the columns chosen.")
    frame = pd.DataFrame({"customer": ids[keep], "date": dates[keep], "value": value[keep]})
    cancelled = pd.Series(False, index=frame.index)
    if invoice is not None:
        frame["invoice"] = log.loc[keep, invoice].astype("string").str.strip()
        cancelled = frame["invoice"].str.upper().str.startswith("C").fillna(False)
    negative = frame["value"] < 0
    if quantity is not None:
        negative |= pd.to_numeric(log.loc[keep, quantity], errors="coerce").lt(0).fillna(False)
    returns = negative | cancelled
    newest = frame["date"].max()
    reference = newest if as_of is None else _as_of(as_of)

    purchases = frame[~returns]
    grouped = frame.groupby("customer", sort=False)
    bought = purchases.groupby("customer", sort=False)
    frequency = (bought["invoice"].nunique() if invoice is not None else bought.size()).rename("frequency")
    table = pd.DataFrame(
        {
            "recency_days": (reference - bought["date"].max()).dt.days,
            "frequency": frequency,
            "monetary": grouped["value"].sum().round(2),
            "tenure_days": (reference - grouped["date"].min()).dt.days,
        }
    )
    table["frequency"] = table["frequency"].fillna(0).astype(int)
    table["recency_days"] = table["recency_days"].fillna(table["tenure_days"])
    table["average_basket"] = (table["monetary"] / table["frequency"].where(table["frequency"] > 0)).round(2)
    table = table.reset_index().rename(columns={"customer": customer})
    table[customer] = table[customer].astype(str)
    table = add_rfm_scores(table)
    report = RfmReport(
        transactions=int(keep.sum()),
        customers=int(len(table)),
        missing_customer_rows=int(missing_id.sum()),
        missing_date_rows=int(missing_date.sum()),
        return_rows=int(returns.sum()),
        cancelled_invoices=int(frame.loc[cancelled, "invoice"].nunique()) if invoice is not None else 0,
        as_of=reference.strftime("%Y-%m-%d"),
    )
    return table, report


def add_rfm_scores(table: pd.DataFrame) -> pd.DataFrame:
    """Quintile scores (5 = most recent, most frequent, highest value), the RFM code and the rule-based segment."""
    out = table.copy()
    out["R"] = _quintile(-out["recency_days"])
    out["F"] = _quintile(out["frequency"])
    out["M"] = _quintile(out["monetary"])
    out["RFM"] = out["R"].astype(str) + out["F"].astype(str) + out["M"].astype(str)
    rf = out["R"].astype(str) + out["F"].astype(str)
    segment = pd.Series("", index=out.index, dtype=object)
    for pattern, name in RULE_SEGMENTS:
        segment[rf.str.fullmatch(pattern) & (segment == "")] = name
    out["rfm_segment"] = segment
    return out


def _quintile(values: pd.Series) -> pd.Series:
    """Scores 1-5 by rank, so ties and heavy skew still give five groups of equal size where possible."""
    if len(values) < 5:
        ranks = values.rank(method="average", pct=True)
        return np.ceil(ranks * 5).clip(1, 5).astype(int)
    return pd.qcut(values.rank(method="first"), 5, labels=[1, 2, 3, 4, 5]).astype(int)


def _check_columns(
    log: pd.DataFrame,
    customer: str,
    date: str,
    amount: str | None,
    quantity: str | None,
    price: str | None,
    invoice: str | None,
) -> None:
    if amount is None and (quantity is None or price is None):
        raise SegmentationError("Give either an amount column, or both a quantity and a unit price column.")
    if amount is not None and (quantity is not None or price is not None):
        raise SegmentationError("Give either an amount column or quantity and price columns, not both.")
    named = [c for c in (customer, date, amount, quantity, price, invoice) if c is not None]
    missing = [c for c in named if c not in log.columns]
    if missing:
        available = ", ".join(map(str, log.columns))
        raise SegmentationError(f"Column(s) not in the transaction log: {', '.join(missing)}. Available: {available}.")


def _values(log: pd.DataFrame, amount: str | None, quantity: str | None, price: str | None) -> pd.Series:
    if amount is not None:
        values = pd.to_numeric(log[amount], errors="coerce")
        if values.isna().all():
            raise SegmentationError(f"The amount column '{amount}' has no numbers.")
        return values.astype(float)
    q = pd.to_numeric(log[quantity], errors="coerce")
    p = pd.to_numeric(log[price], errors="coerce")
    if q.isna().all() or p.isna().all():
        raise SegmentationError(f"The quantity column '{quantity}' or the price column '{price}' has no numbers.")
    return (q * p).astype(float)


def _dates(values: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    dates = pd.to_datetime(values.astype("string"), errors="coerce", format="mixed")
    if dates.isna().all():
        raise SegmentationError(f"The date column '{name}' has no readable dates.")
    return dates


def _as_of(value: str | pd.Timestamp) -> pd.Timestamp:
    try:
        return pd.Timestamp(value)
    except (ValueError, TypeError):
        raise SegmentationError(f"--as-of expects a date like 2024-12-31; got '{value}'.") from None


def compare_with_rules(segments: pd.Series, rule_segments: pd.Series) -> tuple[pd.DataFrame, float]:
    """How the learned segments line up with the rule-based RFM segments: customer counts and the adjusted Rand
    index (1 = the same grouping, about 0 = unrelated)."""
    crosstab = pd.crosstab(segments.rename("segment"), rule_segments.rename("rfm_segment"))
    return crosstab, float(adjusted_rand_score(rule_segments.astype(str), segments.astype(str)))
