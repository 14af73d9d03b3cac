"""Map page: the customers in PCA or UMAP space, in 3D or 2D, coloured by segment."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import ids

dash.register_page(__name__, path="/map", name="Map", title="Map · Segmentation Studio")


def layout(**_query) -> html.Div:
    return html.Div(
        [
            html.H2("Map", className="page-title"),
            html.P(
                "Each point is a customer, coloured by segment. PCA keeps the broad directions of variation; "
                "UMAP keeps neighbours together and shows groups more clearly, but distances between groups "
                "mean little. Hover a point for the customer's id and key features.",
                className="text-muted",
            ),
            html.Div(id=ids.MAP_EMPTY),
            html.Div(
                [
                    dbc.Card(
                        dbc.CardBody(
                            dbc.Row(
                                [
                                    dbc.Col(
                                        [
                                            dbc.Label("Space", className="small mb-0 me-2"),
                                            dbc.RadioItems(
                                                id=ids.MAP_PROJECTION,
                                                value="pca",
                                                inline=True,
                                                persistence=True,
                                                options=[
                                                    {"label": "PCA", "value": "pca"},
                                                    {"label": "UMAP", "value": "umap"},
                                                ],
                                            ),
                                        ],
                                        md="auto",
                                    ),
                                    dbc.Col(
                                        [
                                            dbc.Label("View", className="small mb-0 me-2"),
                                            dbc.RadioItems(
                                                id=ids.MAP_DIMS,
                                                value=3,
                                                inline=True,
                                                persistence=True,
                                                options=[{"label": "3D", "value": 3}, {"label": "2D", "value": 2}],
                                            ),
                                        ],
                                        md="auto",
                                    ),
                                    dbc.Col(html.Div(id=ids.MAP_STATUS, className="small text-muted pt-3")),
                                ],
                                className="g-4",
                            ),
                            className="py-2",
                        ),
                        className="mb-3",
                    ),
                    # Responsive: the graph is drawn inside a loading cover and a hidden area, and must take the
                    # card's width once they are gone (else Plotly keeps its 700-pixel default).
                    dbc.Card(
                        dcc.Loading(
                            dcc.Graph(
                                id=ids.MAP_GRAPH,
                                config={"displaylogo": False},
                                responsive=True,
                                style={"height": "560px"},
                            )
                        )
                    ),
                    dcc.Store(id=ids.MAP_TOKEN),
                ],
                id=ids.MAP_AREA,
                style={"display": "none"},
            ),
        ]
    )
