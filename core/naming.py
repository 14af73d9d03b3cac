"""Readable default names for segments, from what sets each apart from the whole customer base.

"High income, high fashion spend" says more in a legend than "Segment 3". A feature counts when its standardized
difference from the population is at least moderate (Cohen's d or h of 0.5); the two strongest make the name.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

NOISE_NAME = "Unassigned"
MODERATE = 0.5
MAX_PARTS = 2
# RFM features have words of their own.
_WORDS = {
    "recency_days": ("Lapsed", "Recent"),
    "frequency": ("Frequent", "Infrequent"),
    "monetary": ("High value", "Low value"),
    "tenure_days": ("Long-standing", "New"),
}


def label_of(column: str) -> str:
    """A column name as words: 'Annual Income (k$)' -> 'annual income', 'fashion_spend' -> 'fashion spend'."""
    words = re.sub(r"\(.*?\)", "", column)
    words = re.sub(r"[_\-.]+", " ", words)
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", words)
    return " ".join(words.split()).lower() or column


def distinctive_traits(table: pd.DataFrame, labels: np.ndarray, features: list[str], roles: dict[str, str],
                       segment: int) -> list[tuple[float, str]]:
    """(strength, phrase) for each feature that sets ``segment`` apart, strongest first."""
    members = labels == segment
    traits = []
    for column in features:
        role = roles.get(column)
        if role in ("numeric", "date"):
            values = table[column]
            if role == "date":
                values = (pd.to_datetime(values, errors="coerce").max() - pd.to_datetime(values, errors="coerce"))
                values = values.dt.days
            values = pd.to_numeric(values, errors="coerce").astype(float)
            sd = values.std()
            if not np.isfinite(sd) or sd == 0:
                continue
            effect = (values[members].mean() - values.mean()) / sd
            if not np.isfinite(effect):
                continue
            high, low = _WORDS.get(column, (f"high {label_of(column)}", f"low {label_of(column)}"))
            if role == "date":
                high, low = f"long-standing ({label_of(column)})", f"recent {label_of(column)}"
            traits.append((abs(effect), high if effect > 0 else low))
        elif role == "categorical":
            values = table[column].astype(str).where(table[column].notna())
            inside = values[members].value_counts(normalize=True)
            overall = values.value_counts(normalize=True)
            if inside.empty:
                continue
            level = inside.index[0]
            h = 2 * np.arcsin(np.sqrt(inside.iloc[0])) - 2 * np.arcsin(np.sqrt(overall.get(level, 0.0)))
            traits.append((abs(h), f"mostly {level} {label_of(column)}" if h > 0 else f"few {level}"))
    return sorted(traits, key=lambda t: -t[0])


def auto_names(table: pd.DataFrame, labels: np.ndarray, features: list[str], roles: dict[str, str]) -> dict[int, str]:
    """A unique, short name for every segment (noise keeps 'Unassigned')."""
    names: dict[int, str] = {}
    traits = {s: distinctive_traits(table, labels, features, roles, s) for s in sorted(set(labels[labels >= 0]))}
    for segment, found in traits.items():
        strong = [phrase for strength, phrase in found if strength >= MODERATE]
        name = _join(strong[:MAX_PARTS]) if strong else "Typical customers"
        extra = MAX_PARTS
        while name in names.values() and extra < len(strong):  # add the next trait until the name is unique
            extra += 1
            name = _join(strong[:extra])
        if name in names.values():
            name = f"{name} ({sum(n.startswith(name) for n in names.values()) + 1})"
        names[int(segment)] = name
    if (labels < 0).any():
        names[-1] = NOISE_NAME
    return names


def _join(parts: list[str]) -> str:
    text = ", ".join(part[:1].lower() + part[1:] for part in parts)
    return text[:1].upper() + text[1:]
