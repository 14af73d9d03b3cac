"""Renaming segments: the analyst's names replace the automatic ones wherever the segments appear."""

from __future__ import annotations

from core.errors import SegmentationError

MAX_NAME = 60


def renamed(names: dict[int, str], changes: dict[int, str]) -> dict[int, str]:
    """The names with ``changes`` applied, refused with a clear message when a name is empty, too long, not unique
    or for a segment that does not exist."""
    out = dict(names)
    for cluster, name in changes.items():
        if cluster not in names or cluster < 0:
            known = ", ".join(map(str, sorted(k for k in names if k >= 0)))
            raise SegmentationError(f"There is no segment {cluster}; segments are {known}.")
        name = " ".join(str(name).split())
        if not name:
            raise SegmentationError(f"Segment {cluster} needs a name.")
        if len(name) > MAX_NAME:
            raise SegmentationError(f"Keep segment names to {MAX_NAME} characters; '{name[:20]}...' has {len(name)}.")
        out[cluster] = name
    seen: dict[str, int] = {}
    for cluster, name in out.items():
        if name.casefold() in seen:
            raise SegmentationError(f"Segments {seen[name.casefold()]} and {cluster} would both be called '{name}'.")
        seen[name.casefold()] = cluster
    return out


def parse_renames(pairs: list[str], what: str = 'renames as SEGMENT=NAME, e.g. 2="Big spenders"') -> dict[int, str]:
    """'2=Big spenders' pairs from the command line as {2: 'Big spenders'}."""
    changes = {}
    for pair in pairs:
        number, sep, name = pair.partition("=")
        if not sep or not number.strip().lstrip("-").isdigit():
            raise SegmentationError(f"Give {what}; got '{pair}'.")
        changes[int(number)] = name
    return changes
