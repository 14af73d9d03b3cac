"""The Spark session and the customers it reads: a Parquet or CSV file or folder (local, hdfs://, s3a://, ...) or a
table of the session's catalog (Hive, Delta)."""

from __future__ import annotations

import logging
import os
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import SegmentationError
from core.spark import require_pyspark

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger("segstudio.spark")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
FORMATS = ("parquet", "csv")


def spark_session(master: str | None = None, conf: dict[str, str] | None = None) -> SparkSession:
    """The running session (under spark-submit), or a new one on ``master`` (default local[*]) with ``conf``."""
    require_pyspark()
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("segmentation-studio")
    if master:
        builder = builder.master(master)
    elif SparkSession.getActiveSession() is None and not under_spark_submit():
        builder = builder.master("local[*]")
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    try:
        spark = (
            builder.config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .getOrCreate()
        )
    except Exception as exc:  # no Java, a master that does not answer: py4j and the JVM raise many kinds
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SegmentationError(f"Spark could not start on {master or 'local[*]'}: {first}") from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def under_spark_submit() -> bool:
    """spark-submit started this process: its JVM and master are already set (PySpark's gateway variables)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def is_local(master: str) -> bool:
    return master.startswith("local")


def data_format(path: str) -> str:
    """``csv`` for CSV/TSV files or folders of them, else ``parquet``."""
    name = path.rstrip("/").lower()
    if name.endswith((".csv", ".tsv", ".txt", ".csv.gz")):
        return "csv"
    local = Path(path)
    if not _SCHEME.match(path) and local.is_dir():
        kinds = {p.suffix.lower() for p in local.iterdir() if p.is_file() and not p.name.startswith(("_", "."))}
        if kinds and kinds <= {".csv", ".tsv", ".txt", ".gz"}:
            return "csv"
    return "parquet"


def read_customers(spark: SparkSession, data: str | None, table: str | None) -> tuple[DataFrame, str]:
    """The customers as a Spark DataFrame and how they were read (for run.json).

    Raises:
        SegmentationError: nothing at that path, a format Spark cannot read, no such table.
    """
    from pyspark.errors import PySparkException

    if bool(data) == bool(table):
        raise SegmentationError("Give the customers as DATA (a path Spark reads) or --table NAME, not both.")
    try:
        if table:
            return spark.table(table), f"Spark table {table}"
        assert data is not None
        if not _SCHEME.match(data) and not Path(data).exists():
            raise SegmentationError(f"{data}: no such file or folder.")
        kind = data_format(data)
        if kind == "csv":
            separator = "\t" if data.rstrip("/").lower().endswith(".tsv") else ","
            frame = spark.read.csv(data, header=True, inferSchema=True, sep=separator)
        else:
            frame = spark.read.parquet(data)
        return frame, f"{kind} read by Spark"
    except PySparkException as exc:
        first = str(exc).strip().splitlines()[0]
        raise SegmentationError(f"Spark could not read {data or table}: {first}") from None
