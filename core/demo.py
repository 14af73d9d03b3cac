"""A realistic, seeded demo customer table with known underlying segments.

The app starts on it and the tests use it: the hidden segment of each customer is returned separately so a test can
check that clustering recovers it, while the table the analyst sees has no trace of it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Each archetype: share of customers, then per-feature (mean, sd) on the scale analysts know.
_ARCHETYPES: dict[str, dict] = {
    "Affluent loyalists": {
        "share": 0.22,
        "income": (105_000, 12_000),
        "groceries": (620, 90),
        "electronics": (900, 150),
        "fashion": (780, 120),
        "home": (540, 90),
        "visits": (11, 2),
        "recency": (8, 5),
        "tenure_years": (7, 1.5),
        "education": {"Master": 0.45, "PhD": 0.25, "Bachelor": 0.3},
        "marital": {"Married": 0.7, "Single": 0.2, "Divorced": 0.1},
        "channel": {"Store": 0.5, "Both": 0.4, "Online": 0.1},
    },
    "Budget families": {
        "share": 0.33,
        "income": (42_000, 7_000),
        "groceries": (480, 70),
        "electronics": (90, 40),
        "fashion": (120, 50),
        "home": (210, 60),
        "visits": (8, 2),
        "recency": (20, 8),
        "tenure_years": (5, 1.5),
        "education": {"High school": 0.5, "Bachelor": 0.4, "Master": 0.1},
        "marital": {"Married": 0.75, "Divorced": 0.15, "Single": 0.1},
        "channel": {"Store": 0.75, "Both": 0.2, "Online": 0.05},
    },
    "Young digital shoppers": {
        "share": 0.27,
        "income": (58_000, 9_000),
        "groceries": (140, 50),
        "electronics": (520, 90),
        "fashion": (560, 90),
        "home": (90, 40),
        "visits": (3, 1.5),
        "recency": (12, 6),
        "tenure_years": (1.5, 0.8),
        "education": {"Bachelor": 0.6, "Master": 0.25, "High school": 0.15},
        "marital": {"Single": 0.7, "Married": 0.25, "Divorced": 0.05},
        "channel": {"Online": 0.8, "Both": 0.15, "Store": 0.05},
    },
    "Lapsed occasionals": {
        "share": 0.18,
        "income": (51_000, 12_000),
        "groceries": (110, 50),
        "electronics": (80, 40),
        "fashion": (70, 35),
        "home": (60, 30),
        "visits": (1, 0.7),
        "recency": (190, 40),
        "tenure_years": (4, 2),
        "education": {"High school": 0.4, "Bachelor": 0.45, "Master": 0.15},
        "marital": {"Single": 0.4, "Married": 0.45, "Divorced": 0.15},
        "channel": {"Store": 0.45, "Online": 0.35, "Both": 0.2},
    },
}
_AS_OF = pd.Timestamp("2026-06-30")
_MISSING = {"income": 0.04, "electronics_spend": 0.02, "education": 0.03, "recency_days": 0.02}


def make_demo_customers(
    n_customers: int = 2000, random_state: int = 0, return_segments: bool = False
) -> pd.DataFrame | tuple[pd.DataFrame, pd.Series]:
    """Generate the demo customer table.

    Args:
        n_customers: number of rows.
        random_state: seed; the same seed always gives the same table.
        return_segments: also return the hidden archetype of each customer (for tests only).

    Returns:
        The table, or ``(table, segments)`` where ``segments`` is aligned with the table's rows.
    """
    rng = np.random.default_rng(random_state)
    names = list(_ARCHETYPES)
    shares = np.array([_ARCHETYPES[a]["share"] for a in names])
    segment = rng.choice(len(names), size=n_customers, p=shares / shares.sum())

    def draw(key: str, low: float = 0.0) -> np.ndarray:
        out = np.empty(n_customers)
        for i, name in enumerate(names):
            mask = segment == i
            mean, sd = _ARCHETYPES[name][key]
            out[mask] = rng.normal(mean, sd, mask.sum())
        return np.maximum(out, low)

    def pick(key: str) -> np.ndarray:
        out = np.empty(n_customers, dtype=object)
        for i, name in enumerate(names):
            mask = segment == i
            options = _ARCHETYPES[name][key]
            out[mask] = rng.choice(list(options), size=mask.sum(), p=list(options.values()))
        return out

    tenure_days = (draw("tenure_years", low=0.1) * 365.25).round()
    table = pd.DataFrame(
        {
            "customer_id": [f"C{100000 + i}" for i in rng.permutation(n_customers)],
            "income": draw("income", low=8_000).round(-2),
            "groceries_spend": draw("groceries").round(2),
            "electronics_spend": draw("electronics").round(2),
            "fashion_spend": draw("fashion").round(2),
            "home_spend": draw("home").round(2),
            "visits_per_month": draw("visits").round().astype(int),
            "recency_days": draw("recency", low=0).round().astype(int),
            "education": pick("education"),
            "marital_status": pick("marital"),
            "channel": pick("channel"),
            "customer_since": (_AS_OF - pd.to_timedelta(tenure_days, unit="D")).normalize(),
        }
    )
    for column, rate in _MISSING.items():
        holes = rng.random(n_customers) < rate
        if table[column].dtype.kind == "i":
            table[column] = table[column].astype("Int64")
        table.loc[holes, column] = pd.NA if table[column].dtype == "Int64" else np.nan
    if return_segments:
        return table, pd.Series(np.array(names)[segment], name="true_segment")
    return table
