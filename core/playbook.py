"""A suggested action and a one-line insight per segment: starting points marketing edits.

The suggestions come from data (core/playbooks.json, or the file SEGSTUDIO_PLAYBOOKS names), not code: for an RFM
table, the action of the classic RFM grid segment most of the segment's customers fall in; for learned segments,
the first rule whose conditions on value, recency, frequency and tenure hold, with the reasons stated.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import SegmentationError
from core.explain import SegmentExplainer
from core.quality import stratified_sample
from core.rfm import add_rfm_scores
from core.value import SegmentValue

PLAYBOOK_FILE = Path(__file__).with_name("playbooks.json")
MAX_ACTION = 200
SIGNALS = ("value", "recency", "frequency", "tenure")
_RFM_COLUMNS = ("recency_days", "frequency", "monetary")
RFM_ROWS = 500_000


@dataclass
class Play:
    """What to do with one segment.

    Attributes:
        suggested: the action the playbook suggests.
        insight: one line on who they are and what they are worth.
        reason: why this action was suggested.
        edited: the analyst's action, which replaces the suggestion (None: the suggestion stands).
    """

    suggested: str
    insight: str
    reason: str
    edited: str | None = None

    @property
    def action(self) -> str:
        return self.edited or self.suggested


@dataclass
class Playbook:
    """The suggestion rules, as read from the playbook file."""

    thresholds: dict[str, float]
    signals: dict[str, dict[str, list[str]]]
    rules: list[dict[str, Any]]
    rfm: dict[str, str]

    @classmethod
    def load(cls, path: str | Path | None = None) -> Playbook:
        chosen = Path(path or os.environ.get("SEGSTUDIO_PLAYBOOKS") or PLAYBOOK_FILE)
        stat = chosen.stat() if chosen.is_file() else None
        return _load(str(chosen), (stat.st_mtime_ns, stat.st_size) if stat else None)


@lru_cache(maxsize=4)
def _load(path: str, _stamp: tuple[int, int] | None) -> Playbook:
    """The playbook file, read again when it changes (``_stamp``: its modification time and size)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        book = Playbook(
            thresholds={k: float(v) for k, v in data["thresholds"].items()},
            signals={k: {"numbers": list(v["numbers"]), "dates": list(v["dates"])} for k, v in data["signals"].items()},
            rules=[{"when": dict(r["when"]), "action": str(r["action"])} for r in data["rules"]],
            rfm={str(k): str(v) for k, v in data["rfm"].items()},
        )
    except FileNotFoundError:
        raise SegmentationError(f"Playbook file {path} not found.") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SegmentationError(f"Playbook file {path} is not valid ({type(exc).__name__}: {exc}).") from None
    bad = [s for r in book.rules for s, level in r["when"].items() if s not in SIGNALS or level not in ("high", "low")]
    if bad or not book.rules or book.rules[-1]["when"]:
        raise SegmentationError(
            f"Playbook file {path}: rules take conditions {', '.join(SIGNALS)} as 'high' or 'low', and the last "
            "rule has none (it applies when no other does)."
        )
    return book


def checked_action(text: Any) -> str | None:
    """The analyst's action, tidied; None (back to the suggestion) for an empty one."""
    action = " ".join(str(text or "").split())
    if len(action) > MAX_ACTION:
        raise SegmentationError(f"Keep actions to {MAX_ACTION} characters; this one has {len(action)}.")
    return action or None


def suggest_plays(
    table: pd.DataFrame,
    labels: np.ndarray,
    roles: dict[str, str],
    explanation: SegmentExplainer | None,
    value: SegmentValue | None,
    edited: dict[int, str] | None = None,
    playbook: Playbook | None = None,
) -> dict[int, Play]:
    """A play for every segment (not for unassigned customers), with the analyst's edited actions applied."""
    book = playbook or Playbook.load()
    labels = np.asarray(labels)
    segments = sorted(int(s) for s in np.unique(labels) if s >= 0)
    rfm_classes, rfm_labels = _rfm_classes(table, labels)
    signals = _signal_effects(table, labels, roles, book)
    plays = {}
    for segment in segments:
        share = float((labels == segment).mean())
        worth = value.phrase(segment) if value is not None else f"{share:.0%} of customers"
        if rfm_classes is not None:
            play = _rfm_play(segment, rfm_labels, rfm_classes, book, worth)
        else:
            play = _rule_play(segment, signals, value, book, worth)
        differences = explanation.differences(segment, 2) if explanation is not None else []
        if differences:
            play.insight += "; " + ", ".join(phrase for _, phrase in differences)
        plays[segment] = play
    for segment, action in (edited or {}).items():
        if segment in plays:
            plays[segment] = replace(plays[segment], edited=action)
    return plays


def _rfm_classes(table: pd.DataFrame, labels: np.ndarray) -> tuple[pd.Series | None, np.ndarray]:
    """Customers' classic RFM grid segments, for tables made by `segment rfm` (or with its three columns), and
    their labels. Scored on a sample where every segment is represented: the quintiles of 5 million customers took
    8 s, and a segment's share of each grid cell is as clear from 500,000."""
    if "rfm_segment" in table.columns and table["rfm_segment"].notna().any():
        return table["rfm_segment"].astype(str), labels
    if not all(c in table.columns for c in _RFM_COLUMNS):
        return None, labels
    rows = stratified_sample(labels, RFM_ROWS, np.random.default_rng(0))
    numbers = table[list(_RFM_COLUMNS)].iloc[rows].apply(pd.to_numeric, errors="coerce")
    if numbers.notna().all(axis=1).mean() <= 0.9:
        return None, labels
    return add_rfm_scores(numbers.fillna(numbers.median()))["rfm_segment"].astype(str), labels[rows]


def _rfm_play(segment: int, labels: np.ndarray, classes: pd.Series, book: Playbook, worth: str) -> Play:
    shares = classes[labels == segment].value_counts(normalize=True)
    shares = shares[shares.index.isin(list(book.rfm))]
    if shares.empty:
        return Play(book.rules[-1]["action"], worth, "no customer of it falls in a named RFM grid segment")
    grid, share = str(shares.index[0]), float(shares.iloc[0])
    return Play(
        suggested=book.rfm[grid],
        insight=f"{worth}; mostly {grid} ({share:.0%})",
        reason=f"{share:.0%} of its customers are '{grid}' in the classic RFM grid (recency and frequency quintiles)",
    )


def _rule_play(
    segment: int, signals: dict[str, tuple[str, pd.Series]], value: SegmentValue | None, book: Playbook, worth: str
) -> Play:
    levels: dict[str, tuple[str, str]] = {}  # signal -> (high or low, why)
    if value is not None:
        ratio = value.per_customer(segment) / value.overall_per_customer() if value.overall_per_customer() else 0.0
        if ratio >= book.thresholds["value_high"]:
            levels["value"] = ("high", f"{ratio:.1f}x the average {value.column} per customer")
        elif 0 < ratio <= book.thresholds["value_low"] or (ratio <= 0 and value.total > 0):
            levels["value"] = ("low", f"{ratio:.1f}x the average {value.column} per customer")
    for signal, (column, effects) in signals.items():
        effect = float(effects.get(segment, 0.0))
        if abs(effect) >= book.thresholds["effect"]:
            level = "high" if effect > 0 else "low"
            levels[signal] = (level, f"{column} {effect:+.1f} sd")
    for rule in book.rules:
        if all(levels.get(s, ("", ""))[0] == level for s, level in rule["when"].items()):
            why = [f"{_WORDS[s][levels[s][0]]} ({levels[s][1]})" for s in rule["when"]]
            reason = " and ".join(why) if why else "no rule on value, recency, frequency or tenure applies"
            return Play(suggested=rule["action"], insight=worth, reason=reason)
    raise AssertionError("the last rule has no condition")  # checked when the playbook is loaded


_WORDS = {
    "value": {"high": "high value", "low": "low value"},
    "recency": {"high": "lapsed", "low": "bought recently"},
    "frequency": {"high": "buys often", "low": "buys rarely"},
    "tenure": {"high": "long-standing", "low": "new"},
}


def _signal_effects(
    table: pd.DataFrame, labels: np.ndarray, roles: dict[str, str], book: Playbook
) -> dict[str, tuple[str, pd.Series]]:
    """Per signal, the column that measures it and each segment's effect (standard deviations from everyone).
    A later date means more recent and a shorter tenure, so date effects count the other way."""
    out = {}
    for signal, names in book.signals.items():
        for kind, words in (("numbers", names["numbers"]), ("dates", names["dates"])):
            column = _matching(table, roles, "numeric" if kind == "numbers" else "date", words)
            if column is None:
                continue
            values = table[column]
            if kind == "dates":
                values = -(pd.to_datetime(values, errors="coerce") - pd.Timestamp("1970-01-01")).dt.days
            values = pd.to_numeric(values, errors="coerce")
            sd = values.std()
            if not sd or not np.isfinite(sd):
                continue
            out[signal] = (column, (values.groupby(labels).mean() - values.mean()) / sd)
            break
    return out


def _matching(table: pd.DataFrame, roles: dict[str, str], role: str, words: list[str]) -> str | None:
    for word in words:
        for column in table.columns:
            if roles.get(column) != role:
                continue
            name = re.sub(r"[^a-z0-9]+", "_", str(column).lower()).strip("_")
            if name == word or re.search(rf"(^|_){re.escape(word)}($|_)", name):
                return str(column)
    return None
