"""Predict page: the segment of one new customer (a form) or of a file of new customers (batch)."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import ids
from dashboard.controls import upload_zone
from dashboard.settings import load_settings

dash.register_page(__name__, path="/predict", name="Predict", title="Predict · Segmentation Studio")


def layout(**_query) -> html.Div:
    max_mb = load_settings().max_upload_mb
    return html.Div(
        [
            html.H2("Predict", className="page-title"),
            html.P(
                "Assign new customers to the segments of the current model, with a confidence. A customer farther "
                'from every segment than its own members is reported as "No good fit".',
                className="text-muted",
            ),
            dcc.Store(id=ids.PREDICT_INIT, data=True),
            html.Div(id=ids.PREDICT_EMPTY),
            html.Div(
                [
                    dbc.Row(
                        [
                            dbc.Col(
                                dbc.Card(
                                    [
                                        dbc.CardHeader(html.Strong("One customer")),
                                        dbc.CardBody(
                                            [
                                                html.Div(id=ids.PREDICT_FORM, className="predict-form"),
                                                dbc.Button(
                                                    "Predict segment",
                                                    id=ids.PREDICT_BUTTON,
                                                    color="primary",
                                                    className="mt-2",
                                                ),
                                            ]
                                        ),
                                    ],
                                    className="h-100",
                                ),
                                lg=5,
                            ),
                            dbc.Col(
                                [
                                    html.Div(id=ids.PREDICT_RESULT, className="mb-3"),
                                    dbc.Card(
                                        dcc.Graph(
                                            id=ids.PREDICT_MAP,
                                            config={"displaylogo": False},
                                            figure={"layout": {"height": 520}},
                                        )
                                    ),
                                ],
                                lg=7,
                            ),
                        ],
                        className="g-3 mb-3",
                    ),
                    dbc.Card(
                        [
                            dbc.CardHeader(
                                [
                                    html.Strong("A file of customers"),
                                    html.Span(
                                        " · returns the file with cluster, segment and confidence added",
                                        className="small text-muted",
                                    ),
                                ]
                            ),
                            dbc.CardBody(
                                [
                                    upload_zone(
                                        ids.BATCH_UPLOAD,
                                        "Drop a file of new customers here or click to choose one",
                                        "Same columns as the data the model was fitted on; CSV, TSV, "
                                        f"Excel or Parquet; up to {max_mb} MB",
                                        max_mb,
                                    ),
                                    dcc.Loading(html.Div(id=ids.BATCH_STATUS, className="mt-3")),
                                ]
                            ),
                        ]
                    ),
                ],
                id=ids.PREDICT_AREA,
                style={"display": "none"},
            ),
            dcc.Download(id=ids.BATCH_DOWNLOAD),
        ]
    )
