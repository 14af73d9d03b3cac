"""Explore page callbacks: figures of the session's table, drawn from a sample when it is large."""

from __future__ import annotations

from dash import Input, Output, callback, no_update

from core.explore import PLOT_SAMPLE, STATS_SAMPLE, correlations, describe, missing_by_column, plot_sample
from dashboard import ids
from dashboard.figures import (
    correlation_figure,
    distribution_figure,
    missing_figure,
    scatter_matrix_figure,
)
from dashboard.outputs import named
from dashboard.session import request_session
from dashboard.store import project_store
from dashboard.tables import grid_props

MATRIX_DEFAULT = 4


OVERVIEW = dict(
    note=Output(ids.EXPLORE_NOTE, "children"),
    stats_rows=Output(ids.EXPLORE_STATS, "rowData"),
    stats_columns=Output(ids.EXPLORE_STATS, "columnDefs"),
    missing=Output(ids.EXPLORE_MISSING, "figure"),
    correlation=Output(ids.EXPLORE_CORRELATION, "figure"),
    column_options=Output(ids.EXPLORE_COLUMN, "options"),
    column=Output(ids.EXPLORE_COLUMN, "value"),
    matrix_options=Output(ids.EXPLORE_MATRIX_COLUMNS, "options"),
    matrix_columns=Output(ids.EXPLORE_MATRIX_COLUMNS, "value"),
)


@callback(output=OVERVIEW, inputs=[Input(ids.EXPLORE_INIT, "data")])
def show_overview(_init):
    """Statistics of every column, missing values and correlations; the choices for the other charts."""
    store = project_store()
    session_id = request_session()
    table, roles, meta = store.table(session_id), store.roles(session_id), store.meta(session_id)
    stats = describe(table, roles).round(3)
    rows, column_defs = grid_props(stats)
    column_defs[0].update(pinned="left")
    numeric = [c for c in table.columns if roles.get(c) == "numeric"]
    sampled = len(table) > PLOT_SAMPLE
    note = f"{meta['name']}: {len(table):,} rows × {table.shape[1]} columns." + (
        f" Charts and correlations are drawn from a random sample of {PLOT_SAMPLE:,} rows; counts and missing "
        f"values use every row, the other statistics a sample of {min(len(table), STATS_SAMPLE):,}."
        if sampled
        else ""
    )
    if str(meta.get("source", "")).startswith("Spark run"):  # the table is the driver's sample of a Spark run
        note += f" {meta['source']}: these figures describe the sample."
    plotted = [c for c in table.columns if roles.get(c) in ("numeric", "categorical", "date")]
    correlation = correlation_figure(correlations(table, numeric)) if len(numeric) >= 2 else no_update
    return named(
        OVERVIEW,
        note=note,
        stats_rows=rows,
        stats_columns=column_defs,
        missing=missing_figure(missing_by_column(table)),
        correlation=correlation,
        column_options=[{"label": f"{c} ({roles.get(c)})", "value": c} for c in plotted],
        column=plotted[0] if plotted else None,
        matrix_options=[{"label": c, "value": c} for c in numeric],
        matrix_columns=numeric[:MATRIX_DEFAULT],
    )


@callback(
    Output(ids.EXPLORE_DISTRIBUTION, "figure"),
    Input(ids.EXPLORE_COLUMN, "value"),
    prevent_initial_call=True,
)
def show_distribution(column):
    store = project_store()
    session_id = request_session()
    table = store.table(session_id)
    if column not in table.columns:
        return no_update
    return distribution_figure(plot_sample(table)[column], store.roles(session_id).get(column, ""))


@callback(
    Output(ids.EXPLORE_MATRIX, "figure"),
    Input(ids.EXPLORE_MATRIX_COLUMNS, "value"),
    prevent_initial_call=True,
)
def show_matrix(columns):
    store = project_store()
    session_id = request_session()
    table = store.table(session_id)
    columns = [c for c in columns or [] if c in table.columns][:8]
    if len(columns) < 2:
        return no_update
    return scatter_matrix_figure(plot_sample(table, limit=5_000)[columns])
