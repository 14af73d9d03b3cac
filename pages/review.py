"""Review page: a read-only view of one project's named segments, opened by an unguessable link."""

import dash
from dash import html

from dashboard.review import review_view

dash.register_page(__name__, path_template="/review/<token>", name="Review", title="Segments · review")


def layout(token: str | None = None, **_query) -> html.Div:
    return review_view(token)
