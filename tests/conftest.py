"""Shared fixtures: seeded demo data, an app data folder and session, a live app server and a browser."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from core.demo import make_demo_customers
from tests.helpers import ARTIFACTS, as_session, serving_app


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

    session_id = new_session_id()
    as_session(session_id)  # callbacks called by the test run for this session
    return session_id


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
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        # The network is closed here: stop Chromium from trying to reach Google's services.
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        "--disable-features=MediaRouter,OptimizationHints",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    download_dir = tmp_path / "downloads"
    download_dir.mkdir()
    driver = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
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


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """The app (app.py, the real request handling) imported in this process on its own data folder; its Flask
    server, with ``data_dir``. Call it with helpers.InProcessHTTP (Flask's test client) and bench.dash_client."""
    import importlib

    folder = tmp_path_factory.mktemp("app-server")
    old = os.environ.get("SEGSTUDIO_DATA_DIR")
    os.environ["SEGSTUDIO_DATA_DIR"] = str(folder)
    server = importlib.import_module("app").server
    server.data_dir = folder
    yield server
    if old is None:
        os.environ.pop("SEGSTUDIO_DATA_DIR", None)
    else:
        os.environ["SEGSTUDIO_DATA_DIR"] = old


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL server for the session (Debian's postgresql; its own folder and port)."""
    from bench.pg_server import throwaway_postgres

    with throwaway_postgres() as server:
        yield server


@pytest.fixture()
def crm(postgres, demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A PostgreSQL database holding the demo customers, named 'crm' (writable) and 'warehouse' (read-only) in the
    operator's databases.json, its password only in the environment. Yields the server."""
    import json

    import sqlalchemy as sa

    engine = sa.create_engine(postgres.url_with_password)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    demo[0].to_sql("customers", engine, index=False)
    engine.dispose()
    config = tmp_path / "databases.json"
    config.write_text(
        json.dumps(
            {
                "crm": {"url": postgres.url, "password_env": "CRM_PASSWORD", "writable": True, "timeout": 3},
                "warehouse": {"url": postgres.url, "password_env": "CRM_PASSWORD"},
            }
        )
    )
    monkeypatch.setenv("SEGSTUDIO_DATABASES", str(config))
    monkeypatch.setenv("CRM_PASSWORD", postgres.password)
    return postgres
