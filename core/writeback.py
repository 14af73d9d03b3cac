"""Segments written back to a database table, for CRM and marketing tools to join on the customer id.

The table's columns are a contract like the files': the id column(s), then ``cluster``, ``segment``,
``confidence``, ``meta_cluster``, ``run_id`` and ``run_time``. A run folder records the tables it was written to, so
`segment rename` updates them too.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from core.atomic import atomic_write_text
from core.contracts import LABELLED_FILE, RUN_FILE
from core.database import Connection, Databases, Progress, rename_in_table, write_table
from core.errors import SegmentationError

WRITEBACK_COLUMNS = ("cluster", "segment", "confidence", "meta_cluster", "run_id", "run_time")
ROW_COLUMN = "row"  # the key when the table had no id column: the customer's row number in the input, from 1
_INTEGER = re.compile(r"^-?(0|[1-9]\d{0,17})$")


@dataclass(frozen=True)
class WriteBack:
    """Where a run's segments were written: run.json's ``written_to`` entries."""

    database: str
    table: str
    rows: int
    time: str

    def to_dict(self) -> dict:
        return {"database": self.database, "table": self.table, "rows": self.rows, "time": self.time}


def segments_table(labelled: pd.DataFrame, id_columns: list[str], run_id: str, run_time: str) -> pd.DataFrame:
    """The rows to write: the ids (integers stay integers, "0001" stays text) and the segment columns."""
    out = pd.DataFrame(index=labelled.index)
    ids = [c for c in id_columns if c in labelled.columns]
    if ids:
        for column in ids:
            out[column] = _id_values(labelled[column])
    else:
        out[ROW_COLUMN] = range(1, len(labelled) + 1)
    out["cluster"] = pd.to_numeric(labelled["cluster"]).astype("int64")
    out["segment"] = labelled["segment"].astype(str)
    out["confidence"] = pd.to_numeric(labelled["confidence"], errors="coerce").astype(float)
    out["meta_cluster"] = pd.to_numeric(labelled["meta_cluster"], errors="coerce").fillna(-1).astype("int64")
    out["run_id"] = run_id
    stamp = pd.Timestamp(run_time)
    out["run_time"] = stamp.tz_convert(None) if stamp.tzinfo else stamp
    return out.reset_index(drop=True)


def _id_values(values: pd.Series) -> pd.Series:
    if pd.api.types.is_integer_dtype(values):
        return values.astype("int64")
    text = values.astype(str)
    if len(text) and text.str.fullmatch(_INTEGER).all():
        return text.astype("int64")
    return text


def run_identity(record: dict) -> tuple[str, str]:
    """A run's id and time from its run.json (runs before ids were recorded get one derived from their record)."""
    created = str(record.get("created") or datetime.now(timezone.utc).isoformat(timespec="seconds"))
    run_id = record.get("run_id")
    if not run_id:
        seed = created + str((record.get("input") or {}).get("sha256", ""))
        run_id = hashlib.sha256(seed.encode()).hexdigest()[:12]
    return str(run_id), created


def export_run(
    folder: str | Path,
    connection: Connection,
    table: str,
    if_exists: str = "fail",
    progress: Progress | None = None,
) -> WriteBack:
    """Write the segments of the run in ``folder`` to ``table`` and record it in the folder's run.json."""
    folder = Path(folder)
    run_file, labelled_file = folder / RUN_FILE, folder / LABELLED_FILE
    if not labelled_file.is_file() and any(
        (folder / f"labelled_customers.{kind}").is_dir() for kind in ("parquet", "csv")
    ):
        raise SegmentationError(
            f"{folder} is a Spark run: its labelled customers stay where Spark wrote them (labelled_customers.parquet/"
            " or .csv/); load them into the database from there (Spark's JDBC writer, or the database's own loader)."
        )
    if not run_file.is_file() or not labelled_file.is_file():
        raise SegmentationError(f"{folder} has no {RUN_FILE} and {LABELLED_FILE}; give the --out folder of a run.")
    record = json.loads(run_file.read_text(encoding="utf-8"))
    ids = [c for c, role in (record.get("roles") or {}).items() if role == "id"]
    header = pd.read_csv(labelled_file, nrows=0).columns
    usecols = [c for c in ids if c in header] + ["cluster", "segment", "confidence", "meta_cluster"]
    labelled = pd.read_csv(
        labelled_file, usecols=usecols, dtype={c: str for c in ids}, keep_default_na=False, na_values=[""]
    )
    run_id, run_time = run_identity(record)
    rows = write_table(connection, segments_table(labelled, ids, run_id, run_time), table, if_exists, progress)
    entry = WriteBack(connection.name, table, rows, datetime.now(timezone.utc).isoformat(timespec="seconds"))
    kept = [w for w in record.get("written_to", []) if (w.get("database"), w.get("table")) != (connection.name, table)]
    record["written_to"] = [*kept, entry.to_dict()]
    record.setdefault("run_id", run_id)
    atomic_write_text(run_file, json.dumps(record, indent=2))
    return entry


def rename_written(record: dict, names: dict[int, str], databases: Databases) -> list[str]:
    """Update the ``segment`` column of every table the run was written to; returns one line per table."""
    run_id, _ = run_identity(record)
    lines = []
    for entry in record.get("written_to", []):
        where = f"{entry.get('database')}:{entry.get('table')}"
        try:
            connection = databases.get(str(entry.get("database")))
            changed = rename_in_table(connection, str(entry.get("table")), run_id, names)
            lines.append(f"updated {changed:,} rows of {where}")
        except SegmentationError as exc:
            lines.append(f"warning: {where} was not updated: {exc}")
    return lines
