"""python -m bench.parse [--mb 200]: how long the largest upload takes to read, for several kinds of file.

The app bounds a file before parsing it (size, columns, rows, unpacked size); within those bounds parsing time
follows the file's size and shape. This prints, for files of about ``--mb`` megabytes, the time ``read_table``
takes in a fresh process and that process's peak memory, so the bound an operator sets can be chosen from figures.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from bench.data import mixed_customers


def _repeat_to(path: Path, header: str, body: str, megabytes: int) -> None:
    """A file of ``header`` and copies of ``body`` until it reaches ``megabytes``."""
    with open(path, "w") as handle:
        handle.write(header)
        copies = max(1, megabytes * 2**20 // len(body.encode()))
        for _ in range(copies):
            handle.write(body)


def make_files(folder: Path, megabytes: int) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    files = {}
    numbers = pd.DataFrame(rng.normal(100, 30, (20_000, 10)).round(2), columns=[f"x{i}" for i in range(10)])
    files["numbers, 10 columns"] = folder / "numbers.csv"
    _repeat_to(
        files["numbers, 10 columns"],
        ",".join(numbers.columns) + "\n",
        numbers.to_csv(index=False, header=False),
        megabytes,
    )
    mixed = mixed_customers(20_000, seed=1)
    files["mixed, 30 columns (dates, categories)"] = folder / "mixed.csv"
    _repeat_to(
        files["mixed, 30 columns (dates, categories)"],
        ",".join(mixed.columns) + "\n",
        mixed.to_csv(index=False, header=False),
        megabytes,
    )
    files["money and day-first dates"] = folder / "money.csv"
    body = "".join(
        f'C{i},"${rng.integers(1, 99)},{rng.integers(100, 999)}.50",{rng.integers(1, 28):02d}/'
        f"{rng.integers(1, 12):02d}/2024\n"
        for i in range(20_000)
    )
    _repeat_to(files["money and day-first dates"], "id,spend,joined\n", body, megabytes)
    files["2,000 columns"] = folder / "wide.csv"
    row = ",".join(f"{v:.3f}" for v in rng.normal(size=2000)) + "\n"
    _repeat_to(files["2,000 columns"], ",".join(f"c{i}" for i in range(2000)) + "\n", row, megabytes)
    files["1-million-character cells"] = folder / "cells.csv"
    _repeat_to(files["1-million-character cells"], "id,note,spend\n", f"C1,{'x' * 1_000_000},1.5\n", megabytes)
    return files


def timed_read(path: Path) -> tuple[float, float, str]:
    """(seconds, peak GiB, outcome) of read_table in a fresh process."""
    code = (
        "import resource, sys, time\n"
        "from core.readers import read_table\n"
        "from core.errors import SegmentationError\n"
        "start = time.perf_counter()\n"
        "try:\n"
        f"    table = read_table({str(path)!r}, max_rows=10_000_000)\n"
        "    outcome = f'{len(table):,} rows x {table.shape[1]:,} columns'\n"
        "except SegmentationError as exc:\n"
        "    outcome = 'refused: ' + str(exc)[:70]\n"
        "print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, outcome, sep='|')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    seconds, peak_kb, outcome = out.strip().splitlines()[-1].split("|", 2)
    return float(seconds), int(peak_kb) / 2**20, outcome


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.parse")
    parser.add_argument("--mb", type=int, default=200, help="size of each file (the default upload limit)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="segstudio-parse-") as folder:
        files = make_files(Path(folder), args.mb)
        print(f"{'file':<40} {'MB':>5} {'seconds':>8} {'peak GiB':>9}  outcome")
        for name, path in files.items():
            seconds, peak, outcome = timed_read(path)
            print(f"{name:<40} {path.stat().st_size / 2**20:>5.0f} {seconds:>8.1f} {peak:>9.2f}  {outcome}")


if __name__ == "__main__":
    main()
