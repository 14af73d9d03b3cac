"""The shell's callbacks: every page follows the project's background job and redraws when it ends."""

from __future__ import annotations

import time

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, no_update

from dashboard import ids
from dashboard.headline import job_line
from dashboard.jobs import ACTIVE, job_status
from dashboard.session import request_session
from dashboard.store import project_store


@callback(
    Output(ids.JOB_BANNER, "children"),
    Output(ids.JOB_WATCH_STATE, "data"),
    Output(ids.RESULT_TOKEN, "data", allow_duplicate=True),
    Input(ids.JOB_WATCH, "n_intervals"),
    State(ids.JOB_WATCH_STATE, "data"),
    prevent_initial_call="initial_duplicate",
)
def watch_job(_n, seen):
    """A banner while the project's job runs or waits; when it ends, a new result token redraws every page."""
    status = job_status(project_store(), request_session())
    active = status["state"] in ACTIVE
    ended = seen in ACTIVE and not active
    banner = dbc.Alert(job_line(status), color="primary", className="py-2 small job-banner") if active else None
    return banner, status["state"], time.time() if ended else no_update
