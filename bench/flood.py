"""python -m bench.flood [--seconds 30] [--flood-threads 8] [--rows 200000]: one session floods, others stay served?

Starts the app under gunicorn (4 workers x 2 threads) twice: with the per-session bound as shipped
(SEGSTUDIO_SESSION_REQUESTS=3) and with it lifted (1000). Each time, observer sessions send a light request (the Model
page's job poll) every 0.2 s, first on a quiet server, then while one session sends heavy requests (the Explore
page's statistics of its 200,000-row table) from many threads as fast as it can. Prints the observers' latency
(median, p95) quiet and flooded, and how many of the flood's requests ran or were refused (429), for both servers.
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import threading
import time

from bench.dash_client import DashClient, DashError
from bench.load import gunicorn
from core.demo import make_demo_customers


def _light(client: DashClient) -> None:
    client.call("model-job-poll.n_intervals", 1, output="seg-progress")


def _heavy(client: DashClient) -> None:
    client.call("explore-init.data", 1, output="explore-note")


def _observe(url: str, stop: threading.Event, out: list[float]) -> None:
    client = DashClient(url, timeout=120)
    while not stop.is_set():
        started = time.perf_counter()
        _light(client)
        out.append(time.perf_counter() - started)
        stop.wait(0.2)


def _flood(client: DashClient, stop: threading.Event, counts: dict[str, int], lock: threading.Lock) -> None:
    while not stop.is_set():
        try:
            _heavy(client)
            outcome = "ran"
        except DashError as error:
            outcome = "refused (429)" if error.status == 429 else f"failed ({error.status})"
            if error.status == 429:
                time.sleep(0.05)
        with lock:
            counts[outcome] = counts.get(outcome, 0) + 1


def _phase(url: str, observers: int, seconds: float, flooder: DashClient | None, threads: int):
    stop, latencies = threading.Event(), [[] for _ in range(observers)]
    counts: dict[str, int] = {}
    lock = threading.Lock()
    workers = [threading.Thread(target=_observe, args=(url, stop, latencies[i])) for i in range(observers)]
    if flooder is not None:
        workers += [threading.Thread(target=_flood, args=(flooder, stop, counts, lock)) for _ in range(threads)]
    for worker in workers:
        worker.start()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join()
    times = sorted(t for series in latencies for t in series[1:])  # each observer's first call opens its session
    return times, counts


def _summary(times: list[float]) -> str:
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    return f"median {statistics.median(times):.3f} s, p95 {p95:.3f} s ({len(times)} requests)"


def measure(slots: int, args) -> tuple[list[float], list[float], dict[str, int]]:
    os.environ["SEGSTUDIO_SESSION_REQUESTS"] = str(slots)  # read by the server started next
    os.environ["SEGSTUDIO_SESSION_WAIT"] = str(args.wait)
    with gunicorn(4, 2, 2, 20) as (url, _pid):
        flooder = DashClient(url, timeout=300)
        table = make_demo_customers(n_customers=args.rows, random_state=1)
        encoded = base64.b64encode(table.to_csv(index=False).encode()).decode()
        flooder.call(
            "data-upload.contents",
            "data:text/csv;base64," + encoded,
            output="data-version",
            values={"data-upload.filename": "flood.csv"},
        )
        quiet, _ = _phase(url, args.observers, args.seconds / 2, None, 0)
        flooded, counts = _phase(url, args.observers, args.seconds, flooder, args.flood_threads)
    return quiet, flooded, counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.flood", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30, help="length of the flood (the quiet phase is half)")
    parser.add_argument("--flood-threads", type=int, default=8)
    parser.add_argument("--observers", type=int, default=3)
    parser.add_argument("--rows", type=int, default=200_000, help="customers in the flooding session's table")
    parser.add_argument("--slots", type=int, default=3, help="SEGSTUDIO_SESSION_REQUESTS with the bound on")
    parser.add_argument("--wait", type=float, default=1.0, help="SEGSTUDIO_SESSION_WAIT of both servers")
    args = parser.parse_args(argv)
    results = {}
    on_label, off_label = f"bound on ({args.slots} per session)", "bound off (1000 per session)"
    for label, slots in ((on_label, args.slots), (off_label, 1000)):
        results[label] = measure(slots, args)
    print(
        f"one session floods with {args.flood_threads} threads of Explore statistics on {args.rows:,} customers; "
        f"{args.observers} other sessions poll their job every 0.2 s (gunicorn 4 workers x 2 threads)"
    )
    for label, (quiet, flooded, counts) in results.items():
        print(
            f"{label}: others' light request quiet {_summary(quiet)}; flooded {_summary(flooded)}; "
            f"flood requests: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        )
    on, off = results[on_label][1], results[off_label][1]
    p95 = lambda t: t[min(len(t) - 1, int(0.95 * len(t)))]  # noqa: E731
    print(f"p95 while flooded, bound off / bound on: {p95(off) / p95(on):.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
