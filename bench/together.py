"""python -m bench.together [FILE] [--counts 1,2,4]: default runs side by side, against one run alone.

Starts 1, 2 and 4 `segment run` processes at once on the same file (by default the marketing-campaign-shaped table,
2,240 customers x 29 columns) and prints each count's mean wall time and its ratio to the run alone. On 2 cores,
two runs at once should each take at most 2.5x the time alone, four proportionally more (issue 18): thread pools
sized to each process's share, not spinning as if each owned every core.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.data import campaign_customers


def side_by_side(path: Path, count: int) -> list[float]:
    """Wall seconds of each of ``count`` runs started together."""
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "core.cli", "-q", "run", str(path), "--out", f"{out}/{i}"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for i in range(count)
        ]
        seconds = []
        for process in processes:
            _, error = process.communicate()
            if process.returncode:
                raise SystemExit(f"segment run failed (exit {process.returncode}): {error.decode()[-300:]}")
            seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.together")
    parser.add_argument("file", nargs="?", type=Path)
    parser.add_argument("--counts", default="1,2,4")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        path = args.file
        if path is None:
            path = Path(work) / "campaign.csv"
            campaign_customers().to_csv(path, index=False)
        alone = None
        print(f"{'runs at once':>12} {'mean wall':>10} {'slowest':>8} {'x alone':>8}")
        for count in (int(c) for c in args.counts.split(",")):
            seconds = side_by_side(path, count)
            mean = sum(seconds) / len(seconds)
            alone = alone or mean
            print(f"{count:>12} {mean:>9.1f}s {max(seconds):>7.1f}s {mean / alone:>8.2f}", flush=True)
    print(f"{os.cpu_count()} cores; {path.name}; each run a fresh process (reading and writing included)")


if __name__ == "__main__":
    main()
