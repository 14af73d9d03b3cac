"""python -m bench.load [--analysts 20] [--rows 20000] [--workers 4] [--url URL]: many analysts on one server.

Starts the app under gunicorn on 127.0.0.1 (or uses ``--url``) and lets ``--analysts`` simulated analysts, each in
their own session and thread, at once: open the app, upload their own CSV, run a segmentation (waiting in the
server's line for a free slot, or retrying when the line is full and the server answers "busy"), and download
their labelled customers and segment summary, checking they got their own rows back. Speaks Dash's callback
protocol over HTTP, as the browser does (bench/dash_client.py).

Prints, per step, the requests, how many succeeded, were answered "busy" or failed, and their latencies; the jobs
asked for, done and lost; and the peak memory of the server's processes. Exits 1 when a request failed, a job was
lost, an analyst got someone else's data, or memory went above ``--max-memory-gb``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import psutil
import requests

from bench.dash_client import DashClient
from core.demo import make_demo_customers

STEPS = ("open", "upload", "run", "download")
BUSY = "The server is busy"


@dataclass
class Tally:
    """What every analyst saw, step by step (appended to from many threads under one lock)."""

    seconds: dict[str, list[float]] = field(default_factory=lambda: {step: [] for step in STEPS})
    busy: dict[str, int] = field(default_factory=lambda: {step: 0 for step in STEPS})
    failures: list[str] = field(default_factory=list)
    jobs_done: int = 0
    wrong_data: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, step: str, started: float) -> None:
        with self.lock:
            self.seconds[step].append(time.perf_counter() - started)

    def failed(self, analyst: int, step: str, error: Exception) -> None:
        with self.lock:
            self.failures.append(f"analyst {analyst}, {step}: {type(error).__name__}: {str(error)[:200]}")


def analyst_file(analyst: int, rows: int) -> pd.DataFrame:
    """Each analyst's own customers (a different seed, and an id range nobody else has)."""
    table = make_demo_customers(n_customers=rows, random_state=analyst)
    return table.assign(customer_id=[f"A{analyst:02d}-{i:07d}" for i in range(rows)])


def simulate(analyst: int, url: str, rows: int, tally: Tally, deadline: float) -> None:
    """One analyst's visit: open, upload, run until admitted and done, download; every outcome goes to ``tally``."""
    step = "open"
    try:
        started = time.perf_counter()
        client = DashClient(url, timeout=300)
        tally.timed(step, started)

        step = "upload"
        table = analyst_file(analyst, rows)
        encoded = base64.b64encode(table.to_csv(index=False).encode()).decode()
        started = time.perf_counter()
        answer = client.call(
            "data-upload.contents",
            "data:text/csv;base64," + encoded,
            output="data-version",
            values={"data-upload.filename": f"analyst-{analyst}.csv"},
        )
        tally.timed(step, started)
        if answer["response"]["data-alert"]["children"] is not None:
            raise RuntimeError(f"upload refused: {answer['response']['data-alert']['children']}")

        step = "run"
        started = time.perf_counter()
        while True:
            answer = client.call(
                "seg-run.n_clicks",
                1,
                output="model-token",
                poll_every=1.0,
                values={
                    "seg-k-range.value": [2, 8],
                    "seg-algorithms.value": ["kmeans", "gmm"],
                    "seg-criterion.value": "silhouette",
                },
            )
            status = json.dumps((answer or {}).get("response", {}).get("seg-run-status", {}))
            if BUSY not in status:
                break
            with tally.lock:
                tally.busy[step] += 1
            if time.monotonic() > deadline:
                raise TimeoutError("still busy at the deadline")
            time.sleep(random.uniform(2, 5))  # what an analyst told "try again in a minute" does, quicker
        if "model-token" not in (answer or {}).get("response", {}):
            raise RuntimeError(f"the run did not finish: {json.dumps(answer)[:500]}")  # the whole answer, to see why
        tally.timed(step, started)
        with tally.lock:
            tally.jobs_done += 1

        step = "download"
        started = time.perf_counter()
        files = {}
        for name in ("labelled_customers.csv", "segments.csv"):
            button = {"file": name, "type": "export-button"}
            answer = client.call(json.dumps(button) + ".n_clicks", [(button, 1)], output="export-download")
            files[name] = pd.read_csv(io.StringIO(answer["response"]["export-download"]["data"]["content"]))
        tally.timed(step, started)
        labelled = files["labelled_customers.csv"]
        if len(labelled) != rows or not labelled["customer_id"].astype(str).str.startswith(f"A{analyst:02d}-").all():
            with tally.lock:
                tally.wrong_data += 1
    except Exception as error:  # noqa: BLE001  (every failure is counted and printed, none stops the others)
        tally.failed(analyst, step, error)


class MemoryWatch(threading.Thread):
    """Peak memory of a process and all its descendants (gunicorn's workers and their background jobs).

    Proportional set size: a forked job shares most of its pages with its worker, and summing resident sizes would
    count those pages once per process.
    """

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stopped = pid, 0, threading.Event()

    def run(self) -> None:
        root = psutil.Process(self.pid)
        while not self.stopped.wait(0.2):
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.Error:
                return
            total = 0
            for process in tree:
                with contextlib.suppress(psutil.Error):
                    total += process.memory_full_info().pss
            self.peak = max(self.peak, total)


@contextlib.contextmanager
def gunicorn(workers: int, threads: int, max_jobs: int, max_queued: int):
    """The app under gunicorn on a free local port with a fresh data folder; yields (url, pid)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = tempfile.mkdtemp(prefix="segstudio-load-")
    env = {
        **os.environ,
        "SEGSTUDIO_DATA_DIR": data,
        "SEGSTUDIO_MAX_JOBS": str(max_jobs),
        "SEGSTUDIO_MAX_QUEUED": str(max_queued),
    }
    log = open(Path(data) / "server.log", "w+")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "app:server",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            "300",
        ],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=10).status_code == 200:
                break
        if process.poll() is not None:
            break
        time.sleep(0.3)
    else:
        process.kill()
    try:
        if process.poll() is not None:
            log.seek(0)
            raise SystemExit(f"the app server did not start:\n{log.read()[-3000:]}")
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


def report(tally: Tally, analysts: int, wall: float, peak: int) -> list[str]:
    lines = [
        f"{'step':<9} {'requests':>8} {'ok':>4} {'busy':>5} {'failed':>6} {'median s':>9} {'p95 s':>7} {'max s':>7}"
    ]
    for step in STEPS:
        times = sorted(tally.seconds[step])
        failed = sum(f", {step}:" in line for line in tally.failures)
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))] if times else float("nan")
        median = statistics.median(times) if times else float("nan")
        lines.append(
            f"{step:<9} {len(times) + failed + tally.busy[step]:>8} {len(times):>4} "
            f"{tally.busy[step]:>5} {failed:>6} {median:>9.2f} {p95:>7.2f} "
            f"{max(times) if times else float('nan'):>7.2f}"
        )
    lost = analysts - tally.jobs_done
    lines.append(
        f"jobs: {analysts} asked, {tally.jobs_done} done, {lost} lost; "
        f"busy answers: {tally.busy['run']} (each retried); analysts given other data: {tally.wrong_data}"
    )
    lines.append(
        f"peak memory of the server's processes (proportional set size): {peak / 2**30:.2f} GiB; wall time {wall:.1f} s"
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--analysts", type=int, default=20)
    parser.add_argument("--rows", type=int, default=20_000, help="customers in each analyst's file")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
    parser.add_argument("--max-jobs", type=int, default=2, help="SEGSTUDIO_MAX_JOBS of the started server")
    parser.add_argument("--max-queued", type=int, default=20, help="SEGSTUDIO_MAX_QUEUED of the started server")
    parser.add_argument("--max-memory-gb", type=float, default=8.0)
    parser.add_argument("--minutes", type=float, default=30, help="give up on busy answers after this long")
    parser.add_argument("--url", help="an app already running (memory is then not measured)")
    parser.add_argument(
        "--flood",
        action="store_true",
        help="instead: one session floods while others' light requests are timed (bench.flood)",
    )
    args, rest = parser.parse_known_args(argv)
    if args.flood:
        from bench.flood import main as flood

        return flood(rest)

    with contextlib.ExitStack() as stack:
        if args.url:
            url, pid = args.url, None
        else:
            url, pid = stack.enter_context(gunicorn(args.workers, args.threads, args.max_jobs, args.max_queued))
        watch = MemoryWatch(pid) if pid else None
        if watch:
            watch.start()
        tally = Tally()
        deadline = time.monotonic() + 60 * args.minutes
        started = time.perf_counter()
        threads = [
            threading.Thread(target=simulate, args=(n, url, args.rows, tally, deadline)) for n in range(args.analysts)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        peak = watch.peak if watch else 0
        if watch:
            watch.stopped.set()
    print(
        f"{args.analysts} analysts at once, {args.rows:,} customers each; gunicorn {args.workers} workers x "
        f"{args.threads} threads; at most {args.max_jobs} fits at once and {args.max_queued} waiting"
    )
    print("\n".join(report(tally, args.analysts, wall, peak)))
    for line in tally.failures:
        print("FAILED", line)
    healthy = (
        not tally.failures
        and tally.jobs_done == args.analysts
        and not tally.wrong_data
        and peak <= args.max_memory_gb * 2**30
    )
    return 0 if healthy else 1


if __name__ == "__main__":
    raise SystemExit(main())
