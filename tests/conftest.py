"""Shared fixtures: seeded demo data, the real datasets in ../shared/data, a live app server and a browser."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import requests

from core.demo import make_demo_customers

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
# The columns every labelled_customers.csv ends with: a contract other tools read.
LABELLED_OUTPUTS = ["cluster", "segment", "confidence", "meta_cluster", "assignment_stability", "outlier_excluded"]
SHARED_FILES = {
    "mall": SHARED_DATA / "mall_customers" / "Mall_Customers.csv",
    "wholesale": SHARED_DATA / "wholesale_customers" / "Wholesale customers data.csv",
    "cc_general": SHARED_DATA / "cc_general" / "CC GENERAL.csv",
}
ARTIFACTS = ROOT / "tests" / "artifacts"
# Files no reader can use, with the message each must give (core, command line and upload alike).
UNREADABLE_FILES = [
    ("empty.csv", b"", "empty.csv is empty"),
    ("header.csv", b"a,b,c\n", "header.csv has a header but no data rows"),
    ("binary.csv", b"\x00\x01\x02PK\x00" * 50, "binary.csv does not look like a text table"),
    ("notes.docx", b"hello", "the format '.docx' is not supported"),
    ("dupes.csv", b"a,b,a\n1,2,3\n", "duplicate column names: 'a'"),
]


@pytest.fixture(scope="session")
def demo() -> tuple[pd.DataFrame, pd.Series]:
    """The default demo table (2,000 customers) and its hidden segments."""
    return make_demo_customers(return_segments=True)


@pytest.fixture()
def demo_csv(tmp_path: Path, demo) -> Path:
    path = tmp_path / "demo customers.csv"
    demo[0].to_csv(path, index=False)
    return path


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder for the app, as the operator would set it."""
    folder = tmp_path / "studio-data"
    monkeypatch.setenv("SEGSTUDIO_DATA_DIR", str(folder))
    return folder


@pytest.fixture()
def session(data_dir: Path) -> str:
    """A new browser session of the app, with its own projects under ``data_dir``."""
    from dashboard.session import new_session_id

    return new_session_id()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveServer(str):
    """The server's base URL (usable as a string), plus its process id."""

    def __new__(cls, url: str, pid: int) -> LiveServer:
        server = super().__new__(cls, url)
        server.pid = pid
        return server

    def job_processes(self) -> list:
        """Background-job processes: children of the gunicorn workers (which are children of the arbiter)."""
        import psutil

        workers = psutil.Process(self.pid).children()
        jobs = [job for worker in workers for job in worker.children(recursive=True)]
        alive = []
        for job in jobs:
            try:
                if job.status() != psutil.STATUS_ZOMBIE:  # a finished job nobody has reaped yet
                    alive.append(job)
            except psutil.NoSuchProcess:
                pass
        return alive


@contextlib.contextmanager
def serving_app(folder: Path, **env: str):
    """The app served by gunicorn (as an operator would run it) on a free local port, with extra environment.

    Yields a :class:`LiveServer`: its base URL, and a way to see the background jobs it is running.
    """
    port = free_port()
    log = open(folder / "server.log", "w+")
    env = {**os.environ, "SEGSTUDIO_DATA_DIR": str(folder / "server-data"), **env}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "app:server", "-b", f"127.0.0.1:{port}", "-w", "2", "--timeout", "300"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if requests.get(url, timeout=10).status_code == 200:
                break
        except requests.RequestException:  # not listening yet, or busy starting up
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait(timeout=20)
            log.seek(0)
            output = log.read()
            log.close()
            pytest.fail(f"the app server did not start:\n{output}")
        time.sleep(0.3)
    try:
        yield LiveServer(url, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.seek(0)
        print(log.read()[-5000:])  # shown by pytest when the test failed
        log.close()


@pytest.fixture()
def live_server(tmp_path: Path):
    """The app served by gunicorn on a free local port, with background jobs on diskcache (the default)."""
    with serving_app(tmp_path) as server:
        yield server


@pytest.fixture()
def browser(tmp_path: Path, request: pytest.FixtureRequest):
    """Headless Debian Chromium driven by selenium, downloading into ``browser.download_dir``.

    On failure a screenshot is saved under tests/artifacts/.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900",
        # The network is closed here: stop Chromium from trying to reach Google's services.
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-quic", "--disable-features=MediaRouter,OptimizationHints",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    download_dir = tmp_path / "downloads"
    download_dir.mkdir()
    driver = webdriver.Chrome(
        service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options
    )
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(download_dir)})
    driver.download_dir = download_dir
    yield driver
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / f"{request.node.name}.png"))
    driver.quit()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
