"""The app shell: navigation bar, the session id, and the page container."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import ids
from dashboard.session import current_session_id

NAV = [("Data", "/"), ("Explore", "/explore"), ("Segments", "/segments"), ("Predict", "/predict")]


def layout() -> html.Div:
    """Built per page load, so each browser session gets (and keeps, via its cookie) its own id."""
    return html.Div(
        [
            dcc.Store(id=ids.SESSION, data=current_session_id()),
            dbc.Navbar(
                dbc.Container(
                    [
                        dbc.NavbarBrand(
                            [html.Span("◆", className="brand-mark"), "Segmentation Studio"], href="/"
                        ),
                        dbc.Nav(
                            [dbc.NavItem(dbc.NavLink(label, href=href, active="exact")) for label, href in NAV],
                            navbar=True,
                        ),
                    ],
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
