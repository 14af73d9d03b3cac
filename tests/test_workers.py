"""The command line's worker processes: the same candidates as in one process, failures kept, nothing left behind.

Workers are forked only from a single-threaded process, and a test process has threads by the time this module
runs, so each check with a pool runs in a fresh Python process (:func:`in_fresh_process`)."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
from sklearn.datasets import make_blobs

from core import workers
from core.cli import WORKERS_FROM_BYTES
from core.errors import SegmentationError
from core.segmenter import CustomerSegmenter
from core.threads import numeric_threads
from core.workers import FitTask, fit_in_order, start_workers, stop_workers

pytestmark = pytest.mark.unit


ROOT = Path(__file__).resolve().parents[1]


def in_fresh_process(check: str) -> None:
    """Run the function ``check`` of this module in a new Python process; its assertions decide the test."""
    done = subprocess.run(
        [sys.executable, "-c", f"from tests.test_workers import {check}; {check}()"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]


@contextmanager
def pool() -> Iterator[None]:
    """Two forked workers, ended afterwards; none may outlive it."""
    with numeric_threads(openmp=2):
        start_workers()
        assert len(workers._WORKERS) == 2, "the process must fork its two workers"
        forked = [psutil.Process(worker.pid) for worker in workers._WORKERS]
        try:
            yield
        finally:
            stop_workers()
    # by process id: the pool's own thread may reap a dead worker first, and Process.is_alive then still says True
    assert not any(worker.is_running() and worker.status() != psutil.STATUS_ZOMBIE for worker in forked)


def blobs_table(n: int = 3_000) -> tuple[pd.DataFrame, dict[str, str]]:
    X, _ = make_blobs(n_samples=n, centers=4, n_features=8, random_state=2)
    table = pd.DataFrame(X, columns=[f"x{i}" for i in range(8)])
    return table, {c: "numeric" for c in table}


def fit(table: pd.DataFrame, roles: dict[str, str]) -> CustomerSegmenter:
    return CustomerSegmenter(roles=roles, algorithms=["kmeans", "gmm", "hdbscan"], k_min=2, k_max=6).fit(table)


def test_candidates_fitted_in_workers_are_those_fitted_in_one_process():
    in_fresh_process("same_candidates_with_and_without_workers")


def same_candidates_with_and_without_workers() -> None:
    table, roles = blobs_table()
    assert table.size >= workers.MIN_CELLS  # big enough to be sent to the workers
    with pool():
        in_workers = fit(table, roles)
    alone = fit(table, roles)
    columns = ["algorithm", "params", "n_clusters", "silhouette", "dbcv", "stability", "selected"]
    pd.testing.assert_frame_equal(in_workers.leaderboard_[columns], alone.leaderboard_[columns])
    assert (in_workers.labels_ == alone.labels_).all() and in_workers.n_clusters_ == 4
    assert in_workers.stability_.per_segment == alone.stability_.per_segment
    assert in_workers.selection_.evidence == alone.selection_.evidence  # the gap statistic, measured beside the sweep


def test_a_fit_that_fails_in_a_worker_comes_back_as_its_error_in_order():
    in_fresh_process("a_failed_fit_comes_back_in_order")


def a_failed_fit_comes_back_in_order() -> None:
    Z = np.random.default_rng(0).normal(size=(3_000, 8))
    tasks = [
        [FitTask("kmeans", {"n_init": 1}, 3, None)],
        [FitTask("kmeans", {"n_init": 1}, 50, np.arange(10))],  # more segments than fitted customers
        [FitTask("gmm", {"covariance_type": "full", "n_init": 1, "merge": "none"}, 2, None)],
    ]
    with pool():
        first, failed, last = fit_in_order(tasks, Z, seed=0)
    assert len(np.unique(first.labels)) == 3 and first.error is None
    assert isinstance(failed.error, ValueError) and failed.labels is None
    assert len(np.unique(last.labels)) == 2


@pytest.mark.slow  # a real process, interrupted in the middle of its sweep
def test_an_interrupted_run_says_so_in_one_line_and_leaves_no_worker_behind(tmp_path):
    table, _ = blobs_table(20_000)
    data = tmp_path / "customers.csv"
    table.to_csv(data, index=False)
    assert data.stat().st_size >= WORKERS_FROM_BYTES
    command = [sys.executable, "-m", "core.cli", "-v", "run", str(data), "--out", str(tmp_path / "out")]
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True) as process:
        assert process.stderr is not None
        seen = []
        for line in process.stderr:  # the sweep has started when a fit is reported
            seen.append(line)
            if "Fitting" in line:
                break
        forked = psutil.Process(process.pid).children()
        assert len(forked) == 2, seen
        process.send_signal(signal.SIGINT)
        rest = process.stderr.read()
        assert process.wait(timeout=60) == 130
    assert rest.strip().splitlines()[-1] == "segment: interrupted" and "Traceback" not in rest
    assert not any(worker.is_running() and worker.status() != psutil.STATUS_ZOMBIE for worker in forked)


def test_a_worker_that_dies_ends_the_run_with_a_clear_message():
    in_fresh_process("a_dead_worker_gives_a_clear_message")


def a_dead_worker_gives_a_clear_message() -> None:
    Z = np.random.default_rng(0).normal(size=(3_000, 8))
    tasks = [[FitTask("kmeans", {"n_init": 1}, k, None)] for k in (2, 3, 4)]
    with pool():
        workers._WORKERS[0].kill()  # as the kernel's out-of-memory killer would
        workers._WORKERS[0].join()
        with pytest.raises(SegmentationError, match="ended unexpectedly .* SEGSTUDIO_WORKERS=0"):
            list(fit_in_order(tasks, Z, seed=0))
