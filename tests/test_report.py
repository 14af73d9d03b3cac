"""report.html opens offline in a real browser with every figure drawn; renames and refits keep names."""

import json
import re

import joblib
import numpy as np
import pandas as pd
import pytest

from core.cli import main
from core.config import RunConfig
from core.demo import make_demo_customers
from core.naming import carry_names
from core.pipeline import run_segmentation
from tests.helpers import console_errors

pytestmark = pytest.mark.unit

# value per segment (the demo has spend columns), map, importance, importance per segment, stability, elbow, metrics
FIGURES = 7


@pytest.mark.browser
def test_report_opens_offline_with_every_figure_drawn(tmp_path, demo_csv, browser):
    out = tmp_path / "out"
    assert main(["run", str(demo_csv), "--out", str(out), "--k", "2-6", "--algorithms", "kmeans,hdbscan"]) == 0
    report = (out / "report.html").read_text(encoding="utf-8")
    markup = re.sub(r"<script>.*?</script>", "", report, flags=re.S)  # Plotly's own code mentions web links
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", markup)
    names = json.loads((out / "run.json").read_text())["segments"]
    for name in names.values():
        assert name.replace("&", "&amp;") in report

    browser.get((out / "report.html").as_uri())
    drawn = browser.execute_script(
        "return Array.from(document.querySelectorAll('.js-plotly-plot')).map("
        "p => p.querySelectorAll('.main-svg').length > 0 && p.data.length > 0)"
    )
    assert drawn == [True] * FIGURES
    legends = browser.execute_script(
        "return Array.from(document.querySelectorAll('.js-plotly-plot')).slice(0, 2).map(p => p.data.map(t => t.name))"
    )
    assert legends[0] == ["share of customers", "share of groceries_spend"]  # the value chart, then the map
    assert set(legends[1]) == set(names.values())
    sections = browser.find_elements("css selector", "section.segment h3")
    assert [s.text for s in sections] == [names[k] for k in sorted(names, key=int) if int(k) >= 0]
    fetched = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert [url for url in fetched if not url.startswith(("file:", "data:", "blob:"))] == []
    assert console_errors(browser) == []


def test_rename_rewrites_every_file_of_a_run(tmp_path, demo_csv):
    out = tmp_path / "out"
    assert main(["run", str(demo_csv), "--out", str(out), "--k", "4", "--algorithms", "kmeans"]) == 0
    before = pd.read_csv(out / "labelled_customers.csv", dtype=str, keep_default_na=False)
    assert main(["rename", str(out), "0=Big spenders", "2==SUM(A1)"]) == 0

    after = pd.read_csv(out / "labelled_customers.csv", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(after.drop(columns="segment"), before.drop(columns="segment"))
    assert set(after.loc[after["cluster"] == "0", "segment"]) == {"Big spenders"}
    assert set(after.loc[after["cluster"] == "2", "segment"]) == {"'=SUM(A1)"}  # never a live formula
    unchanged = ~after["cluster"].isin(["0", "2"])
    assert (after.loc[unchanged, "segment"] == before.loc[unchanged, "segment"]).all()
    segments = pd.read_csv(out / "segments.csv")
    assert segments.set_index("cluster").loc[0, "segment"] == "Big spenders"
    assert json.loads((out / "run.json").read_text())["segments"]["0"] == "Big spenders"
    assert joblib.load(out / "model.joblib").names[0] == "Big spenders"
    assert "Big spenders" in (out / "report.html").read_text(encoding="utf-8")


def test_rename_refuses_duplicates_and_unknown_segments(tmp_path, demo_csv, capsys):
    out = tmp_path / "out"
    assert main(["run", str(demo_csv), "--out", str(out), "--k", "3", "--algorithms", "kmeans"]) == 0
    capsys.readouterr()
    assert main(["rename", str(out), "0=Same", "1=same"]) == 2
    assert "Segments 0 and 1 would both be called" in capsys.readouterr().err
    assert main(["rename", str(out), "7=Ghosts"]) == 2
    assert "There is no segment 7" in capsys.readouterr().err
    assert main(["rename", str(tmp_path), "0=X"]) == 2
    assert "has no model.joblib" in capsys.readouterr().err


def test_a_refit_on_new_data_keeps_the_names_of_matching_segments():
    config = RunConfig(algorithms=["kmeans"], k_min=4, k_max=4, n_bootstrap=0)
    first = run_segmentation(make_demo_customers(random_state=0), config)
    chosen = {k: f"Team name {k}" for k in first.names}
    second_table = make_demo_customers(n_customers=1500, random_state=11)
    second = run_segmentation(second_table, RunConfig(algorithms=["kmeans"], k_min=5, k_max=5, n_bootstrap=0))
    names, matched = carry_names(first.explanation, chosen, second.explanation, second.names)
    assert len(matched) >= 3  # five segments now, four before: most match one to one
    assert len(set(names.values())) == len(names)
    income = second.explanation.profile_.query("feature == 'income'").set_index("cluster")["mean"]
    first_income = first.explanation.profile_.query("feature == 'income'").set_index("cluster")["mean"]
    richest_before = int(first_income.idxmax())
    richest_now = int(income.idxmax())
    assert matched.get(richest_now) == richest_before
    assert names[richest_now] == chosen[richest_before]
    for segment in set(names) - set(matched):
        assert names[segment] == second.names[segment] or names[segment].endswith(" (new)")


@pytest.mark.slow
def test_hdbscan_membership_lowers_confidence_and_the_forest_classifier_works(demo):
    table = demo[0]
    density = run_segmentation(table, RunConfig(algorithms=["hdbscan"], n_bootstrap=0))
    assigned = density.labels >= 0
    assert np.isnan(density.confidence[~assigned]).all()
    plain = density.predictor.confidence_of(density.segmenter.transform_features(table), density.labels)
    assert (density.confidence[assigned] <= plain[assigned] + 1e-9).all()
    assert (density.confidence[assigned] < plain[assigned] - 1e-3).any()

    forest = run_segmentation(
        table, RunConfig(algorithms=["kmeans"], k_min=4, k_max=4, n_bootstrap=0, classifier="forest")
    )
    assert forest.predictor.cv_accuracy_ > 0.95
    assert np.nanmedian(forest.confidence) > 0.9
