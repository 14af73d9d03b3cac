"""Model page: run every chosen algorithm as a background job, follow its progress from any visit, cancel it."""

from __future__ import annotations

import time
from dataclasses import replace

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, html, no_update

from core.config import RunConfig
from core.estimate import estimate_run, model_features
from core.explore import column_profile
from core.pipeline import run_segmentation
from core.roles import feature_columns
from core.segmenter import Progress
from dashboard import ids
from dashboard.controls import PARAM_TYPE, parameters_from_controls
from dashboard.headline import empty_alert, headline_alert, next_steps
from dashboard.jobs import ACTIVE, RUNNING, job_status, request_cancel
from dashboard.outputs import named
from dashboard.runner import KINDS, Job, run_project_job
from dashboard.session import request_session
from dashboard.store import project_store


@callback(
    Output(ids.MODEL_TOKEN, "data"),
    Output(ids.RUN_STATUS, "children"),
    Input(ids.RUN_BUTTON, "n_clicks"),
    State(ids.K_RANGE, "value"),
    State(ids.ALGORITHMS, "value"),
    State(ids.CRITERION, "value"),
    State({"type": PARAM_TYPE, "algorithm": ALL, "name": ALL}, "value"),
    State({"type": PARAM_TYPE, "algorithm": ALL, "name": ALL}, "id"),
    State(ids.IMPUTE, "value"),
    State(ids.SCALE, "value"),
    State(ids.OUTLIER_METHOD, "value"),
    State(ids.OUTLIER_ACTION, "value"),
    State(ids.TRANSFORM, "value"),
    State(ids.CLASSIFIER, "value"),
    background=True,
    running=[
        (Output(ids.RUN_BUTTON, "disabled"), True, False),
        (Output(ids.CANCEL_BUTTON, "disabled"), False, True),
    ],
    cancel=[Input(ids.CANCEL_BUTTON, "n_clicks")],
    prevent_initial_call=True,
)
def run_job(
    run_clicks,
    k_range,
    algorithms,
    criterion,
    param_values,
    param_ids,
    impute,
    scale,
    outlier_method,
    outlier_action,
    transform,
    classifier,
):
    """Fit every chosen algorithm on the project's table and columns, and store the result server-side.

    Progress goes to the project's job file (the page polls it), so leaving the page does not lose the job.
    """

    def work(job: Job, report: Progress) -> str:
        settings = job.store.settings(job.session)
        config = RunConfig(
            columns=job.store.selection(job.session),
            roles=settings.get("roles", {}),
            features=settings.get("features", []),
            impute=impute or "median",
            scale=scale or "standard",
            outliers={"method": outlier_method or "iqr", "action": outlier_action or "keep"},
            transform=transform or "yeo-johnson",
            classifier=classifier or "logistic",
            k_min=k_range[0],
            k_max=k_range[1],
            algorithms=list(algorithms or []),
            params=parameters_from_controls(param_values, param_ids, algorithms or []),
            criterion=criterion or "auto",
        )
        result = run_segmentation(job.store.table(job.session), config, progress=report)
        report(1.0, "Saving the result")
        previous = job.store.result(job.session)
        if previous is not None:  # segments that reappear keep their names and actions; the value column stays
            result = result.with_names_from(previous.explanation, previous.names, previous.actions)[0]
            result = replace(result, value_column=previous.value_column)
        job.store.save_result(job.session, result)
        return f"Done: {result.segmenter.n_clusters_} segments"

    if not _is_range(k_range):
        return no_update, dbc.Alert("Choose the range of segments to try.", color="warning")
    outcome = run_project_job("run", work)
    if outcome.done:
        return time.time(), None
    if outcome.state == "cancelled":
        return no_update, None
    if outcome.state == "failed":
        return no_update, dbc.Alert([html.Strong("Could not segment. "), outcome.message], color="danger")
    return no_update, dbc.Alert(outcome.message, color="warning")


def _is_range(value: object) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    )


@callback(
    Output(ids.PROGRESS_TEXT, "children", allow_duplicate=True),
    Input(ids.CANCEL_BUTTON, "n_clicks"),
    prevent_initial_call=True,
)
def cancel_job(n_clicks):
    """Ask the project's job to stop at its next step (works after leaving and coming back to the page)."""
    if not n_clicks:
        return no_update
    request_cancel(project_store(), request_session())
    return "Cancelling…"


JOB = dict(
    progress=Output(ids.PROGRESS, "value"),
    label=Output(ids.PROGRESS, "label"),
    text=Output(ids.PROGRESS_TEXT, "children"),
    run_disabled=Output(ids.RUN_BUTTON, "disabled", allow_duplicate=True),
    cancel_disabled=Output(ids.CANCEL_BUTTON, "disabled", allow_duplicate=True),
    seen=Output(ids.JOB_SEEN, "data"),
    redraw=Output(ids.MODEL_TOKEN, "data", allow_duplicate=True),
)


@callback(
    output=JOB,
    inputs=[Input(ids.JOB_POLL, "n_intervals")],
    state=[State(ids.JOB_SEEN, "data")],
    prevent_initial_call="initial_duplicate",
)
def poll_job(_n, seen):
    """Show the project's job as it stands; when a job is seen to end, redraw the result."""
    status = job_status(project_store(), request_session())
    state = status["state"]
    running = state in ACTIVE
    progress = int(status.get("progress", 0)) if state in (RUNNING, "done") else 0
    text = status.get("message", "") if state != "idle" else ""
    if state == "failed":
        text = f"Failed: {text}"
    if running and status.get("kind") in KINDS and status.get("kind") != "run":
        text = f"{KINDS[status['kind']].capitalize()}: {text}"
    return named(
        JOB,
        progress=progress,
        label=f"{progress}%" if progress else "",
        text=text,
        run_disabled=running,
        cancel_disabled=not running,
        seen=state,
        redraw=time.time() if seen in ACTIVE and not running else no_update,
    )


@callback(
    Output(ids.MODEL_SUMMARY, "children"),
    Input(ids.MODEL_TOKEN, "data"),
)
def show_summary(_token):
    """The current result in one line, with the way to the pages that show it."""
    store = project_store()
    session_id = request_session()
    result = store.result(session_id)
    if result is None:
        return empty_alert(job_status(store, session_id))
    return [headline_alert(result, len(result.labels)), next_steps()]


@callback(
    Output(ids.RUN_ESTIMATE, "children"),
    Input(ids.ALGORITHMS, "value"),
    Input(ids.K_RANGE, "value"),
)
def show_estimate(algorithms, k_range):
    """Before a run: how long it should take and how much memory it needs, for this table and these choices."""
    store = project_store()
    session_id = request_session()
    if not algorithms:
        return "Choose at least one algorithm."
    meta, roles = store.meta(session_id), store.roles(session_id)
    profile = meta.get("profile") or column_profile(store.table(session_id))  # computed when the table was loaded
    distinct = {p["column"]: p["distinct"] for p in profile}
    columns = feature_columns(roles, store.selection(session_id))
    rows = int(meta["rows"])
    estimate = estimate_run(
        rows,
        model_features(distinct, roles, columns),
        algorithms,
        int(k_range[0]),
        int(k_range[1]),
        sample_size=RunConfig.sample_size,
    )
    sampled = (
        (f" (candidates are fitted on a {RunConfig.sample_size:,}-row sample, then every customer is labelled)")
        if rows > RunConfig.sample_size
        else ""
    )
    if estimate.features > RunConfig.max_components:
        sampled += f"; candidates are fitted on at most {RunConfig.max_components} principal components of them"
    return f"Estimate for {rows:,} customers and {estimate.features:,} model features: {estimate.text()}{sampled}."
