"""Segments page: run the segmentation in the background, then see the map and the segment table."""
import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import ids

dash.register_page(__name__, path="/segments", name="Segments", title="Segments · Segmentation Studio")


def layout(**_query) -> html.Div:
    return html.Div(
        [
            html.H2("Segments", className="page-title"),
            dbc.Card(
                dbc.CardBody(
                    dbc.Row(
                        [
                            dbc.Col(
                                [
                                    dbc.Label("Number of segments to try", html_for=ids.K_RANGE),
                                    dcc.RangeSlider(
                                        id=ids.K_RANGE, min=2, max=15, step=1, value=[2, 10],
                                        marks={k: str(k) for k in range(2, 16)}, allowCross=False,
                                    ),
                                ],
                                md=6,
                            ),
                            dbc.Col(
                                [
                                    dbc.Button("Run segmentation", id=ids.RUN_BUTTON, color="primary",
                                               className="me-2"),
                                    dbc.Button("Cancel", id=ids.CANCEL_BUTTON, color="secondary", outline=True,
                                               disabled=True),
                                ],
                                md=3,
                                className="d-flex align-items-center",
                            ),
                            dbc.Col(
                                dbc.Progress(id=ids.PROGRESS, value=0, label="", striped=True, animated=True,
                                             className="w-100", style={"height": "22px"}),
                                md=3,
                                className="d-flex align-items-center",
                            ),
                        ],
                        className="g-3",
                    )
                ),
                className="mb-3",
            ),
            html.Div(id=ids.RUN_STATUS),
            dcc.Store(id=ids.RESULT_TOKEN),
            dcc.Loading(html.Div(id=ids.RESULT_AREA), type="dot"),
            dcc.Download(id=ids.DOWNLOAD),
        ]
    )
