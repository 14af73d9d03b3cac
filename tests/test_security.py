"""What the app promises an operator: sign-in when asked for, and nothing from a file run as code or HTML."""
from __future__ import annotations

import base64

import flask
import numpy as np
import pandas as pd
import pytest

from core.config import RunConfig
from core.csv_out import to_csv_text
from core.exports import model_bundle
from core.pipeline import run_segmentation
from core.report import render_report
from dashboard.auth import require_login
from dashboard.settings import load_settings

HOSTILE = "<img src=x onerror=alert(1)>"


def _basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_sign_in_is_required_for_every_request_when_the_operator_sets_an_account():
    server = flask.Flask(__name__)
    server.add_url_rule("/", "home", lambda: "projects")
    server.add_url_rule("/_dash-update-component", "update", lambda: "{}", methods=["POST"])
    require_login(server, "analyst", "s3cret pass")
    client = server.test_client()
    for response in (client.get("/"), client.post("/_dash-update-component"),
                     client.get("/", headers=_basic("analyst", "wrong")), client.get("/", headers=_basic("x", "s3cret pass"))):
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
    table = pd.DataFrame({HOSTILE: np.r_[rng.normal(0, 1, 200), rng.normal(8, 1, 200)],
                          "visits": np.r_[rng.normal(0, 1, 200), rng.normal(8, 1, 200)]})
    result = run_segmentation(table, RunConfig(algorithms=["kmeans"], k_min=2, k_max=2, n_bootstrap=2))
    result.names = {0: HOSTILE, 1: "=HYPERLINK(\"http://x\")"}
    html = render_report(model_bundle(result, table, {"file": HOSTILE + ".csv"}))
    assert HOSTILE not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_csv_cells_and_headers_that_a_spreadsheet_would_run_are_neutralised():
    frame = pd.DataFrame({"=cmd": ["=1+1", "+SUM(A1)", "-2", "@x", "\tx", "plain"], "n": [-1.5, 2, 3, 4, 5, 6]})
    lines = to_csv_text(frame).splitlines()
    assert lines[0] == "'=cmd,n"
    assert [line.split(",")[0] for line in lines[1:]] == ["'=1+1", "'+SUM(A1)", "'-2", "'@x", "'\tx", "plain"]
    assert lines[1].endswith(",-1.5")  # numbers are numbers, negative ones included


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
