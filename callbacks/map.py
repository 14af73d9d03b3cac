"""Map page: draw the customers in PCA or UMAP space; UMAP is computed once per result as a background job."""

from __future__ import annotations

import hashlib
import json
import time

import numpy as np
from dash import Input, Output, callback, no_update

from core.atomic import atomic_write
from core.errors import SegmentationError
from core.pipeline import SegmentationResult
from core.projection import UMAP_MAX_ROWS, umap_coordinates
from core.segmenter import Progress
from dashboard import ids
from dashboard.figures import map_sample, result_map
from dashboard.headline import empty_alert
from dashboard.jobs import job_status
from dashboard.outputs import named
from dashboard.runner import Job, run_project_job
from dashboard.session import request_session
from dashboard.store import ProjectStore, project_store

HIDDEN, SHOWN = {"display": "none"}, {"display": "block"}


def _umap_path(store: ProjectStore, session_id: str, dims: int):
    return store.path(session_id, f"umap{dims}.npz")


def _fingerprint(result: SegmentationResult) -> str:
    """What a cached UMAP was computed from: the run's settings and size (a rename does not change it)."""
    config = {k: v for k, v in result.config.to_dict().items() if k != "select"}
    return hashlib.sha1(json.dumps([config, len(result.labels)], sort_keys=True, default=str).encode()).hexdigest()


def _cached_umap(store: ProjectStore, session_id: str, result: SegmentationResult, dims: int):
    path = _umap_path(store, session_id, dims)
    if not path.exists():
        return None
    cached = np.load(path, allow_pickle=False)
    if str(cached["key"]) != _fingerprint(result):
        return None
    return cached["rows"], cached["coords"]


MAP = dict(
    empty=Output(ids.MAP_EMPTY, "children"),
    area=Output(ids.MAP_AREA, "style"),
    figure=Output(ids.MAP_GRAPH, "figure"),
    note=Output(ids.MAP_STATUS, "children"),
)


@callback(
    output=MAP,
    inputs=[
        Input(ids.RESULT_TOKEN, "data"),
        Input(ids.MAP_PROJECTION, "value"),
        Input(ids.MAP_DIMS, "value"),
        Input(ids.MAP_TOKEN, "data"),
    ],
)
def show_map(_token, projection, dims, _map_token):
    """The map in the chosen space; UMAP comes from the cache, or waits for the background job."""
    store = project_store()
    session_id = request_session()
    result = store.result(session_id)
    if result is None:
        return named(MAP, empty=empty_alert(job_status(store, session_id)), area=HIDDEN, note="")
    dims = 3 if dims not in (2, 3) else dims
    table = store.table(session_id)
    if projection == "umap":
        cached = _cached_umap(store, session_id, result, dims)
        if cached is None:
            return named(
                MAP, empty=None, area=SHOWN, note="Computing the UMAP projection in the background (about a minute)…"
            )
        note = f"UMAP of a stratified sample of {len(cached[0]):,} customers (computed once, kept with the project)."
        return named(MAP, empty=None, area=SHOWN, figure=result_map(result, table, dims, umap=cached), note=note)
    figure = result_map(result, table, dims)
    drawn = len(map_sample(result.labels, seed=result.config.seed))  # the rows result_map draws
    note = (
        "Every customer is drawn."
        if drawn == len(result.labels)
        else f"A stratified sample of {drawn:,} customers is drawn (every segment in proportion)."
    )
    return named(MAP, empty=None, area=SHOWN, figure=figure, note=note)


@callback(
    Output(ids.MAP_TOKEN, "data"),
    Output(ids.MAP_STATUS, "children", allow_duplicate=True),
    Input(ids.MAP_PROJECTION, "value"),
    Input(ids.MAP_DIMS, "value"),
    Input(ids.RESULT_TOKEN, "data"),
    background=True,
    prevent_initial_call="initial_duplicate",
)
def compute_umap(projection, dims, _token):
    """Compute and keep the UMAP projection of the current result (once per result and view), as a project job."""
    if projection != "umap":
        return no_update, no_update
    dims = 3 if dims not in (2, 3) else dims
    store, session_id = project_store(), request_session()
    result = store.result(session_id)
    if result is None or _cached_umap(store, session_id, result, dims) is not None:
        return no_update, no_update

    def work(job: Job, report: Progress) -> str:
        rows = map_sample(result.labels, limit=UMAP_MAX_ROWS, seed=result.config.seed)
        report(0.1, f"Computing the UMAP map of {len(rows):,} customers")
        Z = result.segmenter.transform_features(result.prepared(job.store.table(job.session).iloc[rows]))
        try:
            coords = umap_coordinates(Z, n_components=dims, seed=result.config.seed)
        except ValueError as exc:  # e.g. too few customers for a neighbour graph
            raise SegmentationError(
                f"UMAP could not be computed for these customers ({exc}); PCA still works."
            ) from None
        report(1.0, "Saving the UMAP map")

        def write(path) -> None:
            with open(path, "wb") as handle:
                np.savez(handle, rows=rows, coords=coords, key=np.array(_fingerprint(result)))

        atomic_write(_umap_path(job.store, job.session, dims), write)
        return "UMAP map ready"

    outcome = run_project_job("umap", work)
    if outcome.done:
        return time.time(), no_update
    return no_update, outcome.message if outcome.state != "cancelled" else "UMAP cancelled; PCA still works."
