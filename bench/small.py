"""python -m bench.small [FILE ...]: the default run on small real files, against the 5 s target and the estimate.

Without arguments: every real dataset of tests/data under 10,000 rows, the built-in demo customers and a table shaped
like the held-out marketing-campaign file (bench.data.campaign_customers). Prints,
per file, its shape, the Model page's estimate, the measured wall time of `segment run` (a fresh process, as a user
runs it; reading and writing included) and its peak memory.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench import tree_memory
from bench.data import campaign_customers
from core.config import DEFAULT_ALGORITHMS, RunConfig
from core.demo import make_demo_customers
from core.estimate import estimate_run, model_features
from core.explore import column_profile
from core.readers import read_table
from core.roles import feature_columns, infer_roles

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 5.0
MAX_ROWS = 10_000


def small_files(folder: Path) -> list[Path]:
    files = [Path(p) for p in sorted(folder.glob("*/*")) if p.suffix.lower() in (".csv", ".txt", ".xlsx", ".parquet")]
    return [p for p in files if len(read_table(p)) < MAX_ROWS]


def measure(path: Path) -> tuple[float, float]:
    """Wall seconds and peak resident memory (GiB) of `segment run PATH` in a fresh process."""
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        process = psutil.Popen([sys.executable, "-m", "core.cli", "-q", "run", str(path), "--out", out])
        peak = 0
        while process.poll() is None:
            peak = max(peak, tree_memory(process))
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        if process.returncode != 0:
            raise SystemExit(f"segment run failed on {path} (exit {process.returncode})")
    return seconds, peak / 2**30


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.small")
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        files = args.files or small_files(ROOT / "tests" / "data")
        if not args.files:
            demo = Path(work) / "demo customers.csv"
            make_demo_customers().to_csv(demo, index=False)
            campaign = Path(work) / "marketing campaign (synthetic).csv"
            campaign_customers().to_csv(campaign, index=False)
            files += [demo, campaign]
        print(f"{'file':<34} {'rows':>6} {'cols':>5} {'feat':>5} {'estimate':>9} {'measured':>9} {'ratio':>6} "
              f"{'peak GiB':>9} {'<= 5 s':>7}")  # fmt: skip
        config = RunConfig()
        for path in files:
            table = read_table(path)
            roles = infer_roles(table)
            columns = feature_columns(roles, None)
            distinct = {c["column"]: c["distinct"] for c in column_profile(table)}
            features = model_features(distinct, roles, columns)
            estimate = estimate_run(len(table), features, list(DEFAULT_ALGORITHMS), config.k_min, config.k_max)
            seconds, gib = measure(path)
            print(
                f"{path.name[:34]:<34} {len(table):>6,} {table.shape[1]:>5} {features:>5} {estimate.seconds:>8.1f}s "
                f"{seconds:>8.1f}s {seconds / estimate.seconds:>6.2f} {gib:>9.2f} "
                f"{'yes' if seconds <= TARGET_SECONDS else 'no':>7}",
                flush=True,
            )
    print(f"{os.cpu_count()} cores; each file measured once, in a fresh process (reading and writing included)")


if __name__ == "__main__":
    main()
