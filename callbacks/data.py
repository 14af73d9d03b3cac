"""Data page callbacks: load a table (upload, demo, server file, database query, RFM from a log), show it, and keep
the analyst's choices."""

from __future__ import annotations

import re
import time

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, html, no_update

from core.database import list_tables, preview, query_for, read_query
from core.errors import SegmentationError
from core.explore import column_overview
from core.features import FeatureSpec, check_feature
from core.readers import describe_source, read_table
from core.rfm import RFM_FEATURES, build_rfm
from core.roles import FEATURE_ROLES, ROLES
from core.spark.outputs import open_spark_run
from dashboard import ids
from dashboard.databases import chosen_connection
from dashboard.jobs import request_cancel
from dashboard.outputs import named
from dashboard.runner import Job, run_project_job
from dashboard.session import request_session
from dashboard.settings import load_settings
from dashboard.store import project_store
from dashboard.tables import grid_props
from dashboard.uploads import read_upload, server_files

PREVIEW_ROWS = 100


@callback(
    Output(ids.DATA_VERSION, "data"),
    Output(ids.DATA_ALERT, "children"),
    Output(ids.UPLOAD, "contents"),
    Input(ids.UPLOAD, "contents"),
    Input(ids.DEMO_BUTTON, "n_clicks"),
    Input(ids.RFM_BUILD, "n_clicks"),
    Input(ids.RFM_BACK, "n_clicks"),
    State(ids.UPLOAD, "filename"),
    State(ids.RFM_CUSTOMER, "value"),
    State(ids.RFM_DATE, "value"),
    State(ids.RFM_AMOUNT, "value"),
    State(ids.RFM_QUANTITY, "value"),
    State(ids.RFM_PRICE, "value"),
    State(ids.RFM_INVOICE, "value"),
    State(ids.RFM_AS_OF, "value"),
    prevent_initial_call=True,
)
def load_data(
    contents, demo_clicks, build_clicks, back_clicks, filename, customer, date, amount, quantity, price, invoice, as_of
):
    """Replace the session's table by an upload, the demo data, the RFM table of the current log, or the log again.

    The upload's contents are cleared afterwards so that choosing the same file again is a new event.
    """
    store = project_store()
    session_id = request_session()
    trigger = ctx.triggered_id
    try:
        if trigger == ids.UPLOAD:
            if not contents:
                return no_update, no_update, no_update
            table, name = read_upload(contents, filename)
            store.save_table(session_id, table, name, source=describe_source(table))
        elif trigger == ids.DEMO_BUTTON:
            store.use_demo(session_id)
        elif trigger == ids.RFM_BUILD:
            log = store.log(session_id)
            log = log if log is not None else store.table(session_id)
            meta = store.meta(session_id)
            name = meta["rfm"]["log_name"] if meta.get("rfm") else meta["name"]
            if not customer or not date:
                raise SegmentationError("Choose the customer id and the date columns of the transaction log.")
            table, report = build_rfm(
                log, customer, date, amount=amount, quantity=quantity, price=price, invoice=invoice, as_of=as_of or None
            )
            store.save_table(
                session_id,
                table,
                f"RFM of {name}",
                source=report.summary(),
                log=log,
                rfm={**report.to_dict(), "log_name": name},
            )
            store.save_selection(session_id, RFM_FEATURES[:3])
        elif trigger == ids.RFM_BACK:
            log, meta = store.log(session_id), store.meta(session_id)
            if log is None:
                raise SegmentationError("The current table was not built from a transaction log.")
            store.save_table(session_id, log, meta["rfm"]["log_name"], source="transaction log")
    except SegmentationError as exc:
        what = "build the RFM table" if trigger == ids.RFM_BUILD else "load this file"
        return no_update, dbc.Alert([html.Strong(f"Could not {what}. "), str(exc)], color="danger"), None
    return time.time(), None, None


DATA = dict(
    status=Output(ids.DATA_STATUS, "children"),
    columns=Output(ids.COLUMN_GRID, "rowData"),
    selected=Output(ids.COLUMN_GRID, "selectedRows"),
    preview_rows=Output(ids.PREVIEW_GRID, "rowData"),
    preview_columns=Output(ids.PREVIEW_GRID, "columnDefs"),
    rfm_customer=Output(ids.RFM_CUSTOMER, "options"),
    rfm_date=Output(ids.RFM_DATE, "options"),
    rfm_amount=Output(ids.RFM_AMOUNT, "options"),
    rfm_quantity=Output(ids.RFM_QUANTITY, "options"),
    rfm_price=Output(ids.RFM_PRICE, "options"),
    rfm_invoice=Output(ids.RFM_INVOICE, "options"),
    feature_columns=Output(ids.FEATURE_COLUMNS, "options"),
    features=Output(ids.FEATURE_LIST, "children"),
)
COLUMN_CHOICES = (
    "rfm_customer",
    "rfm_date",
    "rfm_amount",
    "rfm_quantity",
    "rfm_price",
    "rfm_invoice",
    "feature_columns",
)


@callback(output=DATA, inputs=[Input(ids.DATA_VERSION, "data")])
def show_data(_version):
    """Show the session's table: banner, columns with roles and the chosen ones, preview, form options."""
    store = project_store()
    session_id = request_session()
    meta, table, roles = store.meta(session_id), store.table(session_id), store.roles(session_id)
    chosen = store.selection(session_id)
    if chosen is None:
        chosen = [c for c, r in roles.items() if r in FEATURE_ROLES]
    overview = column_overview(table, roles, meta.get("profile"))
    rows, column_defs = grid_props(table.head(PREVIEW_ROWS), header_tooltips=roles)
    banner = [html.Strong(meta["name"]), f" · {meta['rows']:,} rows × {len(meta['columns'])} columns"]
    if meta.get("source"):
        banner.append(
            html.Div(
                f"Read as: {meta['source']}" if not meta.get("rfm") else meta["source"], className="small text-muted"
            )
        )
    options = [{"label": c, "value": c} for c in table.columns]
    return named(
        DATA,
        status=dbc.Alert(banner, color="light", className="mb-3 dataset-banner"),
        columns=overview.to_dict("records"),
        selected={"ids": chosen},
        preview_rows=rows,
        preview_columns=column_defs,
        features=_feature_list(store.settings(session_id).get("features", [])),
        **{choice: options for choice in COLUMN_CHOICES},
    )


@callback(
    Output(ids.RFM_FORM, "is_open"),
    Input(ids.RFM_SWITCH, "value"),
)
def toggle_rfm(on: bool) -> bool:
    return bool(on)


@callback(
    Output(ids.SELECTION_NOTE, "children"),
    Input(ids.COLUMN_GRID, "selectedRows"),
    Input(ids.COLUMN_GRID, "cellValueChanged"),
    prevent_initial_call=True,
)
def remember_columns(selected, changes):
    """Keep the chosen columns and any changed roles server-side, where the segmentation job reads them."""
    store = project_store()
    session_id = request_session()
    triggered = set(ctx.triggered_prop_ids)
    if f"{ids.COLUMN_GRID}.cellValueChanged" in triggered:
        overrides = dict(store.settings(session_id).get("roles", {}))
        for change in changes or []:
            role = change.get("value")
            if role in ROLES:
                overrides[change["data"]["column"]] = role
        store.update_settings(session_id, roles=overrides)
    if f"{ids.COLUMN_GRID}.selectedRows" in triggered:
        # The grid reports the selection as row data, or as {"ids": [...]} when it echoes what show_data set.
        chosen = selected["ids"] if isinstance(selected, dict) else [row["column"] for row in selected or []]
        store.save_selection(session_id, chosen)
    roles = store.roles(session_id)
    columns = store.selection(session_id) or []
    usable = [c for c in columns if roles.get(c) in FEATURE_ROLES]
    if not usable:
        return html.Span(
            "Choose at least one numeric, categorical or date column to segment on.", className="text-danger"
        )
    ignored = [c for c in columns if c not in usable]
    note = f"{len(usable)} column(s) selected."
    if ignored:
        note += f" Ignored as features (role id, text or constant): {', '.join(ignored)}."
    return html.Span(note, className="text-muted")


@callback(
    Output(ids.FEATURE_LIST, "children", allow_duplicate=True),
    Output(ids.FEATURE_NAME, "value"),
    Input(ids.FEATURE_ADD, "n_clicks"),
    Input({"type": ids.FEATURE_REMOVE, "index": ALL}, "n_clicks"),
    State(ids.FEATURE_KIND, "value"),
    State(ids.FEATURE_COLUMNS, "value"),
    State(ids.FEATURE_NAME, "value"),
    prevent_initial_call=True,
)
def edit_features(add_clicks, remove_clicks, kind, columns, name):
    """Add or remove an engineered feature; it is computed when the segmentation runs."""
    store = project_store()
    session_id = request_session()
    features = list(store.settings(session_id).get("features", []))
    trigger = ctx.triggered_id
    if isinstance(trigger, dict):
        if not any(remove_clicks):
            return no_update, no_update
        features = [f for i, f in enumerate(features) if i != trigger["index"]]
        store.update_settings(session_id, features=features)
        return _feature_list(features), no_update
    spec = FeatureSpec(name=(name or "").strip(), kind=kind, columns=list(columns or []))
    try:
        existing = list(store.table(session_id).columns) + [f["name"] for f in features]
        check_feature(spec, existing)
    except SegmentationError as exc:
        return [dbc.Alert(str(exc), color="danger", className="py-2 small"), _feature_list(features)], no_update
    features.append(spec.to_dict())
    store.update_settings(session_id, features=features)
    return _feature_list(features), ""


def _feature_list(features: list[dict]) -> html.Div:
    if not features:
        return html.Div("No engineered features yet.", className="small text-muted")
    return html.Div(
        [
            html.Div(
                [
                    html.Code(f"{f['name']} = {f['kind']}({', '.join(f['columns'])})"),
                    dbc.Button(
                        "×",
                        id={"type": ids.FEATURE_REMOVE, "index": i},
                        color="link",
                        size="sm",
                        className="text-danger py-0",
                        title="remove",
                    ),
                ],
                className="feature-item",
            )
            for i, f in enumerate(features)
        ]
    )


@callback(
    Output(ids.PROJECT_SELECT, "options"),
    Output(ids.PROJECT_SELECT, "value"),
    Output(ids.PROJECT_NAME, "value"),
    Output(ids.SERVER_FILE, "options"),
    Input(ids.DATA_VERSION, "data"),
)
def show_projects(_version):
    """This session's projects (only its own), and the files in the server's data folder."""
    store = project_store()
    session_id = request_session()
    current = store.current_project(session_id)
    options = [
        {"label": f"{p['name']} · {p['dataset']}" + (" · segmented" if p["segmented"] else ""), "value": p["id"]}
        for p in store.projects(session_id)
    ]
    return options, current, store.project_info(session_id)["name"], server_files()


@callback(
    Output(ids.DATA_VERSION, "data", allow_duplicate=True),
    Output(ids.PROJECT_STATUS, "children"),
    Output(ids.RESULT_TOKEN, "data", allow_duplicate=True),
    Input(ids.PROJECT_SELECT, "value"),
    Input(ids.PROJECT_NEW, "n_clicks"),
    Input(ids.PROJECT_NAME, "value"),
    prevent_initial_call=True,
)
def change_project(project, new_clicks, name):
    """Open another project, start a new one, or rename the open one; every page then shows that project."""
    store = project_store()
    session_id = request_session()
    trigger = ctx.triggered_id
    try:
        if trigger == ids.PROJECT_NEW and new_clicks:
            store.new_project(session_id)
        elif trigger == ids.PROJECT_SELECT and project and project != store.current_project(session_id):
            store.open_project(session_id, project)
        elif trigger == ids.PROJECT_NAME and name and name != store.project_info(session_id)["name"]:
            store.rename_project(session_id, name)
            return time.time(), "Renamed.", no_update
        else:
            return no_update, no_update, no_update
    except SegmentationError as exc:
        return no_update, str(exc), no_update
    return time.time(), None, time.time()


@callback(
    Output(ids.DATA_VERSION, "data", allow_duplicate=True),
    Output(ids.DATA_ALERT, "children", allow_duplicate=True),
    Input(ids.SERVER_OPEN, "n_clicks"),
    State(ids.SERVER_FILE, "value"),
    prevent_initial_call=True,
)
def open_server_file(n_clicks, name):
    """Read a file the operator put in the server's data folder (no upload size limit)."""
    if not n_clicks:
        return no_update, no_update
    store = project_store()
    session_id = request_session()
    settings = load_settings()
    folder = settings.import_dir
    try:
        # Only a name the folder lists now is opened: no path, link out of the folder or odd character gets further.
        if not isinstance(name, str) or name not in {f["value"] for f in server_files()}:
            raise SegmentationError("Choose one of the files listed in the server's data folder.")
        path = folder / name
        if path.is_dir():  # a Spark run: its driver sample and segments; the full table stays on the cluster
            sample, result, spark = open_spark_run(path)
            rows = spark.get("sampled", {}).get("rows", len(sample))
            source = (
                f"Spark run: a sample of {len(sample):,} of {rows:,} customers (the full table stays on the cluster)"
            )
            store.save_table(session_id, sample, path.name, source=source)
            store.save_selection(session_id, list(result.features))
            store.save_result(session_id, result)
            return time.time(), None
        table = read_table(path, **settings.read_limits)
        store.save_table(session_id, table, path.name, source=describe_source(table))
    except SegmentationError as exc:
        return no_update, dbc.Alert([html.Strong("Could not open this file. "), str(exc)], color="danger")
    return time.time(), None


def _failed(what: str, exc: SegmentationError) -> dbc.Alert:
    return dbc.Alert([html.Strong(f"Could not {what}. "), str(exc)], color="danger", className="py-2 small")


@callback(
    Output(ids.DB_TABLE, "options"),
    Output(ids.DB_TABLE, "value"),
    Output(ids.DB_ALERT, "children"),
    Input(ids.DB_CONNECTION, "value"),
    Input(ids.DB_URL, "value"),
    prevent_initial_call=True,
)
def show_tables(name, url):
    """The tables of the chosen connection, with their row counts."""
    try:
        tables = list_tables(chosen_connection(name, url))
    except SegmentationError as exc:
        return [], None, _failed("list the tables", exc)
    options = [
        {
            "label": f"{t.name} ({'~' if t.rows_estimated else ''}{t.rows:,} rows, {len(t.columns)} columns)"
            if t.rows is not None
            else t.name,
            "value": t.name,
        }
        for t in tables
    ]
    return options, None, None if tables else dbc.Alert("This database has no tables.", color="info")


@callback(
    Output(ids.DB_QUERY, "value"),
    Output(ids.DB_TABLE_INFO, "children"),
    Input(ids.DB_TABLE, "value"),
    State(ids.DB_CONNECTION, "value"),
    State(ids.DB_URL, "value"),
    prevent_initial_call=True,
)
def choose_table(table, name, url):
    """Choosing a table writes the query that reads it whole and lists its columns."""
    if not table:
        return no_update, None
    try:
        info = next((t for t in list_tables(chosen_connection(name, url)) if t.name == table), None)
        if info is None:
            raise SegmentationError(f"'{table}' is not a table of this connection.")
        query = query_for(table=table)
    except SegmentationError as exc:
        return no_update, _failed("read the table", exc)
    return query, [html.Strong(info.name), ": " + ", ".join(f"{c} ({t.lower()})" for c, t in info.columns)]


@callback(
    Output(ids.DB_PREVIEW_GRID, "rowData"),
    Output(ids.DB_PREVIEW_GRID, "columnDefs"),
    Output(ids.DB_PREVIEW_GRID, "style"),
    Output(ids.DB_ALERT, "children", allow_duplicate=True),
    Input(ids.DB_PREVIEW, "n_clicks"),
    State(ids.DB_CONNECTION, "value"),
    State(ids.DB_URL, "value"),
    State(ids.DB_QUERY, "value"),
    prevent_initial_call=True,
)
def preview_query(n_clicks, name, url, query):
    """The query's first 100 rows (the limit applied by the database)."""
    hidden = {"height": "260px", "display": "none"}
    if not n_clicks:
        return no_update, no_update, no_update, no_update
    try:
        connection = chosen_connection(name, url)
        rows = preview(connection, query if isinstance(query, str) else "")
    except SegmentationError as exc:
        return [], [], hidden, _failed("preview the query", exc)
    data, columns = grid_props(rows)
    note = html.Span(f"First {len(rows):,} rows of the query; Load reads them all.", className="small text-muted")
    return data, columns, {"height": "260px"}, note


@callback(
    Output(ids.DATA_VERSION, "data", allow_duplicate=True),
    Output(ids.DB_ALERT, "children", allow_duplicate=True),
    Input(ids.DB_LOAD, "n_clicks"),
    State(ids.DB_CONNECTION, "value"),
    State(ids.DB_URL, "value"),
    State(ids.DB_QUERY, "value"),
    background=True,
    progress=[Output(ids.DB_PROGRESS, "value"), Output(ids.DB_PROGRESS, "label")],
    running=[
        (Output(ids.DB_LOAD, "disabled"), True, False),
        (Output(ids.DB_CANCEL, "disabled"), False, True),
    ],
    cancel=[Input(ids.DB_CANCEL, "n_clicks")],
    prevent_initial_call=True,
)
def load_query(set_progress, n_clicks, name, url, query):
    """Read every row of the query as the project's table: a background job with progress, bounded by
    SEGSTUDIO_MAX_ROWS, cancellable; the previous table stays until the last row is read."""
    if not n_clicks:
        return no_update, no_update
    try:
        connection = chosen_connection(name, url)
        text = query_for(query=query if isinstance(query, str) else "")
    except SegmentationError as exc:
        return no_update, _failed("load the query", exc)
    max_rows = load_settings().max_rows

    def work(job: Job, report) -> str:
        def rows_read(rows: int, total: int | None) -> None:
            report(rows / total if total else 0.0, f"{rows:,} of {total or 0:,} rows read from {connection.name}")

        table = read_query(connection, text, max_rows=max_rows, progress=rows_read, count_first=True)
        report(1.0, "Saving the table")
        named_table = _table_name(text)
        job.store.save_table(
            job.session,
            table,
            f"{named_table or 'query'} ({connection.name})",
            source=f"{connection.dialect} query on '{connection.name}'",
            database=connection.name,
            query=text,
        )
        return f"Loaded {len(table):,} rows from '{connection.name}'"

    outcome = run_project_job(
        "load", work, on_progress=lambda fraction, message: set_progress((round(100 * fraction), message))
    )
    if outcome.done:
        set_progress((100, "Loaded"))
        return time.time(), dbc.Alert(outcome.message + ".", color="success", className="py-2 small")
    if outcome.state == "cancelled":
        return no_update, dbc.Alert("Cancelled; the previous table is kept.", color="secondary", className="py-2 small")
    return no_update, dbc.Alert(outcome.message, color="danger" if outcome.state == "failed" else "warning")


def _table_name(query: str) -> str | None:
    match = re.fullmatch(r'SELECT \* FROM "([A-Za-z0-9_.]+)"', query)
    return match[1] if match else None


@callback(
    Output(ids.DB_ALERT, "children", allow_duplicate=True),
    Input(ids.DB_CANCEL, "n_clicks"),
    prevent_initial_call=True,
)
def cancel_load(n_clicks):
    """Stop the load at its next chunk (and Dash stops its process)."""
    if not n_clicks:
        return no_update
    request_cancel(project_store(), request_session())
    return "Cancelling…"
