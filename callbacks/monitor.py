"""Monitor page: a new batch from an upload, the server folder or a database, compared with the current result."""

from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from core.contracts import DRIFT_FILE, MIGRATION_FILE, MONITOR_HTML, SHARES_FILE
from core.csv_out import to_csv_text
from core.database import query_for, read_query
from core.errors import SegmentationError
from core.monitor import MonitorReport, monitor, reference_of
from core.monitor_outputs import readable_drift, render_monitor
from core.predict import Scorer
from core.readers import read_table
from dashboard import ids
from dashboard.databases import app_databases, chosen_connection, connection_options
from dashboard.figures import migration_figure, shares_figure
from dashboard.headline import empty_alert
from dashboard.jobs import job_status
from dashboard.session import request_session
from dashboard.settings import load_settings
from dashboard.store import project_store
from dashboard.tables import grid_props
from dashboard.uploads import read_upload, server_files

HIDDEN, SHOWN = {"display": "none"}, {"display": "block"}
VERDICT_COLOURS = {"Stable": "success", "Minor drift": "warning", "Refit recommended": "danger"}  # else grey


@callback(
    Output(ids.MONITOR_EMPTY, "children"),
    Output(ids.MONITOR_AREA, "style"),
    Output(ids.MONITOR_SERVER_FILE, "options"),
    Output(ids.MONITOR_DB_CONNECTION, "options"),
    Output(ids.MONITOR_RESULT, "children", allow_duplicate=True),
    Input(ids.RESULT_TOKEN, "data"),
    prevent_initial_call="initial_duplicate",
)
def show_monitor(_token):
    store = project_store()
    session_id = request_session()
    result = store.result(session_id)
    if result is None:
        return empty_alert(job_status(store, session_id)), HIDDEN, [], [], None
    if result.predictor is None:
        note = dbc.Alert("This segmentation has one segment: there is nothing to compare a batch with.", color="info")
        return note, HIDDEN, [], [], None
    last = store.monitor(session_id)
    shown = _view(*last) if last is not None else None
    return None, SHOWN, server_files(), connection_options(app_databases()), shown


@callback(
    Output(ids.MONITOR_RESULT, "children"),
    Output(ids.MONITOR_UPLOAD, "contents"),
    Input(ids.MONITOR_UPLOAD, "contents"),
    Input(ids.MONITOR_SERVER_OPEN, "n_clicks"),
    Input(ids.MONITOR_DB_RUN, "n_clicks"),
    State(ids.MONITOR_UPLOAD, "filename"),
    State(ids.MONITOR_SERVER_FILE, "value"),
    State(ids.MONITOR_DB_CONNECTION, "value"),
    State(ids.MONITOR_DB_QUERY, "value"),
    prevent_initial_call=True,
)
def compare_batch(contents, server_clicks, db_clicks, filename, server_file, connection, query):
    """Score the batch with the current result and compare it with the customers the result was fitted on."""
    trigger = ctx.triggered_id
    if (
        (trigger == ids.MONITOR_UPLOAD and not contents)
        or (trigger == ids.MONITOR_SERVER_OPEN and not server_clicks)
        or (trigger == ids.MONITOR_DB_RUN and not db_clicks)
    ):
        return no_update, no_update
    store = project_store()
    session_id = request_session()
    result = store.result(session_id)
    try:
        if result is None or result.predictor is None:
            raise SegmentationError("There is no segmentation with two or more segments to compare a batch with.")
        batch, name = _batch(trigger, contents, filename, server_file, connection, query)
        table = store.table(session_id)
        scorer = Scorer.of(result)
        report = monitor(scorer, reference_of(scorer, table, result.labels, result.config.seed), batch)
    except SegmentationError as exc:
        return dbc.Alert([html.Strong("Could not compare this batch. "), str(exc)], color="danger"), None
    store.save_monitor(session_id, (report, name))
    return _view(report, name), None


def _batch(trigger, contents, filename, server_file, connection, query):
    """The new customers and what to call them, from whichever source was used (each within the app's bounds)."""
    settings = load_settings()
    if trigger == ids.MONITOR_UPLOAD:
        return read_upload(contents, filename)
    if trigger == ids.MONITOR_SERVER_OPEN:
        if not isinstance(server_file, str) or server_file not in {f["value"] for f in server_files()}:
            raise SegmentationError("Choose one of the files listed in the server's data folder.")
        return read_table(settings.import_dir / server_file, **settings.read_limits), server_file
    chosen = chosen_connection(connection, None)
    text = query_for(query=query if isinstance(query, str) else "")
    return read_query(chosen, text, max_rows=settings.max_rows), f"query ({chosen.name})"


@callback(
    Output(ids.MONITOR_DOWNLOAD, "data"),
    Input({"type": ids.MONITOR_FILE, "file": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def download_monitor_file(clicks):
    if not ctx.triggered_id or not any(clicks or []):
        return no_update
    store = project_store()
    last = store.monitor(request_session())
    if last is None:
        return no_update
    report, name = last
    file = ctx.triggered_id["file"]
    frames = {DRIFT_FILE: report.drift, MIGRATION_FILE: report.migration, SHARES_FILE: report.shares}
    if file in frames:
        return dcc.send_string(to_csv_text(frames[file]), file)
    if file == MONITOR_HTML:
        return dcc.send_string(render_monitor(report, name, "the app's current segmentation"), file)
    return no_update


def _view(report: MonitorReport, name: str) -> html.Div:
    then, now = report.no_good_fit
    drift = readable_drift(report.drift)
    overall = drift[drift["scope"] == "all"].drop(columns=["scope", "cluster", "segment"])
    within = drift[(drift["scope"] == "segment") & (drift["status"] != "stable")]
    facts = [
        ("customers in the batch", f"{report.rows:,}"),
        ("segment share PSI", f"{report.share_psi:.3f}"),
        ("no good fit, then → now", f"{then:.1%} → {now:.1%}"),
        (
            "returning / new / gone",
            "—"
            if report.returning is None
            else f"{report.returning:,} / {report.new_customers:,} / {report.gone_customers:,}",
        ),
    ]
    drift_rows, drift_columns = grid_props(overall)
    parts: list = [
        dbc.Alert(
            [
                html.H4(report.verdict, className="alert-heading mb-1", id="monitor-verdict"),
                html.Div(f"{name}, scored with the current segmentation.", className="small mb-1"),
                html.Ul([html.Li(r) for r in report.reasons], className="mb-0 small"),
            ],
            color=VERDICT_COLOURS.get(report.verdict, "secondary"),
        ),
        *(html.P(n, className="small text-muted") for n in report.notes),
        dbc.Row(
            [
                dbc.Col(
                    dbc.Card(
                        dbc.CardBody([html.Div(v, className="h5 mb-0"), html.Div(k, className="small text-muted")])
                    )
                )
                for k, v in facts
            ],
            className="g-3 mb-3",
        ),
        dbc.Row(
            [
                dbc.Col(dbc.Card(dcc.Graph(figure=shares_figure(report.shares), config={"displaylogo": False})), lg=6),
                dbc.Col(
                    dbc.Card(
                        dcc.Graph(figure=migration_figure(report.migration), config={"displaylogo": False}),
                        id="monitor-sankey",
                    )
                    if len(report.migration)
                    else dbc.Card(dbc.CardBody("Migration is not measured: " + " ".join(report.notes))),
                    lg=6,
                ),
            ],
            className="g-3 mb-3",
        ),
        dbc.Card(
            [
                dbc.CardHeader(
                    [
                        html.Strong("Feature drift"),
                        html.Span(
                            " · PSI below 0.1 stable, 0.1-0.25 minor, 0.25 or more major; Wasserstein in reference "
                            "standard deviations; Jensen-Shannon 0 (same) to 1 (disjoint)",
                            className="small text-muted",
                        ),
                    ]
                ),
                dag.AgGrid(
                    id="monitor-drift-grid",
                    rowData=drift_rows,
                    columnDefs=drift_columns,
                    defaultColDef={"resizable": True, "sortable": True, "flex": 1, "minWidth": 110},
                    dashGridOptions={"domLayout": "autoHeight"},
                    className="ag-theme-alpine",
                ),
            ],
            className="mb-3",
        ),
        dbc.Row(
            [
                dbc.Col(
                    _small_table("Drift within segments (not stable)", within[["segment", "feature", "psi", "status"]]),
                    lg=6,
                ),
                dbc.Col(
                    _small_table(
                        "How far each segment's centre moved (sd)", report.centres[["segment", "moved_sd", "status"]]
                    ),
                    lg=6,
                ),
            ],
            className="g-3 mb-3",
        ),
        html.Div(
            [html.Span("Download: ", className="small me-2")]
            + [
                dbc.Button(
                    f,
                    id={"type": ids.MONITOR_FILE, "file": f},
                    size="sm",
                    color="primary",
                    outline=True,
                    className="me-2",
                )
                for f in (DRIFT_FILE, MIGRATION_FILE, SHARES_FILE, MONITOR_HTML)
            ]
        ),
    ]
    return html.Div(parts)


def _small_table(title: str, frame) -> dbc.Card:
    if not len(frame):
        body = html.P("Nothing to show: all stable.", className="small text-muted mb-0 p-2")
    else:
        body = dbc.Table.from_dataframe(frame.round(3), size="sm", className="small mb-0", hover=True)
    return dbc.Card([dbc.CardHeader(html.Strong(title)), body], className="h-100")
