"""python -m bench [--cases rfm5m,mixed1m,reference,wide300,wide100k,spark20m,spark5m] [--scale 0.1] [--data DIR]

Prints one row per case: wall seconds, peak memory (PSS of the process tree, sampled every 0.1 s), the Model
page's estimate and, for the reference case, the speed-up over a seed-style pipeline (sklearn defaults, full-data
silhouette for every k).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

from bench import tree_memory
from bench.data import cached_csv, mixed_customers, rfm_customers, rfm_groups, wide_customers
from bench.spark import spark_cases

TARGETS = {
    "rfm5m": "<= 25 s",
    "mixed1m": "<= 45 s",
    "reference": ">= 50x, same k",
    "wide300": "<= 30 s, <= 1.5 GiB",
    "wide100k": "<= 90 s, <= 3 GiB",
    "spark20m": "completes; Python peak <= 1.5 GiB",
    "spark5m": "both engines; Spark expected slower on one machine",
}
WIDE = {"wide300": (300, 1_999), "wide100k": (100_000, 500)}  # rows, columns (an id column besides)


def estimated(path: Path, rows: int) -> float:
    """The Model page's estimate for the file (roles and distinct values from its first 20,000 rows)."""
    from core.config import DEFAULT_ALGORITHMS, RunConfig
    from core.estimate import estimate_run, model_features
    from core.roles import feature_columns, infer_roles

    head = pd.read_csv(path, nrows=20_000)
    roles = infer_roles(head)
    columns = feature_columns(roles, None)
    features = model_features({c: head[c].nunique() for c in head}, roles, columns)
    config = RunConfig()
    return estimate_run(rows, features, list(DEFAULT_ALGORITHMS), config.k_min, config.k_max).seconds


def measured(command: list[str]) -> tuple[float, float, int]:
    """Run a command; (wall seconds, peak memory in GiB of it and its children (bench.tree_memory), exit code)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    watched = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        peak = max(peak, tree_memory(watched))
        time.sleep(0.1)
    wall = time.perf_counter() - start
    if process.returncode:
        print(process.stderr.read().decode()[-500:], file=sys.stderr)
    return wall, peak / 2**30, process.returncode


def segment_run(data: Path, out: Path, *extra: str) -> tuple[float, float, int]:
    return measured([sys.executable, "-m", "core.cli", "run", str(data), "--out", str(out), *extra])


def reference_pipeline(path: Path) -> tuple[float, int, np.ndarray]:
    """What a notebook would do: scale, KMeans with defaults for k = 2..10, full-data silhouette, best k (and its
    labels)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import StandardScaler

    start = time.perf_counter()
    table = pd.read_csv(path)
    X = StandardScaler().fit_transform(table.select_dtypes("number"))
    labels = {k: KMeans(n_clusters=k, random_state=0).fit_predict(X) for k in range(2, 11)}
    scores = {k: silhouette_score(X, found) for k, found in labels.items()}
    best = max(scores, key=scores.get)
    return time.perf_counter() - start, best, labels[best]


def truth_ari(labels: np.ndarray, n: int) -> str:
    """The adjusted Rand index of labels against the reference table's five true groups."""
    from sklearn.metrics import adjusted_rand_score

    return f"ARI {adjusted_rand_score(rfm_groups(n, seed=1), labels):.2f} against the 5 true groups"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--cases", default="reference,mixed1m,rfm5m")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every table size (0.1 for a quick look)")
    parser.add_argument("--data", default=str(Path(tempfile.gettempdir()) / "segstudio-bench"))
    args = parser.parse_args()
    folder = Path(args.data)
    rows = []
    spark_rows: list[tuple] = []
    for case in args.cases.split(","):
        out = folder / f"out-{case}"
        if case == "rfm5m":
            n = int(5_000_000 * args.scale)
            data = cached_csv(folder, f"rfm-{n}", lambda n=n: rfm_customers(n))
            wall, peak, code = segment_run(data, out)
            rows.append((case, f"{n:,} x 3 numeric", wall, peak, code, ""))
        elif case == "mixed1m":
            n = int(1_000_000 * args.scale)
            data = cached_csv(folder, f"mixed-{n}", lambda n=n: mixed_customers(n))
            wall, peak, code = segment_run(data, out)
            rows.append((case, f"{n:,} x 30 mixed", wall, peak, code, ""))
        elif case in WIDE:
            size, width = WIDE[case]
            n = max(int(size * args.scale), 50)
            data = cached_csv(folder, f"wide-{n}x{width}", lambda n=n, width=width: wide_customers(n, width))
            wall, peak, code = segment_run(data, out)
            rows.append((case, f"{n:,} x {width:,} numeric", wall, peak, code, ""))
        elif case == "reference":
            n = int(100_000 * args.scale)
            data = cached_csv(folder, f"rfm-{n}", lambda n=n: rfm_customers(n, seed=1))
            wall, peak, code = segment_run(data, out)
            chosen = json.loads((out / "run.json").read_text())["selected"]["n_clusters"] if code == 0 else None
            ours = truth_ari(pd.read_csv(out / "labelled_customers.csv", usecols=["cluster"])["cluster"].to_numpy(), n)
            quick, peak_quick, _ = segment_run(data, folder / "out-reference-kmeans", "--algorithms", "kmeans")
            ref_wall, ref_k, ref_labels = reference_pipeline(data)
            rows.append(
                (case, f"{n:,} x 3: reference pipeline", ref_wall, np.nan, 0, f"k={ref_k}, {truth_ari(ref_labels, n)}")
            )
            rows.append(
                (
                    case,
                    "segment run, default algorithms",
                    wall,
                    peak,
                    code,
                    f"{ref_wall / wall:.1f}x faster, k={chosen}, {ours}",
                )
            )
            rows.append(
                (case, "segment run --algorithms kmeans", quick, peak_quick, 0, f"{ref_wall / quick:.1f}x faster")
            )
        elif case in ("spark20m", "spark5m"):
            spark_rows.extend(spark_cases(case, folder, args.scale))
            continue
        else:
            raise SystemExit(f"unknown case {case}")
        if case != "reference":
            rows[-1] = (*rows[-1][:5], f"estimate {estimated(data, n):.0f} s")
    if rows:
        print(f"{'case':10} {'what':36} {'wall s':>8} {'peak GiB':>9} {'exit':>4}  note (target)")
    for case, what, wall, peak, code, note in rows:
        print(f"{case:10} {what:36} {wall:8.1f} {peak:9.2f} {code:4d}  {note} ({TARGETS.get(case, '')})")
    if spark_rows:
        print(f"{'case':10} {'what':36} {'wall s':>8} {'Python GiB':>10} {'JVM GiB':>8} {'exit':>4}  note (target)")
    for case, what, wall, python, jvm, code, note in spark_rows:
        print(f"{case:10} {what:36} {wall:8.1f} {python:10.2f} {jvm:8.2f} {code:4d}  {note} ({TARGETS.get(case, '')})")


if __name__ == "__main__":
    main()
