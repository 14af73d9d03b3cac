"""Customers from a database and segments back into it, against a real PostgreSQL server and the built-in SQLite
demo database: same labels as the CSV, read-only queries, timeouts, atomic write-back, clear one-line errors and no
password anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from core.cli import main
from core.database import list_tables, load_databases, preview, query_for, read_query
from core.errors import SegmentationError
from core.roles import infer_roles

pytestmark = pytest.mark.unit
FAST = ["--algorithms", "kmeans", "--k", "3-5"]


def _engine(postgres) -> sa.Engine:
    return sa.create_engine(postgres.url_with_password)


def _count(postgres, sql: str) -> int:
    engine = _engine(postgres)
    with engine.connect() as conn:
        value = conn.exec_driver_sql(sql).scalar()
    engine.dispose()
    return int(value)


@pytest.mark.slow  # fits a segmentation
def test_a_query_gives_the_same_segments_as_the_same_rows_from_csv(crm, demo_csv, tmp_path, capsys):
    assert main(["run", "--db", "crm", "--query", "SELECT * FROM customers", "--out", str(tmp_path / "db"), *FAST]) == 0
    assert main(["run", str(demo_csv), "--out", str(tmp_path / "csv"), *FAST]) == 0
    from_db = pd.read_csv(tmp_path / "db" / "labelled_customers.csv")
    from_csv = pd.read_csv(tmp_path / "csv" / "labelled_customers.csv")
    assert len(from_db) == 2000
    assert (from_db["customer_id"] == from_csv["customer_id"]).all()
    assert (from_db["cluster"] == from_csv["cluster"]).all()
    record = json.loads((tmp_path / "db" / "run.json").read_text())
    assert record["input"]["database"] == "crm" and record["input"]["query"] == "SELECT * FROM customers"
    assert len(record["input"]["sha256"]) == 64


def test_database_types_map_to_roles(crm):
    engine = _engine(crm)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE typed (customer_id integer PRIMARY KEY, balance numeric(10,2), joined date, "
            "seen timestamptz, vip boolean, region text, note text)"
        )
        conn.exec_driver_sql(
            "INSERT INTO typed SELECT i, i * 1.25, DATE '2020-01-01' + i, TIMESTAMPTZ '2024-01-01 10:00+02' + "
            "i * INTERVAL '1 hour', i %% 2 = 0, (ARRAY['north','south','east'])[1 + i %% 3], NULL "
            "FROM generate_series(1, 300) AS i"
        )
    engine.dispose()
    table = read_query(load_databases().get("crm"), "SELECT * FROM typed")
    assert table["balance"].dtype == float and table.loc[0, "balance"] == 1.25
    assert str(table["joined"].dtype).startswith("datetime64") and str(table["seen"].dtype).startswith("datetime64")
    assert table.loc[0, "seen"] == pd.Timestamp("2024-01-01 09:00")  # 10:00+02 + 1 hour, in UTC
    roles = infer_roles(table)
    assert roles == {
        "customer_id": "id",
        "balance": "numeric",
        "joined": "date",
        "seen": "date",
        "vip": "categorical",
        "region": "categorical",
        "note": "constant",
    }


@pytest.mark.slow  # fits a segmentation
def test_a_replayed_run_json_reads_the_same_query_again(crm, tmp_path, capsys):
    out = tmp_path / "first"
    assert main(["run", "--db", "crm", "--table", "customers", "--out", str(out), *FAST]) == 0
    assert main(["run", "--config", str(out / "run.json"), "--out", str(tmp_path / "again")]) == 0
    assert "differs" not in capsys.readouterr().err
    again = json.loads((tmp_path / "again" / "run.json").read_text())
    assert again["input"]["query"] == 'SELECT * FROM "customers"'
    assert again["input"]["sha256"] == json.loads((out / "run.json").read_text())["input"]["sha256"]
    engine = _engine(crm)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE customers SET income = income + 1 WHERE customer_id = 'C100000'")
    engine.dispose()
    assert main(["run", "--config", str(out / "run.json"), "--out", str(tmp_path / "changed")]) == 0
    assert "differs from the data" in capsys.readouterr().err


@pytest.mark.parametrize(
    "query",
    [
        "DROP TABLE customers",
        "UPDATE customers SET income = 0",
        "WITH gone AS (DELETE FROM customers RETURNING *) SELECT * FROM gone",
        "SELECT wipe()",
    ],
)
def test_a_query_that_writes_fails_and_the_table_survives(crm, tmp_path, capsys, query):
    engine = _engine(crm)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE OR REPLACE FUNCTION wipe() RETURNS int AS 'DELETE FROM customers; SELECT 1' LANGUAGE sql"
        )
    engine.dispose()
    assert main(["run", "--db", "crm", "--query", query, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "read-only" in err or "Only SELECT" in err
    assert _count(crm, "SELECT COUNT(*) FROM customers") == 2000
    assert _count(crm, "SELECT COUNT(*) FROM customers WHERE income = 0") == 0


def test_the_database_itself_refuses_a_select_that_writes(crm):
    engine = _engine(crm)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE OR REPLACE FUNCTION wipe() RETURNS int AS 'DELETE FROM customers; SELECT 1' LANGUAGE sql"
        )
    engine.dispose()
    with pytest.raises(SegmentationError, match="cannot execute DELETE in a read-only transaction"):
        read_query(load_databases().get("crm"), "SELECT wipe()")
    assert _count(crm, "SELECT COUNT(*) FROM customers") == 2000


def test_a_slow_query_hits_the_statement_timeout(crm, tmp_path, capsys):
    code = main(["run", "--db", "crm", "--query", "SELECT *, pg_sleep(0.01) FROM customers", "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "ran longer than the 3 s statement timeout" in err and err.count("\n") == 1


def _everything_written(folder: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"password": "wrong-password-123"}, "refused the user name or password"),
        ({"host": "no-such-host.invalid"}, "could not connect"),
        ({"port": 1}, "could not connect"),
    ],
)
def test_a_bad_connection_gives_one_line_and_never_the_password(crm, tmp_path, capsys, monkeypatch, change, expected):
    url = sa.make_url(crm.url)
    if "password" in change:
        monkeypatch.setenv("CRM_PASSWORD", change["password"])
    else:
        url = url.set(**change)
    config = tmp_path / "databases.json"
    config.write_text(json.dumps({"crm": {"url": url.render_as_string(), "password_env": "CRM_PASSWORD"}}))
    monkeypatch.setenv("SEGSTUDIO_DATABASES", str(config))
    assert main(["run", "--db", "crm", "--table", "customers", "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert expected in captured.err and captured.err.count("\n") == 1 and "Traceback" not in captured.err
    secret = change.get("password", crm.password)
    assert secret not in captured.out + captured.err + _everything_written(tmp_path)


def test_bad_sql_gives_one_line(crm, tmp_path, capsys):
    assert main(["run", "--db", "crm", "--query", "SELECT nope FROM customers", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert 'column "nope" does not exist' in err and err.count("\n") == 1


@pytest.mark.slow  # fits a segmentation
def test_the_password_appears_in_no_file_and_no_output(crm, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["-vv", "run", "--db", "crm", "--table", "customers", "--out", str(out), *FAST]) == 0
    assert main(["export", str(out), "--db", "crm", "--table", "customer_segments"]) == 0
    assert main(["rename", str(out), "0=First"]) == 0
    assert main(["databases"]) == 0
    captured = capsys.readouterr()
    assert crm.password not in captured.out + captured.err + _everything_written(tmp_path)
    assert "crm (postgresql, writable)" in captured.out and "customers: 2,000 rows" in captured.out


@pytest.mark.slow  # fits a segmentation
def test_write_back_round_trip_and_a_rename_updates_the_table(crm, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--db", "crm", "--table", "customers", "--out", str(out), *FAST]) == 0
    assert main(["export", str(out), "--db", "crm", "--table", "customer_segments"]) == 0
    labelled = pd.read_csv(out / "labelled_customers.csv")
    engine = _engine(crm)
    written = pd.read_sql("SELECT * FROM customer_segments", engine)
    assert list(written.columns) == [
        "customer_id",
        "cluster",
        "segment",
        "confidence",
        "meta_cluster",
        "run_id",
        "run_time",
    ]
    merged = labelled.merge(written, on="customer_id", suffixes=("", "_db"))
    assert len(written) == len(merged) == 2000
    assert (merged["cluster"] == merged["cluster_db"]).all() and (merged["segment"] == merged["segment_db"]).all()
    types = dict(
        pd.read_sql(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'customer_segments'",
            engine,
        ).to_numpy()
    )
    assert types["cluster"] == "bigint" and types["confidence"] == "double precision"
    assert types["customer_id"] == "text" and types["run_time"].startswith("timestamp")
    record = json.loads((out / "run.json").read_text())
    assert written["run_id"].unique().tolist() == [record["run_id"]]
    assert record["written_to"][0]["table"] == "customer_segments"
    # Exists: fail by default, replace or append on request.
    assert main(["export", str(out), "--db", "crm", "--table", "customer_segments"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["export", str(out), "--db", "crm", "--table", "customer_segments", "--if-exists", "append"]) == 0
    assert _count(crm, "SELECT COUNT(*) FROM customer_segments") == 4000
    assert main(["export", str(out), "--db", "crm", "--table", "customer_segments", "--if-exists", "replace"]) == 0
    assert _count(crm, "SELECT COUNT(*) FROM customer_segments") == 2000
    # Renaming the run later updates the table's rows of this run.
    assert main(["rename", str(out), '0=Loyal "core"']) == 0
    assert "updated" in capsys.readouterr().out
    renamed = pd.read_sql("SELECT DISTINCT segment FROM customer_segments WHERE cluster = 0", engine)
    assert renamed["segment"].tolist() == ['Loyal "core"']
    engine.dispose()


@pytest.mark.slow  # fits a segmentation
def test_integer_ids_stay_integers_in_the_written_table(crm, tmp_path):
    engine = _engine(crm)
    pd.DataFrame({"member_no": range(1, 301), "spend": [float(i % 7) for i in range(300)]}).to_sql(
        "members", engine, index=False
    )
    out = tmp_path / "run"
    assert main(["run", "--db", "crm", "--table", "members", "--out", str(out), *FAST]) == 0
    assert main(["export", str(out), "--db", "crm", "--table", "member_segments"]) == 0
    written = pd.read_sql("SELECT * FROM member_segments ORDER BY member_no", engine)
    engine.dispose()
    assert written["member_no"].tolist() == list(range(1, 301))


@pytest.mark.slow  # fits a segmentation
def test_a_failed_write_leaves_the_old_table_as_it_was(crm, tmp_path, monkeypatch):
    out = tmp_path / "run"
    assert main(["run", "--db", "crm", "--table", "customers", "--out", str(out), *FAST]) == 0
    assert main(["export", str(out), "--db", "crm", "--table", "customer_segments"]) == 0
    before = _count(crm, "SELECT COUNT(*) FROM customer_segments")

    import core.database

    def broken(*args, **kwargs):
        raise sa.exc.OperationalError("ALTER TABLE", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(core.database, "_swap", broken)
    assert main(["export", str(out), "--db", "crm", "--table", "customer_segments", "--if-exists", "replace"]) == 2
    assert _count(crm, "SELECT COUNT(*) FROM customer_segments") == before
    staging = "SELECT COUNT(*) FROM pg_tables WHERE tablename LIKE '_segstudio_staging_%%'"
    assert _count(crm, staging) == 0


@pytest.mark.slow  # fits a segmentation
def test_a_read_only_connection_cannot_be_written(crm, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--db", "warehouse", "--table", "customers", "--out", str(out), *FAST]) == 0
    assert main(["export", str(out), "--db", "warehouse", "--table", "customer_segments"]) == 2
    assert "read-only" in capsys.readouterr().err


@pytest.mark.slow  # fits a segmentation
def test_typed_urls_are_refused_unless_the_machine_allows_them(crm, tmp_path, capsys, monkeypatch):
    url = crm.url_with_password
    assert main(["run", "--db", url, "--table", "customers", "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert "Typed database URLs are off" in err and crm.password not in err
    monkeypatch.setenv("SEGSTUDIO_ALLOW_DB_URLS", "1")
    assert main(["run", "--db", url, "--table", "customers", "--out", str(tmp_path / "b"), *FAST]) == 0
    assert crm.password not in _everything_written(tmp_path / "b")


def test_a_password_in_the_operators_file_is_refused(tmp_path, monkeypatch, capsys):
    config = tmp_path / "databases.json"
    config.write_text(json.dumps({"crm": {"url": "postgresql+psycopg://u:hunter2@db/crm"}}))
    monkeypatch.setenv("SEGSTUDIO_DATABASES", str(config))
    assert main(["databases"]) == 2
    err = capsys.readouterr().err
    assert "password in its URL" in err and "hunter2" not in err


@pytest.mark.slow  # fits a segmentation
def test_the_sqlite_demo_database_works_with_no_server(data_dir, demo_csv, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SEGSTUDIO_DATABASES", raising=False)
    out = tmp_path / "sqlite"
    assert main(["run", "--db", "demo", "--table", "customers", "--out", str(out), *FAST]) == 0
    assert main(["run", str(demo_csv), "--out", str(tmp_path / "csv"), *FAST]) == 0
    from_db = pd.read_csv(out / "labelled_customers.csv")
    from_csv = pd.read_csv(tmp_path / "csv" / "labelled_customers.csv")
    assert (from_db["cluster"] == from_csv["cluster"]).all()
    roles = [json.loads((folder / "run.json").read_text())["roles"] for folder in (out, tmp_path / "csv")]
    assert roles[0] == roles[1] and roles[0]["customer_since"] == "date"  # SQLite's text dates read as dates
    assert main(["export", str(out), "--db", "demo", "--table", "customer_segments"]) == 0
    connection = load_databases().get("demo")
    written = read_query(connection, "SELECT * FROM customer_segments")
    assert len(written) == 2000 and set(written["cluster"]) == set(from_db["cluster"])
    with pytest.raises(SegmentationError, match="read-only"):
        read_query(connection, "WITH x AS (SELECT 1) DELETE FROM customers")
    assert len(preview(connection, "SELECT * FROM customers")) == 100
    assert len(read_query(connection, "SELECT * FROM customers")) == 2000


def test_tables_of_every_schema_are_listed_and_one_too_slow_to_count_does_not_stop_the_list(crm):
    engine = _engine(crm)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS marketing")
        conn.exec_driver_sql("CREATE TABLE marketing.leads (lead_id integer, score float)")
        conn.exec_driver_sql("INSERT INTO marketing.leads VALUES (1, 0.5), (2, 0.7)")
        conn.exec_driver_sql("CREATE VIEW slow_view AS SELECT customer_id, pg_sleep(1)::text AS z FROM customers")
    engine.dispose()
    connection = load_databases().get("crm")
    tables = {t.name: t for t in list_tables(connection)}
    assert tables["customers"].rows == 2000 and tables["marketing.leads"].rows == 2
    assert tables["slow_view"].rows is None  # counting it ran into the 3 s statement timeout
    assert read_query(connection, query_for(table="marketing.leads"))["score"].tolist() == [0.5, 0.7]
    engine = _engine(crm)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA marketing CASCADE")
    engine.dispose()


def test_a_query_with_no_rows_says_so(crm, tmp_path, capsys):
    assert main(["run", "--db", "crm", "--query", "SELECT * FROM customers WHERE false", "--out", str(tmp_path)]) == 2
    assert "The query on 'crm' returned no rows." in capsys.readouterr().err


def test_the_app_bounds_the_rows_a_query_may_return(crm):
    with pytest.raises(SegmentationError, match="returns 2,000 rows; the app reads at most 500"):
        read_query(load_databases().get("crm"), "SELECT * FROM customers", max_rows=500, count_first=True)
    with pytest.raises(SegmentationError, match="more than 500 rows"):
        read_query(load_databases().get("crm"), "SELECT * FROM customers", max_rows=500, chunk_rows=100)
