"""The one-line description of a result that heads every result page."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from core.algorithms import ALGORITHMS
from core.pipeline import SegmentationResult
from core.quality import UNSTABLE_BELOW
from dashboard.jobs import ACTIVE, QUEUED
from dashboard.runner import KINDS

NO_RESULT = "No segmentation yet. Choose the columns on the Data page, then run one on the Model page."


def headline(result: SegmentationResult, rows: int) -> str:
    """'4 segments of 2,000 customers from 11 features · KMeans (leaderboard row 2) · silhouette 0.471 · ...'."""
    segmenter = result.segmenter
    board = result.leaderboard
    chosen = board[board["selected"]].iloc[0]
    text = (
        f"{segmenter.n_clusters_} segments of {rows:,} customers from {len(result.features)} features · "
        f"{ALGORITHMS[chosen['algorithm']].label} (leaderboard row {int(chosen.name)}) · "
        f"silhouette {chosen['silhouette']:.3f}"
    )
    selection = getattr(segmenter, "selection_", None)
    if selection is not None and not selection.natural_groups:
        text += " · no natural groups: a partition for targeting"
    stability = segmenter.stability_
    unstable = [result.names[s] for s, j in (stability.per_segment.items() if stability else []) if j < UNSTABLE_BELOW]
    if unstable:
        text += f" · unstable under resampling: {', '.join(unstable)}"
    if result.outlier_counts:
        flagged = sum(result.outlier_counts.values())
        action = {"cap": "capped", "exclude": "left out of fitting, then assigned"}[result.config.outliers["action"]]
        text += (
            f" · outlier values {action}: {flagged:,} ("
            + ", ".join(f"{c} {n:,}" for c, n in result.outlier_counts.items() if n)
            + ")"
        )
    if result.transformed:
        text += f" · {result.config.transform} on {', '.join(result.transformed)}"
    spark = getattr(segmenter, "sampling_", None)
    sampled = getattr(segmenter, "sample_rows_", None)
    if spark is not None:
        text = text.replace(f"of {rows:,} customers", f"of {spark['rows']:,} customers", 1)
        text += (
            f" · run on Spark: the full table stays on the cluster; these pages show a sample of "
            f"{spark['driver_rows']:,} customers"
        )
    elif sampled is not None:
        text += f" · models fitted on a {len(sampled):,}-customer sample, then every customer labelled"
    return text


def headline_alert(result: SegmentationResult, rows: int) -> dbc.Alert:
    """The headline, then what the choice rests on: the verdict on natural groups, the reason, the runner-up and
    any warning (a choice at the edge of the range, every candidate failing the guards)."""
    selection = getattr(result.segmenter, "selection_", None)
    if selection is None:  # a result saved before choices were explained
        return dbc.Alert(headline(result, rows), color="success", className="mb-3 result-headline")
    details = [
        html.Div(selection.verdict, className="fw-semibold result-verdict"),
        html.Div(["Why this model: ", selection.reason], className="small result-reason"),
    ]
    if selection.runner_up is not None:
        details.append(html.Div(["Runner-up: ", selection.runner_up_reason], className="small text-muted"))
    details += [html.Div(["⚠ ", warning], className="small result-warning") for warning in selection.warnings]
    colour = "success" if selection.natural_groups and not selection.warnings else "warning"
    return dbc.Alert(
        [html.Div(headline(result, rows), className="mb-1"), *details], color=colour, className="mb-3 result-headline"
    )


def empty_alert(job: dict | None = None) -> dbc.Alert:
    """What a result page shows without a result: the job that will make one, if one runs, else how to make one."""
    if job is not None and job.get("state") in ACTIVE:  # its progress is in the shell's banner, kept up to date
        what = KINDS.get(job.get("kind", ""), "job")
        return dbc.Alert(
            f"A {what} is going (its progress is shown above); its result is drawn here when it ends.",
            color="light",
            className="result-empty result-pending",
        )
    return dbc.Alert(NO_RESULT, color="info", className="result-empty")


def job_line(job: dict) -> str:
    """'A segmentation run is going: 45%, Fitting KMeans with k=3 (2 of 27).' (or waiting in line)."""
    what = KINDS.get(job.get("kind", ""), "job")
    if job.get("state") == QUEUED:
        return f"A {what} is waiting: {job.get('message', '')}"
    return f"A {what} is going: {int(job.get('progress', 0))}%, {job.get('message', '')}."


def next_steps() -> html.Div:
    """Links to the pages that show a result."""
    links = [
        ("Compare models", "/compare"),
        ("See the map", "/map"),
        ("Name and read the segments", "/segments"),
        ("Predict new customers", "/predict"),
        ("Export", "/export"),
    ]
    return html.Div(
        [
            dbc.Button(label, href=href, color="primary", outline=True, size="sm", className="me-2 mb-2")
            for label, href in links
        ]
    )
