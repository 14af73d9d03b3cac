"""python -m bench.steps FILE [--algorithms kmeans,hdbscan,gmm]: where a `segment run` spends its time and memory.

Runs the run's steps in this process and prints, per step (each progress message of the run counts as a step), the
wall seconds and the process's resident memory at its end and at its peak (sampled every 0.05 s).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import psutil

from core.bundle import SourceRecord
from core.config import RunConfig
from core.exports import write_outputs
from core.pipeline import run_segmentation
from core.readers import read_table
from core.threads import numeric_threads
from core.workers import start_workers


class StepClock:
    """Prints each step's duration and memory as the next one starts."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = 0
        self.step, self.started = "start", time.perf_counter()
        self.first = self.started
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        while True:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.05)

    def __call__(self, _fraction: float, message: str) -> None:
        now = time.perf_counter()
        rss = self.process.memory_info().rss
        print(
            f"{now - self.started:8.1f} s  {rss / 2**30:6.2f} GiB now  {self.peak / 2**30:6.2f} GiB peak  {self.step}",
            flush=True,
        )
        self.step, self.started, self.peak = message, now, rss

    def total(self) -> None:
        self("", "end")
        print(f"{time.perf_counter() - self.first:8.1f} s in all")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.steps")
    parser.add_argument("data")
    parser.add_argument("--algorithms", default=None)
    args = parser.parse_args()
    with numeric_threads():  # the thread pools and worker processes `segment run` uses
        start_workers()  # before the clock's thread: workers are forked from a single thread only
        clock = StepClock()
        clock(0, f"Reading {args.data}")
        table = read_table(Path(args.data))
        config = RunConfig(algorithms=args.algorithms.split(",")) if args.algorithms else RunConfig()
        result = run_segmentation(table, config, progress=clock)
        clock(1, "Writing the outputs")
        with tempfile.TemporaryDirectory() as out:
            write_outputs(out, table, result, SourceRecord(file=Path(args.data).name, rows=len(table)))
            clock.total()


if __name__ == "__main__":
    main()
