"""Every bound holds on the server, whatever the browser sends: requests made straight to the callback endpoint of
the real app (in this process), as an attacker or a broken client would, not as the page does."""

from __future__ import annotations

import base64
import threading
import time

import numpy as np
import pandas as pd
import pytest

from bench.dash_client import DashClient, _outputs
from tests.helpers import InProcessHTTP, json_text

pytestmark = pytest.mark.callback


def _contents(data: bytes) -> str:
    return "data:text/csv;base64," + base64.b64encode(data).decode()


def _csv_of_size(megabytes: float) -> bytes:
    line = b"C0000001,123.45,7,2024-01-01\n"
    return b"id,spend,visits,since\n" + line * int(megabytes * 2**20 / len(line))


def _upload(client: DashClient, contents, filename) -> str:
    """The Data page's loader called with these raw values; the text of what the page would show."""
    answer = client.call(
        "data-upload.contents", contents, output="data-version", values={"data-upload.filename": filename}
    )
    return json_text(answer)


def _dataset(client: DashClient) -> str:
    return json_text(client.call("data-version.data", 1, output="data-status"))


def test_the_upload_limit_is_checked_on_the_server_against_the_decoded_size(app_server, monkeypatch):
    monkeypatch.setenv("SEGSTUDIO_MAX_UPLOAD_MB", "1")
    client = DashClient("", http=InProcessHTTP(app_server))
    for size in (1.05, 2, 5, 7.5):
        shown = _upload(client, _contents(_csv_of_size(size)), f"big {size}.csv")
        assert f"big {size}.csv is {size:.1f} MB; this server takes uploads up to 1 MB" in shown, shown
        assert "Demo customers" in _dataset(client)  # nothing was read
    shown = _upload(client, _contents(_csv_of_size(0.95)), "fits.csv")
    assert "Could not load" not in shown and "fits.csv" in _dataset(client)


@pytest.mark.parametrize(
    "filename, outcome",
    [
        (123, "123"),
        (["x.csv"], "x.csv"),
        (None, "arrived without a file name"),
        ({"a": 1}, "arrived without"),
        (True, "arrived without"),
        ("", "arrived without"),
        ("../../etc/passwd.csv", "passwd.csv"),
        ("nul\x00byte.csv", "nulbyte.csv"),
        (["a.csv", "b.csv"], "arrived without"),
    ],
)
def test_file_names_of_any_json_type_get_a_message_or_are_read(app_server, filename, outcome):
    client = DashClient("", http=InProcessHTTP(app_server))
    shown = _upload(client, _contents(b"id,spend,visits\nC1,10,2\nC2,20,3\nC3,5,1\n"), filename)
    if "arrived without" in outcome:
        assert "Could not load this file." in shown and outcome in shown
    else:
        assert "Could not load" not in shown and outcome in _dataset(client)


@pytest.mark.parametrize("contents", [123, ["not a data url"], {"x": 1}, "no comma", "data:text/csv;base64,@@@@"])
def test_upload_contents_of_the_wrong_shape_get_a_message(app_server, contents):
    client = DashClient("", http=InProcessHTTP(app_server))
    shown = _upload(client, contents, "x.csv")
    assert "Could not load this file. x.csv arrived damaged" in shown


@pytest.mark.parametrize("name", ["a\x00b.csv", "../secret.csv", "/etc/passwd", ["x.csv"], 7, "missing.csv"])
def test_a_server_folder_name_the_folder_does_not_list_gets_a_message(app_server, name):
    client = DashClient("", http=InProcessHTTP(app_server))
    answer = json_text(
        client.call("data-server-open.n_clicks", 1, output="data-alert", values={"data-server-file.value": name})
    )
    assert "Choose one of the files listed in the server's data folder." in answer


def test_a_session_runs_only_so_many_requests_at_once_and_others_stay_served(app_server, monkeypatch):
    """With one slot per session: while session A's slow upload runs, A's next request is refused at once with a
    message (429), and session B is served."""
    monkeypatch.setenv("SEGSTUDIO_SESSION_REQUESTS", "1")
    monkeypatch.setenv("SEGSTUDIO_SESSION_WAIT", "0")
    a = DashClient("", http=InProcessHTTP(app_server))
    b = DashClient("", http=InProcessHTTP(app_server))
    rng = np.random.default_rng(0)
    big = pd.DataFrame(
        {
            "id": np.arange(600_000),
            "spend": rng.gamma(2, 50, 600_000).round(2),
            "visits": rng.poisson(3, 600_000),
            "channel": rng.choice(["web", "shop"], 600_000),
        }
    )
    slow = threading.Thread(target=_upload, args=(a, _contents(big.to_csv(index=False).encode()), "big.csv"))
    slot = app_server.data_dir / "slots" / a.session_id / "0"
    slow.start()
    deadline = time.monotonic() + 30
    while not slot.exists() and time.monotonic() < deadline:  # probing the lock would take it: look for the file
        time.sleep(0.01)
    time.sleep(0.2)
    spec = a.find("data-version.data", "data-status")
    body = {
        "output": spec["output"],
        "outputs": _outputs(spec["output"]),
        "inputs": [{"id": "data-version", "property": "data", "value": 1}],
        "state": [],
        "changedPropIds": ["data-version.data"],
    }
    refused = a.http.post("/_dash-update-component", json=body)
    disguised = a.http.post("/_dash-update-component", json=body, params={"cacheKey": "1"})  # not a job's poll
    watch = a.find("shell-job-watch.n_intervals", "shell-job-banner")
    poll = {
        "output": watch["output"],
        "outputs": _outputs(watch["output"]),
        "inputs": [{"id": "shell-job-watch", "property": "n_intervals", "value": 1}],
        "state": [{"id": "shell-job-state", "property": "data", "value": None}],
        "changedPropIds": ["shell-job-watch.n_intervals"],
    }
    light = a.http.post("/_dash-update-component", json=poll)  # the page's own job poll is never refused
    still_running = slow.is_alive()
    served = b.http.post("/_dash-update-component", json=body)
    slow.join(120)
    assert still_running, "the upload ended before the second request; make it bigger"
    assert refused.status_code == 429 and "already running 1 requests" in refused.text
    assert disguised.status_code == 429
    assert light.status_code in (200, 204)
    assert served.status_code == 200 and "Demo customers" in served.text
    assert "big.csv" in _dataset(a)  # A's slow request finished; the slot is free again
