"""Helpers shared by the test modules: test data, a served app, calling callbacks as a page would, driving Chromium.

Callbacks take their session from the request's cookie (dashboard.session); a test plays a browser session by
putting that cookie in Dash's callback context (:func:`as_session`), which the ``session`` fixture does for it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import requests
from dash._callback_context import context_value
from dash._utils import AttributeDict
from selenium.common.exceptions import ElementClickInterceptedException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from callbacks.data import load_data, show_data
from callbacks.model import run_job
from core.algorithms import ALGORITHMS
from dashboard import ids
from dashboard.session import COOKIE, sign

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"  # real public datasets, each folder with its SOURCE.md
# The columns every labelled_customers.csv ends with: a contract other tools read.
LABELLED_OUTPUTS = ["cluster", "segment", "confidence", "meta_cluster", "assignment_stability", "outlier_excluded"]
DATA_FILES = {
    "mall": DATA / "mall_customers" / "Mall_Customers.csv",
    "wholesale": DATA / "wholesale_customers" / "Wholesale customers data.csv",
    "cc_general": DATA / "cc_general" / "CC GENERAL.csv",
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


# A small transaction log: a return, a cancelled invoice (C2) and a row without a customer.
RFM_LOG = pd.DataFrame(
    {
        "customer": ["A", "A", "A", "B", "B", None, "C", "C", "D"],
        "invoice": ["1", "2", "C2", "3", "3", "4", "5", "6", "7"],
        "day": [
            "2024-01-01",
            "2024-02-01",
            "2024-02-03",
            "2024-01-15",
            "2024-01-15",
            "2024-01-20",
            "2023-12-01",
            "2024-03-01",
            "2024-02-20",
        ],
        "quantity": [2, 1, -1, 3, 1, 5, 1, 2, 4],
        "price": [10.0, 20.0, 20.0, 5.0, 5.0, 1.0, 100.0, 7.5, 2.5],
    }
)


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
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
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


class _Response:
    def __init__(self, response):
        self.status_code = response.status_code
        self.text = response.get_data(as_text=True)
        self._response = response

    def json(self):
        return json.loads(self.text)


class _Cookies:
    def __init__(self, client):
        self.client = client

    def get(self, name: str):
        cookie = self.client.get_cookie(name)
        return cookie.value if cookie is not None else None


class InProcessHTTP:
    """requests.Session's get / post / cookies, over a Flask test client of the real app in this process."""

    def __init__(self, server):
        self.client = server.test_client()
        self.cookies = _Cookies(self.client)

    def get(self, url: str, timeout=None, headers=None) -> _Response:
        return _Response(self.client.get(url, headers=headers))

    def post(self, url: str, json=None, params=None, timeout=None, headers=None) -> _Response:
        return _Response(self.client.post(url, json=json, query_string=params, headers=headers))


def as_session(session: str) -> None:
    """Make the callbacks called next run for this browser session, as if its cookie came with the request."""
    context_value.set(AttributeDict(cookies={COOKIE: sign(session)}, triggered_inputs=[]))


def set_context(**values) -> None:
    """Set what dash.ctx reports to the next callback (triggered_inputs, inputs_list, ...), keeping the session."""
    current = context_value.get(None)
    cookies = dict(current.get("cookies", {})) if current is not None else {}
    context_value.set(AttributeDict(cookies=cookies, **values))


def triggered(component_id: str | dict | None, prop: str = "n_clicks") -> None:
    """Set what dash.ctx reports, as the Dash testing docs do (pattern-matching ids as Dash encodes them)."""
    if isinstance(component_id, dict):
        component_id = json.dumps(component_id, sort_keys=True, separators=(",", ":"))
    inputs = [{"prop_id": f"{component_id}.{prop}", "value": 1}] if component_id else []
    set_context(triggered_inputs=inputs)


def upload_contents(data: bytes) -> str:
    return "data:text/csv;base64," + base64.b64encode(data).decode()


def text_of(component) -> str:
    """All the text in a Dash component tree, as the user would read it (white space collapsed)."""
    return " ".join(_text(component).split())


def json_text(answer) -> str:
    """All the text in a callback's JSON answer (the components' children), white space collapsed."""

    def strings(node):
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict) and "props" in node and "type" in node:  # a component: what it shows
            yield from strings(node["props"].get("children"))
        elif isinstance(node, dict):
            for value in node.values():
                yield from strings(value)
        elif isinstance(node, list):
            for value in node:
                yield from strings(value)

    return " ".join(" ".join(strings(answer)).split())


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


def load(session, trigger, contents=None, filename=None, **rfm):
    """Call the Data page's loader as this session's page would."""
    as_session(session)
    triggered(trigger, "contents" if trigger == ids.UPLOAD else "n_clicks")
    fields = [rfm.get(k) for k in ("customer", "date", "amount", "quantity", "price", "invoice", "as_of")]
    return load_data(contents, None, None, None, filename, *fields)


def shown(session):
    as_session(session)
    return show_data(None)


def run(
    session,
    *,
    k=(2, 6),
    algorithms=("kmeans", "gmm"),
    criterion="silhouette",
    params=None,
    outliers="keep",
    transform="none",
    classifier="logistic",
    impute="median",
    scale="standard",
):
    """Call the Model page's background job as this session's page would, parameter controls at their defaults
    unless given."""
    as_session(session)
    triggered(ids.RUN_BUTTON)
    param_ids = [
        {"type": "algo-param", "algorithm": a, "name": p.name} for a in ALGORITHMS for p in ALGORITHMS[a].params
    ]
    values = [(params or {}).get(a, {}).get(p.name, p.default) for a in ALGORITHMS for p in ALGORITHMS[a].params]
    return run_job(
        1,
        list(k),
        list(algorithms),
        criterion,
        values,
        param_ids,
        impute,
        scale,
        "iqr",
        outliers,
        transform,
        classifier,
    )


def form_values(form) -> tuple[list, list, list, list]:
    """The values and ids of the predict form's fields, as the page would send them."""
    values, value_ids, dates, date_ids = [], [], [], []
    for column in form[1].children:
        control = column.children.children[1]
        if control.id["type"] == ids.PREDICT_DATE:
            dates.append(control.date)
            date_ids.append(control.id)
        else:
            values.append(control.value)
            value_ids.append(control.id)
    return values, value_ids, dates, date_ids


def wait(driver, seconds: float = 30) -> WebDriverWait:
    return WebDriverWait(driver, seconds, poll_frequency=0.2)


def text_present(selector: str, text: str):
    return EC.text_to_be_present_in_element((By.CSS_SELECTOR, selector), text)


def console_errors(driver) -> list[dict]:
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def upload(driver, path: Path) -> None:
    """Choose a file in the Data page's upload zone (once the page has drawn it)."""
    field = (By.CSS_SELECTOR, "#data-upload input[type=file]")
    wait(driver).until(EC.presence_of_element_located(field)).send_keys(str(path))


def toggle_column(driver, column: str) -> None:
    """Tick or untick a column in the Data page's column grid."""
    click(driver, (By.CSS_SELECTOR, f'#data-columns .ag-row[row-id="{column}"] input[type=checkbox]'))


def set_role(driver, column: str, role: str) -> None:
    """Change a column's role in the Data page's grid (AG Grid's select editor: open it, pick the role)."""
    cell = (By.CSS_SELECTOR, f'#data-columns .ag-row[row-id="{column}"] .ag-cell[col-id="role"]')
    click(driver, cell)
    click(driver, (By.CSS_SELECTOR, "#data-columns .ag-cell-editor .ag-picker-field-wrapper"))
    click(driver, (By.XPATH, f'//div[contains(@class, "ag-list-item")][normalize-space()="{role}"]'))
    wait(driver).until(text_present(f'#data-columns .ag-row[row-id="{column}"] .ag-cell[col-id="role"]', role))


def click(driver, target: str | tuple[str, str]) -> None:
    """Bring an element (an id, or a locator) to the middle of the window, clear of the sticky navigation bar, and
    click it; again while the page is still settling (a grid laying out new rows)."""
    locator = (By.ID, target) if isinstance(target, str) else target

    def attempt(d) -> bool:
        element = d.find_element(*locator)
        # instant: Bootstrap makes scrolling smooth, and a click during the animation lands elsewhere
        d.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", element)
        element.click()
        return True

    WebDriverWait(
        driver,
        15,
        poll_frequency=0.3,
        ignored_exceptions=[ElementClickInterceptedException, StaleElementReferenceException],
    ).until(attempt)


def rename_first_segment(driver, name: str) -> None:
    """Rename segment 0 in the Segments page's names grid and wait for its card to show the new name."""
    cell = driver.find_element(By.CSS_SELECTOR, '#seg-names .ag-row[row-id="0"] .ag-cell[col-id="name"]')
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", cell)
    cell.click()
    editor = wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#seg-names .ag-cell-editor input")))
    editor.send_keys(Keys.CONTROL, "a")
    editor.send_keys(name, Keys.ENTER)
    card_title = (By.CSS_SELECTOR, """[id='{"cluster":0,"type":"segment-card-name"}']""")
    wait(driver, 60).until(EC.text_to_be_present_in_element_value(card_title, name))
    driver.execute_script("document.activeElement.blur(); window.getSelection().removeAllRanges();")


def go(driver, page: str) -> None:
    """Follow a navigation-bar link (the app stays loaded: the shell and its stores persist)."""
    click(driver, (By.LINK_TEXT, page))


def run_and_wait(driver, headline: str, seconds: float = 180) -> None:
    go(driver, "Model")
    wait(driver).until(EC.element_to_be_clickable((By.ID, "seg-run"))).click()
    wait(driver, seconds).until(text_present("#model-summary", headline))


def downloaded(folder: Path, name: str, seconds: float = 30) -> Path:
    deadline = time.monotonic() + seconds
    target = folder / name
    while time.monotonic() < deadline:
        if target.exists() and not list(folder.glob("*.crdownload")):
            return target
        time.sleep(0.2)
    raise AssertionError(f"{name} was not downloaded; the folder holds {list(folder.iterdir())}")


def legend(driver, graph: str) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, f"#{graph} .legendtext")]


def choose(driver, dropdown_id: str, value: str) -> None:
    """Open a dcc.Dropdown and click the option with this value (the dropdown brought into view first: one low on
    the page is otherwise covered by whatever the window's edge cuts)."""
    wait(driver).until(EC.element_to_be_clickable((By.ID, dropdown_id)))
    click(driver, dropdown_id)
    option = wait(driver).until(
        EC.element_to_be_clickable((By.XPATH, f'//label[@role="option"][.//input[@value="{value}"]]'))
    )
    option.click()
    wait(driver).until(text_present(f"#{dropdown_id}", value))
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
