"""Segments page callbacks: run the engine as a background job, show and compare its result, download."""
from __future__ import annotations

import time

import pandas as pd

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from core.algorithms import ALGORITHMS
from core.config import RunConfig
from core.errors import SegmentationError
from core.exports import (
    LABELLED_FILE,
    REPORT_FILE,
    SEGMENTS_FILE,
    labelled_customers,
    model_bundle,
    segment_summary,
    to_csv_text,
)
from core.report import render_report
from core.pipeline import SegmentationResult, choose_model, run_segmentation
from core.quality import UNSTABLE_BELOW
from core.naming import carry_names
from core.rename import renamed
from core.rfm import compare_with_rules
from dashboard import ids
from dashboard.controls import PARAM_TYPE, parameters_from_controls
from core.charts import (
    agreement_figure,
    baseline_figure,
    elbow_figure,
    importance_figure,
    k_distance_figure,
    metrics_figure,
    segment_importance_figure,
)
from dashboard.figures import scatter_3d, stability_figure
from dashboard.segment_cards import segment_cards
from dashboard.session import checked
from dashboard.store import project_store
from dashboard.tables import grid_props, leaderboard_frame, profile_grid_frame

HIDDEN, SHOWN = {"display": "none"}, {"display": "block"}


@callback(
    Output(ids.RESULT_TOKEN, "data"),
    Output(ids.RUN_STATUS, "children"),
    Input(ids.RUN_BUTTON, "n_clicks"),
    Input(ids.USE_ROW_BUTTON, "n_clicks"),
    State(ids.K_RANGE, "value"),
    State(ids.ALGORITHMS, "value"),
    State(ids.CRITERION, "value"),
    State({"type": PARAM_TYPE, "algorithm": ALL, "name": ALL}, "value"),
    State({"type": PARAM_TYPE, "algorithm": ALL, "name": ALL}, "id"),
    State(ids.LEADERBOARD, "selectedRows"),
    State(ids.OUTLIER_METHOD, "value"),
    State(ids.OUTLIER_ACTION, "value"),
    State(ids.TRANSFORM, "value"),
    State(ids.CLASSIFIER, "value"),
    State(ids.SESSION, "data"),
    background=True,
    progress=[Output(ids.PROGRESS, "value"), Output(ids.PROGRESS, "label"), Output(ids.PROGRESS_TEXT, "children")],
    running=[
        (Output(ids.RUN_BUTTON, "disabled"), True, False),
        (Output(ids.USE_ROW_BUTTON, "disabled"), True, False),
        (Output(ids.CANCEL_BUTTON, "disabled"), False, True),
    ],
    cancel=[Input(ids.CANCEL_BUTTON, "n_clicks")],
    prevent_initial_call=True,
)
def run_job(set_progress, run_clicks, use_clicks, k_range, algorithms, criterion, param_values, param_ids,
            selected_rows, outlier_method, outlier_action, transform, classifier, session_id):
    """Fit every chosen algorithm on the session's table and columns (or switch to the leaderboard row the analyst
    picked), and store the result server-side."""
    store = project_store()
    session_id = checked(session_id)
    set_progress((0, "", "Starting"))
    report = lambda f, m: set_progress((round(100 * f), f"{round(100 * f)}%", m))  # noqa: E731
    previous = store.result(session_id)
    try:
        if ctx.triggered_id == ids.USE_ROW_BUTTON:
            result = previous
            if result is None or not selected_rows:
                raise SegmentationError("Select a row of the model comparison first.")
            result = choose_model(store.table(session_id), result, int(selected_rows[0]["row"]), report)
        else:
            settings = store.settings(session_id)
            config = RunConfig(
                columns=store.selection(session_id),
                roles=settings.get("roles", {}),
                features=settings.get("features", []),
                outliers={"method": outlier_method or "iqr", "action": outlier_action or "keep"},
                transform=transform or "none",
                classifier=classifier or "logistic",
                k_min=int(k_range[0]),
                k_max=int(k_range[1]),
                algorithms=list(algorithms or []),
                params=parameters_from_controls(param_values, param_ids, algorithms or []),
                criterion=criterion,
            )
            result = run_segmentation(store.table(session_id), config, progress=report)
    except SegmentationError as exc:
        set_progress((0, "", ""))
        return no_update, dbc.Alert([html.Strong("Could not segment. "), str(exc)], color="danger")
    if previous is not None and previous.explanation is not None:  # segments that reappear keep their names
        result.names = carry_names(previous.explanation, previous.names, result.explanation, result.names)[0]
    store.save_result(session_id, result)
    set_progress((100, "100%", "Done"))
    return time.time(), None


@callback(
    Output(ids.RESULT_EMPTY, "children"),
    Output(ids.RESULT_AREA, "style"),
    Output(ids.RESULT_HEADLINE, "children"),
    Output(ids.SCATTER, "figure"),
    Output(ids.SEGMENT_GRID, "rowData"),
    Output(ids.SEGMENT_GRID, "columnDefs"),
    Output(ids.LEADERBOARD, "rowData"),
    Output(ids.LEADERBOARD, "columnDefs"),
    Output(ids.ELBOW, "figure"),
    Output(ids.METRICS, "figure"),
    Output(ids.STABILITY, "figure"),
    Output(ids.AGREEMENT, "figure"),
    Output(ids.K_DISTANCE, "figure"),
    Output(ids.K_DISTANCE_BOX, "style"),
    Output(ids.BASELINE, "figure"),
    Output(ids.BASELINE_BOX, "style"),
    Output(ids.NAMES_GRID, "rowData"),
    Output(ids.SEGMENT_CARDS, "children"),
    Output(ids.IMPORTANCE, "figure"),
    Output(ids.SEGMENT_IMPORTANCE, "figure"),
    Input(ids.RESULT_TOKEN, "data"),
    State(ids.SESSION, "data"),
)
def show_result(_token: float | None, session_id: str):
    """Draw the stored result (also when the page is opened again later)."""
    store = project_store()
    session_id = checked(session_id)
    result = store.result(session_id)
    if result is None:
        empty = dbc.Alert(
            "No segmentation yet. Choose the columns on the Data page, then press Run segmentation.", color="info"
        )
        return (empty, HIDDEN, *([no_update] * 11), HIDDEN, no_update, HIDDEN, *([no_update] * 4))
    table = store.table(session_id)
    segmenter = result.segmenter
    board = result.leaderboard
    chosen = board[board["selected"]].iloc[0]
    headline = (
        f"{segmenter.n_clusters_} segments of {len(table):,} customers from {len(result.features)} features · "
        f"{ALGORITHMS[chosen['algorithm']].label} (leaderboard row {int(chosen.name)}) · "
        f"{result.config.criterion.replace('_', '-')} "
        f"{chosen[result.config.criterion]:.3f}"
    )
    unstable = [result.names[s] for s, j in (segmenter.stability_.per_segment.items() if segmenter.stability_
                                            else []) if j < UNSTABLE_BELOW]
    if unstable:
        headline += f" · unstable under resampling: {', '.join(unstable)}"
    if result.outlier_counts:
        flagged = sum(result.outlier_counts.values())
        action = {"cap": "capped", "exclude": "left out of fitting, then assigned"}[result.config.outliers["action"]]
        headline += f" · outlier values {action}: {flagged:,} (" + ", ".join(
            f"{c} {n:,}" for c, n in result.outlier_counts.items() if n) + ")"
    if result.transformed:
        headline += f" · {result.config.transform} on {', '.join(result.transformed)}"
    summary = segment_summary(table, result)
    name_rows = [
        {"cluster": int(r.cluster), "name": r.segment, "customers": int(r.size), "share": round(100 * r.share, 1),
         "stability": None if pd.isna(r.stability) else round(float(r.stability), 2)}
        for r in summary.itertuples() if r.cluster >= 0
    ]
    profile_rows, profile_cols = grid_props(profile_grid_frame(summary))
    profile_cols[0].update(pinned="left", minWidth=190)
    board_rows, board_cols = grid_props(leaderboard_frame(board))
    k_distance = segmenter.k_distance_
    k_figure = (k_distance_figure(k_distance["distances"], k_distance["eps"], k_distance["min_samples"])
                if k_distance else no_update)
    baseline = no_update
    if "rfm_segment" in table.columns:  # an RFM table: compare with the classic rule-based segments
        baseline = baseline_figure(*compare_with_rules(pd.Series(result.segment_names()), table["rfm_segment"]))
    return (
        None, SHOWN, headline, scatter_3d(result, table), profile_rows, profile_cols, board_rows, board_cols,
        elbow_figure(board), metrics_figure(board), stability_figure(result), agreement_figure(segmenter.agreement_),
        k_figure, SHOWN if k_distance else HIDDEN, baseline, HIDDEN if baseline is no_update else SHOWN, name_rows,
        *_explanation_views(result),
    )


def _explanation_views(result: SegmentationResult) -> tuple:
    """Segment cards and importance charts (a result saved before explanations existed has none to show)."""
    explanation = result.explanation
    if explanation is None:
        note = dbc.Alert("Run the segmentation again to see profiles, rules and importances.", color="info")
        return note, {}, {}
    sizes = pd.Series(result.labels).value_counts().to_dict()
    stability = result.segmenter.stability_
    cards = segment_cards(explanation, result.names, sizes, stability.per_segment if stability else {})
    return (cards, importance_figure(explanation.importance_),
            segment_importance_figure(explanation.segment_importance_, result.names))


@callback(
    Output(ids.RESULT_TOKEN, "data", allow_duplicate=True),
    Output(ids.RENAME_STATUS, "children"),
    Input(ids.NAMES_GRID, "cellValueChanged"),
    State(ids.SESSION, "data"),
    prevent_initial_call=True,
)
def rename_segment(changes, session_id):
    """Rename a segment: every view is redrawn from the stored result, and downloads use the new name."""
    store = project_store()
    session_id = checked(session_id)
    result = store.result(session_id)
    if result is None or not changes:
        return no_update, no_update
    try:
        result.names = renamed(result.names, {int(c["data"]["cluster"]): c["value"] for c in changes})
    except SegmentationError as exc:
        return time.time(), dbc.Alert(str(exc), color="danger", className="py-2 small mb-0")
    store.save_result(session_id, result)
    return time.time(), None


@callback(
    Output(ids.DOWNLOAD, "data"),
    Input(ids.DOWNLOAD_BUTTON, "n_clicks"),
    State(ids.SESSION, "data"),
    prevent_initial_call=True,
)
def download_labelled(n_clicks: int | None, session_id: str):
    """Every input row and column plus its segment, as the CSV the command line writes."""
    store = project_store()
    session_id = checked(session_id)
    result = store.result(session_id)
    if not n_clicks or result is None:
        return no_update
    frame = labelled_customers(store.table(session_id), result)
    return dcc.send_string(to_csv_text(frame), LABELLED_FILE)


@callback(
    Output(ids.SUMMARY_DOWNLOAD, "data"),
    Input(ids.SUMMARY_BUTTON, "n_clicks"),
    State(ids.SESSION, "data"),
    prevent_initial_call=True,
)
def download_summary(n_clicks: int | None, session_id: str):
    """segments.csv as `segment run` writes it: one row per segment with its profile and rule."""
    store = project_store()
    result = store.result(checked(session_id))
    if not n_clicks or result is None or result.explanation is None:
        return no_update
    return dcc.send_string(to_csv_text(segment_summary(store.table(checked(session_id)), result)), SEGMENTS_FILE)


@callback(
    Output(ids.REPORT_DOWNLOAD, "data"),
    Input(ids.REPORT_BUTTON, "n_clicks"),
    State(ids.SESSION, "data"),
    prevent_initial_call=True,
)
def download_report(n_clicks: int | None, session_id: str):
    """report.html, the same file `segment run` writes, with the names as they are now."""
    store = project_store()
    session_id = checked(session_id)
    result = store.result(session_id)
    if not n_clicks or result is None or result.explanation is None:
        return no_update
    meta = store.meta(session_id)
    source = {"file": meta.get("name", ""), "rows": int(len(result.labels)), "read_as": meta.get("source", "")}
    return dcc.send_string(render_report(model_bundle(result, store.table(session_id), source)), REPORT_FILE)
