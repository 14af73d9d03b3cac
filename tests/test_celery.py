"""With REDIS_URL set, fits run on a Celery worker through a real Redis server (Debian's redis-server)."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from bench.dash_client import DashClient
from tests.helpers import LABELLED_OUTPUTS, ROOT, free_port, serving_app

pytestmark = pytest.mark.slow  # a served app and worker processes


@pytest.fixture()
def redis_url(tmp_path: Path):
    """A throw-away Redis server on a free local port, saving nothing to disk."""
    server = shutil.which("redis-server")
    assert server, "redis-server is not installed (apt-get install redis-server; .ci/run does)"
    port = free_port()
    process = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline and process.poll() is None, "redis-server did not start"
            time.sleep(0.1)
    client.close()
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture()
def celery_worker(tmp_path: Path, redis_url: str):
    """A Celery worker for the app (as the README starts it), sharing the app server's data folder."""
    log_path = tmp_path / "worker.log"
    env = {**os.environ, "REDIS_URL": redis_url, "SEGSTUDIO_DATA_DIR": str(tmp_path / "server-data")}
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "app:celery_app",
                "worker",
                "--concurrency",
                "1",
                "--without-mingle",
                "--without-gossip",
                "--loglevel",
                "INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 90
    while "ready." not in log_path.read_text():
        assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()[-3000:]
        time.sleep(0.3)
    yield process
    process.terminate()
    process.wait(timeout=30)
    print(log_path.read_text()[-5000:])


def _upload(client: DashClient, table: pd.DataFrame, name: str) -> None:
    encoded = base64.b64encode(table.to_csv(index=False).encode()).decode()
    answer = client.call(
        "data-upload.contents",
        "data:text/csv;base64," + encoded,
        output="data-version",
        values={"data-upload.filename": name},
    )
    assert answer["response"]["data-alert"]["children"] is None, answer


def _run(client: DashClient, algorithms: list[str], k_range: list[int]) -> dict:
    return client.call(
        "seg-run.n_clicks",
        1,
        output="model-token",
        values={"seg-k-range.value": k_range, "seg-algorithms.value": algorithms, "seg-criterion.value": "silhouette"},
    )


def _job(data_dir: Path, session_id: str) -> dict:
    [path] = (data_dir / "sessions" / session_id / "projects").glob("*/job.json")
    return json.loads(path.read_text())


def test_a_fit_runs_on_the_celery_worker_and_its_result_downloads(tmp_path, demo, redis_url, celery_worker):
    with serving_app(tmp_path, REDIS_URL=redis_url) as url:
        client = DashClient(url)
        _upload(client, demo[0], "customers.csv")
        answer = _run(client, ["kmeans"], [2, 6])
        assert answer["response"]["seg-run-status"]["children"] is None, answer
        job = _job(tmp_path / "server-data", client.session_id)
        assert job["state"] == "done", job
        # It ran in the Celery worker's pool, not beside the web server.
        assert job["pid"] in [child.pid for child in psutil.Process(celery_worker.pid).children()]
        button = {"file": "labelled_customers.csv", "type": "export-button"}
        download = client.call(json.dumps(button) + ".n_clicks", [(button, 1)], output="export-download")
    data = download["response"]["export-download"]["data"]
    labelled = pd.read_csv(io.StringIO(data["content"]))
    assert data["filename"] == "labelled_customers.csv"
    assert len(labelled) == len(demo[0]) and list(labelled.columns[-len(LABELLED_OUTPUTS) :]) == LABELLED_OUTPUTS


def test_a_fit_on_the_celery_worker_can_be_cancelled(tmp_path, demo, redis_url, celery_worker):
    table = pd.concat([demo[0]] * 5, ignore_index=True).assign(customer_id=lambda t: range(len(t)))
    with serving_app(tmp_path, REDIS_URL=redis_url) as url:
        client = DashClient(url)
        _upload(client, table, "customers.csv")
        data_dir = tmp_path / "server-data"
        running = threading.Thread(target=_run, args=(client, ["kmeans", "gmm", "agglomerative", "spectral"], [2, 12]))
        running.start()
        deadline = time.monotonic() + 60
        while not list((data_dir / "sessions" / client.session_id / "projects").glob("*/job.json")):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert _job(data_dir, client.session_id)["state"] == "running"
        client.call("seg-cancel.n_clicks", 1, output="seg-progress-text")
        running.join(timeout=120)
        assert not running.is_alive()
        job = _job(data_dir, client.session_id)
    assert job["state"] == "cancelled", job


@pytest.mark.browser
def test_the_cancel_button_stops_a_fit_on_the_celery_worker_which_then_runs_the_next(
    tmp_path, redis_url, celery_worker, browser
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC

    from core.demo import make_demo_customers
    from tests.helpers import click, go, text_present, upload, wait

    big = tmp_path / "many customers.csv"
    make_demo_customers(60_000, random_state=2).to_csv(big, index=False)
    with serving_app(tmp_path, REDIS_URL=redis_url) as url:
        browser.get(url + "/")
        wait(browser).until(text_present(".dataset-banner", "Demo customers"))
        upload(browser, big)
        wait(browser, 60).until(text_present(".dataset-banner", "many customers.csv · 60,000 rows"))
        go(browser, "Model")
        click(browser, "seg-run")
        wait(browser, 60).until(text_present("#seg-progress-text", "Fitting"))
        click(browser, "seg-cancel")
        wait(browser, 60).until(text_present("#seg-progress-text", "Cancelled"))
        wait(browser).until(EC.element_to_be_clickable((By.ID, "seg-run")))
        assert "No segmentation yet" in browser.find_element(By.ID, "model-summary").text
        click(browser, (By.CSS_SELECTOR, "#seg-algorithms input[value=gmm]"))  # KMeans alone: quick
        click(browser, (By.CSS_SELECTOR, "#seg-algorithms input[value=hdbscan]"))
        click(browser, "seg-run")
        wait(browser, 180).until(text_present("#model-summary", "of 60,000 customers"))
    assert celery_worker.poll() is None  # the worker survived the cancel
