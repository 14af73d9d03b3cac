"""One analyst's work is unreachable from another browser session: tried as an attacker would, on the app's real
request handling (Flask's test client in this process, Dash's callback protocol as bench/dash_client speaks it).

Session A (the victim) loads a file with tell-tale values, runs a fit, renames a segment and makes a review link.
Session B (the attacker) then sends every callback of the app with A's identifiers in every input and state, with
renamed ids, with background-job query parameters, with A's replayed page token and job handles, and without or
with a forged cookie. Nothing B gets back may carry A's data, and A's files must not change.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.dash_client import SESSION_COOKIE, DashClient
from tests.helpers import InProcessHTTP

pytestmark = pytest.mark.callback

MARKERS = ("VICTIM", "victim_secret", "Victim project")


def _upload(client: DashClient, table: pd.DataFrame, name: str):
    contents = "data:text/csv;base64," + base64.b64encode(table.to_csv(index=False).encode()).decode()
    return client.call("data-upload.contents", contents, output="data-version", values={"data-upload.filename": name})


RUN_VALUES = {
    "seg-k-range.value": [3, 3],
    "seg-algorithms.value": ["kmeans"],
    "seg-criterion.value": "silhouette",
    "model-impute.value": "median",
    "model-scale.value": "standard",
    "seg-outlier-method.value": "iqr",
    "seg-outlier-action.value": "keep",
    "seg-transform.value": "none",
    "seg-classifier.value": "logistic",
}


def _launch(client: DashClient, values: dict) -> dict:
    """Press Run and return Dash's first answer (the signed job handles) without waiting for the job."""
    spec = client.find("seg-run.n_clicks", "model-token")
    values = {**values, "seg-run.n_clicks": 1}
    body = {
        "output": spec["output"],
        "outputs": _outputs(spec["output"]),
        "inputs": [_item(i, values) for i in spec["inputs"]],
        "state": [_item(s, values) for s in spec["state"]],
        "changedPropIds": ["seg-run.n_clicks"],
    }
    return client._post(body, {"endId": client.end_id})


def _outputs(output: str):
    from bench.dash_client import _outputs as outputs

    return outputs(output)


def _item(spec: dict, values: dict):
    from bench.dash_client import _item as item

    return item(spec, values)


def _victim_table() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    centres = np.repeat([[0, 0], [8, 8], [0, 8]], 100, axis=0)
    points = centres + rng.normal(0, 1, centres.shape)
    return pd.DataFrame(
        {
            "customer": [f"VICTIM-{i:04d}" for i in range(300)],
            "victim_secret_spend": points[:, 0],
            "visits": points[:, 1],
        }
    )


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _wait_done(folder: Path, seconds: float = 120) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        statuses = [json.loads(p.read_text()) for p in folder.glob("projects/*/job.json")]
        if statuses and statuses[0]["state"] not in ("running", "queued"):
            return statuses[0]
        time.sleep(0.3)
    raise AssertionError("the victim's job did not end")


@pytest.fixture(scope="module")
def victim(app_server):
    """Session A with a segmented, renamed project and a review link; the handles of its last job."""
    a = DashClient("", http=InProcessHTTP(app_server))
    _upload(a, _victim_table(), "victim.csv")
    a.call("data-project-name.value", "Victim project", output="data-version")
    handles = _launch(a, RUN_VALUES)
    assert "cacheKey" in handles and "job" in handles
    home = app_server.data_dir / "sessions" / a.session_id
    assert _wait_done(home)["state"] == "done"
    a.call(
        "seg-names.cellValueChanged", [{"value": "VICTIM SEGMENT", "data": {"cluster": 0}}], output="seg-rename-status"
    )
    a.call("export-review.n_clicks", 1, output="export-review-link")
    [project] = [p.name for p in (home / "projects").iterdir()]
    review = (home / "projects" / project / "review.token").read_text().strip()
    return {"client": a, "home": home, "project": project, "review": review, "handles": handles}


def _hostile_values(victim: dict) -> list:
    a = victim["client"]
    return [
        a.session_id,
        a.cookie,
        victim["project"],
        victim["review"],
        f"../{a.session_id}",
        str(victim["home"]),
        [victim["project"]],
        {"session": a.session_id},
    ]


def _request(spec: dict, value, extra_state: list | None = None, rename: str = "") -> dict:
    """A callback request for ``spec`` with ``value`` in every input and state (pattern-matching ones included),
    every id suffixed with ``rename`` if given (Dash passes values by position, not by id)."""

    def item(dep: dict):
        if dep["id"].startswith("{"):
            keys = {k: value if isinstance(value, str) else "x" for k in json.loads(dep["id"]) if k != "type"}
            component = {**keys, "type": json.loads(dep["id"])["type"] + rename}
            return [{"id": component, "property": dep["property"], "value": value}]
        return {"id": dep["id"] + rename, "property": dep["property"], "value": value}

    inputs = [item(i) for i in spec["inputs"]]
    first = spec["inputs"][0]
    changed = (
        first["id"] + "." + first["property"]
        if not first["id"].startswith("{")
        else json.dumps(inputs[0][0]["id"], sort_keys=True, separators=(",", ":")) + "." + first["property"]
    )
    return {
        "output": spec["output"],
        "outputs": _outputs(spec["output"]),
        "inputs": inputs,
        "state": [item(s) for s in spec["state"]] + (extra_state or []),
        "changedPropIds": [changed],
    }


def _leaks(text: str) -> list[str]:
    return [m for m in MARKERS if m in text]


def test_no_callback_reaches_another_sessions_project(app_server, victim):
    before = _snapshot(victim["home"])
    b = DashClient("", http=InProcessHTTP(app_server))
    a = victim["client"]
    assert b.session_id != a.session_id
    replayed = {"endId": a.end_id, "cacheKey": victim["handles"]["cacheKey"], "job": victim["handles"]["job"]}
    variants = [
        ({"endId": b.end_id}, None),
        ({"endId": b.end_id, "cacheKey": "1"}, None),  # the old guard skipped any request with a cacheKey
        ({"endId": b.end_id, "cacheKey": "1", "job": "1", "oldJob": "1", "cancelJob": "1"}, None),
        (replayed, None),  # A's page token and job handles, sent from B's browser
        ({**replayed, "endId": b.end_id}, None),
        ({"endId": b.end_id}, "X"),  # every id renamed: Dash still runs the callback with the values in order
        ({"endId": b.end_id}, [{"id": "session-id", "property": "data", "value": a.session_id}]),  # an extra state
    ]
    answers = 0
    attempts = [(value, *variants[0]) for value in _hostile_values(victim)]
    attempts += [(victim["project"], *variant) for variant in variants[1:]]
    attempts += [(a.session_id, *variant) for variant in variants[1:]]
    for spec in [s for s in b.callbacks if not s.get("clientside_function")]:  # the rest run in the browser
        for value, params, extra in attempts:
            if True:
                body = _request(spec, value, rename=extra) if isinstance(extra, str) else _request(spec, value, extra)
                response = b.http.post("/_dash-update-component", json=body, params=params)
                expected = (400,) if isinstance(extra, list) else (200, 204)  # a body that matches no callback
                assert response.status_code in expected, (spec["output"], value, params, response.text[:300])
                assert not _leaks(response.text), (spec["output"], value, params, _leaks(response.text))
                answers += response.status_code == 200
    assert answers > 100  # the requests ran (as B): they were answered, with B's own data
    time.sleep(1)
    assert _snapshot(victim["home"]) == before  # nothing of A's changed: names, project, result, job, settings
    # B's real use of the app shows B's own data only
    status = b.call("data-version.data", 1, output="data-status")
    assert "Demo customers" in json.dumps(status) and not _leaks(json.dumps(status))


def test_requests_without_a_session_cookie_or_with_a_forged_one_run_nothing(app_server, victim):
    a = victim["client"]
    before = _snapshot(victim["home"])
    forged_cookies = [
        None,
        a.session_id,
        a.session_id + "." + "0" * 64,
        "x" * 97,
        DashClient("", http=InProcessHTTP(app_server)).session_id,
    ]
    specs = DashClient("", http=InProcessHTTP(app_server)).callbacks
    for cookie in forged_cookies:
        http = InProcessHTTP(app_server)
        if cookie is not None:
            http.client.set_cookie(SESSION_COOKIE, cookie)
        for spec in [s for s in specs if not s.get("clientside_function")]:
            response = http.post(
                "/_dash-update-component",
                json=_request(spec, victim["project"]),
                params={"endId": a.end_id, "cacheKey": victim["handles"]["cacheKey"]},
            )
            assert response.status_code == 403 and "lost its session" in response.text, (cookie, spec["output"])
    assert _snapshot(victim["home"]) == before


@pytest.mark.slow
def test_another_session_cannot_cancel_a_running_fit(app_server, victim):
    """A's fit keeps running when B sends A's job handle to Dash's cancel, B's own Cancel, or a pid."""
    a = victim["client"]
    big = pd.concat([_victim_table()] * 150, ignore_index=True)
    big["customer"] = [f"VICTIM-{i}" for i in range(len(big))]
    _upload(a, big, "victim big.csv")
    handles = _launch(a, {**RUN_VALUES, "seg-k-range.value": [2, 10], "seg-algorithms.value": ["kmeans", "gmm"]})
    home = victim["home"]
    status_file = next(home.glob("projects/*/job.json"))
    deadline = time.monotonic() + 30
    while json.loads(status_file.read_text())["state"] != "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    pid = json.loads(status_file.read_text())["pid"]
    b = DashClient("", http=InProcessHTTP(app_server))
    cancel = b.find("seg-cancel.n_clicks", "seg-cancel.id")  # Dash's own cancel callback (it kills the job's process)
    body = {
        "output": cancel["output"],
        "outputs": _outputs(cancel["output"]),
        "inputs": [{"id": "seg-cancel", "property": "n_clicks", "value": 1}],
        "state": [],
        "changedPropIds": ["seg-cancel.n_clicks"],
    }
    for params in (
        {"cancelJob": handles["job"], "endId": a.end_id},
        {"cancelJob": handles["job"], "endId": b.end_id},
        {"cancelJob": str(pid)},
        {"oldJob": handles["job"], "endId": a.end_id},
    ):
        assert b.http.post("/_dash-update-component", json=body, params=params).status_code in (200, 204)
    b.call("seg-cancel.n_clicks", 1, output="seg-progress-text")  # B's Cancel cancels B's project, not A's
    import psutil

    assert psutil.Process(pid).is_running() and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    assert not (status_file.parent / "job.cancel").exists()
    assert _wait_done(home, 300)["state"] == "done"


def test_the_session_cookie_is_signed_http_only_and_same_site(app_server):
    client = InProcessHTTP(app_server).client
    response = client.get("/")
    header = response.headers["Set-Cookie"]
    assert header.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in header and "SameSite=Lax" in header
    value = client.get_cookie(SESSION_COOKIE).value
    session_id, _, signature = value.partition(".")
    assert len(session_id) == 32 and len(signature) == 64
    assert session_id not in response.get_data(as_text=True)  # the page itself never holds the session id
    assert "Set-Cookie" not in client.get("/").headers  # a valid cookie is kept, not re-issued


def test_two_sessions_with_the_same_inputs_get_different_job_result_keys(app_server):
    from dash._callback_context import context_value
    from dash._utils import AttributeDict

    from app import manager
    from dashboard.session import COOKIE, new_session_id, sign

    keys = []
    for session in (new_session_id(), new_session_id()):
        context_value.set(AttributeDict(cookies={COOKIE: sign(session)}))
        keys.append(manager.build_cache_key(_upload, [1, [3, 3], ["kmeans"]], [], None))
    assert keys[0] != keys[1]
