"""The files of a Spark run: the local engine's contract, with the labelled customers written by Spark.

OUT/labelled_customers.parquet/   (or labelled_customers.csv/ with --format csv): part files written by Spark
OUT/segments.csv, leaderboard.csv, run.json, report.html, model.joblib: as a local run writes them
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from core.atomic import atomic_write, atomic_write_text
from core.bundle import ModelBundle, SourceRecord
from core.contracts import LEADERBOARD_FILE, MODEL_FILE, REPORT_FILE, RUN_FILE, SEGMENTS_FILE
from core.csv_out import FORMULA_PREFIXES, write_csv
from core.errors import SegmentationError
from core.exports import run_record, segment_summary
from core.pipeline import SegmentationResult
from core.report import render_report
from core.spark.run import SparkRun

LABELLED_FOLDERS = {"parquet": "labelled_customers.parquet", "csv": "labelled_customers.csv"}
# What the app opens a Spark run from (the full table stays on the cluster): the driver's sample of customers and
# the segmentation of that sample, with the exported model.
SAMPLE_FILE = "driver_sample.parquet"
RESULT_FILE = "driver_result.joblib"


def _escaped(frame: Any, column: str) -> Any:
    """A text column with the cells a spreadsheet would run as a formula quoted, as core.csv_out does."""
    from pyspark.sql import functions as F

    cell = F.col(f"`{column}`")
    if frame.schema[column].dataType.typeName() != "string":
        return cell
    risky = F.substring(cell, 1, 1).isin(*FORMULA_PREFIXES)
    return F.when(risky, F.concat(F.lit("'"), cell)).otherwise(cell).alias(column)


def write_spark_outputs(
    out_dir: str | Path, run: SparkRun, source: SourceRecord, fmt: str = "parquet", labelled_to: str | None = None
) -> dict[str, Any]:
    """Write a Spark run's files into ``out_dir`` (created if needed); the labelled customers into
    ``labelled_to`` (a folder URI Spark writes to: on a cluster, where its executors can write) or beside them."""
    if fmt not in LABELLED_FOLDERS:
        raise SegmentationError(f"--format must be one of {', '.join(LABELLED_FOLDERS)}; got '{fmt}'.")
    if labelled_to is None and not run.spark["master"].startswith("local"):
        raise SegmentationError(
            f"On {run.spark['master']} the executors write the labelled customers: give --labelled-out with a "
            "folder they all reach (hdfs://..., s3a://...); the other files go to --out on this machine."
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result, sample = run.result, run.sample
    labelled = run.labelled

    target: Any = labelled_to or out / LABELLED_FOLDERS[fmt]
    if fmt == "csv":
        labelled.select(*[_escaped(labelled, c) for c in labelled.columns]).write.mode("overwrite").option(
            "header", True
        ).csv(str(target))
    else:
        labelled.write.mode("overwrite").parquet(str(target))
    bundle = ModelBundle.of(result, sample, source)
    bundle.sizes = dict(sorted(run.sizes.items()))
    bundle.map.total = run.rows
    bundle.value = run.value
    bundle.plays = result.plays(sample, run.value)
    summary = segment_summary(sample, result, run.value, bundle.plays)  # sizes over every customer
    paths = {
        "labelled": target,
        SEGMENTS_FILE: out / SEGMENTS_FILE,
        LEADERBOARD_FILE: out / LEADERBOARD_FILE,
        MODEL_FILE: out / MODEL_FILE,
        RUN_FILE: out / RUN_FILE,
        REPORT_FILE: out / REPORT_FILE,
    }
    write_csv(paths[SEGMENTS_FILE], summary)
    write_csv(paths[LEADERBOARD_FILE], result.leaderboard)
    bundle.save(paths[MODEL_FILE])
    record = run_record(result, source)
    record["engine"] = "spark"
    record["spark"] = {
        **run.spark,
        "labelled_customers": str(target) if labelled_to else target.name,
        "sampled": run.sampling,
        "local_model_agreement": round(run.agreement, 4),
        "seconds": run.seconds,
    }
    atomic_write_text(paths[RUN_FILE], json.dumps(record, indent=2))
    atomic_write_text(paths[REPORT_FILE], render_report(bundle))
    atomic_write(out / SAMPLE_FILE, lambda target: sample.to_parquet(target, index=False))
    atomic_write(out / RESULT_FILE, lambda target: joblib.dump(replace(result, names=bundle.names), target))
    return paths


def is_spark_run(folder: Path) -> bool:
    """A finished Spark run folder the app can open."""
    return (folder / SAMPLE_FILE).is_file() and (folder / RESULT_FILE).is_file() and (folder / RUN_FILE).is_file()


def open_spark_run(folder: Path) -> tuple[pd.DataFrame, SegmentationResult, dict[str, Any]]:
    """The driver's sample, its segmentation (with the names model.joblib has now: `segment rename` updates that)
    and run.json's Spark section, of a Spark run folder the operator put on the server."""
    if not is_spark_run(folder):
        raise SegmentationError(f"{folder.name} is not a finished Spark run folder.")
    try:
        result = joblib.load(folder / RESULT_FILE)
        sample = pd.read_parquet(folder / SAMPLE_FILE)
        record = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
    except Exception as exc:  # a damaged or foreign file can raise almost anything while unpickling
        raise SegmentationError(f"{folder.name} could not be opened as a Spark run ({type(exc).__name__}).") from None
    if not isinstance(result, SegmentationResult) or len(result.labels) != len(sample):
        raise SegmentationError(f"{folder.name} is not a Spark run written by `segment run --engine spark`.")
    if (folder / MODEL_FILE).is_file():
        result = replace(result, names=ModelBundle.load(folder / MODEL_FILE, need_predictor=False).names)
    return sample, result, record.get("spark", {})
