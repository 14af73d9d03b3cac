"""Export page: every file of the current result, and a read-only review link for marketing."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from core.exports import LABELLED_FILE, LEADERBOARD_FILE, MODEL_FILE, REPORT_FILE, RUN_FILE, SEGMENTS_FILE
from dashboard import ids

dash.register_page(__name__, path="/export", name="Export", title="Export · Segmentation Studio")

FILES = [
    (LABELLED_FILE, "Every customer with its segment, confidence and stability (the input columns first)."),
    (SEGMENTS_FILE, "One row per segment: name, size, stability, rule, and the profile of every feature."),
    (LEADERBOARD_FILE, "Every candidate model with its quality metrics."),
    (REPORT_FILE, "A self-contained report to share: opens offline in any browser, prints to PDF."),
    (MODEL_FILE, "The fitted pipeline, model, names and classifier, for the segment predict command."),
    (RUN_FILE, "The configuration, input fingerprint and library versions: replay it with segment run --config."),
]


def layout(**_query) -> html.Div:
    rows = [
        html.Tr(
            [
                html.Td(html.Code(name)),
                html.Td(text, className="text-muted"),
                html.Td(
                    dbc.Button(
                        "Download",
                        id={"type": ids.EXPORT_BUTTON, "file": name},
                        size="sm",
                        color="primary",
                        outline=True,
                    ),
                    className="text-end",
                ),
            ]
        )
        for name, text in FILES
    ]
    return html.Div(
        [
            html.H2("Export", className="page-title"),
            html.P(
                "Download the result, or share a read-only view with the people who will use the segments.",
                className="text-muted",
            ),
            html.Div(id=ids.EXPORT_EMPTY),
            html.Div(
                [
                    dbc.Card(
                        [
                            dbc.CardHeader(html.Strong("Files")),
                            dbc.CardBody(
                                dbc.Table(html.Tbody(rows), hover=True, className="mb-0 align-middle"), className="p-2"
                            ),
                        ],
                        className="mb-3",
                    ),
                    dbc.Card(
                        [
                            dbc.CardHeader(html.Strong("Review link")),
                            dbc.CardBody(
                                [
                                    html.P(
                                        "A read-only page of this project's named segments (profiles, rules, map, "
                                        "report) for anyone who has the link; it cannot upload, change or rename "
                                        "anything. It shows the names as they are when it is opened.",
                                        className="small text-muted",
                                    ),
                                    dbc.Button(
                                        "Create the review link", id=ids.REVIEW_BUTTON, color="secondary", size="sm"
                                    ),
                                    html.Div(id=ids.REVIEW_LINK, className="mt-2"),
                                ]
                            ),
                        ]
                    ),
                ],
                id=ids.EXPORT_AREA,
                style={"display": "none"},
            ),
            dcc.Download(id=ids.EXPORT_DOWNLOAD),
        ]
    )
