"""Real-browser journeys in headless Chromium against the app served by gunicorn."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC

from core.demo import make_demo_customers
from tests.helpers import (
    LABELLED_OUTPUTS,
    choose,
    click,
    console_errors,
    downloaded,
    go,
    legend,
    rename_first_segment,
    run_and_wait,
    serving_app,
    set_role,
    text_present,
    toggle_column,
    upload,
    wait,
)

pytestmark = pytest.mark.browser


def test_the_whole_journey(live_server, browser, tmp_path):
    """Upload, set roles, explore, run two algorithms, compare, switch PCA/UMAP, rename, predict, export, review."""
    table = make_demo_customers(800, random_state=5)
    source = tmp_path / "browser customers.csv"
    table.to_csv(source, index=False)

    browser.get(live_server + "/")
    wait(browser).until(text_present(".dataset-banner", "Demo customers (built in)"))
    upload(browser, source)
    wait(browser).until(text_present(".dataset-banner", "browser customers.csv · 800 rows × 12 columns"))
    wait(browser).until(text_present("#data-preview", "C10"))  # the preview grid shows the ids
    wait(browser).until(text_present("#data-selection-note", "11 column(s) selected"))
    toggle_column(browser, "customer_since")
    wait(browser).until(text_present("#data-selection-note", "10 column(s) selected"))
    set_role(browser, "visits_per_month", "categorical")

    go(browser, "Explore")
    wait(browser).until(text_present("#explore-note", "browser customers.csv: 800 rows"))
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#explore-correlation .main-svg")))

    go(browser, "Model")
    wait(browser).until(text_present("#model-summary", "No segmentation yet"))
    click(browser, (By.CSS_SELECTOR, "#seg-algorithms input[value=hdbscan]"))  # KMeans and GMM stay ticked
    click(browser, "seg-run")
    wait(browser, 120).until(text_present("#model-summary", "of 800 customers from 10 features"))
    wait(browser, 5).until(text_present("#seg-progress-text", "Done"))  # the job file is polled every second

    go(browser, "Compare")
    wait(browser).until(text_present("#seg-leaderboard", "gmm"))
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#compare-silhouette .main-svg")))

    go(browser, "Map")
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#map-graph .legendtext")))
    names = legend(browser, "map-graph")
    assert names and len(set(names)) == len(names)
    click(browser, (By.CSS_SELECTOR, "#map-projection input[value=umap]"))
    wait(browser, 240).until(text_present("#map-status", "UMAP of a stratified sample of 800 customers"))
    assert legend(browser, "map-graph") == names

    go(browser, "Segments")
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, '#seg-names .ag-row[row-id="0"]')))
    rename_first_segment(browser, "Loyal big spenders")
    card = browser.find_element(By.CSS_SELECTOR, """[id='{"cluster":1,"type":"segment-card-name"}']""")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", card)
    card.send_keys(Keys.CONTROL, "a")
    card.send_keys("Weekend browsers", Keys.ENTER)  # a card's title renames its segment too
    wait(browser, 60).until(text_present("#seg-names", "Weekend browsers"))
    go(browser, "Map")
    wait(browser, 60).until(text_present("#map-graph .legend", "Loyal big spenders"))
    assert legend(browser, "map-graph")[0] == "Loyal big spenders"
    browser.refresh()  # the new name is kept server-side
    wait(browser, 60).until(text_present("#map-graph .legend", "Loyal big spenders"))

    go(browser, "Predict")
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#predict-form input")))
    click(browser, "predict-run")
    wait(browser, 60).until(text_present("#predict-result", "Segment: "))
    wait(browser).until(text_present("#predict-map .legend", "New customer"))
    income = browser.find_element(By.CSS_SELECTOR, """[id='{"feature":"income","type":"predict-input"}']""")
    income.send_keys(Keys.CONTROL, "a")
    income.send_keys("90000000")
    click(browser, "predict-run")
    wait(browser, 60).until(text_present("#predict-result", "Segment: No good fit"))
    new_customers = tmp_path / "new customers.csv"
    table.head(25).to_csv(new_customers, index=False)
    browser.find_element(By.CSS_SELECTOR, "#predict-batch-upload input[type=file]").send_keys(str(new_customers))
    wait(browser, 60).until(text_present("#predict-batch-status", "Scored 25 customers from new customers.csv"))
    scored = pd.read_csv(downloaded(browser.download_dir, "new customers_segments.csv"))
    assert list(scored.columns) == [*table.columns, "cluster", "segment", "confidence"]
    assert set(scored["segment"]) <= set(names) | {"Loyal big spenders", "Weekend browsers", "No good fit"}

    go(browser, "Export")
    for name in (
        "labelled_customers.csv",
        "segments.csv",
        "leaderboard.csv",
        "report.html",
        "model.joblib",
        "run.json",
    ):
        click(browser, (By.CSS_SELECTOR, f"""[id='{{"file":"{name}","type":"export-button"}}']"""))
        downloaded(browser.download_dir, name, seconds=60)
    labelled = pd.read_csv(browser.download_dir / "labelled_customers.csv")
    assert list(labelled.columns) == [*table.columns, *LABELLED_OUTPUTS]
    assert labelled["customer_id"].tolist() == table["customer_id"].tolist()
    assert (labelled.loc[labelled["cluster"] == 0, "segment"] == "Loyal big spenders").all()
    run_record = json.loads((browser.download_dir / "run.json").read_text())
    assert run_record["roles"]["visits_per_month"] == "categorical"  # the role set on the Data page was used
    summary = pd.read_csv(browser.download_dir / "segments.csv")
    assert summary.loc[summary["cluster"] == 0, "segment"].item() == "Loyal big spenders"
    assert "Loyal big spenders" in (browser.download_dir / "report.html").read_text(encoding="utf-8")
    assert console_errors(browser) == []

    click(browser, "export-review")
    url = wait(browser).until(EC.presence_of_element_located((By.ID, "review-url"))).text
    browser.get(url)
    wait(browser).until(text_present(".review", "Loyal big spenders"))
    assert not browser.find_elements(By.LINK_TEXT, "Data")  # no way into the analyst's pages
    assert not browser.find_elements(By.CSS_SELECTOR, "input[type=file], .ag-cell-editor, #seg-names")
    assert console_errors(browser) == []


def test_a_job_survives_leaving_the_page_and_can_be_cancelled_on_return(live_server, browser, tmp_path):
    big = tmp_path / "many customers.csv"
    make_demo_customers(150_000, random_state=2).to_csv(big, index=False)

    browser.get(live_server + "/")
    wait(browser).until(text_present(".dataset-banner", "Demo customers"))
    upload(browser, big)
    wait(browser, 120).until(text_present(".dataset-banner", "many customers.csv · 150,000 rows"))
    go(browser, "Model")
    wait(browser).until(text_present("#model-summary", "No segmentation yet"))
    click(browser, "seg-run")
    wait(browser, 60).until(text_present("#seg-progress-text", "Fitting KMeans"))
    assert not browser.find_element(By.ID, "seg-run").is_enabled()
    assert live_server.job_processes(), "the fit should be running in a background process"

    go(browser, "Compare")  # leave while it runs, then come back: the page knows the job runs
    wait(browser).until(text_present("#compare-empty", "A segmentation run is going"))
    wait(browser).until(text_present("#shell-job-banner", "A segmentation run is going"))
    go(browser, "Model")
    wait(browser, 30).until(text_present("#seg-progress-text", "Fitting"))
    assert live_server.job_processes(), "leaving the page must not stop the job"
    assert not browser.find_element(By.ID, "seg-run").is_enabled()
    click(browser, "seg-cancel")
    wait(browser, 60).until(text_present("#seg-progress-text", "Cancelled"))
    wait(browser).until(EC.element_to_be_clickable((By.ID, "seg-run")))
    wait(browser, 60).until(lambda _: not live_server.job_processes())  # the job process ended

    browser.refresh()  # the cancelled job stored nothing
    wait(browser).until(text_present("#model-summary", "No segmentation yet"))
    assert console_errors(browser) == []


def test_result_pages_follow_a_running_job_and_draw_the_result_when_it_ends(live_server, browser, tmp_path):
    """Start a run, go to Segments, Map and Compare while it runs: each says a job is going (with its progress),
    and draws the segments when the job ends, without a reload."""
    big = tmp_path / "followed customers.csv"
    make_demo_customers(40_000, random_state=4).to_csv(big, index=False)
    browser.get(live_server + "/")
    wait(browser).until(text_present(".dataset-banner", "Demo customers"))
    upload(browser, big)
    wait(browser, 120).until(text_present(".dataset-banner", "followed customers.csv · 40,000 rows"))
    go(browser, "Model")
    click(browser, "seg-run")
    wait(browser, 60).until(text_present("#seg-progress-text", "Fitting"))
    go(browser, "Map")
    wait(browser, 30).until(text_present("#map-empty", "A segmentation run is going"))
    go(browser, "Segments")
    wait(browser, 30).until(text_present("#segments-empty", "A segmentation run is going"))
    assert "%" in browser.find_element(By.ID, "shell-job-banner").text  # its progress, kept up to date
    wait(browser, 300).until(text_present("#seg-headline", "segments of 40,000 customers"))  # drawn when it ended
    assert browser.find_element(By.ID, "segments-empty").text == ""
    assert not browser.find_elements(By.CSS_SELECTOR, "#shell-job-banner .alert")
    go(browser, "Compare")
    wait(browser, 30).until(text_present("#compare-headline", "segments of 40,000 customers"))
    assert console_errors(browser) == []


def test_the_model_and_compare_pages_say_whether_there_are_natural_groups(live_server, browser, tmp_path):
    from bench.known_structure import blobs_2d, pure_noise

    browser.get(live_server + "/")
    wait(browser).until(text_present(".dataset-banner", "Demo customers"))
    for name, known, verdict in (
        ("noise.csv", pure_noise(1_500, 5), "No natural groups"),
        ("blobs.csv", blobs_2d(1_500, 5), "The customers form natural groups."),
    ):
        path = tmp_path / name
        known.table.to_csv(path, index=False)
        go(browser, "Data")
        upload(browser, path)
        wait(browser, 60).until(text_present(".dataset-banner", f"{name} · 1,500 rows"))
        go(browser, "Model")
        click(browser, "seg-run")
        wait(browser, 240).until(text_present("#model-summary .result-verdict", verdict))
        assert "Why this model:" in browser.find_element(By.CSS_SELECTOR, "#model-summary .result-reason").text
        go(browser, "Compare")
        wait(browser, 30).until(text_present("#compare-headline .result-verdict", verdict))
    assert console_errors(browser) == []


def test_semicolon_latin1_file_to_segments(live_server, browser, tmp_path):
    table = make_demo_customers(600, random_state=8)[["customer_id", "income", "fashion_spend", "channel"]]
    table = table.assign(city=["Köln", "Düsseldorf", "Münster"] * 200)
    source = tmp_path / "kunden.csv"
    source.write_bytes(table.to_csv(index=False, sep=";", decimal=",").encode("cp1252"))

    browser.get(live_server + "/")
    wait(browser).until(text_present(".dataset-banner", "Demo customers"))
    upload(browser, source)
    wait(browser).until(text_present(".dataset-banner", "kunden.csv · 600 rows × 5 columns"))
    assert (
        "semicolon-separated, encoding cp1252, decimal commas"
        in browser.find_element(By.CSS_SELECTOR, ".dataset-banner").text
    )
    wait(browser).until(text_present("#data-preview", "Düsseldorf"))
    run_and_wait(browser, "of 600 customers from 4 features")
    assert console_errors(browser) == []


def test_transaction_log_to_rfm_segments(live_server, browser, tmp_path):
    rng = np.random.default_rng(4)
    customers = rng.integers(0, 150, 1500)
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, 1500), unit="D")
    log = pd.DataFrame(
        {
            "customer": [f"K{c:04d}" for c in customers],
            "day": days.strftime("%d/%m/%Y"),
            "amount": rng.gamma(2, 30, 1500).round(2),
        }
    )
    source = tmp_path / "transactions.csv"
    log.to_csv(source, index=False)

    browser.get(live_server + "/")
    wait(browser).until(text_present(".dataset-banner", "Demo customers"))
    upload(browser, source)
    wait(browser).until(text_present(".dataset-banner", "transactions.csv · 1,500 rows"))
    click(browser, (By.CSS_SELECTOR, "#data-rfm-switch"))
    for component, column in (
        ("data-rfm-customer", "customer"),
        ("data-rfm-date", "day"),
        ("data-rfm-amount", "amount"),
    ):
        choose(browser, component, column)
    click(browser, "data-rfm-build")
    wait(browser).until(text_present(".dataset-banner", "RFM of transactions.csv · 150 rows"))
    assert "1,500 transactions of 150 customers" in browser.find_element(By.CSS_SELECTOR, ".dataset-banner").text
    wait(browser).until(text_present("#data-selection-note", "3 column(s) selected"))
    run_and_wait(browser, "of 150 customers from 3 features")
    assert console_errors(browser) == []


def test_markup_in_a_file_and_in_segment_names_shows_as_text_on_every_page(live_server, browser, tmp_path):
    hostile, markup = "<img src=x onerror=alert(1)>", "<i>VIP</i>"
    table = make_demo_customers(400, random_state=3)[["customer_id", "income", "fashion_spend", "channel"]]
    table = table.rename(columns={"income": hostile, "fashion_spend": '=HYPERLINK("http://evil.example")'})
    table["channel"] = table["channel"].where(table["channel"] != "Online", "<b>web</b>")
    source = tmp_path / "markup.csv"
    table.to_csv(source, index=False)

    def inert(page_text: str | None = None) -> None:
        """Nothing from the file ran or became an element; what the page shows from it is the typed text."""
        assert not browser.find_elements(By.CSS_SELECTOR, "img[src=x], #_dash-app-content b, .main-svg a")
        if page_text:
            wait(browser).until(text_present("body", page_text))

    browser.get(live_server + "/")
    wait(browser).until(text_present(".dataset-banner", "Demo customers"))
    upload(browser, source)
    wait(browser).until(text_present(".dataset-banner", "markup.csv · 400 rows"))
    inert(hostile)
    go(browser, "Explore")
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#explore-correlation .main-svg")))
    inert(hostile)
    run_and_wait(browser, "of 400 customers")
    go(browser, "Segments")
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, '#seg-names .ag-row[row-id="0"]')))
    rename_first_segment(browser, markup)
    inert("<b>web</b>")
    for page, element in (
        ("Compare", "#compare-silhouette .legendtext"),
        ("Map", "#map-graph .legendtext"),
        ("Predict", "#predict-form input"),
    ):
        go(browser, page)
        wait(browser, 60).until(EC.presence_of_element_located((By.CSS_SELECTOR, element)))
        inert(hostile if page == "Predict" else markup)
    go(browser, "Map")
    wait(browser, 60).until(text_present("#map-graph .legend", markup))
    go(browser, "Export")
    click(browser, (By.CSS_SELECTOR, """[id='{"file":"report.html","type":"export-button"}']"""))
    report = downloaded(browser.download_dir, "report.html").read_text(encoding="utf-8")
    assert hostile not in report and "&lt;img src=x onerror=alert(1)&gt;" in report and markup not in report
    browser.get(live_server + "/")  # the whole app again, from a fresh page load
    wait(browser).until(text_present(".dataset-banner", "markup.csv"))
    inert(hostile)
    assert console_errors(browser) == []


def test_a_file_over_the_upload_limit_is_refused_with_a_message_before_it_is_sent(browser, tmp_path):
    big, small = tmp_path / "big customers.csv", tmp_path / "small customers.csv"
    table = make_demo_customers(20_000, random_state=6)
    table.to_csv(big, index=False)
    table.head(300).to_csv(small, index=False)
    assert big.stat().st_size > 2**20
    with serving_app(tmp_path, SEGSTUDIO_MAX_UPLOAD_MB="1") as url:
        browser.get(url + "/")
        wait(browser).until(text_present(".dataset-banner", "Demo customers"))
        upload(browser, big)
        wait(browser).until(text_present(".upload-refused", "big customers.csv is "))
        note = browser.find_element(By.CSS_SELECTOR, ".upload-refused").text
        assert "this server takes uploads up to 1 MB" in note and "server's data folder" in note
        assert "Demo customers" in browser.find_element(By.CSS_SELECTOR, ".dataset-banner").text  # nothing sent
        upload(browser, small)
        wait(browser).until(text_present(".dataset-banner", "small customers.csv · 300 rows"))
        assert browser.find_element(By.CSS_SELECTOR, ".upload-refused").text == ""
        assert console_errors(browser) == []


def test_a_run_waits_in_line_for_a_free_slot_and_can_be_cancelled_there(browser, tmp_path, monkeypatch):
    from dashboard.jobs import finish_job, start_job
    from dashboard.session import new_session_id
    from dashboard.store import project_store

    with serving_app(tmp_path, SEGSTUDIO_MAX_JOBS="1") as url:
        monkeypatch.setenv("SEGSTUDIO_DATA_DIR", str(tmp_path / "server-data"))
        store, other = project_store(), new_session_id()
        store.update_settings(other, columns=None)
        start_job(store, other, "run")  # another analyst's fit holds the only slot (this test's process)
        browser.get(url + "/")
        wait(browser).until(text_present(".dataset-banner", "Demo customers"))
        go(browser, "Model")
        wait(browser).until(text_present("#model-summary", "No segmentation yet"))
        click(browser, "seg-run")
        wait(browser, 30).until(
            text_present(
                "#seg-progress-text", "Waiting for a free slot: 1 fit(s) running on this server; this run is next."
            )
        )
        assert not browser.find_element(By.ID, "seg-run").is_enabled()
        click(browser, "seg-cancel")
        wait(browser, 30).until(text_present("#seg-progress-text", "Cancel"))
        wait(browser).until(EC.element_to_be_clickable((By.ID, "seg-run")))
        click(browser, "seg-run")  # in line again; this time the other fit ends and this one starts by itself
        wait(browser, 30).until(text_present("#seg-progress-text", "Waiting for a free slot"))
        finish_job(store, other, "done", "Done")
        wait(browser, 120).until(text_present("#model-summary", "of 2,000 customers"))
        assert console_errors(browser) == []


def test_customers_from_postgresql_to_segments_and_back_into_it(crm, browser, tmp_path):
    """The Data page's database source (tables, preview, a refused write, load), a run, then Write to database on
    the Export page and a rename that updates the written table; the password is in no page."""
    import sqlalchemy as sa

    with serving_app(tmp_path) as server:
        browser.get(server + "/")
        wait(browser).until(text_present(".dataset-banner", "Demo customers (built in)"))
        click(browser, (By.CSS_SELECTOR, ".db-source summary"))
        choose(browser, "data-db-connection", "crm")
        choose(browser, "data-db-table", "customers")
        wait(browser).until(text_present("#data-db-table-info", "income (double precision)"))
        query = browser.find_element(By.ID, "data-db-query")
        assert query.get_attribute("value") == 'SELECT * FROM "customers"'
        query.send_keys(Keys.CONTROL, "a")
        query.send_keys("UPDATE customers SET income = 0")
        click(browser, "data-db-preview")
        wait(browser).until(text_present("#data-db-alert", "Only SELECT queries can be run here"))
        query.send_keys(Keys.CONTROL, "a")
        query.send_keys("SELECT * FROM customers WHERE customer_id LIKE 'C%' ORDER BY customer_id")
        click(browser, "data-db-preview")
        wait(browser).until(text_present("#data-db-alert", "First 100 rows of the query"))
        wait(browser).until(text_present("#data-db-preview-grid", "C100000"))
        browser.save_screenshot(str(tmp_path / "database-source.png"))
        click(browser, "data-db-load")
        wait(browser, 60).until(text_present(".dataset-banner", "query (crm) · 2,000 rows × 12 columns"))
        wait(browser).until(text_present("#data-db-alert", "Loaded 2,000 rows from 'crm'"))
        assert crm.password not in browser.page_source

        go(browser, "Model")
        for algorithm in ("gmm", "hdbscan"):
            click(browser, (By.CSS_SELECTOR, f"#seg-algorithms input[value={algorithm}]"))
        click(browser, "seg-run")
        wait(browser, 180).until(text_present("#model-summary", "of 2,000 customers"))

        go(browser, "Export")
        wait(browser).until(text_present("#export-area", "Write to a database"))
        choose(browser, "export-db-connection", "crm")
        click(browser, "export-db-write")
        wait(browser, 60).until(
            text_present("#export-db-status", "Wrote 2,000 customers' segments to customer_segments in 'crm'")
        )
        browser.save_screenshot(str(tmp_path / "write-back.png"))
        assert crm.password not in browser.page_source
        engine = sa.create_engine(crm.url_with_password)
        written = pd.read_sql("SELECT * FROM customer_segments", engine)
        assert len(written) == 2000 and set(written["customer_id"]) == set(crm_ids(engine))

        go(browser, "Segments")
        wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, '#seg-names .ag-row[row-id="0"]')))
        rename_first_segment(browser, "Loyal from the CRM")
        wait(browser, 30).until(text_present("#seg-rename-status", "Updated"))
        renamed = pd.read_sql("SELECT DISTINCT segment FROM customer_segments WHERE cluster = 0", engine)
        engine.dispose()
        assert renamed["segment"].tolist() == ["Loyal from the CRM"]
        assert console_errors(browser) == []


def crm_ids(engine) -> list[str]:
    return pd.read_sql("SELECT customer_id FROM customers", engine)["customer_id"].tolist()


def test_value_actions_pdf_and_a_new_batch_monitored(live_server, browser, tmp_path):
    """Pick the value column, edit an action (kept on reload and rename), download the PDF, then upload next
    month's batch on the Monitor page and see the verdict and where customers went."""
    browser.get(live_server + "/")
    wait(browser).until(text_present(".dataset-banner", "Demo customers (built in)"))
    run_and_wait(browser, "of 2,000 customers")

    go(browser, "Segments")
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#seg-value-figure .legendtext")))
    assert "share of groceries_spend" in legend(browser, "seg-value-figure")
    choose(browser, "seg-value-column", "home_spend")
    wait(browser).until(text_present("#seg-value-figure", "share of home_spend"))
    wait(browser).until(text_present("#seg-value-note", "home_spend"))

    cell = (By.CSS_SELECTOR, '#seg-names .ag-row[row-id="0"] .ag-cell[col-id="action"]')
    click(browser, cell)
    editor = wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#seg-names .ag-cell-editor input")))
    editor.send_keys(Keys.CONTROL, "a")
    editor.send_keys("Call each one this week", Keys.ENTER)
    wait(browser, 30).until(text_present("#seg-cards", "What to do: Call each one this week"))
    browser.refresh()  # saved on the server: a reload shows it
    wait(browser, 30).until(text_present("#seg-cards", "What to do: Call each one this week"))
    wait(browser).until(text_present("#seg-value-note", "home_spend"))
    rename_first_segment(browser, "Our best")
    wait(browser, 30).until(text_present("#seg-cards", "What to do: Call each one this week"))
    browser.save_screenshot(str(tmp_path / "segments.png"))

    go(browser, "Export")
    click(browser, "export-pdf")
    pdf = downloaded(browser.download_dir, "report.pdf", seconds=120)
    assert pdf.read_bytes().startswith(b"%PDF")

    batch = make_demo_customers(1_500, random_state=8)
    batch["income"] = batch["income"] * 1.6  # next month's customers earn more; ids C00001... return
    source = tmp_path / "december batch.csv"
    batch.to_csv(source, index=False)
    go(browser, "Monitor")
    field = (By.CSS_SELECTOR, "#monitor-upload input[type=file]")
    wait(browser).until(EC.presence_of_element_located(field)).send_keys(str(source))
    wait(browser, 120).until(text_present("#monitor-verdict", "Refit recommended"))
    result = browser.find_element(By.ID, "monitor-result").text
    assert "income drifted" in result and "december batch.csv" in result
    assert "1,500 / 0 / 500" in result  # returning / new / gone: the batch's ids are the first 1,500 of 2,000
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#monitor-sankey .sankey")))
    assert "Our best (then)" in browser.find_element(By.ID, "monitor-sankey").text
    click(browser, (By.CSS_SELECTOR, """[id='{"file":"drift.csv","type":"monitor-file"}']"""))
    drift = pd.read_csv(downloaded(browser.download_dir, "drift.csv"))
    assert drift.set_index(["scope", "feature"]).loc[("all", "income"), "status"] == "major drift"
    browser.save_screenshot(str(tmp_path / "monitor.png"))
    assert not console_errors(browser)
