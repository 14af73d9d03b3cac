"""The one way a project's background job runs: every Run, "Use selected model" and UMAP map goes through here.

It refuses a second job on the same project, takes a fit slot (waiting in line, cancellable), sizes the thread pools
to one core per job, records progress, honours a cancel at every progress step, and always ends the
job as done, failed or cancelled with a message: never an exception in the page. The server log gets each job's
start, end and duration, and a failure's traceback, with the project id and never data values.

Thread pools: BLAS on one thread (core.threads), and OpenMP on one thread too: a job is a process forked from a
worker that may already have started OpenMP's pool, and GNU OpenMP deadlocks when a forked child starts a parallel
region (seen: a KMeans fit that never returned). Each job then keeps to one core, so max_jobs fits at once on as
many cores do not slow each other down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.errors import SegmentationError
from core.segmenter import Progress
from core.threads import numeric_threads
from dashboard.jobs import ACTIVE, JobCancelled, claim_slot, finish_job, job_progress, job_status
from dashboard.session import request_session
from dashboard.settings import load_settings
from dashboard.store import ProjectStore, project_store

log = logging.getLogger("segstudio.jobs")
KINDS = {
    "run": "segmentation run",
    "choose": "refit of the chosen model",
    "umap": "UMAP map",
    "load": "database load",
}
UNEXPECTED = "The job failed on the server (the error was logged for the operator); the previous result is kept."


@dataclass(frozen=True)
class Outcome:
    """How a job ended: ``done``, ``failed``, ``cancelled``, ``busy`` (the server's line is full) or ``refused``
    (this project already has a job), with the message for the analyst."""

    state: str
    message: str

    @property
    def done(self) -> bool:
        return self.state == "done"


@dataclass(frozen=True)
class Job:
    """What a callback hands the runner: the job's session and project store, to use inside ``work``."""

    session: str
    store: ProjectStore


def run_project_job(
    kind: str,
    work: Callable[[Job, Progress], str],
    on_wait: Callable[[str], None] | None = None,
    on_progress: Callable[[float, str], None] | None = None,
) -> Outcome:
    """Run ``work(job, progress)`` as the current session's project job; it returns the message of a job done.

    ``work`` saves what it made itself, after its last progress call (a cancel seen there leaves nothing saved).
    ``on_wait`` hears the place in line while the job waits for a slot; ``on_progress`` every progress step.
    """
    session, store, settings = request_session(), project_store(), load_settings()
    status = job_status(store, session)
    if status["state"] in ACTIVE:
        what = KINDS.get(status.get("kind", ""), "job")
        return Outcome(
            "refused",
            f"A {what} is already going (or waiting) for this project; wait for it or cancel it on the Model page.",
        )
    project = store.current_project(session)
    started = time.monotonic()
    try:
        busy = claim_slot(store, session, kind, settings, on_wait=on_wait)
        if busy:
            return Outcome("busy", busy)
        log.info("job started: %s, project %s", kind, project)
        record = job_progress(store, session)

        def report(fraction: float, message: str) -> None:
            record(fraction, message)
            if on_progress is not None:
                on_progress(fraction, message)

        with numeric_threads(openmp=1):  # see the module's note on thread pools
            message = work(Job(session, store), report)
    except JobCancelled:
        finish_job(store, session, "cancelled", "Cancelled; the previous result is kept.")
        log.info("job cancelled: %s, project %s, after %.1f s", kind, project, time.monotonic() - started)
        return Outcome("cancelled", "Cancelled; the previous result is kept.")
    except SegmentationError as exc:
        finish_job(store, session, "failed", str(exc))
        log.info("job failed on its input: %s, project %s, after %.1f s", kind, project, time.monotonic() - started)
        return Outcome("failed", str(exc))
    except Exception:  # noqa: BLE001  (the job ends with a message; the traceback goes to the log)
        log.exception("job failed: %s, project %s, after %.1f s", kind, project, time.monotonic() - started)
        finish_job(store, session, "failed", UNEXPECTED)
        return Outcome("failed", UNEXPECTED)
    finish_job(store, session, "done", message)
    log.info("job done: %s, project %s, in %.1f s", kind, project, time.monotonic() - started)
    return Outcome("done", message)
