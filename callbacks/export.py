"""Export page: send any file of the current result, and make the project's review link."""

from __future__ import annotations

import io
import json
import secrets
from datetime import datetime, timezone

import dash_bootstrap_components as dbc
import flask
import joblib
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from core.bundle import ModelBundle
from core.contracts import (
    LABELLED_FILE,
    LEADERBOARD_FILE,
    MODEL_FILE,
    PDF_FILE,
    REPORT_FILE,
    RUN_FILE,
    SEGMENTS_FILE,
)
from core.csv_out import to_csv_text
from core.database import write_table
from core.errors import SegmentationError
from core.exports import labelled_customers, run_record, segment_summary
from core.pdf import html_to_pdf
from core.report import render_report
from core.writeback import segments_table
from dashboard import ids
from dashboard.databases import app_databases
from dashboard.headline import empty_alert
from dashboard.jobs import job_status
from dashboard.session import request_session
from dashboard.store import project_store

HIDDEN, SHOWN = {"display": "none"}, {"display": "block"}


@callback(
    Output(ids.EXPORT_EMPTY, "children"),
    Output(ids.EXPORT_AREA, "style"),
    Output(ids.REVIEW_LINK, "children"),
    Input(ids.RESULT_TOKEN, "data"),
)
def show_export(_token):
    store = project_store()
    session_id = request_session()
    result = store.result(session_id)
    if result is None:
        return empty_alert(job_status(store, session_id)), HIDDEN, no_update
    if result.explanation is None:
        return (
            dbc.Alert(
                "This result was made by an older version: run the segmentation again to export it.", color="info"
            ),
            HIDDEN,
            no_update,
        )
    token = store.review_token(session_id)
    return None, SHOWN, _link(token) if token else None


@callback(
    Output(ids.EXPORT_DOWNLOAD, "data"),
    Input({"type": ids.EXPORT_BUTTON, "file": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def download(clicks):
    """The file whose button was pressed, made from the stored result with the current names."""
    if not ctx.triggered_id or not any(clicks):
        return no_update
    store = project_store()
    session_id = request_session()
    result = store.result(session_id)
    if result is None:
        return no_update
    name = ctx.triggered_id["file"]
    if result.explanation is None and name != LEADERBOARD_FILE:
        return no_update  # a result saved before explanations existed: the page asks for a new run
    table = store.table(session_id)
    if name == LABELLED_FILE:
        return dcc.send_string(to_csv_text(labelled_customers(table, result)), name)
    if name == SEGMENTS_FILE:
        return dcc.send_string(to_csv_text(segment_summary(table, result)), name)
    if name == LEADERBOARD_FILE:
        return dcc.send_string(to_csv_text(result.leaderboard), name)
    source = store.source(session_id)
    if name == RUN_FILE:
        return dcc.send_string(json.dumps(run_record(result, source), indent=2), name)
    bundle = ModelBundle.of(result, table, source, with_reference=name == MODEL_FILE)
    if name == REPORT_FILE:
        return dcc.send_string(render_report(bundle), name)
    if name == MODEL_FILE:
        buffer = io.BytesIO()
        joblib.dump(bundle, buffer)
        return dcc.send_bytes(buffer.getvalue(), name)
    return no_update


@callback(
    Output(ids.EXPORT_DOWNLOAD, "data", allow_duplicate=True),
    Output(ids.EXPORT_PDF_STATUS, "children"),
    Input(ids.EXPORT_PDF, "n_clicks"),
    prevent_initial_call=True,
)
def download_pdf(n_clicks):
    """report.pdf: the report with the current names and actions, printed by headless Chromium."""
    store = project_store()
    session_id = request_session()
    result = store.result(session_id)
    if not n_clicks or result is None or result.explanation is None:
        return no_update, no_update
    table = store.table(session_id)
    bundle = ModelBundle.of(result, table, store.source(session_id), with_reference=False)
    try:
        pdf = html_to_pdf(render_report(bundle, printable=True))
    except SegmentationError as exc:
        return no_update, dbc.Alert([html.Strong("No PDF. "), str(exc)], color="warning", className="py-2 small mt-2")
    return dcc.send_bytes(pdf, PDF_FILE), None


@callback(
    Output(ids.REVIEW_LINK, "children", allow_duplicate=True),
    Input(ids.REVIEW_BUTTON, "n_clicks"),
    prevent_initial_call=True,
)
def create_review_link(n_clicks):
    if not n_clicks:
        return no_update
    return _link(project_store().review_token(request_session(), create=True))


def _link(token: str) -> html.Div:
    base = flask.request.host_url if flask.has_request_context() else "/"
    url = f"{base.rstrip('/')}/review/{token}"
    return html.Div(
        [html.Span("Review link: ", className="small"), html.A(url, href=url, target="_blank", id="review-url")]
    )


@callback(
    Output(ids.EXPORT_DB_STATUS, "children"),
    Input(ids.EXPORT_DB_WRITE, "n_clicks"),
    State(ids.EXPORT_DB_CONNECTION, "value"),
    State(ids.EXPORT_DB_TABLE, "value"),
    State(ids.EXPORT_DB_IF_EXISTS, "value"),
    background=True,
    running=[(Output(ids.EXPORT_DB_WRITE, "disabled"), True, False)],
    prevent_initial_call=True,
)
def write_to_database(n_clicks, name, table_name, if_exists):
    """Write every customer's segment to a table of a writable connection, and remember it for later renames."""
    if not n_clicks:
        return no_update
    store = project_store()
    session_id = request_session()
    result = store.result(session_id)
    if result is None or result.explanation is None:
        return dbc.Alert("Run a segmentation first.", color="warning", className="py-2 small")
    try:
        databases = app_databases()
        if not isinstance(name, str) or name not in databases.connections:
            raise SegmentationError("Choose one of the listed connections.")
        connection = databases.connections[name]
        table = store.table(session_id)
        id_columns = [c for c in table.columns if store.roles(session_id).get(str(c)) == "id"]
        run_id = secrets.token_hex(6)
        run_time = datetime.now(timezone.utc).isoformat(timespec="seconds")
        rows = segments_table(labelled_customers(table, result), id_columns, run_id, run_time)
        written = write_table(connection, rows, str(table_name or "").strip(), str(if_exists or "fail"))
    except SegmentationError as exc:
        return dbc.Alert([html.Strong("Not written. "), str(exc)], color="danger", className="py-2 small")
    store.record_writeback(
        session_id, {"database": connection.name, "table": str(table_name).strip(), "run_id": run_id}
    )
    return dbc.Alert(
        f"Wrote {written:,} customers' segments to {str(table_name).strip()} in '{connection.name}' (run {run_id}). "
        "Renaming a segment now updates the table too.",
        color="success",
        className="py-2 small",
    )
