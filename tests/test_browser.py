"""Real-browser journeys in headless Chromium against the app served by gunicorn."""
from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from core.demo import make_demo_customers

pytestmark = pytest.mark.browser


def wait(driver, seconds: float = 30) -> WebDriverWait:
    return WebDriverWait(driver, seconds, poll_frequency=0.2)


def text_present(selector: str, text: str):
    return EC.text_to_be_present_in_element((By.CSS_SELECTOR, selector), text)


def console_errors(driver) -> list[dict]:
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def upload(driver, path: Path) -> None:
    driver.find_element(By.CSS_SELECTOR, "#data-upload input[type=file]").send_keys(str(path))


def click_label(driver, text: str) -> None:
    label = next(e for e in driver.find_elements(By.CSS_SELECTOR, "#data-columns label") if e.text == text)
    label.click()


def downloaded(folder: Path, name: str, seconds: float = 30) -> Path:
    deadline = time.monotonic() + seconds
    target = folder / name
    while time.monotonic() < deadline:
        if target.exists() and not list(folder.glob("*.crdownload")):
            return target
        time.sleep(0.2)
    raise AssertionError(f"{name} was not downloaded; the folder holds {list(folder.iterdir())}")


def test_upload_pick_columns_run_and_download(live_server, browser, tmp_path):
    table = make_demo_customers(800, random_state=5)
    source = tmp_path / "browser customers.csv"
    table.to_csv(source, index=False)

    browser.get(live_server + "/")
    wait(browser).until(text_present(".dataset-banner", "Demo customers (built in)"))
    upload(browser, source)
    wait(browser).until(text_present(".dataset-banner", "browser customers.csv · 800 rows × 12 columns"))
    wait(browser).until(text_present("#data-preview", "C10"))  # the preview grid shows the ids
    wait(browser).until(text_present("#data-selection-note", "11 column(s) selected"))
    click_label(browser, "customer_since · date")
    wait(browser).until(text_present("#data-selection-note", "10 column(s) selected"))

    browser.find_element(By.LINK_TEXT, "Segments").click()
    wait(browser).until(text_present("#seg-empty", "No segmentation yet"))
    wait(browser).until(EC.element_to_be_clickable((By.ID, "seg-run"))).click()
    wait(browser, 120).until(text_present(".result-headline", "of 800 customers from 10 features"))
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#seg-scatter .legendtext")))
    legend = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#seg-scatter .legendtext")]
    assert legend and legend[0] == "Segment 1"
    assert browser.find_element(By.ID, "seg-progress").text == "Done"
    assert "customers" in browser.find_element(By.ID, "seg-table").text

    browser.find_element(By.ID, "seg-download").click()
    labelled = pd.read_csv(downloaded(browser.download_dir, "labelled_customers.csv"))
    assert list(labelled.columns) == [*table.columns, "cluster", "segment", "meta_cluster", "outlier_excluded"]
    assert len(labelled) == 800
    assert labelled["customer_id"].tolist() == table["customer_id"].tolist()
    assert set(labelled["segment"]) == set(legend)
    assert console_errors(browser) == []


def test_cancel_stops_a_running_job(live_server, browser, tmp_path):
    big = tmp_path / "many customers.csv"
    make_demo_customers(150_000, random_state=2).to_csv(big, index=False)

    browser.get(live_server + "/")
    wait(browser).until(text_present(".dataset-banner", "Demo customers"))
    upload(browser, big)
    wait(browser, 120).until(text_present(".dataset-banner", "many customers.csv · 150,000 rows"))
    browser.find_element(By.LINK_TEXT, "Segments").click()
    wait(browser).until(text_present("#seg-empty", "No segmentation yet"))
    browser.find_element(By.ID, "seg-run").click()
    wait(browser, 60).until(text_present("#seg-progress", "Fitting KMeans"))
    assert not browser.find_element(By.ID, "seg-run").is_enabled()
    assert live_server.job_processes(), "the fit should be running in a background process"
    browser.find_element(By.ID, "seg-cancel").click()
    wait(browser).until(EC.element_to_be_clickable((By.ID, "seg-run")))
    assert not browser.find_element(By.ID, "seg-cancel").is_enabled()
    wait(browser).until(lambda _: not live_server.job_processes())  # the job process was stopped

    browser.refresh()  # the cancelled job stored nothing
    wait(browser).until(text_present("#seg-empty", "No segmentation yet"))
    assert console_errors(browser) == []
