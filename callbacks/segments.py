"""Segments page: names (renamed live), cards, importances and profiles of the stored result."""

from __future__ import annotations

import time

import dash_bootstrap_components as dbc
import pandas as pd
from dash import ALL, Input, Output, State, callback, ctx, no_update

from core.errors import SegmentationError
from core.explain import readable_number
from core.exports import segment_summary
from core.playbook import Play, checked_action
from core.rename import renamed
from core.value import SegmentValue, value_candidates
from dashboard import ids
from dashboard.databases import update_written_tables
from dashboard.figures import effects_figure, importance_figure, segment_importance_figure, value_figure
from dashboard.headline import empty_alert, headline_alert
from dashboard.jobs import job_status
from dashboard.outputs import named
from dashboard.segment_cards import segment_cards
from dashboard.session import request_session
from dashboard.store import project_store
from dashboard.tables import grid_props, profile_grid_frame

HIDDEN, SHOWN = {"display": "none"}, {"display": "block"}


SEGMENTS = dict(
    empty=Output(ids.SEG_EMPTY, "children"),
    area=Output(ids.SEG_AREA, "style"),
    headline=Output(ids.RESULT_HEADLINE, "children"),
    names=Output(ids.NAMES_GRID, "rowData"),
    cards=Output(ids.SEGMENT_CARDS, "children"),
    effects=Output(ids.EFFECTS, "figure"),
    importance=Output(ids.IMPORTANCE, "figure"),
    segment_importance=Output(ids.SEGMENT_IMPORTANCE, "figure"),
    profile_rows=Output(ids.SEGMENT_GRID, "rowData"),
    profile_columns=Output(ids.SEGMENT_GRID, "columnDefs"),
    value_options=Output(ids.VALUE_COLUMN, "options"),
    value_column=Output(ids.VALUE_COLUMN, "value"),
    value_figure=Output(ids.VALUE_FIGURE, "figure"),
    value_note=Output(ids.VALUE_NOTE, "children"),
)
NO_VALUE = "(none)"


@callback(output=SEGMENTS, inputs=[Input(ids.RESULT_TOKEN, "data")])
def show_segments(_token):
    """Draw the stored result's segments (also when the page is opened again later)."""
    store = project_store()
    session_id = request_session()
    result = store.result(session_id)
    if result is None:
        return named(SEGMENTS, empty=empty_alert(job_status(store, session_id)), area=HIDDEN)
    explanation = result.explanation
    if explanation is None:
        note = dbc.Alert("This result predates segment explanations: run the segmentation again.", color="info")
        return named(SEGMENTS, empty=note, area=HIDDEN)
    table = store.table(session_id)
    prepared = result.prepared(table)
    value = result.value(prepared)
    plays = result.plays(table, value)
    summary = segment_summary(table, result, value, plays)
    names = [
        {
            "cluster": int(r.cluster),
            "name": r.segment,
            "customers": int(r.size),
            "share": round(100 * r.share, 1),
            "stability": None if pd.isna(r.stability) else round(float(r.stability), 2),
            "value": None if pd.isna(r.value_share) else round(100 * float(r.value_share), 1),
            "action": r.action,
            "reason": _reason(plays[int(r.cluster)]) if int(r.cluster) in plays else "",
            "rule": r.rule,
        }
        for r in summary.itertuples()
        if r.cluster >= 0
    ]
    sizes = pd.Series(result.labels).value_counts().to_dict()
    stability = result.segmenter.stability_
    cards = segment_cards(
        explanation,
        result.names,
        sizes,
        stability.per_segment if stability else {},
        editable=True,
        plays=plays,
        value=value,
    )
    candidates = value_candidates({c: result.roles.get(c, "") for c in prepared.columns})
    profile_rows, profile_cols = grid_props(profile_grid_frame(summary))
    profile_cols[0].update(pinned="left", minWidth=200)
    return named(
        SEGMENTS,
        empty=None,
        area=SHOWN,
        headline=headline_alert(result, len(table)),
        names=names,
        cards=cards,
        effects=effects_figure(explanation.profile_, result.names),
        importance=importance_figure(explanation.importance_),
        segment_importance=segment_importance_figure(explanation.segment_importance_, result.names),
        profile_rows=profile_rows,
        profile_columns=profile_cols,
        value_options=[{"label": "No value column", "value": NO_VALUE}]
        + [{"label": c, "value": c} for c in candidates],
        value_column=result.value_column or NO_VALUE,
        value_figure=value_figure(value, result.names),
        value_note=_value_note(value),
    )


def _reason(play: Play) -> str:
    return "set by you" if play.edited else f"suggested because: {play.reason}"


def _value_note(value: SegmentValue | None) -> str:
    if value is None:
        return "Choose the column that says what a customer is worth (spend, revenue) to see each segment's share."
    per_customer = readable_number(value.overall_per_customer())
    return f"All customers: {readable_number(value.total)} {value.column}, {per_customer} per customer."


@callback(
    Output(ids.RESULT_TOKEN, "data", allow_duplicate=True),
    Output(ids.RENAME_STATUS, "children", allow_duplicate=True),
    Input(ids.VALUE_COLUMN, "value"),
    prevent_initial_call=True,
)
def choose_value_column(column):
    """Measure each segment's worth in another column (no refit: shares are recomputed from the stored table)."""
    store = project_store()
    session_id = request_session()
    result = store.result(session_id)
    chosen = None if column == NO_VALUE else column
    if result is None or not isinstance(column, str) or chosen == result.value_column:
        return no_update, no_update
    prepared = result.prepared(store.table(session_id))
    if chosen is not None and chosen not in value_candidates({c: result.roles.get(c, "") for c in prepared.columns}):
        return no_update, dbc.Alert("Choose a numeric column of the data as the value column.", color="danger",
                                    className="py-2 small mb-0")  # fmt: skip
    store.save_value_column(session_id, chosen)
    return time.time(), None


@callback(
    Output(ids.RESULT_TOKEN, "data", allow_duplicate=True),
    Output(ids.RENAME_STATUS, "children"),
    Input(ids.NAMES_GRID, "cellValueChanged"),
    prevent_initial_call=True,
)
def rename_segment(changes):
    """Rename a segment: every view is redrawn from the stored result, and downloads use the new name."""
    store = project_store()
    session_id = request_session()
    result = store.result(session_id)
    if result is None or not changes:
        return no_update, no_update
    if any(c.get("colId") == "action" for c in changes):
        return _edit_actions(store, session_id, result, changes)
    changed_elsewhere = [
        int(c["data"]["cluster"])
        for c in changes
        if "oldValue" in c and result.names.get(int(c["data"]["cluster"])) != c["oldValue"]
    ]
    if changed_elsewhere:
        return time.time(), _renamed_elsewhere(result.names, changed_elsewhere)
    try:
        result.names = renamed(result.names, {int(c["data"]["cluster"]): c["value"] for c in changes})
    except SegmentationError as exc:
        return time.time(), dbc.Alert(str(exc), color="danger", className="py-2 small mb-0")
    store.save_names(session_id, result.names)
    return time.time(), _tables_updated(update_written_tables(store, session_id, result.names))


@callback(
    Output(ids.RESULT_TOKEN, "data", allow_duplicate=True),
    Output(ids.RENAME_STATUS, "children", allow_duplicate=True),
    Input({"type": ids.CARD_NAME, "cluster": ALL}, "value"),
    State({"type": ids.CARD_DRAWN, "cluster": ALL}, "data"),
    prevent_initial_call=True,
)
def rename_from_card(values, drawn):
    """Rename a segment from its card's title field (the same rules as the names grid)."""
    changed = ctx.triggered_id
    if not isinstance(changed, dict):
        return no_update, no_update
    store = project_store()
    session_id = request_session()
    result = store.result(session_id)
    cluster = int(changed["cluster"])
    value = next((v for i, v in zip(ctx.inputs_list[0], values) if i["id"]["cluster"] == cluster), None)
    shown = next((d for i, d in zip(ctx.states_list[0], drawn or []) if i["id"]["cluster"] == cluster), None)
    if result is None or value is None or value == result.names.get(cluster):
        return no_update, no_update  # the cards were just drawn, or nothing changed
    if shown is not None and shown != result.names.get(cluster):
        return time.time(), _renamed_elsewhere(result.names, [cluster])
    try:
        result.names = renamed(result.names, {cluster: value})
    except SegmentationError as exc:
        return time.time(), dbc.Alert(str(exc), color="danger", className="py-2 small mb-0")
    store.save_names(session_id, result.names)
    return time.time(), _tables_updated(update_written_tables(store, session_id, result.names))


def _edit_actions(store, session_id: str, result, changes: list[dict]):
    """Set the analyst's actions from the names grid (an emptied cell goes back to the suggestion)."""
    actions = dict(result.actions or {})
    try:
        for change in changes:
            if change.get("colId") != "action":
                continue
            cluster = int(change["data"]["cluster"])
            if cluster not in result.names or cluster < 0:
                raise SegmentationError(f"There is no segment {cluster}.")
            action = checked_action(change.get("value"))
            if action is None:
                actions.pop(cluster, None)
            else:
                actions[cluster] = action
    except (SegmentationError, KeyError, TypeError, ValueError) as exc:
        text = str(exc) if isinstance(exc, SegmentationError) else "That edit could not be read."
        return time.time(), dbc.Alert(text, color="danger", className="py-2 small mb-0")
    store.save_actions(session_id, actions)
    return time.time(), None


def _tables_updated(lines: list[str]) -> dbc.Alert | None:
    """What happened to the database tables the segments were written to, if any."""
    if not lines:
        return None
    failed = any("not updated" in line for line in lines)
    return dbc.Alert(" ".join(lines), color="warning" if failed else "light", className="py-2 small mb-0")


def _renamed_elsewhere(names: dict[int, str], clusters: list[int]) -> dbc.Alert:
    """The rename was refused: another tab or window renamed these segments since this page was drawn. The token
    that comes with it redraws the page with the current names."""
    theirs = "; ".join(f"segment {c} is now '{names.get(c)}'" for c in clusters)
    return dbc.Alert(
        f"Not renamed: another tab or window renamed it first ({theirs}). The names shown are now the "
        "current ones; rename again if you like.",
        color="warning",
        className="py-2 small mb-0",
    )
