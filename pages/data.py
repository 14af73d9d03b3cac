"""Data page: load a customer table (upload or demo), preview it, and choose the columns to segment on."""
import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import ids
from dashboard.settings import load_settings

dash.register_page(__name__, path="/", name="Data", title="Data · Segmentation Studio")


def layout(**_query) -> html.Div:
    max_mb = load_settings().max_upload_mb
    return html.Div(
        [
            html.H2("Customer data", className="page-title"),
            html.P(
                "Upload a customer table, one row per customer, or work with the built-in demo data.",
                className="text-muted",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dcc.Upload(
                            id=ids.UPLOAD,
                            children=html.Div(
                                [
                                    html.Strong("Drop a file here or click to choose one"),
                                    html.Div(
                                        f"CSV, TSV or other delimited text, Excel (.xlsx) or Parquet; up to {max_mb} MB",
                                        className="small text-muted",
                                    ),
                                ]
                            ),
                            max_size=max_mb * 1024 * 1024,
                            multiple=False,
                            className="upload-zone",
                        ),
                        md=9,
                    ),
                    dbc.Col(
                        dbc.Button("Use demo data", id=ids.DEMO_BUTTON, color="secondary", outline=True,
                                   className="w-100 h-100"),
                        md=3,
                    ),
                ],
                className="g-3 mb-3",
            ),
            dcc.Loading(html.Div(id=ids.DATA_STATUS), type="dot"),
            dbc.Card(
                [
                    dbc.CardHeader(html.Strong("Columns to segment on")),
                    dbc.CardBody(
                        [
                            html.P(
                                "Identifiers, free text and constant columns are kept in the exports but cannot be "
                                "features.",
                                className="small text-muted mb-2",
                            ),
                            dbc.Checklist(id=ids.COLUMN_PICKER, options=[], value=[], inline=True,
                                          className="column-picker"),
                            html.Div(id=ids.SELECTION_NOTE, className="small mt-2"),
                        ]
                    ),
                ],
                className="mb-3",
            ),
            dbc.Card(
                [
                    dbc.CardHeader(html.Strong("Preview (first 100 rows)")),
                    dbc.CardBody(
                        dag.AgGrid(
                            id=ids.PREVIEW_GRID,
                            rowData=[],
                            columnDefs=[],
                            defaultColDef={"resizable": True, "sortable": True, "filter": True, "minWidth": 110},
                            className="ag-theme-alpine",
                            style={"height": "360px"},
                        ),
                        className="p-0",
                    ),
                ],
                className="mb-3",
            ),
            dbc.Button("Next: segment customers →", href="/segments", color="primary"),
        ]
    )
