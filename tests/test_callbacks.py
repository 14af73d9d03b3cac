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
from core.algorithms import ALGORITHMS
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


def run(session, *, trigger=ids.RUN_BUTTON, k=(2, 6), algorithms=("kmeans", "gmm"), criterion="silhouette",
        params=None, selected=None, progress=None):
    """Call the background job as the page would, with parameter controls at their defaults unless given."""
    triggered(trigger)
    param_ids = [{"type": "algo-param", "algorithm": a, "name": p.name} for a in ALGORITHMS
                 for p in ALGORITHMS[a].params]
    values = [(params or {}).get(a, {}).get(p.name, p.default) for a in ALGORITHMS for p in ALGORITHMS[a].params]
    sink = progress.append if progress is not None else (lambda _: None)
    return run_job(sink, 1, None, list(k), list(algorithms), criterion, values, param_ids, selected, session)


def test_run_show_and_download(session, demo):
    progress = []
    remember_selection(["income", "fashion_spend", "electronics_spend", "recency_days"], session)
    token, alert = run(session, progress=progress)
    assert token is not None and alert is None
    values = [value for value, _ in progress]
    assert values == sorted(values) and values[-1] == 100
    assert any("Fitting KMeans" in label for _, label in progress)
    assert any("Fitting Gaussian mixture" in label for _, label in progress)

    (empty, style, headline, scatter, profile_rows, _, board_rows, board_cols, elbow, metrics, stability,
     agreement, _, k_style) = show_result(token, session)
    assert empty is None and style == {"display": "block"} and k_style == {"display": "none"}
    names = [trace.name for trace in scatter.data]
    assert names == [f"Segment {i + 1}" for i in range(len(names))]
    assert sum(len(trace.x) for trace in scatter.data) == 2000
    assert "segments of 2,000 customers from 4 features" in headline
    assert [r["row"] for r in board_rows] == list(range(10))  # k = 2..6 for two algorithms
    assert {c["headerName"] for c in board_cols} >= {"silhouette", "stability", "dbcv", "noise %"}
    assert [t.name for t in elbow.data if t.showlegend is not False] == ["KMeans", "Gaussian mixture"]
    assert [b for b in stability.data[0].x] == names
    assert agreement.data[0].z.shape == (2, 2)
    assert profile_rows[0]["measure"] == "customers"

    download = download_labelled(1, session)
    assert download["filename"] == "labelled_customers.csv"
    labelled = pd.read_csv(io.StringIO(download["content"]))
    assert list(labelled.columns) == [*demo[0].columns, "cluster", "segment", "meta_cluster", "outlier_excluded"]
    assert len(labelled) == 2000


def test_run_with_no_usable_column_shows_why(session):
    remember_selection([], session)
    token, alert = run(session, k=(2, 4))
    assert token is no_update
    assert "Could not segment." in text_of(alert) and "No usable feature column" in text_of(alert)


def test_result_page_before_any_run(session):
    empty, style, *_ = show_result(None, session)
    assert "No segmentation yet" in text_of(empty) and style == {"display": "none"}


def test_analyst_picks_another_leaderboard_row(session):
    token, _ = run(session, k=(2, 5), algorithms=("kmeans",))
    assert project_store().result(session).segmenter.n_clusters_ == 4
    token, alert = run(session, trigger=ids.USE_ROW_BUTTON, selected=[{"row": 1}])
    assert alert is None
    result = project_store().result(session)
    assert result.segmenter.n_clusters_ == 3 and result.leaderboard["selected"].tolist() == [False, True, False, False]
    token, alert = run(session, trigger=ids.USE_ROW_BUTTON, selected=None)
    assert "Select a row of the model comparison first" in text_of(alert)


def test_parameters_from_the_controls_reach_the_engine(session):
    token, alert = run(session, k=(3, 4), algorithms=("gmm",), params={"gmm": {"covariance_type": "diag"}})
    assert alert is None
    assert project_store().result(session).config.params == {"gmm": {"covariance_type": "diag"}}
    token, alert = run(session, algorithms=("kmeans",), params={"kmeans": {"n_init": 0}})
    assert "kmeans parameter 'n_init' must be between 1 and 50; got 0" in text_of(alert)


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
