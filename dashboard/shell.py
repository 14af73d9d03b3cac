"""The app shell: navigation bar, the result token every page redraws on, the page container.

It holds no session id: the server knows the session from the cookie (dashboard.session).
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import flask
from dash import dcc, html

from dashboard import ids

NAV = [
    ("Data", "/"),
    ("Explore", "/explore"),
    ("Model", "/model"),
    ("Compare", "/compare"),
    ("Map", "/map"),
    ("Segments", "/segments"),
    ("Predict", "/predict"),
    ("Monitor", "/monitor"),
    ("Export", "/export"),
]


def _is_review() -> bool:
    """A review link's page: its visitors get no way into the analyst's pages."""
    if not flask.has_request_context():
        return False
    return "/review/" in flask.request.path or "/review/" in (flask.request.referrer or "")


def layout() -> html.Div:
    """Built per page load (review links show no navigation into the analyst's pages)."""
    review = _is_review()
    links = (
        []
        if review
        else [dbc.Nav([dbc.NavItem(dbc.NavLink(label, href=href, active="exact")) for label, href in NAV], navbar=True)]
    )
    return html.Div(
        [
            dcc.Store(id=ids.RESULT_TOKEN),
            dbc.Navbar(
                dbc.Container(
                    [
                        dbc.NavbarBrand(
                            [html.Span("◆", className="brand-mark"), "Segmentation Studio"],
                            href=None if review else "/",
                        ),
                        *links,
                    ],
                    fluid=True,
                ),
                color="dark",
                dark=True,
                sticky="top",
                className="mb-4 shadow-sm",
            ),
            dbc.Container(
                [
                    dbc.Alert(id=ids.APP_ALERT, color="danger", is_open=False, dismissable=True, className="app-alert"),
                    html.Div(id=ids.JOB_BANNER),
                    dash.page_container,
                ],
                fluid=True,
                className="page-body",
            ),
            # The project's background job, followed from every page (not on a review link: its visitor has none).
            *([] if review else [dcc.Interval(id=ids.JOB_WATCH, interval=1500), dcc.Store(id=ids.JOB_WATCH_STATE)]),
        ]
    )
