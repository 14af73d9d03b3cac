"""The `segment` command: the engine headless, for batch jobs and large tables.

    segment run (DATA | --db NAME (--query SQL | --table NAME)) --out DIR [--columns A,B,C] [--k 2-10] [--seed 0]
                [--roles FILE.json] [--config run.json]
                [--algorithms kmeans,gmm,hdbscan] [--params FILE.json] [--criterion silhouette] [--select ROW]
                [--feature NAME=KIND(COL,...)] [--outliers METHOD:ACTION[:THRESHOLD]] [--transform log1p]
                [--as-of YYYY-MM-DD] [--impute median|mean|knn] [--scale standard|robust|minmax]
                [--classifier logistic|forest] [--names-from OLD/model.joblib]
                [--value COL|none]
    segment run --engine spark [--master local[*] | spark://HOST:7077 | yarn] (DATA | --table DB.TABLE) --out DIR
                [--format parquet|csv] [--labelled-out URI] [--spark-conf KEY=VALUE] [the options above that apply]
    segment rename DIR SEGMENT=NAME [SEGMENT=NAME ...]     (also updates the database tables the run was written to)
    segment playbook DIR [SEGMENT=ACTION ...]   (prints each segment's action; sets the ones given, "" = suggested)
    segment report DIR [--pdf]                  (rewrites report.html from model.joblib; --pdf: also report.pdf)
    segment monitor --model DIR/model.joblib (NEW_DATA | --db NAME (--query SQL | --table NAME)) --out DIR2
    segment export DIR --db NAME --table TABLE [--if-exists fail|replace|append]
    segment databases           (lists the database connections and their tables)
    segment rfm DATA --customer COL --date COL (--amount COL | --quantity COL --price COL) [--invoice COL]
                [--as-of YYYY-MM-DD] --out FILE
    segment predict --model DIR/model.joblib DATA --out FILE
    segment algorithms          (lists the algorithms and their parameters)
    segment demo --out FILE [--rows 2000] [--seed 0]    (writes the built-in demo customers)
    segment [-v | -vv | -q] ...  (say each step on stderr, or print only warnings and errors)

Bad input exits with status 2 and one line on stderr; nothing the user can cause prints a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd

from core.algorithms import ALGORITHMS
from core.atomic import atomic_write, atomic_write_text
from core.bundle import ModelBundle, SourceRecord
from core.config import DEFAULT_ALGORITHMS, RunConfig, parse_k_range
from core.contracts import MODEL_FILE, PDF_FILE, REPORT_FILE, RUN_FILE
from core.csv_out import to_csv_text
from core.database import list_tables, load_databases, query_for, read_query, rows_checksum
from core.demo import make_demo_customers
from core.errors import SegmentationError
from core.exports import sha256_file, write_outputs
from core.features import KINDS, parse_feature
from core.monitor import monitor
from core.monitor_outputs import write_monitor
from core.pdf import html_to_pdf
from core.pipeline import SegmentationResult, run_segmentation
from core.predict import NO_GOOD_FIT_NAME
from core.predictor import CLASSIFIERS, NO_GOOD_FIT
from core.preprocess import IMPUTERS, SCALERS, TRANSFORMS
from core.quality import UNSTABLE_BELOW
from core.readers import describe_source, read_table
from core.rename import parse_renames
from core.rename_outputs import edit_actions, rename_run
from core.report import render_report
from core.rfm import build_rfm
from core.segmenter import CRITERIA
from core.threads import numeric_threads
from core.workers import start_workers, stop_workers
from core.writeback import export_run, rename_written

EXIT_BAD_INPUT = 2
WORKERS_FROM_BYTES = 100_000  # a smaller file is segmented before worker processes would have started
log = logging.getLogger("segstudio.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="segment", description="Segment customers from a table.")
    parser.add_argument("--debug", action="store_true", help="show a traceback on internal errors")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="say what is happening on stderr (-v: each step of a run; -vv: details)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but warnings and errors")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="segment a customer table and write the results")
    run.add_argument("data", nargs="?", help="customer table: CSV/TSV/delimited text, Excel (.xlsx) or Parquet")
    run.add_argument(
        "--engine",
        choices=["local", "spark"],
        default="local",
        help="local (default: this machine) or spark (Apache Spark: DATA is any path Spark reads, or --table)",
    )
    run.add_argument("--master", help="with --engine spark: the Spark master (default local[*], or spark-submit's)")
    run.add_argument(
        "--labelled-out",
        metavar="URI",
        help="with --engine spark: the folder Spark writes the labelled customers to (needed on a cluster: "
        "hdfs://..., s3a://...; default OUT/labelled_customers.parquet)",
    )
    run.add_argument(
        "--spark-conf",
        action="append",
        metavar="KEY=VALUE",
        help="with --engine spark: a Spark setting, e.g. spark.executor.memory=8g (repeatable)",
    )
    run.add_argument(
        "--format",
        choices=["parquet", "csv"],
        help="with --engine spark: how Spark writes the labelled customers (default parquet)",
    )
    run.add_argument("--db", help="read the customers from this database connection (see `segment databases`)")
    run.add_argument("--query", help="with --db: the SELECT query that reads the customers")
    run.add_argument(
        "--table", help="with --db: read this whole table (with --engine spark: a table of Spark's catalog)"
    )
    run.add_argument("--out", required=True, help="folder for the output files (created if needed)")
    run.add_argument("--columns", help="comma-separated columns to segment on (default: every usable column)")
    run.add_argument("--k", help="number of segments to try, as a range such as 2-10 (default 2-10)")
    run.add_argument("--seed", type=int, help="random seed (default 0)")
    run.add_argument("--roles", help="JSON file mapping column names to roles, overriding the inferred ones")
    run.add_argument("--config", help="run.json of an earlier run: reuse its settings (flags given here win)")
    run.add_argument(
        "--algorithms",
        help=f"comma-separated algorithms to try (default {','.join(DEFAULT_ALGORITHMS)}); see `segment algorithms`",
    )
    run.add_argument(
        "--params", help='JSON file of parameters per algorithm, e.g. {"gmm": {"covariance_type": "diag"}}'
    )
    run.add_argument(
        "--criterion",
        choices=list(CRITERIA),
        help="how the best candidate is chosen (default auto: see docs/command-line.md)",
    )
    run.add_argument("--select", type=int, help="use this leaderboard row instead of the automatic choice")
    run.add_argument(
        "--feature",
        action="append",
        default=None,
        metavar="NAME=KIND(COL,...)",
        help="add an engineered feature; KIND is one of " + ", ".join(KINDS) + " (repeatable)",
    )
    run.add_argument(
        "--outliers",
        metavar="METHOD:ACTION[:THRESHOLD]",
        help="outliers of numeric features: iqr or zscore, then keep, cap or exclude (e.g. iqr:cap)",
    )
    run.add_argument(
        "--transform",
        choices=list(TRANSFORMS),
        help="transform of skewed numeric features (default yeo-johnson; none leaves them as they are)",
    )
    run.add_argument("--transform-columns", help="comma-separated columns to transform (default: skewed ones)")
    run.add_argument("--as-of", help="reference date for date features (default: the newest date in each)")
    run.add_argument(
        "--impute",
        choices=list(IMPUTERS),
        help="fill missing numbers with the median (default), the mean, or from the 5 most similar customers (knn)",
    )
    run.add_argument(
        "--scale",
        choices=list(SCALERS),
        help="scale numbers as z-scores (standard, default), by median and IQR (robust) or to 0-1 (minmax)",
    )
    run.add_argument(
        "--classifier",
        choices=list(CLASSIFIERS),
        help="model that assigns new customers (default logistic; forest is a random forest)",
    )
    run.add_argument(
        "--names-from",
        metavar="MODEL",
        help="model.joblib of an earlier run: segments that match one of its segments keep its name",
    )
    run.add_argument(
        "--value",
        metavar="COLUMN",
        help="the column that says what a customer is worth (default: one named like spend, revenue or monetary; "
        "none: no value column)",
    )
    playbook = commands.add_parser("playbook", help="show or set each segment's suggested action")
    playbook.add_argument("folder", help="the --out folder of `segment run`")
    playbook.add_argument(
        "actions", nargs="*", metavar="SEGMENT=ACTION", help='e.g. 0="Win back with a call" (empty: the suggestion)'
    )
    report = commands.add_parser("report", help="rebuild report.html of a run folder, and print it as a PDF")
    report.add_argument("folder", help="the --out folder of `segment run`")
    report.add_argument("--pdf", action="store_true", help="also write report.pdf (needs Chromium or Chrome)")
    monitor = commands.add_parser("monitor", help="compare a new batch of customers with a model's reference")
    monitor.add_argument("data", nargs="?", help="the new customers: CSV/TSV/delimited text, Excel or Parquet")
    monitor.add_argument("--model", required=True, help="model.joblib written by `segment run`")
    monitor.add_argument("--db", help="read the new customers from this database connection")
    monitor.add_argument("--query", help="with --db: the SELECT query that reads them")
    monitor.add_argument("--table", help="with --db: read this whole table")
    monitor.add_argument("--out", required=True, help="folder for drift.csv, migration.csv, monitor.html (created)")
    rename = commands.add_parser("rename", help="rename segments in every file of a run folder")
    rename.add_argument("folder", help="the --out folder of `segment run`")
    rename.add_argument("renames", nargs="+", metavar="SEGMENT=NAME", help='e.g. 2="Big spenders"')
    export = commands.add_parser("export", help="write a run's segments to a database table")
    export.add_argument("folder", help="the --out folder of `segment run`")
    export.add_argument("--db", required=True, help="a writable database connection (see `segment databases`)")
    export.add_argument("--table", required=True, help="the table to write (schema.table allowed)")
    export.add_argument(
        "--if-exists",
        choices=["fail", "replace", "append"],
        default="fail",
        help="when the table exists: stop (default), replace it, or add these rows to it",
    )
    commands.add_parser("databases", help="list the database connections and their tables")
    commands.add_parser("algorithms", help="list the algorithms and their parameters")
    demo = commands.add_parser("demo", help="write the built-in demo customers (the app's demo data) to a file")
    demo.add_argument("--out", required=True, help="CSV file to write")
    demo.add_argument("--rows", type=int, default=2_000, help="customers to make (default 2,000)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0: the app's demo data)")
    rfm = commands.add_parser("rfm", help="turn a transaction log into one RFM row per customer")
    rfm.add_argument("data", help="transaction log: CSV/TSV/delimited text, Excel (.xlsx) or Parquet")
    rfm.add_argument("--customer", required=True, help="customer id column")
    rfm.add_argument("--date", required=True, help="transaction date column")
    rfm.add_argument("--amount", help="value column (or give --quantity and --price)")
    rfm.add_argument("--quantity", help="quantity column")
    rfm.add_argument("--price", help="unit price column")
    rfm.add_argument("--invoice", help="invoice column: frequency counts distinct invoices; C... are cancellations")
    rfm.add_argument("--as-of", help="date recency and tenure are measured to (default: the newest date)")
    rfm.add_argument("--out", required=True, help="CSV file to write")
    predict = commands.add_parser("predict", help="assign new customers to the segments of a saved model")
    predict.add_argument("data", help="new customers: CSV/TSV/delimited text, Excel (.xlsx) or Parquet")
    predict.add_argument("--model", required=True, help="model.joblib written by `segment run`")
    predict.add_argument("--out", required=True, help="CSV file to write: the input plus cluster, segment, confidence")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.WARNING if args.verbose == 0 else logging.INFO if args.verbose == 1 else logging.DEBUG
    _configure_logging(level)
    with contextlib.redirect_stdout(io.StringIO()) if args.quiet else contextlib.nullcontext(), numeric_threads():
        try:
            return _dispatch(args)
        finally:
            stop_workers()


def _configure_logging(level: int) -> None:
    """Log lines on stderr, prefixed like the command's own messages; the command's logger only."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("segment: %(message)s"))
    logger = logging.getLogger("segstudio")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


def _dispatch(args: argparse.Namespace) -> int:
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "rfm":
            return _rfm(args)
        if args.command == "predict":
            return _predict(args)
        if args.command == "rename":
            return _rename(args)
        if args.command == "export":
            return _export(args)
        if args.command == "playbook":
            return _playbook(args)
        if args.command == "report":
            return _report(args)
        if args.command == "monitor":
            return _monitor(args)
        if args.command == "databases":
            return _databases()
        if args.command == "algorithms":
            print(describe_algorithms())
            return 0
        if args.command == "demo":
            return _demo(args)
    except SegmentationError as exc:
        print(f"segment: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("segment: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last line of defence: one line, not a traceback
        if args.debug:
            raise
        print(f"segment: internal error: {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr)
        return 1
    return 0


def _run(args: argparse.Namespace) -> int:
    settings = _load_config(args.config) if args.config else {}
    if args.columns is not None:
        settings["columns"] = [c.strip() for c in args.columns.split(",") if c.strip()]
    if args.k is not None:
        settings["k_min"], settings["k_max"] = parse_k_range(args.k)
    if args.seed is not None:
        settings["seed"] = args.seed
    if args.algorithms is not None:
        settings["algorithms"] = [a.strip() for a in args.algorithms.split(",") if a.strip()]
        settings.setdefault("params", {})
        settings["params"] = {k: v for k, v in settings["params"].items() if k in settings["algorithms"]}
    if args.params is not None:
        settings["params"] = _load_json(args.params, "parameters file")
        if not isinstance(settings["params"], dict) or not all(
            isinstance(v, dict) for v in settings["params"].values()
        ):
            raise SegmentationError(
                f"{args.params}: the parameters file must map algorithm names to parameter objects."
            )
    if args.criterion is not None:
        settings["criterion"] = args.criterion
    if args.select is not None:
        settings["select"] = args.select
    if args.feature:
        settings["features"] = [parse_feature(text).to_dict() for text in args.feature]
    if args.outliers is not None:
        settings["outliers"] = _parse_outliers(args.outliers)
    if args.transform is not None:
        settings["transform"] = args.transform
    if args.transform_columns is not None:
        settings["transform_columns"] = [c.strip() for c in args.transform_columns.split(",") if c.strip()]
    if args.as_of is not None:
        settings["as_of"] = args.as_of
    if args.classifier is not None:
        settings["classifier"] = args.classifier
    if args.value is not None:
        settings["value"] = args.value
    for name in ("impute", "scale"):
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    if args.roles is not None:
        settings["roles"] = _load_json(args.roles, "roles file")
        if not isinstance(settings["roles"], dict):
            raise SegmentationError(f"{args.roles}: the roles file must map column names to roles.")
    config = RunConfig.from_dict(settings)
    if args.engine == "spark":
        return _run_spark(args, config)
    if args.master or args.format or args.spark_conf or args.labelled_out:
        raise SegmentationError("--master, --format, --spark-conf and --labelled-out apply to --engine spark only.")
    if args.db or (args.data and Path(args.data).is_file() and Path(args.data).stat().st_size >= WORKERS_FROM_BYTES):
        start_workers()  # they import the engine while the customers are read
    table, source = _read_customers(args)
    if args.config:
        expected = _load_json(args.config, "configuration").get("input", {}).get("sha256")
        if expected and expected != source.sha256:
            print(f"segment: warning: {source.file} differs from the data of {args.config}.", file=sys.stderr)
    names_from = args.names_from or _model_beside(args.config)
    previous = ModelBundle.load(names_from, need_predictor=False) if names_from else None
    log.info("segmenting %s rows x %s columns", f"{len(table):,}", table.shape[1])
    result = run_segmentation(table, config, progress=_log_progress)
    stop_workers()  # the fits are done: their memory goes back before the files are written
    kept: dict[int, int] = {}
    if previous is not None:
        result, kept = result.with_names_from(previous.explanation, previous.names, previous.edited_actions())
    elif args.config:  # a replay without its model: the names run.json had, where the segments are the same ones
        result = _names_of_record(args.config, result)
    paths = write_outputs(args.out, table, result, source)
    board = result.leaderboard
    chosen = board[board["selected"]].iloc[0]
    print(
        f"Segmented {len(table):,} customers on {len(result.features)} features into {result.segmenter.n_clusters_} "
        f"segments ({ALGORITHMS[chosen['algorithm']].label}, row {int(chosen.name)} of the leaderboard, "
        f"silhouette {chosen['silhouette']:.3f})."
    )
    selection = result.segmenter.selection_
    print(f"  {selection.verdict} ({selection.evidence})")
    print(f"  why this model: {selection.reason}")
    if selection.runner_up is not None:
        print(f"  runner-up: {selection.runner_up_reason}")
    for warning in selection.warnings:
        print(f"segment: warning: {warning}", file=sys.stderr)
    unstable = [
        str(s)
        for s, j in (result.segmenter.stability_.per_segment.items() if result.segmenter.stability_ else [])
        if j < UNSTABLE_BELOW
    ]
    if unstable:
        print(
            f"  warning: segment(s) {', '.join(unstable)} are unstable under resampling (Jaccard < {UNSTABLE_BELOW})."
        )
    if result.value_column is not None:
        print(f"  value: {result.value_column} (each segment's share of it is in segments.csv; --value to change)")
    if previous is not None:
        print(f"  kept the names of {len(kept)} of {result.segmenter.n_clusters_} segments from {names_from}")
    for path in paths.values():
        print(f"  wrote {path}")
    return 0


def _run_spark(args: argparse.Namespace, config: RunConfig) -> int:
    """`segment run --engine spark`: Spark reads, fits and labels; the driver explains a sample (core.spark)."""
    from core.spark import require_pyspark

    if args.db or args.query:
        raise SegmentationError("--db and --query read through this machine; with --engine spark give DATA or --table.")
    if args.data and args.table:
        raise SegmentationError("Give DATA or --table, not both.")
    if not (args.data or args.table):
        raise SegmentationError("Give the customers as DATA (a path Spark reads) or --table NAME.")
    require_pyspark()
    from core.spark.models import SPARK_ALGORITHMS
    from core.spark.outputs import write_spark_outputs
    from core.spark.run import check_spark_options, run_spark_segmentation
    from core.spark.source import is_local, read_customers, spark_session

    if args.algorithms is None:  # the local defaults include HDBSCAN, which Spark does not run
        config = replace(config, algorithms=list(SPARK_ALGORITHMS))
    check_spark_options(config)
    names_from = args.names_from or _model_beside(args.config)
    previous = ModelBundle.load(names_from, need_predictor=False) if names_from else None
    spark = spark_session(args.master, _spark_conf(args.spark_conf or []))
    if not is_local(spark.sparkContext.master) and not args.labelled_out:
        raise SegmentationError(
            f"On {spark.sparkContext.master} the executors write the labelled customers: give --labelled-out with a "
            "folder they all reach (hdfs://..., s3a://...); the other files go to --out on this machine."
        )
    frame, read_as = read_customers(spark, args.data, args.table)
    log.info("segmenting with Spark on %s", spark.sparkContext.master)
    run = run_spark_segmentation(spark, frame, config, progress=_log_progress, previous=previous)
    name = args.table or args.data.rstrip("/").rsplit("/", 1)[-1]
    source = SourceRecord(
        file=name, path=args.data, rows=run.rows, columns=[str(c) for c in frame.columns], read_as=read_as
    )
    paths = write_spark_outputs(args.out, run, source, args.format or "parquet", args.labelled_out)
    result = run.result
    board = result.leaderboard
    chosen = board[board["selected"]].iloc[0]
    print(
        f"Segmented {run.rows:,} customers on {len(result.features)} features into {result.segmenter.n_clusters_} "
        f"segments with Spark {run.spark['version']} on {run.spark['master']} "
        f"({ALGORITHMS[chosen['algorithm']].label}, row {int(chosen.name)} of the leaderboard, "
        f"silhouette {chosen['silhouette']:.3f})."
    )
    selection = result.segmenter.selection_
    print(f"  {selection.verdict} ({selection.evidence})")
    print(f"  why this model: {selection.reason}")
    print(f"  sampled: {result.segmenter.sampling_note()}")
    for warning in selection.warnings:
        print(f"segment: warning: {warning}", file=sys.stderr)
    for path in paths.values():
        print(f"  wrote {path}")
    return 0


def _spark_conf(pairs: list[str]) -> dict[str, str]:
    conf = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise SegmentationError(f"--spark-conf expects KEY=VALUE, e.g. spark.driver.memory=4g; got '{pair}'.")
        conf[key.strip()] = value.strip()
    return conf


def _read_customers(args: argparse.Namespace) -> tuple[pd.DataFrame, SourceRecord]:
    """The customers from DATA, from --db with --query or --table, or from the database a replayed run.json read."""
    recorded = _load_json(args.config, "configuration").get("input", {}) if args.config else {}
    if args.data and args.db:
        raise SegmentationError("Give either a data file or --db, not both.")
    if (args.query or args.table) and not (args.db or (recorded.get("database") and not args.data)):
        raise SegmentationError("--query and --table read from a database: give --db NAME too.")
    if args.data:
        data = Path(args.data)
        table = read_table(data)
        return table, SourceRecord(
            file=data.name,
            path=str(data.resolve()),
            sha256=sha256_file(data),
            rows=int(len(table)),
            columns=[str(c) for c in table.columns],
            read_as=describe_source(table),
        )
    name = args.db or recorded.get("database")
    if not name:
        raise SegmentationError("Give a data file, or --db NAME with --query or --table.")
    if args.query and args.table:
        raise SegmentationError("Give --query or --table, not both.")
    query = query_for(args.table, args.query) if (args.query or args.table) else recorded.get("query")
    if not query:
        raise SegmentationError('With --db, give --query "SELECT ..." or --table NAME.')
    connection = load_databases().get(name)
    log.info("reading customers from database %s", connection.name)
    table = read_query(connection, query, progress=lambda rows, _total: log.debug("%s rows read", f"{rows:,}"))
    return table, SourceRecord(
        file=f"{args.table or 'query'} ({connection.name})",
        sha256=rows_checksum(table),
        rows=int(len(table)),
        columns=[str(c) for c in table.columns],
        read_as=f"{connection.dialect} query",
        database=connection.name,
        query=query,
    )


def _playbook(args: argparse.Namespace) -> int:
    changes = parse_renames(args.actions, 'actions as SEGMENT=ACTION, e.g. 0="Win back with a call"')
    bundle, written = edit_actions(args.folder, changes)
    for cluster, play in sorted((bundle.plays or {}).items()):
        print(f"{cluster} {bundle.names[cluster]}: {play.action} ({'edited' if play.edited else 'suggested'})")
        print(f"    {play.insight}")
    for path in written:
        print(f"  rewrote {path}")
    return 0


def _report(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    bundle = ModelBundle.load(folder / MODEL_FILE, need_predictor=False)
    if bundle.explanation is None:
        raise SegmentationError(f"{folder / MODEL_FILE} was made before segments were explained; run it again.")
    atomic_write_text(folder / REPORT_FILE, render_report(bundle))
    print(f"  wrote {folder / REPORT_FILE}")
    if args.pdf:
        pdf = html_to_pdf(render_report(bundle, printable=True))
        atomic_write(folder / PDF_FILE, lambda target: target.write_bytes(pdf))
        print(f"  wrote {folder / PDF_FILE}")
    return 0


def _monitor(args: argparse.Namespace) -> int:
    bundle = ModelBundle.load(args.model)
    if bundle.reference is None:
        raise SegmentationError(f"{args.model} was written before monitoring; run the segmentation again.")
    args.config = None
    batch, source = _read_customers(args)
    report = monitor(bundle.scorer, bundle.reference, batch)
    paths = write_monitor(args.out, report, source.file, str(args.model))
    print(f"{report.verdict}: {len(batch):,} new customers compared with the {bundle.reference.rows:,} of the model.")
    for reason in report.reasons:
        print(f"  - {reason}")
    for note in report.notes:
        print(f"  note: {note}")
    for path in paths.values():
        print(f"  wrote {path}")
    return 0


def _export(args: argparse.Namespace) -> int:
    connection = load_databases().get(args.db)
    entry = export_run(args.folder, connection, args.table, args.if_exists)
    print(f"Wrote {entry.rows:,} customers' segments to {args.table} in '{connection.name}'.")
    return 0


def _databases() -> int:
    databases = load_databases()
    for connection in databases.connections.values():
        print(connection.label)
        try:
            for info in list_tables(connection):
                rows = f"{'~' if info.rows_estimated else ''}{info.rows:,} rows" if info.rows is not None else ""
                print(f"    {info.name}: {rows}; " + ", ".join(f"{c} {t}" for c, t in info.columns))
        except SegmentationError as exc:
            print(f"    (not reachable: {exc})")
    return 0


def _rename(args: argparse.Namespace) -> int:
    names, written = rename_run(args.folder, parse_renames(args.renames))
    print("Segments: " + "; ".join(f"{k} = {v}" for k, v in sorted(names.items()) if k >= 0))
    for path in written:
        print(f"  rewrote {path}")
    run_file = Path(args.folder) / RUN_FILE
    record = _load_json(str(run_file), "run record") if run_file.is_file() else {}
    for line in rename_written(record, names, load_databases()) if record.get("written_to") else []:
        print(f"  {line}", file=sys.stderr if line.startswith("warning") else sys.stdout)
    elsewhere = (record.get("spark") or {}).get("labelled_customers", "")
    if "://" in elsewhere:
        print(
            f"segment: warning: the labelled customers at {elsewhere} keep the old names in their segment column "
            "(their cluster numbers are unchanged); join them to segments.csv on cluster.",
            file=sys.stderr,
        )
    return 0


def _parse_outliers(text: str) -> dict:
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise SegmentationError(f"--outliers expects METHOD:ACTION[:THRESHOLD], e.g. iqr:cap; got '{text}'.")
    threshold = None
    if len(parts) == 3:
        try:
            threshold = float(parts[2])
        except ValueError:
            raise SegmentationError(f"--outliers threshold must be a number; got '{parts[2]}'.") from None
    return {"method": parts[0], "action": parts[1], "threshold": threshold}


def _rfm(args: argparse.Namespace) -> int:
    log = read_table(Path(args.data))
    table, report = build_rfm(
        log,
        args.customer,
        args.date,
        amount=args.amount,
        quantity=args.quantity,
        price=args.price,
        invoice=args.invoice,
        as_of=args.as_of,
    )
    out = Path(args.out)
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True)
    atomic_write_text(out, to_csv_text(table))
    print(f"RFM table of {report.summary()}")
    print(f"  wrote {out}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    if not 10 <= args.rows <= 10_000_000:
        raise SegmentationError(f"--rows must be between 10 and 10,000,000; got {args.rows:,}.")
    table = make_demo_customers(n_customers=args.rows, random_state=args.seed)
    assert not isinstance(table, tuple)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, to_csv_text(table))
    print(f"Wrote {len(table):,} demo customers x {table.shape[1]} columns to {out}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    bundle = ModelBundle.load(args.model)
    scored, extra = bundle.scorer.score(read_table(Path(args.data)))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, to_csv_text(scored))
    unfit = int((scored["cluster"] == NO_GOOD_FIT).sum())
    print(f'Assigned {len(scored):,} customers; {unfit:,} fit no segment well ("{NO_GOOD_FIT_NAME}").')
    if extra:
        print(f"  note: column(s) not used by the model, copied through: {', '.join(extra)}")
    print(f"  wrote {out}")
    return 0


def describe_algorithms() -> str:
    """The algorithms and their parameters, as `segment algorithms` prints them."""
    lines = []
    for spec in ALGORITHMS.values():
        swept = {
            "k": "the number of segments (--k)",
            "min_cluster_size": "the minimum segment size (0.5-5% of rows)",
            "eps": "the radius eps (around the knee of the k-distance curve)",
        }[spec.sweep]
        lines.append(f"{spec.key}: {spec.label}. {spec.help} Sweeps {swept}.")
        for p in spec.params:
            bounds = f"one of {', '.join(p.choices)}" if p.kind == "choice" else f"{p.kind} {p.low:,g}..{p.high:,}"
            lines.append(f"    {p.name} ({bounds}; default {p.default}): {p.help}")
    return "\n".join(lines)


def _load_json(path: str, what: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise SegmentationError(f"{path}: {what} not found.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SegmentationError(f"{path}: {what} is not valid JSON ({exc}).") from None


def _model_beside(config: str | None) -> Path | None:
    """The model.joblib in the folder of a replayed run.json, whose names the replay keeps."""
    if not config:
        return None
    model = Path(config).parent / MODEL_FILE
    return model if model.is_file() else None


def _names_of_record(config: str, result: SegmentationResult) -> SegmentationResult:
    """The segment names a run.json records, when they name exactly this result's segments."""
    names = {int(k): str(v) for k, v in (_load_json(config, "configuration").get("segments") or {}).items()}
    if set(names) != set(result.names):
        return result
    return replace(result, names=names)


def _log_progress(fraction: float, message: str) -> None:
    log.info("%3.0f%% %s", 100 * fraction, message)


def _load_config(path: str) -> dict:
    record = _load_json(path, "configuration")
    settings = record.get("config") if isinstance(record, dict) else None
    if not isinstance(settings, dict):
        raise SegmentationError(f"{path} is not a run.json written by `segment run` (no 'config' section).")
    return dict(settings)


if __name__ == "__main__":
    sys.exit(main())
