"""report.html: one self-contained file a marketing team can open anywhere, offline.

Built from the model bundle alone (core.bundle.ModelBundle), so `segment rename` can rewrite it with new names
without the data. Plotly's JavaScript is inlined once; every figure is drawn from data embedded in the page.
"""

from __future__ import annotations

import html
import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from core import charts
from core.algorithms import ALGORITHMS
from core.errors import SegmentationError
from core.explain import SegmentExplainer, readable_date, readable_number
from core.quality import UNSTABLE_BELOW

if TYPE_CHECKING:
    from core.bundle import ModelBundle, SourceRecord
    from core.selection import Selection

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #222;
       margin: 0; background: #f6f7f9; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 32px 64px; background: #fff; }
header { background: #1f2937; color: #fff; padding: 20px 32px; }
header h1 { margin: 0 0 4px; font-size: 1.6rem; } header p { margin: 0; color: #cbd5e1; }
h2 { border-bottom: 2px solid #e5e7eb; padding-bottom: 4px; margin-top: 36px; }
h3 { margin-bottom: 6px; }
table { border-collapse: collapse; width: 100%; font-size: 0.88rem; margin: 8px 0 16px; }
th, td { border-bottom: 1px solid #e5e7eb; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f4f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.segment { border: 1px solid #e5e7eb; border-left: 8px solid var(--colour); border-radius: 6px; padding: 4px 16px 8px;
           margin: 16px 0; page-break-inside: avoid; }
.muted { color: #6b7280; } .warn { color: #b45309; } .rule { font-family: ui-monospace, monospace; }
.up { color: #166534; } .down { color: #991b1b; }
pre { background: #f3f4f6; padding: 12px; overflow-x: auto; font-size: 0.8rem; }
.figure { margin: 8px 0 16px; }
.play { background: #f0f9ff; border-radius: 4px; padding: 6px 10px; margin: 6px 0; }
@media print {
  body { background: #fff; } main { padding: 0 8px; max-width: none; } header { padding: 12px 8px; }
  .figure { page-break-inside: avoid; break-inside: avoid; } .modebar-container { display: none !important; }
  .segment { break-before: page; page-break-before: always; } pre { white-space: pre-wrap; }
  @page { size: A4; margin: 14mm 12mm; }
}
"""


def render_report(bundle: ModelBundle, printable: bool = False) -> str:
    """The whole report as one HTML document (about 4.5 MB, most of it Plotly's JavaScript); ``printable``: for
    the PDF, with a 2D map drawn as SVG (print has no WebGL) and no figure toolbars."""
    names = dict(bundle.names)
    explanation = bundle.explanation
    if explanation is None:
        raise SegmentationError("This model was made before segments were explained; run the segmentation again.")
    segmenter = bundle.scorer.segmenter
    board: pd.DataFrame = segmenter.leaderboard_
    source = bundle.source
    chosen = board[board["selected"]].iloc[0]
    stability = segmenter.stability_
    per_segment = stability.per_segment if stability is not None else {}
    sample = bundle.map
    figures = {
        "map": charts.customer_map(
            np.asarray(sample.coords),
            np.asarray(sample.labels),
            names,
            charts.pca_axes(sample.explained),
            charts.id_hover(sample.id_label, sample.ids),
            "PCA",
            total=sample.total,
            dims=2 if printable else 3,
            vector=printable,
        ),
        "importance": charts.importance_figure(explanation.importance_),
        "segment_importance": charts.segment_importance_figure(explanation.segment_importance_, names),
        "stability": charts.stability_figure(per_segment, names),
        "elbow": charts.elbow_figure(board),
        "metrics": charts.metrics_figure(board),
    }
    sizes = dict(bundle.sizes)
    title = f"Customer segments: {source.file or 'customers'}"
    body = [
        f"<header><h1>{e(title)}</h1><p>{e(_summary_line(bundle, chosen, sizes))}</p></header><main>",
        _choice_section(getattr(segmenter, "selection_", None)),
        "<h2>Segments at a glance</h2>",
        _overview_table(names, sizes, explanation, per_segment, bundle),
        _value_figure(bundle, names),
        figure_html(figures["map"]),
        "<h2>Each segment</h2>",
        *(_segment_section(c, names, sizes, explanation, per_segment, bundle) for c in sorted(names) if c >= 0),
        "<h2>What separates the segments</h2>",
        f"<p>A random forest trained to recognise the segments from the features reaches "
        f"{explanation.forest_accuracy_:.1%} accuracy on customers it did not see. Permutation importance is how much "
        "that accuracy drops when one feature is shuffled; a feature that another one can stand in for may score "
        "low even when it differs a lot between segments, so the effect sizes and tests below complete it.</p>",
        f"<p>New customers are assigned by {e(bundle.scorer.predictor.describe())}." if bundle.scorer.predictor else "",
        figure_html(figures["importance"]),
        figure_html(figures["segment_importance"]),
        _tests_table(explanation.tests_),
        "<h2>How good the segmentation is</h2>",
        figure_html(figures["stability"]),
        figure_html(figures["elbow"]),
        figure_html(figures["metrics"]),
        "<h3>Every model tried</h3>",
        f"<p>{e(segmenter.sampling_note())}</p>" if segmenter.sampling_note() else "",
        f"<p>{e(segmenter.reduction_note())}: profiles, names and rules are in the original columns.</p>"
        if segmenter.reduction_note()
        else "",
        _leaderboard_table(board),
        "<h2>Data and configuration</h2>",
        _data_section(bundle, source),
        "</main>",
    ]
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{e(title)}</title>"
        f"<style>{CSS}</style><script>{get_plotlyjs()}</script></head><body>{''.join(body)}</body></html>"
    )


def e(text: Any) -> str:
    return html.escape(str(text))


def figure_html(figure: go.Figure) -> str:
    inner = pio.to_html(
        figure, full_html=False, include_plotlyjs=False, config={"displaylogo": False, "responsive": True}
    )
    return f"<div class='figure'>{inner}</div>"


def _choice_section(selection: Selection | None) -> str:
    """What the segmentation rests on: natural groups or not, why this model, the runner-up, warnings."""
    if selection is None:
        return ""
    kind = "verdict" if selection.natural_groups else "verdict warn"
    parts = [
        f"<p class='{kind}'><strong>{e(selection.verdict)}</strong> <span class='muted'>"
        f"({e(selection.evidence)})</span></p>",
        f"<p>Why this model: {e(selection.reason)}</p>",
    ]
    if selection.runner_up is not None:
        parts.append(f"<p class='muted'>Runner-up: {e(selection.runner_up_reason)}</p>")
    parts += [f"<p class='warn'>⚠ {e(w)}</p>" for w in selection.warnings]
    return "<section class='choice'>" + "".join(parts) + "</section>"


def _summary_line(bundle: ModelBundle, chosen: pd.Series, sizes: dict[int, int]) -> str:
    total = sum(sizes.values())
    algorithm = ALGORITHMS[chosen["algorithm"]].label
    segments = sum(1 for c in sizes if c >= 0)
    created = bundle.created or datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{total:,} customers in {segments} segments, from {len(bundle.scorer.features)} features · "
        f"{algorithm} (silhouette {chosen['silhouette']:.3f}) · made {created}"
    )


def _value_figure(bundle: ModelBundle, names: dict[int, str]) -> str:
    value = getattr(bundle, "value", None)
    if value is None:
        return ""
    segments = [s for s in names if s >= 0]
    return figure_html(
        charts.value_figure(
            {s: value.customer_share(s) for s in segments},
            {s: value.value_share(s) for s in segments},
            names,
            value.column,
        )
    )


def _overview_table(
    names: dict[int, str],
    sizes: dict[int, int],
    explanation: SegmentExplainer,
    per_segment: dict[int, float],
    bundle: ModelBundle,
) -> str:
    total = sum(sizes.values()) or 1
    value = getattr(bundle, "value", None)
    plays = getattr(bundle, "plays", None) or {}
    rows = []
    for cluster in sorted(names, key=lambda c: (c < 0, c)):
        rule = explanation.rule_summary(cluster)[0] if cluster >= 0 else "density too low for any segment"
        jaccard = per_segment.get(cluster)
        stable = "" if jaccard is None else (f"{jaccard:.2f}" + (" ⚠" if jaccard < UNSTABLE_BELOW else ""))
        rows.append(
            f"<tr><td><span style='color:{charts.segment_colour(cluster)}'>■</span> {e(names[cluster])}</td>"
            f"<td class='num'>{sizes.get(cluster, 0):,}</td><td class='num'>{sizes.get(cluster, 0) / total:.1%}</td>"
            f"<td class='num'>{stable}</td>"
            + (f"<td class='num'>{_share_text(value.value_share(cluster))}</td>" if value else "")
            + f"<td>{e(plays[cluster].action) if cluster in plays else ''}</td><td class='rule'>{e(rule)}</td></tr>"
        )
    worth = f"<th>Share of {e(value.column)}</th>" if value else ""
    return (
        f"<table><tr><th>Segment</th><th>Customers</th><th>Share</th><th>Stability</th>{worth}<th>Action</th>"
        "<th>Rule</th></tr>" + "".join(rows) + "</table>"
    )


def _share_text(share: float) -> str:
    return "" if not np.isfinite(share) else f"{share:.1%}"


def _segment_section(
    cluster: int,
    names: dict[int, str],
    sizes: dict[int, int],
    explanation: SegmentExplainer,
    per_segment: dict[int, float],
    bundle: ModelBundle,
) -> str:
    total = sum(sizes.values()) or 1
    parts = [
        f"<section class='segment' style='--colour:{charts.segment_colour(cluster)}'>",
        f"<h3>{e(names[cluster])}</h3>",
        f"<p class='muted'>Segment {cluster} · {sizes.get(cluster, 0):,} customers "
        f"({sizes.get(cluster, 0) / total:.1%})",
    ]
    jaccard = per_segment.get(cluster)
    if jaccard is not None:
        parts.append(f" · stability {jaccard:.2f}")
        if jaccard < UNSTABLE_BELOW:
            parts.append(" <span class='warn'>(unstable: do not act on it alone)</span>")
    parts.append("</p>")
    value = getattr(bundle, "value", None)
    if value is not None:
        parts.append(
            f"<p><b>Worth:</b> {e(value.phrase(cluster))}; {readable_number(value.per_customer(cluster))} "
            f"{e(value.column)} per customer (all: {readable_number(value.overall_per_customer())})</p>"
        )
    play = (getattr(bundle, "plays", None) or {}).get(cluster)
    if play is not None:
        why = "edited by the analyst" if play.edited else f"suggested because: {play.reason}"
        parts.append(
            f"<div class='play'><b>What to do:</b> {e(play.action)}<br><b>Insight:</b> {e(play.insight)}"
            f"<br><span class='muted'>{e(why)}</span></div>"
        )
    rules = explanation.rules_.get(cluster, [])
    if rules:
        text, coverage, precision = explanation.rule_summary(cluster)
        parts.append(
            f"<p><b>Rule:</b> <span class='rule'>{e(text)}</span><br><span class='muted'>covers "
            f"{coverage:.0%} of the segment; {precision:.0%} of the customers it matches are in it</span></p>"
        )
    parts.append(f"<p><b>Key features:</b> {e(', '.join(explanation.key_features(cluster)))}</p>")
    parts.append(_profile_table(cluster, explanation))
    parts.append("</section>")
    return "".join(parts)


def _profile_table(cluster: int, explanation: SegmentExplainer) -> str:
    profile = explanation.profile_[explanation.profile_["cluster"] == cluster]
    rows = []
    for _, row in profile.iterrows():
        show = readable_date if row["kind"] == "date" else readable_number
        arrow = "up" if row["effect"] > 0 else "down"
        rows.append(
            f"<tr><td>{e(row['feature'])}</td>"
            + "".join(f"<td class='num'>{show(row[s])}</td>" for s in ("mean", "median", "min", "max"))
            + f"<td class='num'>{show(row['population_mean'])}</td>"
            f"<td class='num {arrow if abs(row['effect']) >= 0.5 else ''}'>{row['effect']:+.2f}</td></tr>"
        )
    categories = explanation.category_profile_
    categories = categories[categories["cluster"] == cluster]
    for feature, levels in categories.groupby("feature", sort=False):
        top = levels.sort_values("share", ascending=False).head(3)
        shares = ", ".join(f"{r.level} {r.share:.0%} (all: {r.population_share:.0%})" for r in top.itertuples())
        strongest = levels.loc[levels["effect"].abs().idxmax(), "effect"]
        rows.append(
            f"<tr><td>{e(feature)}</td><td colspan='5'>{e(shares)}</td><td class='num'>{strongest:+.2f}</td></tr>"
        )
    return (
        "<table><tr><th>Feature</th><th>Mean</th><th>Median</th><th>Min</th><th>Max</th><th>All customers "
        "(mean)</th><th title='Cohen&apos;s d (numbers) or h (categories) against all customers'>Effect</th>"
        "</tr>" + "".join(rows) + "</table>"
    )


def _tests_table(tests: pd.DataFrame) -> str:
    rows = "".join(
        f"<tr><td>{e(r.feature)}</td><td>{e(r.test)}</td><td class='num'>{r.statistic:,.1f}</td>"
        f"<td class='num'>{_p_text(r.p_value)}</td><td class='num'>{r.effect_size:.2f}</td></tr>"
        for r in tests.itertuples()
    )
    return (
        "<table><tr><th>Feature</th><th>Test</th><th>Statistic</th><th>p-value</th><th>Effect size (η² or "
        "Cramér's V)</th></tr>" + rows + "</table>"
    )


def _leaderboard_table(board: pd.DataFrame) -> str:
    columns = [
        "algorithm",
        "n_clusters",
        "silhouette",
        "davies_bouldin",
        "calinski_harabasz",
        "dbcv",
        "stability",
        "noise_share",
        "fit_seconds",
        "fit_rows",
        "assignment",
    ]
    head = "".join(f"<th>{e(c.replace('_', ' '))}</th>" for c in columns)
    rows = []
    for _, row in board.iterrows():
        cells = []
        for column in columns:
            value = row[column]
            if column == "algorithm":
                cells.append(f"<td>{e(ALGORITHMS[value].label)}{' ★' if row['selected'] else ''}</td>")
            elif isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
                cells.append(f"<td class='num'>{'' if pd.isna(value) else f'{value:,.3g}'}</td>")
            else:
                cells.append(f"<td>{e(value)}</td>")
        weight = " style='font-weight:600'" if row["selected"] else ""
        rows.append(f"<tr{weight}>{''.join(cells)}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table><p class='muted'>★ the model the segments come from.</p>"


def _data_section(bundle: ModelBundle, source: SourceRecord) -> str:
    scorer = bundle.scorer
    roles = scorer.roles
    facts = [
        ("File", source.file),
        ("Read as", source.read_as),
        ("Rows", f"{source.rows:,}" if source.rows else ""),
        ("Features", ", ".join(f"{c} ({roles[c]})" for c in scorer.features)),
        ("Not used", ", ".join(f"{c} ({r})" for c, r in roles.items() if c not in scorer.features) or "none"),
    ]
    if scorer.engineered:
        facts.append(
            (
                "Engineered features",
                ", ".join(f"{f.name} = {f.kind}({', '.join(f.columns)})" for f in scorer.engineered),
            )
        )
    table = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in facts if v != "")
    config = json.dumps(bundle.config, indent=2, default=str)
    return f"<table>{table}</table><h3>Run configuration</h3><pre>{e(config)}</pre>"


def _p_text(p: float) -> str:
    if pd.isna(p):
        return ""
    return "< 1e-300" if p == 0 else f"{p:.2g}"
