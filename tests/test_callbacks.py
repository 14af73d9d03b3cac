"""Callbacks called directly as functions, without a browser."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from dash import no_update

from callbacks.compare import show_comparison
from callbacks.data import edit_features, remember_columns
from callbacks.predict import build_form, predict_one, score_file
from dashboard import ids
from dashboard.session import new_session_id
from dashboard.store import project_store
from tests.helpers import UNREADABLE_FILES, form_values, load, run, shown, text_of, triggered, upload_contents

pytestmark = pytest.mark.callback


def test_a_new_session_starts_on_the_demo_data(session):
    data = shown(session)
    status, columns, selected = data["status"], data["columns"], data["selected"]
    rows, column_defs, features = data["preview_rows"], data["preview_columns"], data["features"]
    assert "Demo customers (built in) · 2,000 rows × 12 columns" in text_of(status)
    by_name = {c["column"]: c for c in columns}
    assert by_name["customer_id"]["role"] == "id" and by_name["income"]["missing"] > 0
    assert "customer_id" not in selected["ids"] and "income" in selected["ids"] and len(selected["ids"]) == 11
    assert len(rows) == 100 and [c["headerName"] for c in column_defs][:2] == ["customer_id", "income"]
    assert "No engineered features yet" in text_of(features)


def test_upload_replaces_the_data_and_a_bad_upload_is_explained(session, demo):
    table = demo[0].head(300)
    version, alert, contents = load(
        session, ids.UPLOAD, upload_contents(table.to_csv(index=False).encode()), "my customers.csv"
    )
    assert version is not None and alert is None
    assert contents is None  # cleared, so the same file can be chosen again
    status = shown(session)["status"]
    assert "my customers.csv · 300 rows × 12 columns" in text_of(status)
    assert "comma-separated" in text_of(status)
    assert len(project_store().table(session)) == 300

    version, alert, _ = load(session, ids.UPLOAD, upload_contents(b""), "broken.csv")
    assert version is no_update
    assert "Could not load this file. broken.csv is empty." in text_of(alert)
    assert "my customers.csv" in text_of(shown(session)["status"])  # the previous data is still there


def test_semicolon_latin1_upload(session):
    text = "Kunde;Umsatz;Stadt\n" + "".join(f"K{i};{i},5;Köln\n" for i in range(40))
    version, alert, _ = load(session, ids.UPLOAD, upload_contents(text.encode("cp1252")), "kunden.csv")
    assert alert is None
    status = shown(session)["status"]
    assert "semicolon-separated, encoding cp1252, decimal commas" in text_of(status)
    assert project_store().table(session)["Umsatz"].iloc[1] == 1.5


def test_selection_and_roles_are_saved_server_side(session):
    triggered(ids.COLUMN_GRID, "selectedRows")
    note = remember_columns([{"column": "income"}, {"column": "channel"}, {"column": "customer_id"}], None)
    assert "2 column(s) selected" in text_of(note) and "Ignored as features" in text_of(note)
    assert project_store().selection(session) == ["income", "channel", "customer_id"]
    triggered(ids.COLUMN_GRID, "cellValueChanged")
    remember_columns(None, [{"value": "categorical", "data": {"column": "visits_per_month"}}])
    assert project_store().roles(session)["visits_per_month"] == "categorical"
    triggered(ids.COLUMN_GRID, "selectedRows")
    assert "Choose at least one" in text_of(remember_columns([], None))


def test_transaction_log_becomes_an_rfm_table(session):
    log = "cust,day,amount\n" + "".join(f"C{i % 30},2024-0{1 + i % 6}-1{i % 9},{10 + i}\n" for i in range(300))
    load(session, ids.UPLOAD, upload_contents(log.encode()), "log.csv")
    version, alert, _ = load(session, ids.RFM_BUILD, customer="cust", date="day")
    assert "Choose the customer id and the date" in text_of(alert) or alert is not None
    version, alert, _ = load(session, ids.RFM_BUILD, customer="cust", date="day", amount="amount")
    assert alert is None
    data = shown(session)
    status, selected = data["status"], data["selected"]
    assert "RFM of log.csv · 30 rows" in text_of(status) and "300 transactions of 30 customers" in text_of(status)
    assert selected == {"ids": ["recency_days", "frequency", "monetary"]}
    token, alert = run(session, k=(2, 4), algorithms=("kmeans",))
    compare = show_comparison(token, None)
    assert compare["baseline_box"] == {"display": "block"} and "ARI" in compare["baseline"].layout.title.text
    load(session, ids.RFM_BACK)
    assert len(project_store().table(session)) == 300


def test_engineered_features_are_added_and_removed(session):
    triggered(ids.FEATURE_ADD)
    listing, name = edit_features(1, [], "sum", ["groceries_spend", "fashion_spend"], "total_spend")
    assert "total_spend = sum(groceries_spend, fashion_spend)" in text_of(listing) and name == ""
    listing, _ = edit_features(2, [None], "ratio", ["income"], "bad")
    assert "ratio takes exactly 2 column(s); got 1" in text_of(listing)
    triggered({"type": ids.FEATURE_REMOVE, "index": 0})
    listing, _ = edit_features(2, [1], None, None, None)
    assert "No engineered features yet" in text_of(listing)


def test_sessions_do_not_see_each_other(data_dir, demo):
    first, second = new_session_id(), new_session_id()
    load(first, ids.UPLOAD, upload_contents(demo[0].head(50).to_csv(index=False).encode()), "private.csv")
    status = shown(second)["status"]
    assert "private.csv" not in text_of(status)
    assert len(project_store().table(second)) == 2000


def test_explore_page_figures(session):
    from callbacks.explore import show_distribution, show_matrix, show_overview

    overview = show_overview(True)
    note, stats, missing, correlation = (overview[k] for k in ("note", "stats_rows", "missing", "correlation"))
    first, matrix = overview["column"], overview["matrix_columns"]
    assert "Demo customers (built in): 2,000 rows × 12 columns." in note
    by_column = {row["column"]: row for row in stats}
    assert by_column["income"]["missing"] == 83 and by_column["income"]["mean"] > 0
    assert by_column["channel"]["top"] in {"Store", "Online", "Both"}
    assert list(missing.data[0].x)[:2] == ["customer_id", "income"]
    assert correlation.data[0].z.shape == (7, 7)
    assert first == "income" and matrix == ["income", "groceries_spend", "electronics_spend", "fashion_spend"]
    histogram = show_distribution("income")
    assert {t.type for t in histogram.data} == {"histogram", "box", "scatter"}  # histogram, box, density curve
    counts = show_distribution("channel")
    assert counts.data[0].type == "bar" and sum(counts.data[0].y) == 2000
    assert len(show_matrix(["income", "recency_days"]).data[0].dimensions) == 2


@pytest.mark.parametrize("name, data, message", UNREADABLE_FILES)
def test_upload_errors_are_shown_on_the_page(session, name, data, message):
    version, alert, _ = load(session, ids.UPLOAD, upload_contents(data), name)
    assert version is no_update
    assert "Could not load this file." in text_of(alert) and message in text_of(alert)


def test_predict_form_assigns_a_customer_and_flags_a_far_one(session):
    form = build_form(True)
    empty, style = form["empty"], form["area"]
    assert "No segmentation yet" in text_of(empty) and style == {"display": "none"}
    project_store().save_selection(session, ["income", "fashion_spend", "channel", "customer_since"])
    run(session, k=(4, 4), algorithms=("kmeans",))
    shown_form = build_form(True)
    empty, style, form, figure = (shown_form[k] for k in ("empty", "area", "form", "map"))
    assert empty is None and style == {"display": "block"}
    assert "New customers are assigned by logistic regression, cross-validated accuracy" in form[0].children
    fields = [column.children.children for column in form[1].children]
    assert [f[0].children for f in fields] == ["income", "fashion_spend", "channel", "customer_since"]
    assert "seen" in fields[0][2].children and fields[2][1].options  # range hint, category levels

    values, value_ids, dates, date_ids = form_values(form)
    table = project_store().table(session)
    typical = table.iloc[[5]]
    values = [float(typical["income"].iloc[0]), float(typical["fashion_spend"].iloc[0]), typical["channel"].iloc[0]]
    dates = [typical["customer_since"].iloc[0].strftime("%Y-%m-%d")]
    triggered(ids.PREDICT_BUTTON)
    message, figure = predict_one(1, values, value_ids, dates, date_ids)
    result = project_store().result(session)
    expected = result.names[int(result.labels[5])]
    assert f"Segment: {expected}" in text_of(message) and "confidence" in text_of(message)
    assert figure.data[-1].name == f"New customer: {expected}" and figure.data[-1].marker.symbol == "diamond"

    values[0], values[1] = 9_000_000.0, 80_000.0
    message, _ = predict_one(1, values, value_ids, dates, date_ids)
    assert "Segment: No good fit" in text_of(message) and "the closest is" in text_of(message)
    assert "no confidence: this customer fits no segment" in text_of(message) and "confidence 1" not in text_of(message)


def test_batch_scoring_returns_the_file_with_segments_and_names_missing_columns(session, demo):
    run(session, k=(3, 3), algorithms=("kmeans",), classifier="forest")
    assert "random forest, cross-validated accuracy" in build_form(True)["form"][0].children
    new = demo[0].head(40)
    status, download, cleared = score_file(upload_contents(new.to_csv(index=False).encode()), "new shop.csv")
    assert "Scored 40 customers from new shop.csv" in text_of(status) and cleared is None
    assert download["filename"] == "new shop_segments.csv"
    scored = pd.read_csv(io.StringIO(download["content"]))
    assert list(scored.columns) == [*new.columns, "cluster", "segment", "confidence"]
    labels = project_store().result(session).labels[:40]
    fitted = scored["cluster"] >= 0
    assert (scored.loc[fitted, "cluster"] == labels[fitted.to_numpy()]).mean() > 0.95

    status, download, _ = score_file(
        upload_contents(new.drop(columns=["income"]).to_csv(index=False).encode()), "broken.csv"
    )
    assert "The new file lacks column(s) the model needs: income." in text_of(status) and download is no_update
