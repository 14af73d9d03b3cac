"""One card per segment: its name, size, rule, key features and what sets it apart, in the analyst's units."""

from __future__ import annotations

import dash_bootstrap_components as dbc
import numpy as np
from dash import dcc, html
from dash.development.base_component import Component

from core.charts import segment_colour
from core.explain import SegmentExplainer, readable_date, readable_number
from core.playbook import Play
from core.quality import UNSTABLE_BELOW
from core.value import SegmentValue
from dashboard import ids

DIFFERENCES_SHOWN = 4


def segment_cards(
    explanation: SegmentExplainer,
    names: dict[int, str],
    sizes: dict[int, int],
    stability: dict[int, float],
    editable: bool = False,
    plays: dict[int, Play] | None = None,
    value: SegmentValue | None = None,
) -> list:
    """A responsive grid of cards, largest segment first; with ``editable`` each name is a field to rename it.
    ``plays`` and ``value`` add what to do with the segment and what it is worth."""
    total = sum(sizes.values()) or 1
    cards = []
    for cluster in sorted(c for c in names if c >= 0):
        text, coverage, precision = explanation.rule_summary(cluster)
        jaccard = stability.get(cluster)
        facts = [f"{sizes.get(cluster, 0):,} customers ({sizes.get(cluster, 0) / total:.1%})"]
        if jaccard is not None:
            facts.append(f"stability {jaccard:.2f}")
        body: list[Component] = [html.Div(" · ".join(facts), className="small text-muted mb-2")]
        if value is not None and np.isfinite(value.value_share(cluster)):
            body.append(
                html.Div(
                    [
                        html.Strong(f"{value.value_share(cluster):.0%} of {value.column}"),
                        f" · {readable_number(value.per_customer(cluster))} per customer "
                        f"(all {readable_number(value.overall_per_customer())})",
                    ],
                    className="small segment-value mb-2",
                )
            )
        play = (plays or {}).get(cluster)
        if play is not None:
            body.append(
                html.Div(
                    [
                        html.Div([html.Strong("What to do: "), play.action], className="segment-action"),
                        html.Div(play.insight, className="text-muted"),
                        html.Div(
                            "set by the analyst" if play.edited else f"suggested because: {play.reason}",
                            className="text-muted fst-italic",
                        ),
                    ],
                    className="small segment-play mb-2",
                )
            )
        body += [
            html.Div([html.Strong("Rule: "), html.Code(text or "—")], className="small"),
            html.Div(
                f"covers {coverage:.0%} of the segment; {precision:.0%} of the customers it matches are in it",
                className="small text-muted mb-2",
            ),
            html.Div([html.Strong("Stands out by: ")] + _differences(explanation, cluster), className="small"),
        ]
        if jaccard is not None and jaccard < UNSTABLE_BELOW:
            body.append(dbc.Badge("unstable under resampling", color="warning", className="mt-2"))
        body.append(
            html.Details(
                [html.Summary("Full profile", className="small fw-semibold mt-2"), _profile_table(explanation, cluster)]
            )
        )
        cards.append(
            dbc.Col(
                dbc.Card(
                    [
                        dbc.CardHeader(_name(cluster, names[cluster], editable), className="segment-card-header"),
                        dbc.CardBody(body, className="py-2"),
                    ],
                    className="h-100 segment-card",
                    style={"borderLeft": f"6px solid {segment_colour(cluster)}"},
                ),
                md=6,
                xl=4,
                className="mb-3",
            )
        )
    return [dbc.Row(cards, className="g-3")]


def _name(cluster: int, name: str, editable: bool) -> Component:
    if not editable:
        return html.Strong(name)
    return html.Div(
        [
            dbc.Input(
                id={"type": ids.CARD_NAME, "cluster": cluster},
                value=name,
                debounce=True,
                maxLength=60,
                className="segment-name-input",
                placeholder="Segment name",
            ),
            dcc.Store(id={"type": ids.CARD_DRAWN, "cluster": cluster}, data=name),
        ]
    )


def _differences(explanation: SegmentExplainer, cluster: int) -> list:
    """The strongest differences from all customers, as 'income 72.3k (all 61.9k)' phrases."""
    return [
        html.Span(("▲ " if effect > 0 else "▼ ") + phrase, className="difference " + ("up" if effect > 0 else "down"))
        for effect, phrase in explanation.differences(cluster, DIFFERENCES_SHOWN)
    ]


def _profile_table(explanation: SegmentExplainer, cluster: int) -> dbc.Table:
    """Mean, median, min and max of each number or date, against everyone; category shares against everyone."""
    head = html.Thead(
        html.Tr([html.Th(h) for h in ("feature", "mean", "median", "min", "max", "all (mean)", "effect")])
    )
    rows = []
    numeric = explanation.profile_[explanation.profile_["cluster"] == cluster]
    for _, r in numeric.iterrows():
        show = (lambda d: readable_date(d, "—")) if r["kind"] == "date" else readable_number
        rows.append(
            html.Tr(
                [
                    html.Td(r["feature"]),
                    *(html.Td(show(r[k])) for k in ("mean", "median", "min", "max", "population_mean")),
                    html.Td(f"{r['effect']:+.2f}"),
                ]
            )
        )
    categories = explanation.category_profile_[explanation.category_profile_["cluster"] == cluster]
    # plain records grouped by feature: pandas' sort and head per feature cost 0.17 s a redraw on a 1M project
    by_feature: dict[str, list[tuple[str, float, float, float]]] = {}
    for level in categories[["feature", "level", "share", "population_share", "effect"]].itertuples(index=False):
        by_feature.setdefault(level[0], []).append(level[1:])
    for feature, levels in by_feature.items():
        top = sorted(levels, key=lambda r: -r[1])[:3]  # ties keep the profile's order
        shares = ", ".join(f"{name} {share:.0%} (all {everyone:.0%})" for name, share, everyone, _ in top)
        strongest = max(levels, key=lambda r: abs(r[3]))[3]
        rows.append(html.Tr([html.Td(feature), html.Td(shares, colSpan=5), html.Td(f"{strongest:+.2f}")]))
    return dbc.Table(
        [head, html.Tbody(rows)], size="sm", bordered=False, hover=True, className="small mb-0 mt-1 profile-table"
    )
