"""Callbacks called directly as functions, without a browser."""
from __future__ import annotations

import base64
import io

import pandas as pd
import pytest
from dash import no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict

from callbacks.data import load_data, remember_selection
from callbacks.segments import download_labelled, run_job, show_result
from core.errors import SegmentationError
from dashboard import ids
from dashboard.session import new_session_id
from dashboard.store import project_store


def triggered(component_id: str | None, prop: str = "n_clicks") -> None:
    """Set what dash.ctx reports, as the Dash testing docs do."""
    inputs = [{"prop_id": f"{component_id}.{prop}", "value": 1}] if component_id else []
    context_value.set(AttributeDict(triggered_inputs=inputs))


def upload_contents(data: bytes) -> str:
    return "data:text/csv;base64," + base64.b64encode(data).decode()


def text_of(component) -> str:
    """All the text in a Dash component tree, as the user would read it (white space collapsed)."""
    return " ".join(_text(component).split())


def _text(component) -> str:
    if component is None:
        return ""
    if isinstance(component, (str, int, float)):
        return str(component)
    if isinstance(component, (list, tuple)):
        return " ".join(_text(c) for c in component)
    return _text(getattr(component, "children", None))


def find(component, component_id: str):
    if getattr(component, "id", None) == component_id:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and not isinstance(child, (str, int, float)):
            found = find(child, component_id)
            if found is not None:
                return found
    return None


@pytest.fixture()
def session(data_dir) -> str:
    return new_session_id()


def test_a_new_session_starts_on_the_demo_data(session):
    triggered(None)
    status, options, chosen, rows, column_defs, contents = load_data(None, None, None, session)
    assert "Demo customers (built in) · 2,000 rows × 12 columns" in text_of(status)
    by_value = {o["value"]: o for o in options}
    assert by_value["customer_id"]["disabled"] and by_value["customer_id"]["label"] == "customer_id · id"
    assert "customer_id" not in chosen and "income" in chosen and len(chosen) == 11
    assert len(rows) == 100 and [c["headerName"] for c in column_defs][:2] == ["customer_id", "income"]
    assert contents is None


def test_upload_replaces_the_data_and_a_bad_upload_is_explained(session, demo):
    table = demo[0].head(300)
    triggered(ids.UPLOAD, "contents")
    status, options, chosen, rows, _, contents = load_data(
        upload_contents(table.to_csv(index=False).encode()), None, "my customers.csv", session
    )
    assert "my customers.csv · 300 rows × 12 columns" in text_of(status)
    assert contents is None  # cleared, so the same file can be chosen again
    assert len(project_store().table(session)) == 300

    status, *_ = load_data(upload_contents(b""), None, "broken.csv", session)
    assert "Could not load this file. broken.csv is empty." in text_of(status)
    assert "my customers.csv" in text_of(status)  # the previous data is still there


def test_selection_is_saved_server_side(session):
    note = remember_selection(["income", "channel"], session)
    assert "2 column(s) selected" in text_of(note)
    assert project_store().selection(session) == ["income", "channel"]
    assert "Choose at least one column" in text_of(remember_selection([], session))


def test_run_show_and_download(session, demo):
    progress = []
    remember_selection(["income", "fashion_spend", "electronics_spend", "recency_days"], session)
    token, alert = run_job(progress.append, 1, [2, 6], session)
    assert token is not None and alert is None
    values = [value for value, _ in progress]
    assert values == sorted(values) and values[-1] == 100
    assert any("Fitting KMeans" in label for _, label in progress)

    area = show_result(token, session)
    graph = find(area, ids.SCATTER)
    names = [trace.name for trace in graph.figure.data]
    assert names == [f"Segment {i + 1}" for i in range(len(names))]
    assert sum(len(trace.x) for trace in graph.figure.data) == 2000
    assert "segments of 2,000 customers from 4 features" in text_of(area)

    download = download_labelled(1, session)
    assert download["filename"] == "labelled_customers.csv"
    labelled = pd.read_csv(io.StringIO(download["content"]))
    assert list(labelled.columns) == [*demo[0].columns, "cluster", "segment"]
    assert len(labelled) == 2000


def test_run_with_no_usable_column_shows_why(session):
    remember_selection([], session)
    token, alert = run_job(lambda _: None, 1, [2, 4], session)
    assert token is no_update
    assert "Could not segment." in text_of(alert) and "No usable feature column" in text_of(alert)


def test_result_page_before_any_run(session):
    assert "No segmentation yet" in text_of(show_result(None, session))


def test_sessions_do_not_see_each_other(data_dir, demo):
    first, second = new_session_id(), new_session_id()
    triggered(ids.UPLOAD, "contents")
    load_data(upload_contents(demo[0].head(50).to_csv(index=False).encode()), None, "private.csv", first)
    triggered(None)
    status, *_ = load_data(None, None, None, second)
    assert "private.csv" not in text_of(status)
    assert len(project_store().table(second)) == 2000


@pytest.mark.parametrize("forged", ["../../etc", "abc", None, "A" * 32])
def test_forged_session_ids_are_refused(data_dir, forged):
    with pytest.raises(SegmentationError, match="lost its session"):
        show_result(None, forged)
