"""Predict page: build the new-customer form from the current model, assign one customer or a file of them."""

from __future__ import annotations

from pathlib import Path

import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
from dash import ALL, Input, Output, State, callback, dcc, html, no_update

from core.csv_out import to_csv_text
from core.errors import SegmentationError
from core.pipeline import SegmentationResult, map_position
from core.predict import NO_GOOD_FIT_NAME, Scorer
from core.predictor import NO_GOOD_FIT
from dashboard import ids
from dashboard.figures import result_map, with_new_customer
from dashboard.headline import empty_alert
from dashboard.jobs import job_status
from dashboard.outputs import named
from dashboard.session import request_session
from dashboard.store import project_store
from dashboard.uploads import read_upload

HIDDEN, SHOWN = {"display": "none"}, {"display": "block"}
MAX_LEVELS = 200  # dropdown entries; rarer values can still be scored from a file


FORM = dict(
    empty=Output(ids.PREDICT_EMPTY, "children"),
    area=Output(ids.PREDICT_AREA, "style"),
    form=Output(ids.PREDICT_FORM, "children"),
    map=Output(ids.PREDICT_MAP, "figure"),
)


@callback(output=FORM, inputs=[Input(ids.PREDICT_INIT, "data"), Input(ids.RESULT_TOKEN, "data")])
def build_form(_init, _token=None):
    """One field per input column of the model: numbers with their observed range, categories as dropdowns."""
    store = project_store()
    session_id = request_session()
    result = store.result(session_id)
    if result is None:
        return named(FORM, empty=empty_alert(job_status(store, session_id)), area=HIDDEN)
    if result.predictor is None:
        return named(
            FORM,
            empty=dbc.Alert(
                "The current segmentation has a single segment; there is nothing to assign customers to.", color="info"
            ),
            area=HIDDEN,
        )
    table = result.prepared(store.table(session_id))
    fields = [
        dbc.Col(_field(column, result.roles.get(column, "numeric"), table[column]), md=6)
        for column in Scorer.of(result).input_columns()
    ]
    note = html.P(f"New customers are assigned by {result.predictor.describe()}.", className="small text-muted")
    return named(
        FORM,
        empty=None,
        area=SHOWN,
        form=[note, dbc.Row(fields, className="g-2")],
        map=result_map(result, store.table(session_id)),
    )


def _field(column: str, role: str, values: pd.Series):
    label = dbc.Label(column, html_for=_field_id(column, role))
    if role == "categorical":
        levels = values.dropna().astype(str).value_counts().index[:MAX_LEVELS].tolist()
        control = dcc.Dropdown(
            id=_field_id(column, role), options=levels, value=levels[0] if levels else None, clearable=True
        )
        hint = f"{values.nunique():,} values seen"
    elif role == "date":
        dates = pd.to_datetime(values, errors="coerce").dropna()
        control = dcc.DatePickerSingle(
            id=_field_id(column, role),
            date=dates.median().date() if len(dates) else None,
            display_format="YYYY-MM-DD",
            clearable=True,
        )
        hint = f"seen {dates.min():%Y-%m-%d} to {dates.max():%Y-%m-%d}" if len(dates) else ""
    else:
        numbers = pd.to_numeric(values, errors="coerce").dropna()
        median = float(numbers.median()) if len(numbers) else None
        control = dbc.Input(id=_field_id(column, role), type="number", value=_tidy(median), size="sm")
        hint = f"seen {_tidy(numbers.min()):,} to {_tidy(numbers.max()):,}" if len(numbers) else ""
    return html.Div([label, control, dbc.FormText(hint)], className="mb-2")


def _field_id(column: str, role: str) -> dict:
    return {"type": ids.PREDICT_DATE if role == "date" else ids.PREDICT_INPUT, "feature": column}


def _tidy(value: float | None) -> float | int | None:
    if value is None or not np.isfinite(value):
        return None
    return int(value) if float(value).is_integer() else round(float(value), 2)


@callback(
    Output(ids.PREDICT_RESULT, "children"),
    Output(ids.PREDICT_MAP, "figure", allow_duplicate=True),
    Input(ids.PREDICT_BUTTON, "n_clicks"),
    State({"type": ids.PREDICT_INPUT, "feature": ALL}, "value"),
    State({"type": ids.PREDICT_INPUT, "feature": ALL}, "id"),
    State({"type": ids.PREDICT_DATE, "feature": ALL}, "date"),
    State({"type": ids.PREDICT_DATE, "feature": ALL}, "id"),
    prevent_initial_call=True,
)
def predict_one(n_clicks, values, value_ids, dates, date_ids):
    """The segment of the customer in the form, its confidence, and where it falls on the map."""
    store = project_store()
    session_id = request_session()
    result = store.result(session_id)
    if not n_clicks or result is None or result.predictor is None:
        return no_update, no_update
    row = {i["feature"]: v for i, v in zip(value_ids, values)}
    row.update({i["feature"]: v for i, v in zip(date_ids, dates)})
    customer = _customer_frame(result, row)
    try:
        scorer = Scorer.of(result)
        clusters, confidence, Z = scorer.assign(customer)
    except SegmentationError as exc:
        return dbc.Alert(str(exc), color="danger"), no_update
    cluster = int(clusters[0])
    name = scorer.label(cluster)
    blanks = [c for c, v in row.items() if v is None or v == ""]
    message = [
        html.Div(["Segment: ", html.Strong(name)], className="predict-result"),
        html.Div(
            f"confidence {confidence[0]:.0%}"
            if cluster != NO_GOOD_FIT
            else "no confidence: this customer fits no segment well enough to be given one",
            className="text-muted",
        ),
    ]
    if cluster == NO_GOOD_FIT:
        closest = scorer.label(int(result.predictor.model_.predict(Z)[0]))
        message.append(
            html.Div(
                f'This customer lies farther from every segment than 99% of its members; the closest is "{closest}".',
                className="small mt-1",
            )
        )
    if blanks:
        message.append(html.Div(f"Left blank, taken as typical: {', '.join(blanks)}.", className="small mt-1"))
    colour = "warning" if cluster == NO_GOOD_FIT else "success"
    figure = no_update
    if result.pca is not None:  # results saved before the map kept its projection cannot place new customers
        figure = with_new_customer(
            result_map(result, store.table(session_id)),
            map_position(result, Z)[0],
            NO_GOOD_FIT_NAME if cluster == NO_GOOD_FIT else name,
        )
    return dbc.Alert(message, color=colour, className="mb-0 shadow-sm"), figure


def _customer_frame(result: SegmentationResult, row: dict) -> pd.DataFrame:
    """The form's values as a one-row table typed like the training data (blank fields are missing values)."""
    typed = {}
    for column, value in row.items():
        role = result.roles.get(column, "numeric")
        if role == "numeric":
            typed[column] = [np.nan if value in (None, "") else float(value)]
        elif role == "date":
            typed[column] = [pd.NaT if not value else pd.Timestamp(value)]
        else:
            typed[column] = [None if value in (None, "") else str(value)]
    return pd.DataFrame(typed)


@callback(
    Output(ids.BATCH_STATUS, "children"),
    Output(ids.BATCH_DOWNLOAD, "data"),
    Output(ids.BATCH_UPLOAD, "contents"),
    Input(ids.BATCH_UPLOAD, "contents"),
    State(ids.BATCH_UPLOAD, "filename"),
    prevent_initial_call=True,
)
def score_file(contents: str | None, filename: str | None):
    """Score an uploaded file of new customers and send it back with cluster, segment and confidence."""
    if not contents:
        return no_update, no_update, no_update
    store = project_store()
    result = store.result(request_session())
    try:
        if result is None or result.predictor is None:
            raise SegmentationError("There is no segmentation with two or more segments to assign customers to.")
        table, filename = read_upload(contents, filename)
        scored, extra = Scorer.of(result).score(table)
    except SegmentationError as exc:
        return dbc.Alert([html.Strong("Could not score this file. "), str(exc)], color="danger"), no_update, None
    unfit = int((scored["cluster"] == NO_GOOD_FIT).sum())
    counts = scored["segment"].value_counts()
    lines = [
        html.Div(
            [
                html.Strong(f"Scored {len(scored):,} customers from {filename}. "),
                f'{unfit:,} fit no segment well ("{NO_GOOD_FIT_NAME}").',
            ]
        ),
        html.Div("; ".join(f"{name}: {n:,}" for name, n in counts.items()), className="small mt-1"),
    ]
    if extra:
        lines.append(
            html.Div(
                f"Columns not used by the model, copied through: {', '.join(map(str, extra))}.",
                className="small text-muted mt-1",
            )
        )
    download = dcc.send_string(to_csv_text(scored), f"{Path(filename or 'customers').stem}_segments.csv")
    return dbc.Alert(lines, color="success", className="mb-0"), download, None
