"""Named outputs for callbacks with many: a callback declares ``output=dict(name=Output(...), ...)`` and returns
``named(SPEC, name=value, ...)``; any output not given is left as it is (no_update), so adding a chart is one edit."""

from __future__ import annotations

from typing import Any

from dash import no_update


def named(spec: dict[str, Any], **values: Any) -> dict[str, Any]:
    unknown = set(values) - set(spec)
    if unknown:
        raise KeyError(f"not outputs of this callback: {', '.join(sorted(unknown))}")
    return {name: values.get(name, no_update) for name in spec}
