"""The app shell: navigation bar, the session id, the result token every page redraws on, the page container."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import flask
from dash import dcc, html

from dashboard import ids
from dashboard.session import current_session_id

NAV = [("Data", "/"), ("Explore", "/explore"), ("Model", "/model"), ("Compare", "/compare"), ("Map", "/map"),
       ("Segments", "/segments"), ("Predict", "/predict"), ("Export", "/export")]


def _is_review() -> bool:
    """A review link's page: its visitors get no way into the analyst's pages."""
    if not flask.has_request_context():
        return False
    return "/review/" in flask.request.path or "/review/" in (flask.request.referrer or "")


def layout() -> html.Div:
    """Built per page load, so each browser session gets (and keeps, via its cookie) its own id."""
    review = _is_review()
    links = [] if review else [
        dbc.Nav([dbc.NavItem(dbc.NavLink(label, href=href, active="exact")) for label, href in NAV], navbar=True)
    ]
    return html.Div(
        [
            dcc.Store(id=ids.SESSION, data=current_session_id()),
            dcc.Store(id=ids.RESULT_TOKEN),
            dbc.Navbar(
                dbc.Container(
                    [dbc.NavbarBrand([html.Span("◆", className="brand-mark"), "Segmentation Studio"],
                                     href=None if review else "/"), *links],
                    fluid=True,
                ),
                color="dark",
                dark=True,
                sticky="top",
                className="mb-4 shadow-sm",
            ),
            dbc.Container(dash.page_container, fluid=True, className="page-body"),
        ]
    )
