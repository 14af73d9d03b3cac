"""python -m bench.database [--rows 1000000]

Reads the same customers table (ROWS x 10: an id, 6 numbers, 2 categories, a date) from a throwaway PostgreSQL
server in each candidate way, and from a CSV file of the same rows, in one run, and prints rows per second and
the ratio to the CSV read:

- pandas.read_sql: the whole result through a client-side cursor;
- core.database.read_query: the product's path (COPY streamed into pyarrow block by block, typed from the
  query's own column types; other databases go through a server-side cursor in 50,000-row chunks);
- COPY ... TO STDOUT (CSV) into pyarrow.csv;
- connectorx, when installed (`pip install connectorx`; not a dependency);
- the CSV file through core.readers.read_table (the product's file path).

Also times writing the segments back (id, cluster, segment, confidence, meta_cluster, run_id, run_time) with
core.database.write_table (COPY into a staging table, then the swap).
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.csv as pacsv
import sqlalchemy as sa

from bench.pg_server import throwaway_postgres
from core.database import Connection, read_query, write_table
from core.readers import read_table


def customers(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:08d}" for i in range(rows)],
            "income": rng.gamma(4, 12_000, rows).round(2),
            "spend": rng.lognormal(6, 1, rows).round(2),
            "visits": rng.poisson(5, rows),
            "recency_days": rng.integers(0, 720, rows),
            "basket": rng.gamma(2, 30, rows).round(2),
            "returns": rng.poisson(0.3, rows),
            "region": rng.choice(["north", "south", "east", "west"], rows),
            "channel": rng.choice(["web", "store", "app"], rows),
            "customer_since": pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3650, rows), unit="D"),
        }
    )


def timed(label: str, read, rows: int, baseline: float | None = None) -> float:
    start = time.perf_counter()
    table = read()
    seconds = time.perf_counter() - start
    assert len(table) == rows, (label, len(table))
    ratio = f"{seconds / baseline:5.2f}x the CSV read" if baseline else ""
    print(f"{label:<46} {seconds:7.2f} s  {rows / seconds:>12,.0f} rows/s  {ratio}")
    return seconds


def copy_into_arrow(url: str) -> pd.DataFrame:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        buffer = io.BytesIO()
        with raw.cursor() as cursor, cursor.copy("COPY (SELECT * FROM customers) TO STDOUT WITH CSV HEADER") as copy:
            for block in copy:
                buffer.write(block)
    engine.dispose()
    buffer.seek(0)
    return pacsv.read_csv(buffer).to_pandas()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    table = customers(args.rows)
    with tempfile.TemporaryDirectory() as folder, throwaway_postgres() as server:
        csv_path = Path(folder) / "customers.csv"
        table.to_csv(csv_path, index=False)
        engine = sa.create_engine(server.url_with_password)
        write_start = time.perf_counter()
        os.environ["BENCH_PG_PASSWORD"] = server.password
        connection = Connection("bench", server.url, password_env="BENCH_PG_PASSWORD", writable=True, timeout=600)
        write_table(connection, table, "customers")
        print(f"loaded {args.rows:,} x {table.shape[1]} into PostgreSQL in {time.perf_counter() - write_start:.1f} s")
        print(f"{'path':<46} {'seconds':>9}  {'rows/s':>12}")
        csv_seconds = timed("CSV file, core.readers.read_table", lambda: read_table(csv_path), args.rows)
        timed(
            "PostgreSQL, pandas.read_sql",
            lambda: pd.read_sql("SELECT * FROM customers", engine),
            args.rows,
            csv_seconds,
        )
        timed(
            "PostgreSQL, read_query (COPY in blocks, typed)",
            lambda: read_query(connection, "SELECT * FROM customers"),
            args.rows,
            csv_seconds,
        )
        timed(
            "PostgreSQL, COPY to pyarrow.csv", lambda: copy_into_arrow(server.url_with_password), args.rows, csv_seconds
        )
        try:
            import connectorx  # type: ignore[import-not-found]

            uri = server.url_with_password.replace("postgresql+psycopg", "postgresql")
            timed(
                "PostgreSQL, connectorx",
                lambda: connectorx.read_sql(uri, "SELECT * FROM customers"),
                args.rows,
                csv_seconds,
            )
        except ImportError:
            print("connectorx: not installed (pip install connectorx to compare)")
        engine.dispose()
        segments = pd.DataFrame(
            {
                "customer_id": table["customer_id"],
                "cluster": np.arange(args.rows) % 5,
                "segment": "Segment",
                "confidence": 0.9,
                "meta_cluster": np.arange(args.rows) % 5,
                "run_id": "bench",
                "run_time": pd.Timestamp("2026-12-02"),
            }
        )
        start = time.perf_counter()
        write_table(connection, segments, "customer_segments", if_exists="replace")
        seconds = time.perf_counter() - start
        print(f"{'write back, write_table (COPY + swap)':<46} {seconds:7.2f} s  {args.rows / seconds:>12,.0f} rows/s")


if __name__ == "__main__":
    main()
