"""The review link: marketing sees one project's named segments, read-only, by a link the analyst shares."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import flask
import pandas as pd
from dash import dcc, html

from core.bundle import ModelBundle, SourceRecord
from core.errors import SegmentationError
from core.pdf import html_to_pdf
from core.report import render_report
from dashboard.figures import effects_figure, result_map, value_figure
from dashboard.headline import headline
from dashboard.segment_cards import segment_cards
from dashboard.store import project_store

NOT_FOUND = "This review link is not valid (any more). Ask the analyst for a new one."


def review_view(token: str | None) -> html.Div:
    """The page for a review token: names, cards, map and segment comparison; no controls that change anything."""
    store = project_store()
    found = store.reviewed_project(token) if token else None
    result = store.project_result(*found) if found else None
    if found is None or result is None or result.explanation is None:
        return html.Div(
            dbc.Alert(NOT_FOUND if result is None else "The segmentation is being redone; try later.", color="warning"),
            className="review",
        )
    table = store.project_table(*found)
    sizes = pd.Series(result.labels).value_counts().to_dict()
    stability = result.segmenter.stability_
    graph: Any = {"displaylogo": False}
    value = result.value(result.prepared(table))
    return html.Div(
        [
            html.H2("Customer segments", className="page-title"),
            html.P(headline(result, len(table)), className="text-muted"),
            html.Div(
                [
                    html.A(
                        "Download the full report (HTML)",
                        href=f"/review/{token}/report.html",
                        className="btn btn-primary btn-sm me-2",
                        id="review-report",
                    ),
                    html.A(
                        "Download PDF",
                        href=f"/review/{token}/report.pdf",
                        className="btn btn-outline-primary btn-sm",
                        id="review-pdf",
                    ),
                ],
                className="mb-3",
            ),
            *segment_cards(
                result.explanation,
                result.names,
                sizes,
                stability.per_segment if stability else {},
                plays=result.plays(table, value),
                value=value,
            ),
            dbc.Card(dcc.Graph(figure=value_figure(value, result.names), config=graph), className="mb-3")
            if value is not None
            else None,
            dbc.Row(
                [
                    dbc.Col(dbc.Card(dcc.Graph(figure=result_map(result, table), config=graph)), lg=6),
                    dbc.Col(
                        dbc.Card(
                            dcc.Graph(figure=effects_figure(result.explanation.profile_, result.names), config=graph)
                        ),
                        lg=6,
                    ),
                ],
                className="g-3",
            ),
        ],
        className="review",
    )


def serve_review_reports(server: flask.Flask) -> None:
    """/review/<token>/report.html and report.pdf: the reviewed project's report, with the names as they are now."""

    def bundle(token: str) -> ModelBundle:
        store = project_store()
        found = store.reviewed_project(token)
        result = store.project_result(*found) if found else None
        if found is None or result is None or result.explanation is None:
            flask.abort(404)
        table = store.project_table(*found)
        return ModelBundle.of(result, table, SourceRecord(rows=len(table)), with_reference=False)

    @server.route("/review/<token>/report.html")
    def review_report(token: str) -> flask.Response:
        html_text = render_report(bundle(token))
        return flask.Response(
            html_text, mimetype="text/html", headers={"Content-Disposition": 'attachment; filename="report.html"'}
        )

    @server.route("/review/<token>/report.pdf")
    def review_pdf(token: str) -> flask.Response:
        printable = render_report(bundle(token), printable=True)
        try:
            pdf = html_to_pdf(printable)
        except SegmentationError as exc:
            return flask.Response(str(exc), status=503, mimetype="text/plain")
        return flask.Response(
            pdf, mimetype="application/pdf", headers={"Content-Disposition": 'attachment; filename="report.pdf"'}
        )
