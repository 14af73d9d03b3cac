"""Monitor page: score a new batch with the current segmentation and see what moved since it was fitted."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import ids
from dashboard.controls import upload_zone
from dashboard.settings import load_settings

dash.register_page(__name__, path="/monitor", name="Monitor", title="Monitor · Segmentation Studio")


def layout(**_query) -> html.Div:
    max_mb = load_settings().max_upload_mb
    return html.Div(
        [
            html.H2("Monitor", className="page-title"),
            html.P(
                "Next month's customers, scored with this segmentation and compared with the customers it was fitted "
                "on: segment shares, drift of every feature, customers no segment fits, how far each segment's "
                "centre moved and, for customers seen before, who moved between segments. One verdict says whether "
                "to refit.",
                className="text-muted",
            ),
            html.Div(id=ids.MONITOR_EMPTY),
            html.Div(
                [
                    dbc.Card(
                        [
                            dbc.CardHeader(html.Strong("The new batch")),
                            dbc.CardBody(
                                dbc.Row(
                                    [
                                        dbc.Col(
                                            upload_zone(
                                                ids.MONITOR_UPLOAD,
                                                "Drop a file of customers here, or click to choose one",
                                                f"CSV, TSV, Excel or Parquet up to {max_mb} MB, with the "
                                                "model's columns",
                                                max_mb,
                                            ),
                                            lg=4,
                                        ),
                                        dbc.Col(_server_picker(), lg=3),
                                        dbc.Col(_database_picker(), lg=5),
                                    ],
                                    className="g-3",
                                    id=ids.MONITOR_SOURCES,
                                )
                            ),
                        ],
                        className="mb-3",
                    ),
                    dcc.Loading(html.Div(id=ids.MONITOR_RESULT), type="default"),
                    dcc.Download(id=ids.MONITOR_DOWNLOAD),
                ],
                id=ids.MONITOR_AREA,
                style={"display": "none"},
            ),
        ]
    )


def _server_picker() -> html.Div:
    return html.Div(
        [
            dbc.Label("From the server's data folder", html_for=ids.MONITOR_SERVER_FILE, className="small mb-1"),
            dcc.Dropdown(id=ids.MONITOR_SERVER_FILE, placeholder="a file the operator put there"),
            dbc.Button("Compare", id=ids.MONITOR_SERVER_OPEN, size="sm", color="primary", className="mt-2"),
        ]
    )


def _database_picker() -> html.Div:
    return html.Div(
        [
            dbc.Label("From a database", html_for=ids.MONITOR_DB_CONNECTION, className="small mb-1"),
            dcc.Dropdown(id=ids.MONITOR_DB_CONNECTION, placeholder="connection"),
            dcc.Textarea(
                id=ids.MONITOR_DB_QUERY,
                placeholder="SELECT * FROM customers_december",
                className="form-control form-control-sm mt-2 font-monospace",
                style={"height": "64px"},
            ),
            dbc.Button("Compare", id=ids.MONITOR_DB_RUN, size="sm", color="primary", className="mt-2"),
        ]
    )
