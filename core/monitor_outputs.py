"""The files `segment monitor` writes: drift.csv, migration.csv, shares.csv, monitor.json and monitor.html (one
self-contained page like the report)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from plotly.offline import get_plotlyjs

from core import charts
from core.atomic import atomic_write_text
from core.contracts import DRIFT_FILE, MIGRATION_FILE, MONITOR_FILE, MONITOR_HTML, SHARES_FILE
from core.csv_out import write_csv
from core.explain import readable_date, readable_number
from core.monitor import MOVE_MAJOR, MOVE_MINOR, PSI_MAJOR, PSI_MINOR, MonitorReport, status
from core.report import CSS, e, figure_html

MONITOR_FILES = (DRIFT_FILE, MIGRATION_FILE, SHARES_FILE, MONITOR_FILE, MONITOR_HTML)


def write_monitor(out_dir: str | Path, report: MonitorReport, batch_name: str, model_name: str) -> dict[str, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in MONITOR_FILES}
    write_csv(paths[DRIFT_FILE], report.drift)
    write_csv(paths[MIGRATION_FILE], report.migration)
    write_csv(paths[SHARES_FILE], report.shares)
    atomic_write_text(paths[MONITOR_FILE], json.dumps(monitor_record(report, batch_name, model_name), indent=2))
    atomic_write_text(paths[MONITOR_HTML], render_monitor(report, batch_name, model_name))
    return paths


def monitor_record(report: MonitorReport, batch_name: str, model_name: str) -> dict:
    """monitor.json: the verdict and the figures behind it, for tools that act on it."""
    then, now = report.no_good_fit
    return {
        "format": "segmentation-studio/monitor",
        "version": 1,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "batch": batch_name,
        "model": model_name,
        "rows": report.rows,
        "verdict": report.verdict,
        "reasons": report.reasons,
        "notes": report.notes,
        "segment_share_psi": round(report.share_psi, 4),
        "chi2": round(report.chi2, 4),
        "chi2_p": report.chi2_p,
        "no_good_fit_share": {"reference": round(then, 4), "new": round(now, 4)},
        "centres": [
            {"cluster": int(r.cluster), "segment": r.segment, "moved_sd": float(r.moved_sd), "status": r.status}
            for r in report.centres.itertuples()
        ],
        "customers": {"returning": report.returning, "new": report.new_customers, "gone": report.gone_customers},
        "thresholds": {"psi": [PSI_MINOR, PSI_MAJOR], "centre_moved_sd": [MOVE_MINOR, MOVE_MAJOR]},
    }


def render_monitor(report: MonitorReport, batch_name: str, model_name: str) -> str:
    then, now = report.no_good_fit
    colour = {"Stable": "#166534", "Minor drift": "#b45309", "Refit recommended": "#991b1b"}.get(
        report.verdict, "#4b5563"
    )
    drift = readable_drift(report.drift)
    overall = drift[drift["scope"] == "all"]
    within = drift[(drift["scope"] == "segment") & (drift["status"] != "stable")]
    body = [
        f"<header><h1>What moved: {e(batch_name)}</h1><p>{report.rows:,} customers scored with {e(model_name)}</p>"
        "</header><main>",
        f"<h2 style='color:{colour}'>{e(report.verdict)}</h2>",
        "<ul>" + "".join(f"<li>{e(r)}</li>" for r in report.reasons) + "</ul>",
        *(f"<p class='muted'>{e(n)}</p>" for n in report.notes),
        "<h2>Segment shares</h2>",
        f"<p>Population stability index of the shares: <b>{report.share_psi:.3f}</b> ({status(report.share_psi)}); "
        f"chi-squared {report.chi2:,.1f}, p = {report.chi2_p:.2g}. Customers no segment fits: {then:.1%} then, "
        f"{now:.1%} now.</p>",
        figure_html(charts.shares_figure(report.shares)),
        _table(report.shares, {"reference_share": "{:.1%}", "new_share": "{:.1%}"}),
        "<h2>Feature drift</h2>",
        f"<p class='muted'>PSI over the reference's deciles (numbers, dates) or levels (categories): below "
        f"{PSI_MINOR} stable, {PSI_MINOR}-{PSI_MAJOR} minor drift, {PSI_MAJOR} or more major drift. The normalised "
        "Wasserstein distance is in reference standard deviations; the Jensen-Shannon distance (base 2) is 0 for "
        "the same shares and 1 for disjoint ones.</p>",
        _table(overall.drop(columns=["scope", "cluster", "segment"]), {}),
        "<h3>Within segments (where it is not stable)</h3>",
        _table(within.drop(columns=["scope", "wasserstein", "reference_mean"]), {})
        if len(within)
        else "<p>Every segment's features are stable.</p>",
        "<h2>Segment centres</h2>",
        f"<p class='muted'>k-means refitted with the same number of segments on the new batch, its centres matched "
        f"one to one with the reference's; the largest move along one dimension of the model space, in reference "
        f"standard deviations ({MOVE_MINOR} minor, {MOVE_MAJOR} major; moves within sampling noise count as "
        "stable).</p>",
        _table(report.centres, {}),
        "<h2>Migration between segments</h2>",
        _migration_section(report),
        "</main>",
    ]
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Monitoring: "
        f"{e(batch_name)}</title><style>{CSS}</style><script>{get_plotlyjs()}</script></head>"
        f"<body>{''.join(body)}</body></html>"
    )


def readable_drift(drift: pd.DataFrame) -> pd.DataFrame:
    """The drift table for people: means in the analyst's units (dates as dates, numbers shortened)."""
    out = drift.copy()
    for column in ("reference_mean", "new_mean"):
        out[column] = [
            "" if pd.isna(v) else readable_date(v) if kind == "date" else readable_number(v)
            for v, kind in zip(drift[column], drift["kind"])
        ]
    return out


def _migration_section(report: MonitorReport) -> str:
    if report.returning is None:
        return "<p>Not measured: " + e(" ".join(report.notes) or "no customer ids") + "</p>"
    text = (
        f"<p>{report.returning:,} returning customers, {report.new_customers:,} new, {report.gone_customers:,} gone "
        "(in the reference, not in the batch).</p>"
    )
    if not len(report.migration):
        return text
    return (
        text
        + figure_html(charts.migration_figure(report.migration))
        + _table(report.migration, {"share_of_from": "{:.1%}"})
    )


def _table(frame: pd.DataFrame, formats: dict[str, str]) -> str:
    head = "".join(f"<th>{e(c.replace('_', ' '))}</th>" for c in frame.columns)
    rows = []
    for _, row in frame.iterrows():
        cells = []
        for column in frame.columns:
            value = row[column]
            if pd.isna(value) if not isinstance(value, (list, dict)) else False:
                cells.append("<td></td>")
            elif column in formats:
                cells.append(f"<td class='num'>{formats[column].format(value)}</td>")
            elif isinstance(value, (float, np.floating)):
                cells.append(f"<td class='num'>{value:,.3g}</td>")
            elif isinstance(value, (int, np.integer)):
                cells.append(f"<td class='num'>{value:,}</td>")
            else:
                cells.append(f"<td>{e(value)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"
