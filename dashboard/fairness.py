"""A fair share of the server per browser session: at most a few of its heavy callback requests run at once.

One session sending many heavy requests (a script, or a page reloaded in a loop) would otherwise take every worker
thread and core, and other analysts' pages would crawl. Each session gets SEGSTUDIO_SESSION_REQUESTS slots (default
3), shared by every worker process on the machine: a slot is an exclusive lock on a small file, held for the
request and released when it ends (or when its process dies). A request that finds no free slot waits up to
SEGSTUDIO_SESSION_WAIT seconds (default 0.2), then is answered 429 with a message, without running anything, so a
flood costs the server almost nothing.

Light requests take no slot, so that a page's own bursts never meet the bound: polls of a background job, the
job banner and progress bar every page polls, the page router, and the small notes a control redraws. A page draws
at most three heavy figures or tables at once, so three slots never refuse a browser used by a person.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

import dash
import flask

from dashboard import ids
from dashboard.session import CALLBACK_PATH
from dashboard.settings import load_settings

BUSY = (
    "This browser is already running {slots} requests on the server; wait for them to finish (the page "
    "retries when you act again)."
)


def share_per_session(server: flask.Flask) -> None:
    """Bound the callback requests each session runs at once (after the session is known: establish_sessions)."""

    @server.before_request
    def take_slot() -> flask.Response | None:
        if not flask.request.path.endswith(CALLBACK_PATH) or not flask.g.get("session") or _light():
            return None
        settings = load_settings()
        descriptor = _acquire(
            settings.data_dir / "slots" / flask.g.session, settings.session_requests, settings.session_wait
        )
        if descriptor is None:
            return flask.Response(
                BUSY.format(slots=settings.session_requests), 429, mimetype="text/plain", headers={"Retry-After": "1"}
            )
        flask.g.slot = descriptor
        return None

    @server.teardown_request
    def free_slot(_error: BaseException | None) -> None:
        descriptor = flask.g.pop("slot", None)
        if descriptor is not None:
            os.close(descriptor)  # closing the file releases its lock


# Outputs of callbacks that cost milliseconds (a job's status file, a layout, a line of text).
LIGHT_OUTPUTS = (
    ids.JOB_BANNER,
    ids.PROGRESS,
    ids.PROGRESS_TEXT,
    ids.RUN_ESTIMATE,
    ids.SELECTION_NOTE,
    ids.RFM_FORM,
    "_pages_content",
    "_pages_dummy",
)
SMALL_BODY = 64 * 1024


def _light() -> bool:
    """A small request for a light callback, or a background job's poll (judged from the output the request
    names, which is also what Dash runs: naming a light output runs the light callback)."""
    request = flask.request
    if (request.content_length or 0) > SMALL_BODY:
        return False  # an upload, or a form of many fields: heavy, and its body is not parsed here
    body = request.get_json(silent=True)  # cached: Dash reads the same parse
    output = body.get("output", "") if isinstance(body, dict) else ""
    if not isinstance(output, str):
        return False
    if "cacheKey" in request.args:  # a poll reads a job's result; on an ordinary callback the key changes nothing
        return bool(dash.get_app().callback_map.get(output, {}).get("background"))
    return any(f"{light}." in output for light in LIGHT_OUTPUTS)


def _acquire(folder: Path, slots: int, wait: float) -> int | None:
    """An open, exclusively locked slot file of this session, or None when all stay taken for ``wait`` seconds."""
    folder.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    while True:
        for slot in range(slots):
            descriptor = os.open(folder / str(slot), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return descriptor
            except BlockingIOError:
                os.close(descriptor)
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)
