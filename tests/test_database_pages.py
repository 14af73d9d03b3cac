"""The Data page's database source and the Export page's write-back, called as a page (or an attacker) would:
only configured connections, checked table names, read-only queries, server-side row bounds, no password in any
answer, and renames that reach the written table."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa
from dash import no_update

from callbacks.data import choose_table, load_query, preview_query, show_tables
from callbacks.export import write_to_database
from callbacks.segments import rename_segment
from dashboard import ids
from dashboard.store import project_store
from tests.helpers import as_session, json_text, run, shown, text_of, triggered

pytestmark = pytest.mark.callback


def _load(session, name, query, url=None):
    as_session(session)
    triggered(ids.DB_LOAD)
    steps = []
    answer = load_query(steps.append, 1, name, url, query)
    return answer, steps


def test_the_tables_of_a_connection_and_a_table_chosen_fill_the_query(crm, session):
    options, _, alert = show_tables("crm", None)
    assert alert is None
    assert {"label": "customers (2,000 rows, 12 columns)", "value": "customers"} in options
    query, info = choose_table("customers", "crm", None)
    assert query == 'SELECT * FROM "customers"' and "customer_since (timestamp" in text_of(info)


@pytest.mark.parametrize("name", ["nosuch", "../../etc/passwd", None, 7, ["crm"]])
def test_only_configured_connections_are_opened(crm, session, name):
    options, _, alert = show_tables(name, None)
    assert options == [] and "Choose one of the listed database connections" in text_of(alert)


def test_a_typed_url_is_refused_unless_the_operator_allows_it(crm, session, monkeypatch):
    _, _, alert = show_tables(None, crm.url_with_password)
    assert "Typed database URLs are off" in text_of(alert) and crm.password not in json_text(alert)
    answer, _ = _load(session, None, "SELECT * FROM customers", url="sqlite:////etc/passwd")
    assert "Typed database URLs are off" in text_of(answer[1])


@pytest.mark.parametrize("table", ['customers"; DROP TABLE customers; --', "pg_shadow", "../x"])
def test_a_table_name_that_is_not_listed_is_refused(crm, session, table):
    query, info = choose_table(table, "crm", None)
    assert "is not a table of this connection" in text_of(info)
    engine = sa.create_engine(crm.url_with_password)
    assert pd.read_sql("SELECT COUNT(*) AS n FROM customers", engine)["n"].item() == 2000
    engine.dispose()


def test_preview_shows_100_rows_and_a_writing_query_is_refused(crm, session):
    rows, columns, style, note = preview_query(1, "crm", None, "SELECT * FROM customers ORDER BY customer_id")
    assert len(rows) == 100 and style["height"] == "260px" and "First 100 rows" in text_of(note)
    assert [c["field"] for c in columns][:2] == ["customer_id", "income"]
    for query in ("DELETE FROM customers", "SELECT wipe_all()"):
        rows, _, style, alert = preview_query(1, "crm", None, query)
        assert rows == [] and style["display"] == "none" and "Could not preview the query" in text_of(alert)
    assert crm.password not in json_text(alert)


def test_a_load_reads_every_row_into_the_project_with_its_source(crm, session):
    (version, alert), steps = _load(session, "crm", "SELECT * FROM customers WHERE customer_id LIKE 'C%'")
    assert version is not None and "Loaded 2,000 rows from 'crm'" in text_of(alert)
    assert steps[-1] == (100, "Loaded") and any("2,000 of 2,000 rows read" in label for _, label in steps)
    source = project_store().source(session)
    assert source.database == "crm" and source.query.startswith("SELECT * FROM customers") and source.rows == 2000
    assert "query (crm) · 2,000 rows × 12 columns" in text_of(shown(session)["status"])


def test_the_server_bounds_the_rows_a_load_may_read(crm, session, monkeypatch):
    monkeypatch.setenv("SEGSTUDIO_MAX_ROWS", "500")
    (version, alert), _ = _load(session, "crm", "SELECT * FROM customers")
    assert "returns 2,000 rows; the app reads at most 500" in text_of(alert)
    assert project_store().source(session).database is None  # the demo table is still the project's


def test_write_back_from_the_export_page_and_a_rename_updates_the_table(crm, session):
    _load(session, "crm", "SELECT * FROM customers")
    run(session, algorithms=("kmeans",), k=(3, 4))
    for connection, table, expected in (
        ("warehouse", "customer_segments", "read-only"),
        ("crm", 'x"; DROP TABLE customers; --', "not a plain table name"),
        ("nosuch", "customer_segments", "Choose one of the listed connections"),
    ):
        assert expected in text_of(write_to_database(1, connection, table, "replace"))
    status = write_to_database(1, "crm", "customer_segments", "replace")
    assert "Wrote 2,000 customers' segments to customer_segments in 'crm'" in text_of(status)
    engine = sa.create_engine(crm.url_with_password)
    written = pd.read_sql("SELECT * FROM customer_segments", engine)
    assert len(written) == 2000 and written["customer_id"].is_unique
    change = [{"data": {"cluster": 0}, "value": "Big basket", "oldValue": project_store().result(session).names[0]}]
    as_session(session)
    _, note = rename_segment(change)
    assert "Updated" in text_of(note) and "customer_segments in 'crm'" in text_of(note)
    renamed = pd.read_sql("SELECT DISTINCT segment FROM customer_segments WHERE cluster = 0", engine)
    engine.dispose()
    assert renamed["segment"].tolist() == ["Big basket"]


def test_a_load_can_be_cancelled_and_the_previous_table_stays(crm, session):
    from dashboard.jobs import request_cancel

    def cancel_on_first_step(_step):
        request_cancel(project_store(), session)  # the analyst presses Cancel while the rows arrive

    as_session(session)
    triggered(ids.DB_LOAD)
    version, alert = load_query(cancel_on_first_step, 1, "crm", None, "SELECT * FROM customers")
    assert version is no_update
    assert "Cancelled; the previous table is kept" in text_of(alert)
    assert project_store().source(session).database is None
    (version, alert), _ = _load(session, "crm", "SELECT * FROM customers")  # and the next load runs
    assert "Loaded 2,000 rows" in text_of(alert)
