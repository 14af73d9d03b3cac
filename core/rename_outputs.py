"""`segment rename`: new names in every file of a run folder, without the original data.

The model keeps the names; the CSVs get their ``segment`` column rewritten (streamed, so a file of millions of rows
is fine); run.json and report.html follow. Each file is replaced whole or not at all.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from core.atomic import atomic_write, atomic_write_text
from core.bundle import ModelBundle
from core.contracts import LABELLED_FILE, MODEL_FILE, REPORT_FILE, RUN_FILE, SEGMENTS_FILE
from core.csv_out import escape_formulas
from core.errors import SegmentationError
from core.rename import renamed
from core.report import render_report

CHUNK_ROWS = 200_000


def rename_run(folder: str | Path, changes: dict[int, str]) -> tuple[dict[int, str], list[Path]]:
    """Apply ``changes`` (segment number -> name) to the run in ``folder``; returns the names and files rewritten."""
    folder = Path(folder)
    model_path = folder / MODEL_FILE
    if not model_path.is_file():
        raise SegmentationError(f"{folder} has no {MODEL_FILE}; give the --out folder of `segment run`.")
    bundle = ModelBundle.load(model_path, need_predictor=False)
    names = renamed(bundle.names, changes)
    bundle.scorer.names = names
    written = []
    for file in (LABELLED_FILE, SEGMENTS_FILE):
        if (folder / file).is_file():
            _rewrite_segment_column(folder / file, names)
            written.append(folder / file)
    if (folder / RUN_FILE).is_file():
        record = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
        record["segments"] = {str(k): v for k, v in names.items()}
        atomic_write_text(folder / RUN_FILE, json.dumps(record, indent=2))
        written.append(folder / RUN_FILE)
    bundle.save(model_path)
    written.append(model_path)
    if bundle.explanation is not None:
        atomic_write_text(folder / REPORT_FILE, render_report(bundle))
        written.append(folder / REPORT_FILE)
    return names, written


def _rewrite_segment_column(path: Path, names: dict[int, str]) -> None:
    """Every cell kept as written, except ``segment``, which is looked up from ``cluster``."""
    safe = escape_formulas(pd.DataFrame({"name": [names[k] for k in names]}))["name"]
    lookup = {str(k): name for k, name in zip(names, safe)}

    def write(target: Path) -> None:
        header = True
        for chunk in pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=CHUNK_ROWS):
            if "cluster" not in chunk.columns or "segment" not in chunk.columns:
                raise SegmentationError(f"{path.name} has no cluster and segment columns to rename.")
            known = chunk["cluster"].isin(lookup.keys())
            chunk.loc[known, "segment"] = chunk.loc[known, "cluster"].map(lookup)
            chunk.to_csv(target, mode="w" if header else "a", header=header, index=False, lineterminator="\n")
            header = False

    atomic_write(path, write)
