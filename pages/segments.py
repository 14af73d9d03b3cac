"""Segments page: name each segment (live), read its profile, rule and importances, compare the segments."""

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import ids
from dashboard.controls import graph

dash.register_page(__name__, path="/segments", name="Segments", title="Segments · Segmentation Studio")


def layout(**_query) -> html.Div:
    return html.Div(
        [
            html.H2("Segments", className="page-title"),
            html.P(
                "What each segment is, what it is worth and what to do with it, in the data's own units. Click a "
                "name or an action to change it: every chart, table and download uses it at once.",
                className="text-muted",
            ),
            html.Div(id=ids.SEG_EMPTY),
            html.Div(
                [
                    html.Div(id=ids.RESULT_HEADLINE),
                    dbc.Card(
                        [
                            dbc.CardHeader(
                                [
                                    html.Strong("Segment names"),
                                    html.Span(
                                        " · click a name or an action to change it everywhere",
                                        className="small text-muted",
                                    ),
                                ]
                            ),
                            dbc.CardBody(
                                [
                                    dag.AgGrid(
                                        id=ids.NAMES_GRID,
                                        rowData=[],
                                        columnDefs=[
                                            {"field": "cluster", "headerName": "segment", "maxWidth": 110},
                                            {
                                                "field": "name",
                                                "headerName": "name ✎",
                                                "editable": True,
                                                "flex": 2,
                                                "cellClass": "editable-cell",
                                            },
                                            {"field": "customers", "headerName": "customers", "type": "numericColumn"},
                                            {"field": "share", "headerName": "share %", "type": "numericColumn"},
                                            {"field": "stability", "headerName": "stability", "type": "numericColumn"},
                                            {"field": "value", "headerName": "value %", "type": "numericColumn"},
                                            {
                                                "field": "action",
                                                "headerName": "action ✎",
                                                "editable": True,
                                                "flex": 3,
                                                "cellClass": "editable-cell",
                                                "tooltipField": "reason",
                                            },
                                            {"field": "rule", "headerName": "rule", "flex": 2, "tooltipField": "rule"},
                                        ],
                                        getRowId="params.data.cluster",
                                        dashGridOptions={
                                            "singleClickEdit": True,
                                            "stopEditingWhenCellsLoseFocus": True,
                                            "domLayout": "autoHeight",
                                            "tooltipShowDelay": 300,
                                        },
                                        defaultColDef={"resizable": True, "flex": 1},
                                        className="ag-theme-alpine",
                                    ),
                                    html.Div(id=ids.RENAME_STATUS, className="mt-2"),
                                ],
                                className="p-2",
                            ),
                        ],
                        className="mb-3",
                    ),
                    dbc.Card(
                        [
                            dbc.CardHeader(
                                dbc.Row(
                                    [
                                        dbc.Col(html.Strong("What each segment is worth"), width="auto"),
                                        dbc.Col(
                                            dcc.Dropdown(
                                                id=ids.VALUE_COLUMN,
                                                clearable=False,
                                                placeholder="value column",
                                                className="value-column",
                                            ),
                                            md=4,
                                        ),
                                        dbc.Col(html.Span(id=ids.VALUE_NOTE, className="small text-muted")),
                                    ],
                                    align="center",
                                    className="g-2",
                                )
                            ),
                            graph(ids.VALUE_FIGURE, 380),
                        ],
                        className="mb-3",
                    ),
                    html.H4("What sets each segment apart", className="section-title"),
                    html.Div(id=ids.SEGMENT_CARDS),
                    dbc.Card(graph(ids.EFFECTS, 380), className="mb-3"),
                    dbc.Row(
                        [
                            dbc.Col(dbc.Card(graph(ids.IMPORTANCE)), lg=5),
                            dbc.Col(dbc.Card(graph(ids.SEGMENT_IMPORTANCE)), lg=7),
                        ],
                        className="g-3 mb-3",
                    ),
                    dbc.Card(
                        [
                            dbc.CardHeader(
                                [
                                    html.Strong("Profiles side by side"),
                                    html.Span(" · averages and most common values", className="small text-muted"),
                                ]
                            ),
                            dbc.CardBody(
                                dag.AgGrid(
                                    id=ids.SEGMENT_GRID,
                                    rowData=[],
                                    columnDefs=[],
                                    defaultColDef={"resizable": True, "sortable": True, "minWidth": 110},
                                    className="ag-theme-alpine",
                                    style={"height": "420px"},
                                ),
                                className="p-0",
                            ),
                        ]
                    ),
                ],
                id=ids.SEG_AREA,
                style={"display": "none"},
            ),
        ]
    )
