"""The background-callback manager: long fits run in worker processes, with progress and cancel."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import diskcache
import psutil
from dash import DiskcacheManager
from dash.background_callback.managers import BaseBackgroundCallbackManager

from core.atomic import atomic_write_text
from dashboard.session import request_session
from dashboard.settings import Settings
from dashboard.store import ProjectStore


def background_manager(settings: Settings) -> BaseBackgroundCallbackManager:
    """Celery through Redis when the operator set REDIS_URL (several app servers, one queue); else diskcache.

    Diskcache needs no server: jobs run in processes beside the app's workers on one machine.
    """
    if settings.redis_url:
        from dash import CeleryManager

        class _CeleryJobs(_SessionKeys, CeleryManager):
            pass

        return _CeleryJobs(celery_app(settings.redis_url), expire=24 * 3600)
    settings.jobs_dir.mkdir(parents=True, exist_ok=True)
    return _DiskcacheJobs(diskcache.Cache(str(settings.jobs_dir)), expire=24 * 3600)


class _SessionKeys:
    """Result keys that include the launching request's session.

    Dash keys a job's result by a hash of the callback's source and inputs; two analysts pressing Run with the same
    settings would share one key, and each page could collect the other's result. Folding the session (read on the
    server from the launching request's cookie) into the key keeps every session's jobs apart.
    """

    def build_cache_key(self, fn, args, cache_args_to_ignore, triggered):
        key = super().build_cache_key(fn, args, cache_args_to_ignore, triggered)  # type: ignore[misc]
        return hashlib.sha256(f"{key}:{request_session()}".encode()).hexdigest()


class _DiskcacheJobs(_SessionKeys, DiskcacheManager):
    """Dash's diskcache manager, with a job ending that holds up under many analysts at once.

    Dash ends a finished job inside a cache write transaction and waits up to a second for it there; the process is
    usually a zombie of another worker that never "ends", so every poll that collects a result held the cache's
    lock for a second. Under a load test (20 analysts, 4 workers) other jobs then timed out writing their results
    (lost jobs), and a process ending between two of Dash's checks raised NoSuchProcess (HTTP 500).
    """

    def terminate_job(self, job: object) -> None:
        if job is None:
            return
        try:
            process = psutil.Process(int(str(job)))
            if process.status() == psutil.STATUS_ZOMBIE:
                return  # it has ended; its parent reaps it
            for child in process.children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
            process.kill()
        except psutil.NoSuchProcess:
            pass


def celery_app(redis_url: str) -> Any:
    """The Celery app whose workers run the fits: `celery -A app:celery_app worker` (see the README)."""
    from celery import Celery

    app = Celery("segmentation_studio", broker=redis_url, backend=redis_url)
    app.conf.update(
        worker_prefetch_multiplier=1,  # a fit is long: a worker takes one at a time, the others wait in the queue
        broker_connection_retry_on_startup=True,
        result_expires=24 * 3600,
    )
    return app


# A job's state lives in its project folder, not in the page that started it: an analyst can leave the Model page
# while a fit runs, come back (or reload) and see where it stands, and cancel it from there.
STATUS_FILE = "job.json"
CANCEL_FILE = "job.cancel"
RUNNING = "running"
QUEUED = "queued"  # waiting for a free fit slot
ACTIVE = (RUNNING, QUEUED)
_WRITE_EVERY = 0.5  # seconds between status writes


class JobCancelled(Exception):
    """Raised inside a job when the analyst asked it to stop."""


def start_job(store: ProjectStore, session_id: str, kind: str) -> None:
    """Mark the project's job as running in this process (the background worker)."""
    store.path(session_id, CANCEL_FILE).unlink(missing_ok=True)
    _write(
        store,
        session_id,
        {
            "state": RUNNING,
            "kind": kind,
            "progress": 0,
            "message": "Starting",
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.time(),
        },
    )


def claim_slot(
    store: ProjectStore,
    session_id: str,
    kind: str,
    settings: Settings,
    on_wait: Callable[[str], None] | None = None,
    poll: float = 1.0,
) -> str | None:
    """Start the project's job when a fit slot is free, waiting in line for one; a message if the line is full.

    Fits take a core each and up to a few GiB, so a server runs ``settings.max_jobs`` at once (all sessions, all
    worker processes) and lets at most ``settings.max_queued`` more wait, first come first served; the waiting
    job shows its place in line and can be cancelled. The check and the start happen under a file lock shared by
    every worker process. Raises JobCancelled when the analyst cancels while waiting.
    """
    store.root.mkdir(parents=True, exist_ok=True)
    mine = store.path(session_id, STATUS_FILE)
    store.path(session_id, CANCEL_FILE).unlink(missing_ok=True)  # a cancel left by a killed job is not for this one
    queued_at = None
    while True:
        with open(store.root / "jobs.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                jobs = {path: status for path, status in _live_jobs(store) if path != mine}
                running = sum(status["state"] == RUNNING for status in jobs.values())
                waiting = [status for status in jobs.values() if status["state"] == QUEUED]
                ahead = sum(status.get("queued_at", 0) < (queued_at or float("inf")) for status in waiting)
                if running < settings.max_jobs and not ahead:
                    start_job(store, session_id, kind)
                    return None
                if queued_at is None and len(waiting) >= settings.max_queued:
                    return (
                        f"The server is busy: {running} segmentation(s) are running and {len(waiting)} waiting, "
                        f"the most it takes (SEGSTUDIO_MAX_JOBS={settings.max_jobs}, SEGSTUDIO_MAX_QUEUED="
                        f"{settings.max_queued}). Try again in a few minutes; your settings are kept."
                    )
                queued_at = queued_at or time.time()
                place = "this run is next" if not ahead else f"{ahead} waiting ahead of this one"
                message = f"Waiting for a free slot: {running} fit(s) running on this server; {place}."
                _write(
                    store,
                    session_id,
                    {
                        "state": QUEUED,
                        "kind": kind,
                        "progress": 0,
                        "message": message,
                        "pid": os.getpid(),
                        "host": socket.gethostname(),
                        "queued_at": queued_at,
                    },
                )
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        if on_wait is not None:
            on_wait(message)
        if store.path(session_id, CANCEL_FILE).exists():
            raise JobCancelled()
        time.sleep(poll)


def running_jobs(store: ProjectStore) -> int:
    """Jobs running on this server now, in every session's projects (a job whose process is gone does not count)."""
    return sum(status["state"] == RUNNING for _, status in _live_jobs(store))


def _live_jobs(store: ProjectStore) -> list[tuple[Path, dict[str, Any]]]:
    """(status file, status) of every job running or waiting for a slot, in every session's projects."""
    out = []
    for path in store.root.glob("*/projects/*/" + STATUS_FILE):
        try:
            status = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if status.get("state") in ACTIVE and _alive(status, path):
            out.append((path, status))
    return out


def job_progress(store: ProjectStore, session_id: str) -> Callable[[float, str], None]:
    """A progress callback for core/ that records progress and stops the job when a cancel was asked for."""
    last = [0.0]

    def report(fraction: float, message: str) -> None:
        if store.path(session_id, CANCEL_FILE).exists():
            raise JobCancelled()
        now = time.monotonic()
        if now - last[0] >= _WRITE_EVERY or fraction >= 1:
            last[0] = now
            _write(
                store,
                session_id,
                {**job_status(store, session_id), "progress": round(100 * fraction), "message": message},
            )

    return report


def finish_job(store: ProjectStore, session_id: str, state: str, message: str) -> None:
    """Record how the job ended: done, failed or cancelled."""
    status = job_status(store, session_id)
    _write(
        store,
        session_id,
        {
            **status,
            "state": state,
            "message": message,
            "finished": time.time(),
            "progress": 100 if state == "done" else status.get("progress", 0),
        },
    )
    store.path(session_id, CANCEL_FILE).unlink(missing_ok=True)


def request_cancel(store: ProjectStore, session_id: str) -> None:
    if job_status(store, session_id)["state"] in ACTIVE:
        store.path(session_id, CANCEL_FILE).touch()


def job_status(store: ProjectStore, session_id: str) -> dict[str, Any]:
    """The project's last job: state (idle, queued, running, done, failed, cancelled), progress 0-100, message.

    A job whose process is gone without saying how it ended (killed on cancel, or the server restarted) is reported
    as cancelled or failed, so the page never waits for it forever.
    """
    path = store.path(session_id, STATUS_FILE)
    try:
        status = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {"state": "idle", "progress": 0, "message": ""}
    if status.get("state") in ACTIVE and not _alive(status, path):
        cancelled = store.path(session_id, CANCEL_FILE).exists()
        status = {
            **status,
            "state": "cancelled" if cancelled else "failed",
            "message": "Cancelled." if cancelled else "The job stopped unexpectedly (was the server restarted?).",
        }
    return status


# A job on another machine (a Celery worker elsewhere) cannot be checked by its process id; it counts as gone when
# it has not written its status for this long (a fit reports progress every few seconds).
_SILENT_LIMIT = 3600


def _alive(status: dict[str, Any], path: Path) -> bool:
    if status.get("host", socket.gethostname()) != socket.gethostname():
        try:
            return time.time() - path.stat().st_mtime < _SILENT_LIMIT
        except OSError:
            return False
    try:
        process = psutil.Process(int(status["pid"]))
        return process.status() != psutil.STATUS_ZOMBIE
    except (psutil.Error, KeyError, TypeError, ValueError):
        return False


def _write(store: ProjectStore, session_id: str, status: dict[str, Any]) -> None:
    atomic_write_text(store.path(session_id, STATUS_FILE), json.dumps(status))
