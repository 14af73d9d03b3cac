"""Segments page: choose algorithms and settings, run in the background, compare the models, see the segments."""
import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import controls, ids

dash.register_page(__name__, path="/segments", name="Segments", title="Segments · Segmentation Studio")


def layout(**_query) -> html.Div:
    return html.Div(
        [
            html.H2("Segments", className="page-title"),
            html.P("Choose the algorithms to compare, run them, and inspect the segments of the best model.",
                   className="text-muted"),
            dbc.Card(
                dbc.CardBody(
                    [
                        dbc.Row(
                            [
                                dbc.Col(
                                    [
                                        dbc.Label("Algorithms to compare", html_for=ids.ALGORITHMS),
                                        dbc.Checklist(id=ids.ALGORITHMS, options=controls.algorithm_options(),
                                                      value=controls.default_algorithms(), inline=True),
                                    ],
                                    lg=5,
                                ),
                                dbc.Col(
                                    [
                                        dbc.Label("Number of segments to try", html_for=ids.K_RANGE),
                                        dcc.RangeSlider(
                                            id=ids.K_RANGE, min=2, max=15, step=1, value=[2, 10],
                                            marks={k: str(k) for k in range(2, 16)}, allowCross=False,
                                        ),
                                    ],
                                    lg=4,
                                ),
                                dbc.Col(
                                    [
                                        dbc.Label("Choose the best model by", html_for=ids.CRITERION),
                                        dbc.Select(id=ids.CRITERION, options=controls.criterion_options(),
                                                   value="silhouette"),
                                    ],
                                    lg=3,
                                ),
                            ],
                            className="g-3 mb-2",
                        ),
                        html.Details(
                            [html.Summary("Data preparation: outliers, skewed columns, classifier for new customers",
                                          className="small fw-semibold mb-2"),
                             controls.preparation_controls()],
                            className="mb-2",
                        ),
                        html.Details(
                            [html.Summary("Algorithm parameters", className="small fw-semibold mb-2"),
                             controls.parameter_panels()],
                            className="mb-3",
                        ),
                        dbc.Row(
                            [
                                dbc.Col(
                                    [
                                        dbc.Button("Run segmentation", id=ids.RUN_BUTTON, color="primary",
                                                   className="me-2"),
                                        dbc.Button("Cancel", id=ids.CANCEL_BUTTON, color="secondary", outline=True,
                                                   disabled=True),
                                    ],
                                    md="auto",
                                ),
                                dbc.Col(
                                    [
                                        dbc.Progress(id=ids.PROGRESS, value=0, label="", striped=True, animated=True,
                                                     className="w-100", style={"height": "18px"}),
                                        html.Div(id=ids.PROGRESS_TEXT, className="small text-muted mt-1"),
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
            dcc.Store(id=ids.RESULT_TOKEN),
            html.Div(id=ids.RESULT_EMPTY),
            html.Div(_result_section(), id=ids.RESULT_AREA, style={"display": "none"}),
            dcc.Download(id=ids.DOWNLOAD),
            dcc.Download(id=ids.SUMMARY_DOWNLOAD),
            dcc.Download(id=ids.REPORT_DOWNLOAD),
        ]
    )


def _graph(graph_id: str) -> dcc.Graph:
    return dcc.Graph(id=graph_id, config={"displaylogo": False}, figure={"layout": {"height": 340}})


def _result_section() -> list:
    grid_style = {"resizable": True, "sortable": True, "minWidth": 110}
    return [
        dbc.Alert(id=ids.RESULT_HEADLINE, color="success", className="mb-3 result-headline"),
        html.Div(
            [
                html.Span("Download:", className="me-2 small text-muted"),
                dbc.Button("Labelled customers (CSV)", id=ids.DOWNLOAD_BUTTON, color="primary", size="sm",
                           className="me-2"),
                dbc.Button("Segment summary (CSV)", id=ids.SUMMARY_BUTTON, color="primary", outline=True,
                           size="sm", className="me-2"),
                dbc.Button("Report (HTML)", id=ids.REPORT_BUTTON, color="primary", outline=True, size="sm"),
            ],
            className="mb-3 d-flex align-items-center flex-wrap",
        ),
        dbc.Card(
            [
                dbc.CardHeader([html.Strong("Segment names"),
                                html.Span(" · click a name to rename the segment everywhere: map, tables, downloads",
                                          className="small text-muted")]),
                dbc.CardBody(
                    [
                        dag.AgGrid(
                            id=ids.NAMES_GRID, rowData=[],
                            columnDefs=[
                                {"field": "cluster", "headerName": "segment", "maxWidth": 110},
                                {"field": "name", "headerName": "name ✎", "editable": True, "flex": 2,
                                 "cellClass": "editable-cell"},
                                {"field": "customers", "headerName": "customers", "type": "numericColumn"},
                                {"field": "share", "headerName": "share %", "type": "numericColumn"},
                                {"field": "stability", "headerName": "stability", "type": "numericColumn"},
                            ],
                            getRowId="params.data.cluster",
                            dashGridOptions={"singleClickEdit": True, "stopEditingWhenCellsLoseFocus": True,
                                             "domLayout": "autoHeight"},
                            defaultColDef={"resizable": True, "flex": 1},
                            className="ag-theme-alpine",
                        ),
                        html.Div(id=ids.RENAME_STATUS, className="mt-2"),
                    ],
                    className="p-2",
                ),
            ],
            className="mb-3",
        ),
        dbc.Row(
            [
                dbc.Col(dbc.Card(dcc.Graph(id=ids.SCATTER, config={"displaylogo": False})), lg=7),
                dbc.Col(
                    dbc.Card(
                        [
                            dbc.CardHeader(
                                [
                                    html.Strong("Segment profiles"),
                                    html.Span(" · averages and most common values", className="small text-muted"),
                                ]
                            ),
                            dbc.CardBody(
                                dag.AgGrid(id=ids.SEGMENT_GRID, rowData=[], columnDefs=[], defaultColDef=grid_style,
                                           className="ag-theme-alpine", style={"height": "470px"}),
                                className="p-0",
                            ),
                        ]
                    ),
                    lg=5,
                ),
            ],
            className="g-3 mb-3",
        ),
        html.H4("What sets each segment apart", className="section-title"),
        html.Div(id=ids.SEGMENT_CARDS),
        dbc.Row(
            [
                dbc.Col(dbc.Card(_graph(ids.IMPORTANCE)), lg=5),
                dbc.Col(dbc.Card(_graph(ids.SEGMENT_IMPORTANCE)), lg=7),
            ],
            className="g-3 mb-3",
        ),
        html.H4("How good the segmentation is", className="section-title"),
        dbc.Card(
            [
                dbc.CardHeader(
                    [
                        html.Strong("Model comparison"),
                        html.Span(" · every candidate fitted; pick a row and use it instead of the automatic choice",
                                  className="small text-muted"),
                        dbc.Button("Use selected model", id=ids.USE_ROW_BUTTON, color="secondary", size="sm",
                                   outline=True, className="float-end"),
                    ]
                ),
                dbc.CardBody(
                    dag.AgGrid(id=ids.LEADERBOARD, rowData=[], columnDefs=[], defaultColDef=grid_style,
                               dashGridOptions={"rowSelection": {"mode": "singleRow"}},
                               className="ag-theme-alpine", style={"height": "320px"}),
                    className="p-0",
                ),
            ],
            className="mb-3",
        ),
        dbc.Row(
            [
                dbc.Col(dbc.Card(_graph(ids.ELBOW)), lg=5),
                dbc.Col(dbc.Card(_graph(ids.METRICS)), lg=7),
            ],
            className="g-3 mb-3",
        ),
        dbc.Row(
            [
                dbc.Col(dbc.Card(_graph(ids.STABILITY)), lg=6),
                dbc.Col(dbc.Card(_graph(ids.AGREEMENT)), lg=6),
            ],
            className="g-3 mb-3",
        ),
        html.Div(dbc.Card(_graph(ids.K_DISTANCE)), id=ids.K_DISTANCE_BOX, style={"display": "none"},
                 className="mb-3"),
        html.Div(dbc.Card(_graph(ids.BASELINE)), id=ids.BASELINE_BOX, style={"display": "none"}),
    ]
