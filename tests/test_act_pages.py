"""The Segments page's value and actions, the Export page's PDF and the Monitor page, called as functions."""

from __future__ import annotations

import pandas as pd
import pytest
from dash import no_update

from callbacks.export import download_pdf
from callbacks.monitor import compare_batch, download_monitor_file, show_monitor
from callbacks.segments import choose_value_column, rename_segment, show_segments
from core.demo import make_demo_customers
from dashboard import ids
from dashboard.review import review_view
from dashboard.store import project_store
from tests.helpers import as_session, run, text_of, triggered, upload_contents

pytestmark = pytest.mark.callback


def edit_action(cluster: int, text: str):
    triggered(ids.NAMES_GRID, "cellValueChanged")
    return rename_segment([{"colId": "action", "value": text, "oldValue": "x", "data": {"cluster": cluster}}])


def test_value_column_and_actions_are_kept_and_carried_to_a_refit(session):
    run(session, k=(4, 4), algorithms=("kmeans",))
    shown = show_segments(1)
    assert shown["value_column"] == "groceries_spend"
    assert {o["value"] for o in shown["value_options"]} >= {"(none)", "income", "home_spend"}
    assert [t.name for t in shown["value_figure"].data] == ["share of customers", "share of groceries_spend"]

    as_session(session)
    assert choose_value_column("home_spend")[1] is None
    assert choose_value_column("education")[1] is not no_update  # not numeric: refused with a message
    assert "Choose a numeric column" in text_of(choose_value_column("education")[1])
    shown = show_segments(2)
    assert shown["value_column"] == "home_spend" and "home_spend" in shown["value_note"]
    row = next(r for r in shown["names"] if r["cluster"] == 2)
    summary_value = project_store().result(session).value(project_store().table(session))
    assert row["value"] == round(100 * summary_value.value_share(2), 1)

    assert edit_action(2, "Invite to the VIP evening")[1] is None
    assert edit_action(7, "No such segment")[1] is not None
    too_long = edit_action(1, "x" * 201)[1]
    assert "Keep actions to 200 characters" in text_of(too_long)
    shown = show_segments(3)
    assert next(r for r in shown["names"] if r["cluster"] == 2)["action"] == "Invite to the VIP evening"
    assert "What to do: Invite to the VIP evening" in text_of(shown["cards"])
    assert "set by you" in next(r for r in shown["names"] if r["cluster"] == 2)["reason"]

    before = project_store().result(session)
    run(session, k=(4, 4), algorithms=("kmeans",))  # a refit: the same segments come back
    after = project_store().result(session)
    assert after.value_column == "home_spend"
    matched = [c for c in after.names if after.names[c] == before.names[2]]
    assert matched and after.plays(project_store().table(session))[matched[0]].action == "Invite to the VIP evening"

    assert edit_action(matched[0], "")[1] is None  # emptied: back to the suggestion
    assert project_store().result(session).actions is None


@pytest.mark.slow
def test_the_review_page_shows_worth_and_actions(session):
    run(session, k=(4, 4), algorithms=("kmeans",))
    edit_action(0, "Send the spring catalogue")
    token = project_store().review_token(session, create=True)
    page = text_of(review_view(token))
    assert "What to do: Send the spring catalogue" in page and "of groceries_spend" in page
    assert "Download PDF" in page


def test_the_pdf_download_says_what_is_missing_without_a_browser(session, monkeypatch, tmp_path):
    run(session, k=(3, 3), algorithms=("kmeans",))
    monkeypatch.setenv("SEGSTUDIO_CHROMIUM", str(tmp_path / "none"))
    as_session(session)
    sent, status = download_pdf(1)
    assert sent is no_update and "Making a PDF needs Chromium or Chrome" in text_of(status)


def test_monitor_compares_an_uploaded_batch_and_offers_its_files(session):
    as_session(session)
    empty = show_monitor(None)
    assert "No segmentation yet" in text_of(empty[0]) and empty[1] == {"display": "none"}
    run(session, k=(4, 4), algorithms=("kmeans",))
    batch = make_demo_customers(1_000, random_state=3)
    batch["recency_days"] = batch["recency_days"] * 3 + 60
    as_session(session)
    triggered(ids.MONITOR_UPLOAD, "contents")
    view, cleared = compare_batch(upload_contents(batch.to_csv(index=False).encode()), None, None, "march.csv",
                                  None, None, None)  # fmt: skip
    text = text_of(view)
    assert cleared is None and "Refit recommended" in text and "recency_days drifted" in text
    assert "1,000 / 0 / 1,000" in text  # the ids C00001... of the first 1,000 return
    assert "Refit recommended" in text_of(show_monitor(None)[4])  # shown again on a later visit

    triggered({"type": ids.MONITOR_FILE, "file": "drift.csv"})
    sent = download_monitor_file([1, None, None, None])
    drift = pd.read_csv(pd.io.common.StringIO(sent["content"]))
    assert drift.set_index(["scope", "feature"]).loc[("all", "recency_days"), "status"] == "major drift"

    run(session, k=(3, 3), algorithms=("kmeans",))  # a new result: the old comparison no longer applies
    assert show_monitor(None)[4] is None


@pytest.mark.slow
def test_monitor_refuses_bad_batches_and_unlisted_sources_with_messages(session):
    run(session, k=(3, 3), algorithms=("kmeans",))
    as_session(session)
    triggered(ids.MONITOR_UPLOAD, "contents")
    missing = make_demo_customers(200).drop(columns=["income"])
    view, _ = compare_batch(upload_contents(missing.to_csv(index=False).encode()), None, None, "b.csv", None, None,
                            None)  # fmt: skip
    assert "lacks column(s) the model needs: income" in text_of(view)
    triggered(ids.MONITOR_SERVER_OPEN)
    view, _ = compare_batch(None, 1, None, None, "../../etc/passwd", None, None)
    assert "Choose one of the files listed" in text_of(view)
    triggered(ids.MONITOR_DB_RUN)
    view, _ = compare_batch(None, None, 1, None, None, "sqlite:////etc/passwd", "SELECT 1")
    assert "Choose one of the listed database connections" in text_of(view)
    view, _ = compare_batch(None, None, 1, None, None, "demo", "DELETE FROM customers")
    assert "Only SELECT queries can be run here" in text_of(view)
    view, _ = compare_batch(None, None, 1, None, None, "demo", "SELECT * FROM customers")  # the demo database
    assert text_of(view).startswith("Stable query (demo)") and "2,000 / 0 / 0" in text_of(view)  # the same customers


def test_the_review_pdf_needs_a_valid_review_link(session):
    from app import server

    run(session, k=(3, 3), algorithms=("kmeans",))
    client = server.test_client()
    for token in ("A" * 22, session, project_store().current_project(session)):
        assert client.get(f"/review/{token}/report.pdf").status_code == 404
    climbed = client.get("/review/../../etc/passwd/report.pdf")  # the path is normalised: the app's page, no file
    assert climbed.mimetype == "text/html" and b"root:" not in climbed.data


@pytest.mark.slow
def test_the_review_link_serves_the_pdf_with_the_current_actions(session):
    from app import server

    run(session, k=(3, 3), algorithms=("kmeans",))
    edit_action(1, "Offer a free delivery month")
    token = project_store().review_token(session, create=True)
    response = server.test_client().get(f"/review/{token}/report.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF") and b"attachment" in response.headers["Content-Disposition"].encode()
