"""Explore page: statistics, distributions, missing values, correlations and a scatter matrix of the data."""

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import ids
from dashboard.controls import graph

dash.register_page(__name__, path="/explore", name="Explore", title="Explore · Segmentation Studio")


def layout(**_query) -> html.Div:
    return html.Div(
        [
            html.H2("Explore", className="page-title"),
            html.P(id=ids.EXPLORE_NOTE, className="text-muted"),
            dcc.Store(id=ids.EXPLORE_INIT, data=True),
            dbc.Card(
                [
                    dbc.CardHeader(html.Strong("Summary statistics")),
                    dbc.CardBody(
                        dag.AgGrid(
                            id=ids.EXPLORE_STATS,
                            rowData=[],
                            columnDefs=[],
                            defaultColDef={"resizable": True, "sortable": True, "minWidth": 95},
                            className="ag-theme-alpine",
                            style={"height": "300px"},
                        ),
                        className="p-0",
                    ),
                ],
                className="mb-3",
            ),
            dbc.Row(
                [
                    dbc.Col(dbc.Card(dcc.Loading(graph(ids.EXPLORE_MISSING, 380))), lg=5),
                    dbc.Col(dbc.Card(dcc.Loading(graph(ids.EXPLORE_CORRELATION, 380))), lg=7),
                ],
                className="g-3 mb-3",
            ),
            dbc.Card(
                [
                    dbc.CardHeader(
                        dbc.Row(
                            [
                                dbc.Col(html.Strong("Distribution of a column"), md="auto", className="pt-1"),
                                dbc.Col(dcc.Dropdown(id=ids.EXPLORE_COLUMN, clearable=False), md=4),
                            ]
                        )
                    ),
                    dbc.CardBody(dcc.Loading(graph(ids.EXPLORE_DISTRIBUTION, 420)), className="p-1"),
                ],
                className="mb-3",
            ),
            dbc.Card(
                [
                    dbc.CardHeader(
                        dbc.Row(
                            [
                                dbc.Col(html.Strong("Scatter matrix of"), md="auto", className="pt-1"),
                                dbc.Col(dcc.Dropdown(id=ids.EXPLORE_MATRIX_COLUMNS, multi=True), md=8),
                            ]
                        )
                    ),
                    dbc.CardBody(dcc.Loading(graph(ids.EXPLORE_MATRIX, 560)), className="p-1"),
                ],
                className="mb-3",
            ),
        ]
    )
