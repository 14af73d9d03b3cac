"""What the app promises an operator: sign-in when asked for, and nothing from a file run as code or HTML."""

from __future__ import annotations

import base64

import flask
import numpy as np
import pandas as pd
import pytest
from dash import no_update

from core.bundle import ModelBundle, SourceRecord
from core.config import RunConfig
from core.csv_out import to_csv_text
from core.pipeline import run_segmentation
from core.report import render_report
from dashboard.auth import require_login
from dashboard.settings import load_settings

pytestmark = pytest.mark.callback

HOSTILE = "<img src=x onerror=alert(1)>"


def _basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_sign_in_is_required_for_every_request_when_the_operator_sets_an_account():
    server = flask.Flask(__name__)
    server.add_url_rule("/", "home", lambda: "projects")
    server.add_url_rule("/_dash-update-component", "update", lambda: "{}", methods=["POST"])
    require_login(server, "analyst", "s3cret pass")
    client = server.test_client()
    for response in (
        client.get("/"),
        client.post("/_dash-update-component"),
        client.get("/", headers=_basic("analyst", "wrong")),
        client.get("/", headers=_basic("x", "s3cret pass")),
    ):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith('Basic realm="Segmentation Studio"')
    assert client.get("/", headers=_basic("analyst", "s3cret pass")).get_data(as_text=True) == "projects"


def test_sign_in_needs_both_the_name_and_the_password(monkeypatch):
    monkeypatch.setenv("SEGSTUDIO_USERNAME", "analyst")
    monkeypatch.delenv("SEGSTUDIO_PASSWORD", raising=False)
    with pytest.raises(SystemExit, match="Set both SEGSTUDIO_USERNAME and SEGSTUDIO_PASSWORD"):
        load_settings()
    monkeypatch.setenv("SEGSTUDIO_PASSWORD", "pw")
    assert load_settings().login == ("analyst", "pw")
    monkeypatch.delenv("SEGSTUDIO_USERNAME")
    monkeypatch.delenv("SEGSTUDIO_PASSWORD")
    assert load_settings().login is None


def test_html_in_names_and_columns_is_shown_as_text_in_the_report():
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            HOSTILE: np.r_[rng.normal(0, 1, 200), rng.normal(8, 1, 200)],
            "visits": np.r_[rng.normal(0, 1, 200), rng.normal(8, 1, 200)],
        }
    )
    result = run_segmentation(table, RunConfig(algorithms=["kmeans"], k_min=2, k_max=2, n_bootstrap=2))
    result.names = {0: HOSTILE, 1: '=HYPERLINK("http://x")'}
    html = render_report(ModelBundle.of(result, table, SourceRecord(file=HOSTILE + ".csv")))
    assert HOSTILE not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_csv_cells_and_headers_that_a_spreadsheet_would_run_are_neutralised():
    frame = pd.DataFrame({"=cmd": ["=1+1", "+SUM(A1)", "-2", "@x", "\tx", "plain"], "n": [-1.5, 2, 3, 4, 5, 6]})
    lines = to_csv_text(frame).splitlines()
    assert lines[0] == "'=cmd,n"
    assert [line.split(",")[0] for line in lines[1:]] == ["'=1+1", "'+SUM(A1)", "'-2", "'@x", "'\tx", "plain"]
    assert lines[1].endswith(",-1.5")  # numbers are numbers, negative ones included


@pytest.mark.slow
def test_killing_the_server_mid_write_leaves_the_project_readable(tmp_path):
    """kill -9 a process that keeps saving a project's table, result and names; every file stays readable."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = f"""
import os, sys
sys.path.insert(0, {str(os.getcwd())!r})
os.environ["SEGSTUDIO_DATA_DIR"] = {str(tmp_path)!r}
from core.config import RunConfig
from core.demo import make_demo_customers
from core.pipeline import run_segmentation
from dashboard.store import project_store
store = project_store()
session = "a" * 32
table = make_demo_customers(3000)
result = run_segmentation(table, RunConfig(algorithms=["kmeans"], k_min=2, k_max=3, n_bootstrap=0))
store.save_table(session, table, "customers.csv")
store.save_result(session, result)
print("ready", flush=True)
i = 0
while True:  # a new table drops its project's result, so tables are saved in another session's project
    i += 1
    store.save_table("b" * 32, table, f"customers {{i}}.csv")
    store.save_result(session, result)
    store.save_names(session, {{k: f"{{v}} {{i}}" for k, v in result.names.items()}})
"""
    from dashboard.session import checked

    checked("a" * 32)  # the id the script uses is a valid session id
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    time.sleep(1.5)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    process.stdout.close()

    from dashboard.store import ProjectStore

    store = ProjectStore(tmp_path / "sessions")
    session = "a" * 32
    assert len(store.table("b" * 32)) == 3000 and store.meta("b" * 32)["name"].startswith("customers ")
    result = store.result(session)
    assert result is not None and len(result.labels) == 3000
    assert set(result.names) == set(np.unique(result.labels))


# Markup Plotly would draw (bold, italics, a link) if a label carried it unescaped.
MARKUP_COLUMN, MARKUP_CATEGORY, MARKUP_NAME = "<b>spend</b>", "<a href='http://evil.example'>web</a>", "<i>VIP</i>"


def _figures(value) -> list[dict]:
    """Every Plotly figure in a callback's outputs (figures, dcc.Graph components, nested layouts)."""
    import plotly.graph_objects as go
    from dash.development.base_component import Component

    if isinstance(value, go.Figure):
        return [value.to_plotly_json()]
    if isinstance(value, Component):
        graph = getattr(value, "figure", None)
        return _figures(graph) + _figures(getattr(value, "children", None))
    if isinstance(value, dict) and "data" in value and "layout" in value:
        return [value]
    if isinstance(value, dict):  # a callback's named outputs
        return [f for v in value.values() for f in _figures(v)]
    if isinstance(value, (list, tuple)):
        return [figure for item in value for figure in _figures(item)]
    return []


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, (list, tuple, np.ndarray, pd.Index, pd.Series)):
        return [s for item in list(value) for s in _strings(item)]
    return []


def test_markup_in_columns_categories_and_names_is_drawn_as_text_in_every_chart(session):
    """Plotly reads <b>, <i> and <a href> in labels: every chart of every page gets them escaped."""
    from callbacks.compare import show_comparison
    from callbacks.explore import show_distribution, show_matrix, show_overview
    from callbacks.map import show_map
    from callbacks.predict import build_form, predict_one
    from callbacks.segments import rename_segment, show_segments
    from core.demo import make_demo_customers
    from dashboard import ids
    from tests.helpers import form_values, load, run, triggered, upload_contents

    table = make_demo_customers(600, random_state=1)[["customer_id", "income", "fashion_spend", "channel"]]
    table = table.rename(columns={"fashion_spend": MARKUP_COLUMN, "customer_id": HOSTILE})
    table["channel"] = table["channel"].where(table["channel"] != "Online", MARKUP_CATEGORY)
    load(session, ids.UPLOAD, upload_contents(table.to_csv(index=False).encode()), "markup.csv")
    run(session, k=(3, 3), algorithms=("kmeans",))
    rename_segment([{"value": MARKUP_NAME, "data": {"cluster": 0}}])

    triggered(None)
    outputs = [show_overview(True), show_matrix(["income", MARKUP_COLUMN]), show_comparison(1, None), show_segments(1)]
    outputs += [show_distribution(column) for column in ("income", MARKUP_COLUMN, "channel")]
    outputs += [show_map(1, "pca", dims, None) for dims in (3, 2)]
    form = build_form(True)
    values, value_ids, dates, date_ids = form_values(form["form"])
    triggered(ids.PREDICT_BUTTON)
    outputs += [
        form,
        predict_one(
            1,
            [float(table["income"].iloc[0]), float(table[MARKUP_COLUMN].iloc[0]), MARKUP_CATEGORY],
            value_ids,
            dates,
            date_ids,
        ),
    ]
    figures = _figures(outputs)
    assert len(figures) >= 12
    drawn = [s for figure in figures for s in _strings(figure)]
    for raw in (MARKUP_COLUMN, MARKUP_CATEGORY, MARKUP_NAME, HOSTILE):
        assert not [s for s in drawn if raw in s], raw
    for escaped in ("&lt;b&gt;spend&lt;/b&gt;", "&lt;i&gt;VIP&lt;/i&gt;", "&lt;a href='http://evil.example'&gt;web"):
        assert any(escaped in s for s in drawn), escaped  # still drawn, as the characters typed


def test_a_session_cannot_open_another_sessions_project_by_its_id(data_dir):
    """The project dropdown's value comes from the browser: an id from another session (or a path) is refused."""
    from callbacks.data import change_project
    from dashboard import ids
    from dashboard.session import new_session_id
    from dashboard.store import project_store
    from tests.helpers import as_session, triggered

    store = project_store()
    mine, theirs = new_session_id(), new_session_id()
    their_project = store.new_project(theirs, "Their customers")
    my_project = store.current_project(mine)
    as_session(mine)
    for forged in (their_project, f"../{theirs}/projects/{their_project}", "/etc"):
        triggered(ids.PROJECT_SELECT, "value")
        version, message, _ = change_project(forged, None, None)
        assert version is no_update and message == "That project does not exist (any more)."
    assert store.current_project(mine) == my_project
    assert [p["name"] for p in store.projects(mine)] != ["Their customers"]
