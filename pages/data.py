"""Data page: load a customer table (upload, demo, server file, database or transaction log), set column roles,
build features."""

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from core.features import KINDS
from core.roles import ROLES
from dashboard import ids
from dashboard.controls import upload_zone
from dashboard.databases import app_databases, connection_options
from dashboard.settings import load_settings

dash.register_page(__name__, path="/", name="Data", title="Data · Segmentation Studio")


def _project_bar() -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            dbc.Row(
                [
                    dbc.Col(dbc.Label("Project", html_for=ids.PROJECT_SELECT, className="fw-semibold mb-0"), md="auto"),
                    dbc.Col(dcc.Dropdown(id=ids.PROJECT_SELECT, clearable=False, searchable=False), md=4),
                    dbc.Col(dbc.Input(id=ids.PROJECT_NAME, placeholder="Project name", size="sm", debounce=True), md=3),
                    dbc.Col(
                        dbc.Button("New project", id=ids.PROJECT_NEW, color="secondary", outline=True, size="sm"),
                        md="auto",
                    ),
                    dbc.Col(html.Div(id=ids.PROJECT_STATUS, className="small text-muted")),
                ],
                className="g-2 align-items-center",
            ),
            className="py-2",
        ),
        className="mb-3 project-bar",
    )


def _server_files() -> html.Details:
    folder = load_settings().import_dir
    return html.Details(
        [
            html.Summary(
                "Open a file or a Spark run from the server's data folder (for files too big to upload)",
                className="small fw-semibold",
            ),
            dbc.Row(
                [
                    dbc.Col(dcc.Dropdown(id=ids.SERVER_FILE, placeholder=f"Files in {folder}"), md=6),
                    dbc.Col(dbc.Button("Open", id=ids.SERVER_OPEN, color="secondary", size="sm"), md="auto"),
                ],
                className="g-2 mt-1 align-items-center",
            ),
        ],
        className="mb-3",
    )


def _database_source() -> html.Details:
    """Customers from a database connection the operator named: browse its tables, write a SELECT, preview, load."""
    databases = app_databases()
    url_box = (
        [dbc.Input(id=ids.DB_URL, placeholder="or a SQLAlchemy URL (this machine allows typed URLs)", size="sm")]
        if databases.allow_urls
        else [dcc.Store(id=ids.DB_URL)]
    )
    return html.Details(
        [
            html.Summary("Read customers from a database", className="small fw-semibold"),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Label("Connection", html_for=ids.DB_CONNECTION, className="small mb-1"),
                            dcc.Dropdown(
                                id=ids.DB_CONNECTION,
                                options=connection_options(databases),
                                placeholder="Choose a connection",
                                clearable=False,
                            ),
                            *url_box,
                        ],
                        md=4,
                    ),
                    dbc.Col(
                        [
                            dbc.Label("Table", html_for=ids.DB_TABLE, className="small mb-1"),
                            dcc.Dropdown(id=ids.DB_TABLE, placeholder="Its tables (choose one to read it whole)"),
                        ],
                        md=4,
                    ),
                    dbc.Col(html.Div(id=ids.DB_TABLE_INFO, className="small text-muted db-table-info"), md=4),
                ],
                className="g-2 mt-1",
            ),
            dbc.Label("Query", html_for=ids.DB_QUERY, className="small mb-1 mt-2"),
            dcc.Textarea(
                id=ids.DB_QUERY,
                placeholder="SELECT * FROM customers WHERE ...",
                className="form-control font-monospace db-query",
                style={"height": "90px"},
            ),
            html.Div(
                "Queries run read-only with a time limit; a statement that writes is refused by the database.",
                className="small text-muted mb-2",
            ),
            dbc.Row(
                [
                    dbc.Col(dbc.Button("Preview", id=ids.DB_PREVIEW, color="secondary", size="sm"), width="auto"),
                    dbc.Col(dbc.Button("Load", id=ids.DB_LOAD, color="primary", size="sm"), width="auto"),
                    dbc.Col(
                        dbc.Button("Cancel", id=ids.DB_CANCEL, color="danger", outline=True, size="sm", disabled=True),
                        width="auto",
                    ),
                    dbc.Col(dbc.Progress(id=ids.DB_PROGRESS, value=0, style={"height": "18px"}), className="pt-1"),
                ],
                className="g-2 align-items-center",
            ),
            dcc.Loading(html.Div(id=ids.DB_ALERT, className="mt-2"), type="dot"),
            dag.AgGrid(
                id=ids.DB_PREVIEW_GRID,
                rowData=[],
                columnDefs=[],
                defaultColDef={"resizable": True, "sortable": True, "minWidth": 100},
                className="ag-theme-alpine mt-2",
                style={"height": "260px", "display": "none"},
            ),
        ],
        className="mb-3 db-source",
    )


def layout(**_query) -> html.Div:
    max_mb = load_settings().max_upload_mb
    return html.Div(
        [
            html.H2("Customer data", className="page-title"),
            html.P(
                "Upload a customer table (one row per customer) or a transaction log, read one from a database, "
                "or work with the built-in demo data.",
                className="text-muted",
            ),
            _project_bar(),
            dbc.Row(
                [
                    dbc.Col(
                        upload_zone(
                            ids.UPLOAD,
                            "Drop a file here or click to choose one",
                            f"CSV, TSV or other delimited text, Excel (.xlsx) or Parquet; up to {max_mb} MB",
                            max_mb,
                        ),
                        md=9,
                    ),
                    dbc.Col(
                        dbc.Button(
                            "Use demo data",
                            id=ids.DEMO_BUTTON,
                            color="secondary",
                            outline=True,
                            className="w-100 h-100",
                        ),
                        md=3,
                    ),
                ],
                className="g-3 mb-3",
            ),
            _server_files(),
            _database_source(),
            dcc.Store(id=ids.DATA_VERSION),
            dcc.Loading(html.Div(id=ids.DATA_ALERT), type="dot"),
            html.Div(id=ids.DATA_STATUS),
            _transaction_card(),
            dbc.Row(
                [
                    dbc.Col(_columns_card(), lg=7),
                    dbc.Col(_features_card(), lg=5),
                ],
                className="g-3 mb-3",
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
            dbc.Button("Explore the data →", href="/explore", color="secondary", outline=True, className="me-2"),
            dbc.Button("Next: segment customers →", href="/segments", color="primary"),
        ]
    )


def _columns_card() -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader(
                [
                    html.Strong("Columns"),
                    html.Span(
                        " · tick the columns to segment on; click a role to change it", className="small text-muted"
                    ),
                ]
            ),
            dbc.CardBody(
                [
                    dag.AgGrid(
                        id=ids.COLUMN_GRID,
                        rowData=[],
                        columnDefs=[
                            {"field": "column", "headerName": "column", "minWidth": 180},
                            {
                                "field": "role",
                                "headerName": "role ✎",
                                "editable": True,
                                "cellEditor": "agSelectCellEditor",
                                "cellEditorParams": {"values": list(ROLES)},
                                "cellClass": "editable-cell",
                            },
                            {"field": "missing", "headerName": "missing %", "type": "numericColumn"},
                            {"field": "distinct", "headerName": "distinct", "type": "numericColumn"},
                            {"field": "example", "headerName": "example"},
                        ],
                        getRowId="params.data.column",
                        dashGridOptions={
                            "rowSelection": {
                                "mode": "multiRow",
                                "checkboxes": True,
                                "headerCheckbox": True,
                                "enableClickSelection": False,
                            },
                            "singleClickEdit": True,
                            "stopEditingWhenCellsLoseFocus": True,
                        },
                        defaultColDef={"resizable": True, "sortable": True},
                        className="ag-theme-alpine",
                        style={"height": "330px"},
                    ),
                    html.Div(id=ids.SELECTION_NOTE, className="small mt-2 px-1"),
                ],
                className="p-2",
            ),
        ],
        className="h-100",
    )


def _features_card() -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader(
                [
                    html.Strong("Engineered features"),
                    html.Span(" · totals, counts, ratios, age, tenure", className="small text-muted"),
                ]
            ),
            dbc.CardBody(
                [
                    dbc.Row(
                        [
                            dbc.Col(
                                dbc.Select(
                                    id=ids.FEATURE_KIND,
                                    value="sum",
                                    options=[{"label": f"{k}: {v}", "value": k} for k, v in KINDS.items()],
                                ),
                                md=12,
                                className="mb-2",
                            ),
                            dbc.Col(
                                dcc.Dropdown(id=ids.FEATURE_COLUMNS, multi=True, placeholder="columns…"),
                                md=12,
                                className="mb-2",
                            ),
                            dbc.Col(dbc.Input(id=ids.FEATURE_NAME, placeholder="new column name"), md=8),
                            dbc.Col(
                                dbc.Button("Add feature", id=ids.FEATURE_ADD, color="secondary", className="w-100"),
                                md=4,
                            ),
                        ],
                        className="g-2 mb-2",
                    ),
                    html.Div(id=ids.FEATURE_LIST),
                ]
            ),
        ],
        className="h-100",
    )


def _transaction_card() -> dbc.Card:
    def pick(component_id, label, optional=False):
        return dbc.Col(
            [
                dbc.Label(label + (" (optional)" if optional else ""), className="small mb-0"),
                dcc.Dropdown(id=component_id, placeholder="column…"),
            ],
            md=4,
            className="mb-2",
        )

    return dbc.Card(
        dbc.CardBody(
            [
                dbc.Switch(
                    id=ids.RFM_SWITCH, label="This is a transaction log: build one RFM row per customer", value=False
                ),
                dbc.Collapse(
                    [
                        html.P(
                            "Recency, frequency, monetary value, tenure and average basket per customer, with "
                            "classic RFM scores and segments as a baseline. Returns (negative values, invoices "
                            "starting with C) are netted; rows without a customer id are counted and left out.",
                            className="small text-muted mt-2",
                        ),
                        dbc.Row(
                            [
                                pick(ids.RFM_CUSTOMER, "Customer id"),
                                pick(ids.RFM_DATE, "Date"),
                                pick(ids.RFM_INVOICE, "Invoice", optional=True),
                                pick(ids.RFM_AMOUNT, "Amount (or quantity and price)"),
                                pick(ids.RFM_QUANTITY, "Quantity"),
                                pick(ids.RFM_PRICE, "Unit price"),
                                dbc.Col(
                                    [
                                        dbc.Label("As of (default: newest date)", className="small mb-0"),
                                        dbc.Input(id=ids.RFM_AS_OF, type="date"),
                                    ],
                                    md=4,
                                ),
                                dbc.Col(
                                    [
                                        dbc.Button(
                                            "Build RFM table", id=ids.RFM_BUILD, color="primary", className="me-2 mt-3"
                                        ),
                                        dbc.Button(
                                            "Back to the transaction log",
                                            id=ids.RFM_BACK,
                                            color="link",
                                            className="mt-3",
                                        ),
                                    ],
                                    md=8,
                                ),
                            ],
                            className="g-2",
                        ),
                    ],
                    id=ids.RFM_FORM,
                    is_open=False,
                ),
            ]
        ),
        className="mb-3",
    )
