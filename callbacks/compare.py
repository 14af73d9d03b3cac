"""Compare page: the leaderboard and quality charts of the stored result; make another candidate the active one."""
from __future__ import annotations

import time

import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, no_update

from core.charts import (
    agreement_figure,
    baseline_figure,
    elbow_figure,
    k_distance_figure,
    metrics_figure,
    silhouette_figure,
)
from core.errors import SegmentationError
from core.pipeline import choose_model
from core.quality import silhouette_values
from core.rfm import compare_with_rules
from dashboard import ids
from dashboard.figures import stability_figure
from dashboard.headline import empty_alert, headline_alert
from core.segmenter import Progress
from dashboard.runner import Job, run_project_job
from dashboard.session import request_session
from dashboard.store import project_store
from dashboard.tables import grid_props, leaderboard_frame

HIDDEN, SHOWN = {"display": "none"}, {"display": "block"}


@callback(
    Output(ids.COMPARE_EMPTY, "children"),
    Output(ids.COMPARE_AREA, "style"),
    Output(ids.COMPARE_HEADLINE, "children"),
    Output(ids.LEADERBOARD, "rowData"),
    Output(ids.LEADERBOARD, "columnDefs"),
    Output(ids.ELBOW, "figure"),
    Output(ids.METRICS, "figure"),
    Output(ids.SILHOUETTE, "figure"),
    Output(ids.STABILITY, "figure"),
    Output(ids.AGREEMENT, "figure"),
    Output(ids.K_DISTANCE, "figure"),
    Output(ids.K_DISTANCE_BOX, "style"),
    Output(ids.BASELINE, "figure"),
    Output(ids.BASELINE_BOX, "style"),
    Input(ids.COMPARE_TOKEN, "data"),
)
def show_comparison(_token):
    """Draw the stored result's model comparison (also when the page is opened again later)."""
    store = project_store()
    session_id = request_session()
    result = store.result(session_id)
    if result is None:
        return (empty_alert(), HIDDEN, *([no_update] * 9), HIDDEN, no_update, HIDDEN)
    table = store.table(session_id)
    segmenter = result.segmenter
    board = result.leaderboard
    rows, columns = grid_props(leaderboard_frame(board))
    values, labels = silhouette_values(lambda rows: segmenter.transform_features(result.prepared(table.iloc[rows])),
                                       result.labels, seed=result.config.seed)
    k_distance = segmenter.k_distance_
    k_figure = (k_distance_figure(k_distance["distances"], k_distance["eps"], k_distance["min_samples"])
                if k_distance else no_update)
    baseline = no_update
    if "rfm_segment" in table.columns:  # an RFM table: compare with the classic rule-based segments
        baseline = baseline_figure(*compare_with_rules(pd.Series(result.segment_names()), table["rfm_segment"]))
    return (
        None, SHOWN, headline_alert(result, len(table)), rows, columns, elbow_figure(board), metrics_figure(board),
        silhouette_figure(values, labels, result.names), stability_figure(result),
        agreement_figure(segmenter.agreement_), k_figure, SHOWN if k_distance else HIDDEN, baseline,
        HIDDEN if baseline is no_update else SHOWN,
    )


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
        job.store.save_result(job.session, chosen.with_names_from(result.explanation, result.names)[0])
        return f"Now using leaderboard row {row}."

    outcome = run_project_job("choose", work, on_wait=lambda m: set_progress((0, m)),
                              on_progress=lambda f, m: set_progress((round(100 * f), m)))
    if outcome.done:
        return time.time(), outcome.message
    if outcome.state == "cancelled":
        return no_update, "Cancelled."
    return no_update, dbc.Alert(outcome.message, color="danger" if outcome.state == "failed" else "warning",
                                className="mb-0 py-1")


def _selected_row(selected_rows: object) -> int | None:
    """The leaderboard row number the grid reports as selected, if it is one."""
    if not isinstance(selected_rows, list) or not selected_rows or not isinstance(selected_rows[0], dict):
        return None
    row = selected_rows[0].get("row")
    return row if isinstance(row, int) and not isinstance(row, bool) else None
