"""Compare page: every candidate model, how good each is, and the choice of the active one."""

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import ids
from dashboard.controls import graph

dash.register_page(__name__, path="/compare", name="Compare", title="Compare · Segmentation Studio")


def layout(**_query) -> html.Div:
    return html.Div(
        [
            html.H2("Compare models", className="page-title"),
            html.P(
                "Every candidate fitted, with its quality. Pick a row and use it instead of the automatic choice.",
                className="text-muted",
            ),
            html.Div(id=ids.COMPARE_EMPTY),
            dcc.Store(id=ids.COMPARE_TOKEN),
            html.Div(
                [
                    html.Div(id=ids.COMPARE_HEADLINE),
                    dbc.Card(
                        [
                            dbc.CardHeader(
                                [
                                    html.Strong("Leaderboard"),
                                    html.Span(
                                        " · sort by any column; ✔ marks the active model", className="small text-muted"
                                    ),
                                    dbc.Button(
                                        "Use selected model",
                                        id=ids.USE_ROW_BUTTON,
                                        color="primary",
                                        size="sm",
                                        className="float-end",
                                    ),
                                ]
                            ),
                            dbc.CardBody(
                                dag.AgGrid(
                                    id=ids.LEADERBOARD,
                                    rowData=[],
                                    columnDefs=[],
                                    defaultColDef={"resizable": True, "sortable": True, "minWidth": 105},
                                    dashGridOptions={"rowSelection": {"mode": "singleRow"}},
                                    className="ag-theme-alpine",
                                    style={"height": "340px"},
                                ),
                                className="p-0",
                            ),
                            dbc.CardFooter(
                                [
                                    dbc.Progress(
                                        id=ids.USE_ROW_PROGRESS,
                                        value=0,
                                        striped=True,
                                        animated=True,
                                        style={"height": "6px"},
                                    ),
                                    html.Div(id=ids.USE_ROW_STATUS, className="small mt-1"),
                                ]
                            ),
                        ],
                        className="mb-3",
                    ),
                    dbc.Row(
                        [dbc.Col(dbc.Card(graph(ids.ELBOW)), lg=5), dbc.Col(dbc.Card(graph(ids.METRICS)), lg=7)],
                        className="g-3 mb-3",
                    ),
                    dbc.Row(
                        [
                            dbc.Col(dbc.Card(graph(ids.SILHOUETTE, 420)), lg=6),
                            dbc.Col(dbc.Card(graph(ids.STABILITY, 420)), lg=6),
                        ],
                        className="g-3 mb-3",
                    ),
                    dbc.Card(graph(ids.AGREEMENT, 360), className="mb-3"),
                    html.Div(
                        dbc.Card(graph(ids.K_DISTANCE)),
                        id=ids.K_DISTANCE_BOX,
                        style={"display": "none"},
                        className="mb-3",
                    ),
                    html.Div(
                        dbc.Card(graph(ids.DENDROGRAM, 380)),
                        id=ids.DENDROGRAM_BOX,
                        style={"display": "none"},
                        className="mb-3",
                    ),
                    html.Div(dbc.Card(graph(ids.BASELINE, 380)), id=ids.BASELINE_BOX, style={"display": "none"}),
                ],
                id=ids.COMPARE_AREA,
                style={"display": "none"},
            ),
        ]
    )
