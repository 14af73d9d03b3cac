"""Segments page callbacks: run the engine as a background job, show its result, download the labelled file."""
from __future__ import annotations

import time

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

from core.config import RunConfig
from core.errors import SegmentationError
from core.exports import LABELLED_FILE, labelled_customers, segment_summary, to_csv_text
from core.pipeline import run_segmentation
from dashboard import ids
from dashboard.figures import scatter_3d
from dashboard.session import checked
from dashboard.store import project_store
from dashboard.tables import grid_props, profile_grid_frame


@callback(
    Output(ids.RESULT_TOKEN, "data"),
    Output(ids.RUN_STATUS, "children"),
    Input(ids.RUN_BUTTON, "n_clicks"),
    State(ids.K_RANGE, "value"),
    State(ids.SESSION, "data"),
    background=True,
    progress=[Output(ids.PROGRESS, "value"), Output(ids.PROGRESS, "label")],
    running=[
        (Output(ids.RUN_BUTTON, "disabled"), True, False),
        (Output(ids.CANCEL_BUTTON, "disabled"), False, True),
    ],
    cancel=[Input(ids.CANCEL_BUTTON, "n_clicks")],
    prevent_initial_call=True,
)
def run_job(set_progress, n_clicks: int, k_range: list[int], session_id: str):
    """Fit the segmentation on the session's table and chosen columns; store the result server-side."""
    store = project_store()
    session_id = checked(session_id)
    set_progress((0, "Starting"))
    try:
        config = RunConfig(columns=store.selection(session_id), k_min=int(k_range[0]), k_max=int(k_range[1]))
        result = run_segmentation(
            store.table(session_id), config, progress=lambda f, m: set_progress((round(100 * f), m))
        )
    except SegmentationError as exc:
        set_progress((0, ""))
        return no_update, dbc.Alert([html.Strong("Could not segment. "), str(exc)], color="danger")
    store.save_result(session_id, result)
    set_progress((100, "Done"))
    return time.time(), None


@callback(
    Output(ids.RESULT_AREA, "children"),
    Input(ids.RESULT_TOKEN, "data"),
    State(ids.SESSION, "data"),
)
def show_result(_token: float | None, session_id: str):
    """Draw the stored result (also when the page is opened again later)."""
    store = project_store()
    session_id = checked(session_id)
    result = store.result(session_id)
    if result is None:
        return dbc.Alert(
            "No segmentation yet. Choose the columns on the Data page, then press Run segmentation.",
            color="info",
        )
    table = store.table(session_id)
    rows, column_defs = grid_props(profile_grid_frame(segment_summary(table, result)))
    column_defs[0].update(pinned="left", minWidth=190)
    chosen = result.leaderboard[result.leaderboard["selected"]].iloc[0]
    headline = (
        f"{result.segmenter.n_clusters_} segments of {len(table):,} customers from {len(result.features)} "
        f"features · KMeans · silhouette {chosen['silhouette']:.3f}"
    )
    return html.Div(
        [
            dbc.Alert(headline, color="success", className="mb-3 result-headline"),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Card(dcc.Graph(id=ids.SCATTER, figure=scatter_3d(result, table),
                                           config={"displaylogo": False})),
                        lg=7,
                    ),
                    dbc.Col(
                        dbc.Card(
                            [
                                dbc.CardHeader(
                                    [
                                        html.Strong("Segment profiles"),
                                        dbc.Button("Download labelled customers (CSV)", id=ids.DOWNLOAD_BUTTON,
                                                   color="primary", size="sm", className="float-end"),
                                    ]
                                ),
                                dbc.CardBody(
                                    dag.AgGrid(
                                        id=ids.SEGMENT_GRID,
                                        rowData=rows,
                                        columnDefs=column_defs,
                                        defaultColDef={"resizable": True, "sortable": True, "minWidth": 110},
                                        className="ag-theme-alpine",
                                        style={"height": "470px"},
                                    ),
                                    className="p-0",
                                ),
                            ]
                        ),
                        lg=5,
                    ),
                ],
                className="g-3",
            ),
        ]
    )


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
