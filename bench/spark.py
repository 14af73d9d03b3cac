"""The Spark engine's benchmark cases of `python -m bench` (spark20m, spark5m).

spark20m: 20M customers x 3 RFM features from a folder of Parquet part files, `segment run --engine spark` on
local[2]; prints the wall time, the Python (driver) process's peak memory and the JVM's, and where Spark's time went
(run.json's seconds per step).
spark5m: the same 5M-customer Parquet file through both engines, one after the other in one run (the ratio).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import psutil

from bench.data import rfm_customers

PART_ROWS = 1_000_000


def rfm_parquet(folder: Path, rows: int) -> Path:
    """``rows`` RFM customers as a folder of Parquet part files of 1M rows, generated once (the driver never holds
    more than one part)."""
    target = folder / f"rfm-{rows}.parquet"
    if (target / "_done").exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    for part, start in enumerate(range(0, rows, PART_ROWS)):
        table = rfm_customers(min(PART_ROWS, rows - start), seed=100 + part)
        table["customer_id"] = [f"C{start + i}" for i in range(len(table))]
        table.to_parquet(target / f"part-{part:05d}.parquet", index=False)
    (target / "_done").write_text("")
    return target


def rfm_file(folder: Path, rows: int) -> Path:
    """``rows`` RFM customers as one Parquet file (what the local engine reads), generated once."""
    target = folder / f"rfm-{rows}.single.parquet"
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        rfm_customers(rows, seed=100).to_parquet(target, index=False)
    return target


def measured_split(command: list[str]) -> tuple[float, float, float, int, str]:
    """Run a command; (wall seconds, peak RSS in GiB of the Python process itself, peak RSS of its children (the
    JVM), exit code, the tail of stderr)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    watched = psutil.Process(process.pid)
    python_peak = children_peak = 0
    while process.poll() is None:
        try:
            python_peak = max(python_peak, watched.memory_info().rss)
            children_peak = max(children_peak, sum(p.memory_info().rss for p in watched.children(recursive=True)))
        except psutil.Error:
            pass
        time.sleep(0.1)
    wall = time.perf_counter() - start
    tail = process.stderr.read().decode()[-400:] if process.stderr else ""
    return wall, python_peak / 2**30, children_peak / 2**30, process.returncode, tail


def spark_run(data: Path, out: Path, *extra: str) -> tuple[float, float, float, int, str]:
    command = [sys.executable, "-m", "core.cli", "run", "--engine", "spark", "--master", "local[2]", str(data)]
    return measured_split([*command, "--out", str(out), *extra])


def steps(out: Path) -> str:
    """Where Spark's time went, from run.json."""
    record = json.loads((out / "run.json").read_text())
    return ", ".join(f"{step} {seconds:.0f} s" for step, seconds in record["spark"]["seconds"].items())


def spark_cases(case: str, folder: Path, scale: float) -> list[tuple]:
    """Rows of the benchmark table: (case, what, wall s, Python peak GiB, JVM peak GiB, exit, note)."""
    rows = []
    if case == "spark20m":
        n = int(20_000_000 * scale)
        data = rfm_parquet(folder, n)
        wall, python, jvm, code, tail = spark_run(data, folder / "out-spark20m")
        note = steps(folder / "out-spark20m") if code == 0 else tail
        rows.append((case, f"{n:,} x 3 RFM, Spark local[2]", wall, python, jvm, code, note))
    elif case == "spark5m":
        n = int(5_000_000 * scale)
        data = rfm_file(folder, n)
        wall, python, jvm, code, tail = spark_run(data, folder / "out-spark5m")
        note = steps(folder / "out-spark5m") if code == 0 else tail
        local = [sys.executable, "-m", "core.cli", "run", str(data), "--out", str(folder / "out-local5m")]
        local_wall, local_python, local_children, local_code, local_tail = measured_split(
            [*local, "--algorithms", "kmeans,bisecting_kmeans,gmm"]
        )
        rows.append((case, f"{n:,} x 3 RFM, local engine", local_wall, local_python, local_children, local_code, ""))
        rows.append(
            (case, f"{n:,} x 3 RFM, Spark local[2]", wall, python, jvm, code, f"{wall / local_wall:.1f}x local; {note}")
        )
    return rows
