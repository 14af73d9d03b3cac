"""Data page callbacks: load a table (upload or demo), show it, remember the chosen columns."""
from __future__ import annotations

import base64
import binascii

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, html, no_update

from core.errors import SegmentationError
from core.readers import read_table
from core.roles import FEATURE_ROLES
from dashboard import ids
from dashboard.session import checked
from dashboard.store import project_store
from dashboard.tables import grid_props

PREVIEW_ROWS = 100


@callback(
    Output(ids.DATA_STATUS, "children"),
    Output(ids.COLUMN_PICKER, "options"),
    Output(ids.COLUMN_PICKER, "value"),
    Output(ids.PREVIEW_GRID, "rowData"),
    Output(ids.PREVIEW_GRID, "columnDefs"),
    Output(ids.UPLOAD, "contents"),
    Input(ids.UPLOAD, "contents"),
    Input(ids.DEMO_BUTTON, "n_clicks"),
    State(ids.UPLOAD, "filename"),
    State(ids.SESSION, "data"),
)
def load_data(contents: str | None, demo_clicks: int | None, filename: str | None, session_id: str):
    """Show the session's table; first replace it by an upload or the demo data when the user asked for that.

    The upload's contents are cleared afterwards so that choosing the same file again is a new event.
    """
    store = project_store()
    session_id = checked(session_id)
    problem = None
    try:
        if ctx.triggered_id == ids.UPLOAD and contents:
            store.save_table(session_id, read_table(_decode_upload(contents, filename), filename), filename)
        elif ctx.triggered_id == ids.DEMO_BUTTON:
            store.use_demo(session_id)
    except SegmentationError as exc:
        problem = dbc.Alert([html.Strong("Could not load this file. "), str(exc)], color="danger", className="mb-3")
    meta = store.meta(session_id)
    table = store.table(session_id)
    roles = meta["roles"]
    options = [
        {"label": f"{column} · {role}", "value": column, "disabled": role not in FEATURE_ROLES}
        for column, role in roles.items()
    ]
    chosen = store.selection(session_id)
    if chosen is None:
        chosen = [c for c, r in roles.items() if r in FEATURE_ROLES]
    rows, column_defs = grid_props(table.head(PREVIEW_ROWS), header_tooltips=roles)
    status = [
        problem,
        dbc.Alert(
            [html.Strong(meta["name"]), f" · {meta['rows']:,} rows × {len(meta['columns'])} columns"],
            color="light",
            className="mb-3 dataset-banner",
        ),
    ]
    return status, options, chosen, rows, column_defs, None


def _decode_upload(contents: str, filename: str | None) -> bytes:
    try:
        _, encoded = contents.split(",", 1)
        return base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error):
        raise SegmentationError(f"{filename or 'The upload'} arrived damaged; try uploading it again.") from None


@callback(
    Output(ids.SELECTION_NOTE, "children"),
    Input(ids.COLUMN_PICKER, "value"),
    State(ids.SESSION, "data"),
    prevent_initial_call=True,
)
def remember_selection(columns: list[str] | None, session_id: str):
    """Keep the chosen columns server-side, where the segmentation job reads them."""
    columns = columns or []
    project_store().save_selection(checked(session_id), columns)
    if not columns:
        return html.Span("Choose at least one column to segment on.", className="text-danger")
    return html.Span(f"{len(columns)} column(s) selected.", className="text-muted")
