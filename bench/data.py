"""Deterministic benchmark tables: RFM-style customers in well-separated groups, and a wide mixed table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def rfm_groups(n: int, seed: int = 0) -> np.ndarray:
    """The behavioural group (0-4) of each of :func:`rfm_customers`'s customers."""
    return np.random.default_rng(seed).integers(0, 5, n)


def rfm_customers(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` customers in 5 behavioural groups (:func:`rfm_groups`): recency in days, purchase frequency, monetary
    value."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 5, n)
    recency = np.array([15, 60, 200, 30, 350])[group] * rng.lognormal(0, 0.25, n)
    frequency = np.array([25, 8, 2, 12, 1])[group] * rng.lognormal(0, 0.25, n)
    monetary = np.array([3000, 900, 150, 5000, 60])[group] * rng.lognormal(0, 0.3, n)
    return pd.DataFrame(
        {
            "customer_id": np.char.add("C", np.arange(n).astype(str)),
            "recency_days": recency.round(0),
            "frequency": np.maximum(1, frequency.round(0)),
            "monetary": monetary.round(2),
        }
    )


def mixed_customers(n: int, columns: int = 30, seed: int = 0) -> pd.DataFrame:
    """``n`` customers with ``columns`` columns: numbers driven by 4 hidden groups, categories, dates, 2% missing."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 4, n)
    data = {"customer_id": np.char.add("M", np.arange(n).astype(str))}
    n_numeric, n_categorical, n_dates = columns - 9, 6, 2
    centres = rng.normal(0, 3, (4, n_numeric))
    for j in range(n_numeric):
        values = centres[group, j] + rng.normal(0, 1, n)
        values[rng.random(n) < 0.02] = np.nan
        data[f"num_{j:02d}"] = values.astype(np.float64)
    for j in range(n_categorical):
        levels = np.array([f"L{j}_{k}" for k in range(3 + j)], dtype=object)
        pick = (group + rng.integers(0, 2, n) * (j % 2)) % len(levels)
        data[f"cat_{j}"] = levels[pick]
    base = np.datetime64("2015-01-01")
    for j in range(n_dates):
        days = (group * 400 + rng.integers(0, 400, n)).astype("timedelta64[D]")
        data[f"date_{j}"] = (base + days).astype("datetime64[s]")
    return pd.DataFrame(data)


def cached_csv(folder: Path, name: str, make) -> Path:
    """The table as a CSV in ``folder``, generated once."""
    path = folder / f"{name}.csv"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        make().to_csv(path, index=False)
    return path


def campaign_customers(n: int = 2_240, seed: int = 0) -> pd.DataFrame:
    """A table shaped like a retailer's marketing-campaign export (the held-out file of issue 18: 2,240 rows, 29
    columns, 44 model features): ids, birth year, education and marital status, income with gaps, children at home,
    the join date, recency, six spend columns, four purchase channels, web visits, five earlier campaign flags, a
    complaint flag, two constant cost columns and the last campaign's response. Three hidden groups drive spend."""
    rng = np.random.default_rng(seed)
    group = rng.choice(3, n, p=[0.45, 0.35, 0.2])
    income = np.array([30_000, 60_000, 85_000])[group] * rng.lognormal(0, 0.2, n)
    income[rng.random(n) < 0.01] = np.nan
    spend = {
        "MntWines": (20, 300, 800),
        "MntFruits": (3, 20, 60),
        "MntMeatProducts": (15, 150, 500),
        "MntFishProducts": (4, 30, 80),
        "MntSweetProducts": (3, 20, 60),
        "MntGoldProds": (10, 40, 70),
    }
    data: dict[str, object] = {
        "ID": rng.permutation(11_200)[:n],
        "Year_Birth": rng.integers(1940, 2000, n),
        "Education": rng.choice(["Graduation", "PhD", "Master", "2n Cycle", "Basic"], n, p=[0.5, 0.2, 0.16, 0.1, 0.04]),
        "Marital_Status": rng.choice(
            ["Married", "Together", "Single", "Divorced", "Widow", "Alone", "Absurd", "YOLO"],
            n,
            p=[0.386, 0.259, 0.214, 0.104, 0.034, 0.001, 0.001, 0.001],
        ),
        "Income": income.round(0),
        "Kidhome": np.minimum(2, rng.poisson(np.array([0.8, 0.3, 0.05])[group])),
        "Teenhome": np.minimum(2, rng.poisson(0.5, n)),
        "Dt_Customer": (np.datetime64("2012-07-30") + rng.integers(0, 700, n).astype("timedelta64[D]")).astype(
            "datetime64[s]"
        ),
        "Recency": rng.integers(0, 100, n),
    }
    for column, means in spend.items():
        data[column] = np.round(np.array(means)[group] * rng.lognormal(0, 0.5, n))
    for column, means in {
        "NumDealsPurchases": (2, 3, 1),
        "NumWebPurchases": (2, 5, 5),
        "NumCatalogPurchases": (0.5, 3, 6),
        "NumStorePurchases": (3, 7, 8),
        "NumWebVisitsMonth": (7, 5, 3),
    }.items():
        data[column] = rng.poisson(np.array(means)[group])
    for j in (3, 4, 5, 1, 2):
        data[f"AcceptedCmp{j}"] = (rng.random(n) < np.array([0.03, 0.06, 0.15])[group]).astype(int)
    data["Complain"] = (rng.random(n) < 0.01).astype(int)
    data["Z_CostContact"] = 3
    data["Z_Revenue"] = 11
    data["Response"] = (rng.random(n) < np.array([0.08, 0.15, 0.3])[group]).astype(int)
    return pd.DataFrame(data)


def wide_customers(n: int, columns: int, seed: int = 0) -> pd.DataFrame:
    """Many numeric columns (a product-by-product spend export, survey answers): four hidden groups, each raising a
    tenth of the columns, the rest noise; an id column."""
    rng = np.random.default_rng(seed)
    group = rng.choice(4, n)
    values = rng.normal(0.0, 1.0, (n, columns))
    for g in range(4):
        lifted = rng.choice(columns, max(1, columns // 10), replace=False)
        values[np.ix_(group == g, lifted)] += 2.5
    table = pd.DataFrame(values.round(3), columns=[f"item_{j:04d}" for j in range(columns)])
    table.insert(0, "customer_id", np.arange(1, n + 1))
    return table
