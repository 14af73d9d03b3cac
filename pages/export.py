"""Export page: every file of the current result, and a read-only review link for marketing."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from core.contracts import PDF_FILE
from core.exports import LABELLED_FILE, LEADERBOARD_FILE, MODEL_FILE, REPORT_FILE, RUN_FILE, SEGMENTS_FILE
from dashboard import ids
from dashboard.databases import app_databases, connection_options

dash.register_page(__name__, path="/export", name="Export", title="Export · Segmentation Studio")

FILES = [
    (LABELLED_FILE, "Every customer with its segment, confidence and stability (the input columns first)."),
    (SEGMENTS_FILE, "One row per segment: name, size, stability, rule, and the profile of every feature."),
    (LEADERBOARD_FILE, "Every candidate model with its quality metrics."),
    (REPORT_FILE, "A self-contained report to share: opens offline in any browser."),
    (MODEL_FILE, "The fitted pipeline, model, names and classifier, for the segment predict command."),
    (RUN_FILE, "The configuration, input fingerprint and library versions: replay it with segment run --config."),
]


def _database_card() -> dbc.Card:
    """Write the segments to a table of a writable connection, for CRM and marketing tools to join on."""
    options = connection_options(app_databases(), writable_only=True)
    if not options:
        body: list = [
            html.P(
                'No writable database connection: the operator marks one "writable" in databases.json '
                "(see docs/databases.md).",
                className="small text-muted mb-0",
            )
        ]
    else:
        body = [
            html.P(
                "Writes the id column(s), cluster, segment, confidence, meta_cluster, run_id and run_time of every "
                "customer. The table is replaced in one transaction: a failure leaves the previous one as it was. "
                "Renaming a segment afterwards updates the table.",
                className="small text-muted",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dcc.Dropdown(
                            id=ids.EXPORT_DB_CONNECTION, options=options, value=options[0]["value"], clearable=False
                        ),
                        md=4,
                    ),
                    dbc.Col(dbc.Input(id=ids.EXPORT_DB_TABLE, value="customer_segments", size="sm"), md=3),
                    dbc.Col(
                        dbc.Select(
                            id=ids.EXPORT_DB_IF_EXISTS,
                            options=[
                                {"label": "if it exists: stop", "value": "fail"},
                                {"label": "if it exists: replace it", "value": "replace"},
                                {"label": "if it exists: add these rows", "value": "append"},
                            ],
                            value="replace",
                            size="sm",
                        ),
                        md=3,
                    ),
                    dbc.Col(
                        dbc.Button("Write to database", id=ids.EXPORT_DB_WRITE, color="primary", size="sm"), md="auto"
                    ),
                ],
                className="g-2 align-items-center",
            ),
        ]
    return dbc.Card(
        [
            dbc.CardHeader(html.Strong("Write to a database")),
            dbc.CardBody([*body, dcc.Loading(html.Div(id=ids.EXPORT_DB_STATUS, className="mt-2"), type="dot")]),
        ],
        className="mb-3",
    )


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
    rows.insert(
        4,
        html.Tr(
            [
                html.Td(html.Code(PDF_FILE)),
                html.Td(
                    [
                        "The report as a PDF for marketing: every figure drawn, a page per segment with who they are, "
                        "what they are worth and what to do (made by headless Chromium on the server, a few seconds).",
                        dcc.Loading(html.Div(id=ids.EXPORT_PDF_STATUS), type="dot"),
                    ],
                    className="text-muted",
                ),
                html.Td(
                    dbc.Button("Download PDF", id=ids.EXPORT_PDF, size="sm", color="primary", outline=True),
                    className="text-end",
                ),
            ]
        ),
    )
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
                    _database_card(),
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
