"""Deterministic benchmark tables: RFM-style customers in well-separated groups, and a wide mixed table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def rfm_customers(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` customers in 5 behavioural groups: recency in days, purchase frequency, monetary value."""
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
