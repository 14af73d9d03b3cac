"""`segment rename` and `segment playbook`: new names or actions in every file of a run folder, without the data.

The model keeps the names; the CSVs get their ``segment`` column rewritten (streamed, so a file of millions of rows
is fine); run.json and report.html follow. Each file is replaced whole or not at all.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd

from core.atomic import atomic_write, atomic_write_text
from core.bundle import ModelBundle
from core.contracts import LABELLED_FILE, MODEL_FILE, REPORT_FILE, RUN_FILE, SEGMENTS_FILE
from core.csv_out import escape_formulas
from core.errors import SegmentationError
from core.playbook import checked_action
from core.rename import renamed
from core.report import render_report

CHUNK_ROWS = 200_000


def rename_run(folder: str | Path, changes: dict[int, str]) -> tuple[dict[int, str], list[Path]]:
    """Apply ``changes`` (segment number -> name) to the run in ``folder``; returns the names and files rewritten."""
    folder = Path(folder)
    bundle = _bundle(folder)
    names = renamed(bundle.names, changes)
    bundle.scorer.names = names
    written = []
    for file in (LABELLED_FILE, SEGMENTS_FILE):
        if (folder / file).is_file():
            rewrite_by_cluster(folder / file, "segment", names)
            written.append(folder / file)
    parts = labelled_parts(folder)
    for part in parts:  # a Spark run's labelled customers: a folder of part files, each rewritten whole
        (rewrite_parquet_by_cluster if part.suffix == ".parquet" else rewrite_by_cluster)(part, "segment", names)
    written += sorted({p.parent for p in parts})
    if (folder / RUN_FILE).is_file():
        record = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
        record["segments"] = {str(k): v for k, v in names.items()}
        atomic_write_text(folder / RUN_FILE, json.dumps(record, indent=2))
        written.append(folder / RUN_FILE)
    return names, written + _save(folder, bundle)


def edit_actions(folder: str | Path, changes: dict[int, str]) -> tuple[ModelBundle, list[Path]]:
    """Apply the analyst's actions (segment number -> action; an empty one goes back to the suggestion) to the run
    in ``folder``: model.joblib, segments.csv's ``action`` column and report.html. Returns the changed bundle and
    the files rewritten (none when there are no changes)."""
    folder = Path(folder)
    bundle = _bundle(folder)
    plays = dict(bundle.plays or {})
    if not plays:
        raise SegmentationError(f"{folder / MODEL_FILE} was written before playbooks; run the segmentation again.")
    if not changes:
        return bundle, []
    for cluster, text in changes.items():
        if cluster not in plays:
            known = ", ".join(map(str, sorted(plays)))
            raise SegmentationError(f"There is no segment {cluster}; segments are {known}.")
        plays[cluster] = replace(plays[cluster], edited=checked_action(text))
    bundle.plays = plays
    actions = {k: p.action for k, p in plays.items()}
    written = []
    if (folder / SEGMENTS_FILE).is_file():
        rewrite_by_cluster(folder / SEGMENTS_FILE, "action", actions)
        written.append(folder / SEGMENTS_FILE)
    return bundle, written + _save(folder, bundle)


def _bundle(folder: Path) -> ModelBundle:
    if not (folder / MODEL_FILE).is_file():
        raise SegmentationError(f"{folder} has no {MODEL_FILE}; give the --out folder of `segment run`.")
    return ModelBundle.load(folder / MODEL_FILE, need_predictor=False)


def _save(folder: Path, bundle: ModelBundle) -> list[Path]:
    """The changed model, and the report made from it; the files written."""
    bundle.save(folder / MODEL_FILE)
    if bundle.explanation is None:
        return [folder / MODEL_FILE]
    atomic_write_text(folder / REPORT_FILE, render_report(bundle))
    return [folder / MODEL_FILE, folder / REPORT_FILE]


def labelled_parts(folder: Path) -> list[Path]:
    """The part files of a Spark run's labelled customers (labelled_customers.parquet/ or .csv/), if any."""
    parts = []
    for name, suffix in (("labelled_customers.parquet", ".parquet"), ("labelled_customers.csv", ".csv")):
        if (folder / name).is_dir():
            parts += sorted(p for p in (folder / name).iterdir() if p.name.startswith("part-") and suffix in p.suffixes)
    return parts


def rewrite_parquet_by_cluster(path: Path, column: str, values: dict[int, str]) -> None:
    """A Parquet part file with ``column`` looked up from ``cluster``, one row group at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = pq.ParquetFile(path)
    schema = source.schema_arrow
    if "cluster" not in schema.names or column not in schema.names:
        raise SegmentationError(f"{path.name} has no cluster and {column} columns to rewrite.")
    at = schema.get_field_index(column)

    def write(target: Path) -> None:
        with pq.ParquetWriter(target, schema) as writer:
            for group in range(source.num_row_groups):
                table = source.read_row_group(group)
                clusters = table.column("cluster").to_pandas()
                current = table.column(column).to_pandas()
                updated = clusters.map(values).where(clusters.isin(values.keys()), current)
                writer.write_table(table.set_column(at, schema.field(column), pa.array(updated, type=pa.string())))

    atomic_write(path, write)


def rewrite_by_cluster(path: Path, column: str, values: dict[int, str]) -> None:
    """Every cell kept as written, except ``column``, which is looked up from ``cluster``."""
    safe = escape_formulas(pd.DataFrame({"value": [values[k] for k in values]}))["value"]
    lookup = {str(k): value for k, value in zip(values, safe)}

    def write(target: Path) -> None:
        header = True
        for chunk in pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=CHUNK_ROWS):
            if "cluster" not in chunk.columns or column not in chunk.columns:
                raise SegmentationError(f"{path.name} has no cluster and {column} columns to rewrite.")
            known = chunk["cluster"].isin(lookup.keys())
            chunk.loc[known, column] = chunk.loc[known, "cluster"].map(lookup)
            chunk.to_csv(target, mode="w" if header else "a", header=header, index=False, lineterminator="\n")
            header = False

    atomic_write(path, write)
