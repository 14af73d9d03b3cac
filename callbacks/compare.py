"""Compare page: the leaderboard and quality charts of the stored result; make another candidate the active one."""

from __future__ import annotations

import json
import time

import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, State, callback, no_update
from scipy.cluster.hierarchy import linkage

from core.errors import SegmentationError
from core.pipeline import SegmentationResult, choose_model
from core.quality import silhouette_values
from core.rfm import compare_with_rules
from core.segmenter import Progress
from dashboard import ids
from dashboard.figures import (
    agreement_figure,
    baseline_figure,
    dendrogram_figure,
    elbow_figure,
    k_distance_figure,
    metrics_figure,
    result_stability,
    silhouette_figure,
)
from dashboard.headline import empty_alert, headline_alert
from dashboard.jobs import job_status
from dashboard.outputs import named
from dashboard.runner import Job, run_project_job
from dashboard.session import request_session
from dashboard.store import project_store
from dashboard.tables import grid_props, leaderboard_frame

HIDDEN, SHOWN = {"display": "none"}, {"display": "block"}


COMPARISON = dict(
    empty=Output(ids.COMPARE_EMPTY, "children"),
    area=Output(ids.COMPARE_AREA, "style"),
    headline=Output(ids.COMPARE_HEADLINE, "children"),
    board_rows=Output(ids.LEADERBOARD, "rowData"),
    board_columns=Output(ids.LEADERBOARD, "columnDefs"),
    elbow=Output(ids.ELBOW, "figure"),
    metrics=Output(ids.METRICS, "figure"),
    silhouette=Output(ids.SILHOUETTE, "figure"),
    stability=Output(ids.STABILITY, "figure"),
    agreement=Output(ids.AGREEMENT, "figure"),
    k_distance=Output(ids.K_DISTANCE, "figure"),
    k_distance_box=Output(ids.K_DISTANCE_BOX, "style"),
    baseline=Output(ids.BASELINE, "figure"),
    baseline_box=Output(ids.BASELINE_BOX, "style"),
    dendrogram=Output(ids.DENDROGRAM, "figure"),
    dendrogram_box=Output(ids.DENDROGRAM_BOX, "style"),
)
DENDROGRAM_ROWS = 2_000  # a merge tree of more customers costs seconds and memory in the request


@callback(output=COMPARISON, inputs=[Input(ids.COMPARE_TOKEN, "data"), Input(ids.RESULT_TOKEN, "data")])
def show_comparison(_token, _result_token):
    """Draw the stored result's model comparison (also when the page is opened again, or a job ends)."""
    store = project_store()
    session_id = request_session()
    result = store.result(session_id)
    if result is None:
        return named(
            COMPARISON,
            empty=empty_alert(job_status(store, session_id)),
            area=HIDDEN,
            k_distance_box=HIDDEN,
            baseline_box=HIDDEN,
            dendrogram_box=HIDDEN,
        )
    table = store.table(session_id)
    segmenter = result.segmenter
    board = result.leaderboard
    rows, columns = grid_props(leaderboard_frame(board))
    values, labels = silhouette_values(
        lambda rows: segmenter.transform_features(result.prepared(table.iloc[rows])),
        result.labels,
        seed=result.config.seed,
    )
    figures = dict(
        elbow=elbow_figure(board),
        metrics=metrics_figure(board),
        silhouette=silhouette_figure(values, labels, result.names),
        stability=result_stability(result),
        agreement=agreement_figure(segmenter.agreement_),
    )
    k_distance = segmenter.k_distance_
    if k_distance:
        figures["k_distance"] = k_distance_figure(k_distance["distances"], k_distance["eps"], k_distance["min_samples"])
    if "rfm_segment" in table.columns:  # an RFM table: compare with the classic rule-based segments
        figures["baseline"] = baseline_figure(
            *compare_with_rules(pd.Series(result.segment_names()), table["rfm_segment"])
        )
    tree = _dendrogram(result, table)
    if tree is not None:
        figures["dendrogram"] = tree
    return named(
        COMPARISON,
        empty=None,
        area=SHOWN,
        headline=headline_alert(result, len(table)),
        board_rows=rows,
        board_columns=columns,
        k_distance_box=SHOWN if k_distance else HIDDEN,
        baseline_box=SHOWN if "baseline" in figures else HIDDEN,
        dendrogram_box=SHOWN if tree is not None else HIDDEN,
        **figures,
    )


def _dendrogram(result: SegmentationResult, table: pd.DataFrame) -> go.Figure | None:
    """The agglomerative candidates' merge tree (on a sample of at most 2,000 customers), cut at the chosen k of
    agglomerative (the active model if it is one, else its best candidate by silhouette); None without one."""
    board = result.leaderboard
    own = board[(board["algorithm"] == "agglomerative") & board["silhouette"].notna()]
    if own.empty:
        return None
    selected = board.index[board["selected"]][0]
    row = selected if board.loc[selected, "algorithm"] == "agglomerative" else own["silhouette"].idxmax()
    params = json.loads(board.loc[row, "params"])
    rng = np.random.default_rng(result.config.seed)
    rows = np.sort(rng.choice(len(table), min(len(table), DENDROGRAM_ROWS), replace=False))
    Z = result.segmenter.transform_features(result.prepared(table.iloc[rows]))
    method = params.get("linkage", "ward")
    return dendrogram_figure(linkage(Z, method=method), int(params["n_clusters"]), len(rows), len(table), method)


@callback(
    Output(ids.COMPARE_TOKEN, "data"),
    Output(ids.USE_ROW_STATUS, "children"),
    Input(ids.USE_ROW_BUTTON, "n_clicks"),
    State(ids.LEADERBOARD, "selectedRows"),
    background=True,
    progress=[Output(ids.USE_ROW_PROGRESS, "value"), Output(ids.USE_ROW_STATUS, "children")],
    running=[(Output(ids.USE_ROW_BUTTON, "disabled"), True, False)],
    prevent_initial_call=True,
)
def use_model(set_progress, n_clicks, selected_rows):
    """Make the selected leaderboard row the active model (refit it, rename, explain), in the background."""
    row = _selected_row(selected_rows)
    if row is None:
        return no_update, dbc.Alert("Select a row of the leaderboard first.", color="warning", className="mb-0 py-1")

    def work(job: Job, report: Progress) -> str:
        result = job.store.result(job.session)
        if result is None:
            raise SegmentationError("There is no segmentation to choose a model from; run one first.")
        chosen = choose_model(job.store.table(job.session), result, row, report)
        report(1.0, "Saving the result")
        job.store.save_result(job.session, chosen.with_names_from(result.explanation, result.names, result.actions)[0])
        return f"Now using leaderboard row {row}."

    outcome = run_project_job(
        "choose",
        work,
        on_wait=lambda m: set_progress((0, m)),
        on_progress=lambda f, m: set_progress((round(100 * f), m)),
    )
    if outcome.done:
        return time.time(), outcome.message
    if outcome.state == "cancelled":
        return no_update, "Cancelled."
    return no_update, dbc.Alert(
        outcome.message, color="danger" if outcome.state == "failed" else "warning", className="mb-0 py-1"
    )


def _selected_row(selected_rows: object) -> int | None:
    """The leaderboard row number the grid reports as selected, if it is one."""
    if not isinstance(selected_rows, list) or not selected_rows or not isinstance(selected_rows[0], dict):
        return None
    row = selected_rows[0].get("row")
    return row if isinstance(row, int) and not isinstance(row, bool) else None
