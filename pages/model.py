"""Model page: preparation, algorithms and their parameters, k range and criterion; run in the background."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import controls, ids

dash.register_page(__name__, path="/model", name="Model", title="Model · Segmentation Studio")


def layout(**_query) -> html.Div:
    return html.Div(
        [
            html.H2("Model", className="page-title"),
            html.P(
                "Choose how the data is prepared and which algorithms to compare, then run them. A run goes on "
                "in the background: you can look at other pages meanwhile and come back.",
                className="text-muted",
            ),
            dbc.Card(
                dbc.CardBody(
                    [
                        dbc.Row(
                            [
                                dbc.Col(
                                    [
                                        dbc.Label("Algorithms to compare", html_for=ids.ALGORITHMS),
                                        dbc.Checklist(
                                            id=ids.ALGORITHMS,
                                            options=controls.algorithm_options(),
                                            value=controls.default_algorithms(),
                                            inline=True,
                                            persistence=True,
                                        ),
                                    ],
                                    lg=5,
                                ),
                                dbc.Col(
                                    [
                                        dbc.Label("Number of segments to try", html_for=ids.K_RANGE),
                                        dcc.RangeSlider(
                                            id=ids.K_RANGE,
                                            min=2,
                                            max=15,
                                            step=1,
                                            value=[2, 10],
                                            marks={k: str(k) for k in range(2, 16)},
                                            allowCross=False,
                                            persistence=True,
                                        ),
                                    ],
                                    lg=4,
                                ),
                                dbc.Col(
                                    [
                                        dbc.Label("Choose the best model by", html_for=ids.CRITERION),
                                        dbc.Select(
                                            id=ids.CRITERION,
                                            options=controls.criterion_options(),
                                            value="auto",
                                            persistence=True,
                                        ),
                                    ],
                                    lg=3,
                                ),
                            ],
                            className="g-3 mb-2",
                        ),
                        html.Details(
                            [
                                html.Summary(
                                    "Data preparation: missing values, scaling, outliers, skewed columns; "
                                    "classifier for new customers",
                                    className="small fw-semibold mb-2",
                                ),
                                controls.preparation_controls(),
                            ],
                            className="mb-2",
                        ),
                        html.Details(
                            [
                                html.Summary("Algorithm parameters", className="small fw-semibold mb-2"),
                                controls.parameter_panels(),
                            ],
                            className="mb-3",
                        ),
                        dbc.Row(
                            [
                                dbc.Col(
                                    [
                                        dbc.Button(
                                            "Run segmentation", id=ids.RUN_BUTTON, color="primary", className="me-2"
                                        ),
                                        dbc.Button(
                                            "Cancel",
                                            id=ids.CANCEL_BUTTON,
                                            color="secondary",
                                            outline=True,
                                            disabled=True,
                                        ),
                                    ],
                                    md="auto",
                                ),
                                dbc.Col(
                                    [
                                        dbc.Progress(
                                            id=ids.PROGRESS,
                                            value=0,
                                            label="",
                                            striped=True,
                                            animated=True,
                                            className="w-100",
                                            style={"height": "18px"},
                                        ),
                                        html.Div(id=ids.PROGRESS_TEXT, className="small text-muted mt-1"),
                                        html.Div(id=ids.RUN_ESTIMATE, className="small text-muted"),
                                    ],
                                ),
                            ],
                            className="g-3",
                        ),
                    ]
                ),
                className="mb-3",
            ),
            html.Div(id=ids.RUN_STATUS),
            html.Div(id=ids.MODEL_SUMMARY),
            dcc.Interval(id=ids.JOB_POLL, interval=1000, disabled=False),
            dcc.Store(id=ids.JOB_SEEN),
            dcc.Store(id=ids.MODEL_TOKEN),
        ]
    )
