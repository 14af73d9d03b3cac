"""The sweep's candidate fits in worker processes, where the run may use more than one core (the command line).

The fits are independent, and threads do not run them side by side: HDBSCAN holds the GIL, and a mixture's EM is
many small numpy calls (nine mixtures on 8,950 x 17 took 1.04 s on two threads against 1.28 s on one). Processes
do. They are forked by :func:`start_workers` when the command starts, where a spawned worker would take about
1.3 s to import the engine. Each worker keeps BLAS and OpenMP to one thread: GNU OpenMP deadlocks when a child
forked after its parent started OpenMP's pool starts a parallel region of its own (see dashboard.runner). The
feature matrix reaches them memory-mapped from one file, not copied per fit. Where there are no workers (the app's
jobs, one core, a platform without fork, a small table), the fits run in the caller's process.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from threadpoolctl import threadpool_limits

from core.algorithms import fit_labels, get_algorithm, shared_hdbscan_trees
from core.errors import SegmentationError
from core.threads import parallel_threads

R = TypeVar("R")
MIN_CELLS = 20_000  # customers x features below which a sweep is quicker in one process
_POOL: list[ProcessPoolExecutor] = []
_WORKERS: list[multiprocessing.process.BaseProcess] = []
# Relative cost of a fit, per segment (k-based algorithms; the others' fits count as four segments), from the
# benchmark tables: a mixture's EM is slower than KMeans, and an HDBSCAN sweep's first fit builds the spanning tree.
_COST = {"kmeans": 1.0, "minibatch_kmeans": 1.0, "bisecting_kmeans": 1.0, "birch": 1.0, "gmm": 3.0, "hdbscan": 6.0}


@dataclass(frozen=True)
class FitTask:
    """One candidate: an algorithm, its parameters, the swept value for the fitted rows, those rows (None: all),
    and its seed (None: the run's)."""

    algorithm: str
    params: dict[str, Any]
    value: Any
    fit_rows: np.ndarray | None
    seed: int | None = None


@dataclass(frozen=True)
class FitOutcome:
    """A fitted candidate (model, labels of every row, assigner, seconds), or the error that stopped it."""

    model: Any = None
    labels: np.ndarray | None = None
    assigner: Any = None
    seconds: float = 0.0
    error: Exception | None = None


def start_workers() -> None:
    """Fork the worker processes now, while nothing has started OpenMP (the command line, at its start): as many
    as the run's threads, or ``SEGSTUDIO_WORKERS`` (0: none; at most one per core)."""
    threads = parallel_threads()
    wanted = os.environ.get("SEGSTUDIO_WORKERS", "").strip()
    if wanted.isdigit():
        threads = min(int(wanted), os.cpu_count() or 1)  # more workers than cores only compete for them
    # Forked from a single thread only: a lock another thread held at the fork would stay locked in the worker.
    alone = threading.active_count() == 1
    if threads > 1 and alone and not _POOL and "fork" in multiprocessing.get_all_start_methods():
        before = set(multiprocessing.active_children())
        pool = ProcessPoolExecutor(threads, mp_context=multiprocessing.get_context("fork"), initializer=_worker_setup)
        pool.submit(os.getpid)  # with fork, the pool starts every worker at its first task
        _POOL.append(pool)
        _WORKERS.extend(set(multiprocessing.active_children()) - before)


def stop_workers() -> None:
    """End the workers at once, even in the middle of a fit (the command is done, or was interrupted)."""
    for pool in _POOL:
        pool.shutdown(wait=False, cancel_futures=True)
    for worker in _WORKERS:
        worker.terminate()
        worker.join()
    _POOL.clear()
    _WORKERS.clear()


def submit(work: Callable[..., R], *args: Any) -> Future[R] | None:
    """``work(*args)`` started in a worker, to run beside the caller's own work; None where there are no workers."""
    return _POOL[0].submit(work, *args) if _POOL else None


def fit_in_order(batches: list[list[FitTask]], Z: np.ndarray, seed: int) -> Iterator[FitOutcome]:
    """Fit every task, yielding outcomes in the tasks' order. The tasks of one batch run one after another in one
    process (HDBSCAN's sizes, which share a spanning tree); in workers, the longest batches go first."""
    with shared_hdbscan_trees() as folder:
        if not _POOL or Z.size < MIN_CELLS or len(batches) < 2:
            for batch in batches:
                yield from fit_batch(batch, Z, seed, folder)
            return
        matrix = Path(folder) / "features.npy"
        np.save(matrix, Z)
        longest_first = sorted(range(len(batches)), key=lambda i: -_expected_cost(batches[i]))
        futures: dict[Future, int] = {}
        done: dict[int, list[FitOutcome]] = {}
        following = 0
        try:
            for i in longest_first:
                futures[_POOL[0].submit(_fit_batch_in_worker, batches[i], str(matrix), seed, folder)] = i
            for future in as_completed(futures):
                done[futures[future]] = future.result()
                while following in done:
                    yield from done.pop(following)
                    following += 1
        except BrokenProcessPool:
            raise SegmentationError(
                "A worker process fitting the candidates ended unexpectedly (out of memory?). Run again with "
                "SEGSTUDIO_WORKERS=0 to fit in one process."
            ) from None
        finally:
            for future in futures:  # a cancelled run leaves no fits queued
                future.cancel()


def _expected_cost(batch: list[FitTask]) -> float:
    """A rough relative cost of a batch, to start the longest first (the last fit to finish ends the sweep)."""
    total = 0.0
    for task in batch:
        spec = get_algorithm(task.algorithm)
        total += _COST.get(task.algorithm, 2.0) * (int(task.value) if spec.sweep == "k" else 4)
    return total


def fit_batch(tasks: list[FitTask], Z: np.ndarray, seed: int, tree_folder: str) -> list[FitOutcome]:
    """Fit tasks one after another."""
    outcomes = []
    with shared_hdbscan_trees(tree_folder):
        for task in tasks:
            started = time.perf_counter()
            try:
                model, labels, assigner = fit_labels(
                    get_algorithm(task.algorithm),
                    task.params,
                    task.value,
                    Z,
                    seed if task.seed is None else task.seed,
                    task.fit_rows,
                )
            except (ValueError, MemoryError, np.linalg.LinAlgError) as exc:
                outcomes.append(FitOutcome(error=exc))
                continue
            outcomes.append(FitOutcome(model, labels, assigner, time.perf_counter() - started))
    return outcomes


def _fit_batch_in_worker(tasks: list[FitTask], matrix: str, seed: int, tree_folder: str) -> list[FitOutcome]:
    return fit_batch(tasks, _mapped(matrix), seed, tree_folder)


@lru_cache(maxsize=1)
def _mapped(matrix: str) -> np.ndarray:
    """The feature matrix, memory-mapped once per worker and sweep (each sweep writes a file of its own)."""
    return np.load(matrix, mmap_mode="c")  # copy-on-write: some fits write to their input


def _worker_setup() -> None:
    """One thread each; an interrupt is the command's to handle (a worker would print a traceback)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threadpool_limits(limits=1)
