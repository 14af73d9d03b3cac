"""What segments are worth and what to do with them: value shares, suggested actions, edits that stay, the PDF."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pandas as pd
import pytest

from core.cli import main
from core.config import RunConfig
from core.errors import SegmentationError
from core.pipeline import run_segmentation
from core.playbook import PLAYBOOK_FILE, Playbook, suggest_plays
from core.rfm import add_rfm_scores
from core.value import segment_value, suggest_value_column

pytestmark = pytest.mark.unit

SEGMENT_FIXED = [
    "cluster", "segment", "size", "share", "stability", "customer_stability", "trusted", "confidence", "rule",
    "rule_coverage", "rule_precision", "key_features", "value_share", "value_per_customer", "action", "insight",
]  # fmt: skip


def shoppers(n_per: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Three kinds of customer: lapsed big spenders, new small ones, and regular middling ones."""
    rng = np.random.default_rng(seed)
    kinds = np.repeat([0, 1, 2], n_per)
    spend = np.array([2_000.0, 150.0, 500.0])[kinds] * rng.lognormal(0, 0.1, len(kinds))
    days_since = np.array([300.0, 10.0, 30.0])[kinds] + rng.normal(0, 5, len(kinds))
    tenure = np.array([1_500.0, 30.0, 900.0])[kinds] + rng.normal(0, 20, len(kinds))
    orders = np.array([8.0, 1.0, 6.0])[kinds] + rng.normal(0, 0.5, len(kinds))
    table = pd.DataFrame(
        {"customer": [f"K{i}" for i in range(len(kinds))], "total_spend": spend.round(2),
         "days_since_last_order": days_since, "tenure_days": tenure, "orders": orders}
    )  # fmt: skip
    return table, kinds


ROLES = {"customer": "id", "total_spend": "numeric", "days_since_last_order": "numeric", "tenure_days": "numeric",
         "orders": "numeric"}  # fmt: skip


def test_value_shares_say_who_is_worth_more_than_their_number():
    table, kinds = shoppers()
    value = segment_value(table, kinds, "total_spend")
    assert sum(value.value_share(s) for s in range(3)) == pytest.approx(1.0)
    assert value.customer_share(0) == pytest.approx(1 / 3)
    assert value.value_share(0) == pytest.approx(table["total_spend"][kinds == 0].sum() / table["total_spend"].sum())
    assert value.per_customer(1) == pytest.approx(table["total_spend"][kinds == 1].mean())
    assert value.phrase(0) == f"33% of customers, {value.value_share(0):.0%} of total_spend"
    with pytest.raises(SegmentationError, match="'nope' is not in the data"):
        segment_value(table, kinds, "nope")


def test_the_value_column_is_suggested_from_its_name():
    assert suggest_value_column(ROLES) == "total_spend"
    assert (
        suggest_value_column({"recency_days": "numeric", "frequency": "numeric", "monetary": "numeric"}) == "monetary"
    )
    assert suggest_value_column({"Fresh": "numeric", "Milk": "numeric", "Region": "categorical"}) is None
    assert suggest_value_column({"Annual Revenue": "numeric", "age": "numeric"}) == "Annual Revenue"


def test_learned_segments_get_actions_from_their_profile_with_the_reasons():
    table, kinds = shoppers()
    plays = suggest_plays(table, kinds, ROLES, None, segment_value(table, kinds, "total_spend"))
    book = Playbook.load()
    assert plays[0].suggested == next(
        r["action"] for r in book.rules if r["when"] == {"value": "high", "recency": "high"}
    )
    assert "high value" in plays[0].reason and "lapsed (days_since_last_order" in plays[0].reason
    assert plays[1].suggested.startswith("Onboard")
    assert "new (tenure_days" in plays[1].reason
    assert plays[0].insight.startswith("33% of customers, ")


def test_rfm_tables_get_the_classic_rfm_grid_actions():
    rng = np.random.default_rng(1)
    n = 500
    table = pd.DataFrame(
        {"customer": range(2 * n), "recency_days": np.r_[rng.integers(1, 10, n), rng.integers(300, 400, n)],
         "frequency": np.r_[rng.integers(20, 30, n), rng.integers(1, 2, n)],
         "monetary": np.r_[rng.uniform(900, 1_000, n), rng.uniform(5, 10, n)]}
    )  # fmt: skip
    table = add_rfm_scores(table)
    labels = np.repeat([0, 1], n)
    roles = {c: "numeric" for c in ("recency_days", "frequency", "monetary")}
    plays = suggest_plays(table, labels, roles, None, segment_value(table, labels, "monetary"))
    book = Playbook.load()
    top = table[labels == 0]["rfm_segment"].value_counts().index[0]
    assert plays[0].suggested == book.rfm[top] and top in ("Champions", "Loyal Customers")
    assert f"are '{top}' in the classic RFM grid" in plays[0].reason
    assert plays[1].suggested == book.rfm["Hibernating"]


def test_the_playbook_is_data_an_operator_can_replace(tmp_path, monkeypatch):
    table, kinds = shoppers()
    data = json.loads(PLAYBOOK_FILE.read_text(encoding="utf-8"))
    data["rules"][0]["action"] = "Send the account manager"
    custom = tmp_path / "playbook.json"
    custom.write_text(json.dumps(data))
    monkeypatch.setenv("SEGSTUDIO_PLAYBOOKS", str(custom))
    plays = suggest_plays(table, kinds, ROLES, None, segment_value(table, kinds, "total_spend"))
    assert plays[0].suggested == "Send the account manager"
    data["rules"][-1]["when"] = {"value": "enormous"}
    custom.write_text(json.dumps(data))
    with pytest.raises(SegmentationError, match="rules take conditions"):
        Playbook.load(custom)


@pytest.mark.slow
def test_segments_csv_has_value_and_action_and_edits_survive_rename_and_refit(tmp_path, capsys):
    table, _ = shoppers()
    data = tmp_path / "shoppers.csv"
    table.to_csv(data, index=False)
    run = tmp_path / "run"
    assert main(["run", str(data), "--out", str(run), "--algorithms", "kmeans", "--k", "3"]) == 0
    segments = pd.read_csv(run / "segments.csv")
    assert list(segments.columns[: len(SEGMENT_FIXED)]) == SEGMENT_FIXED
    assert segments["value_share"].sum() == pytest.approx(1.0, abs=1e-3)
    assert segments["action"].str.len().gt(0).all() and segments["insight"].str.contains("% of total_spend").all()
    lapsed = int(segments.loc[segments["mean_days_since_last_order"].idxmax(), "cluster"])

    assert main(["playbook", str(run), f"{lapsed}=Phone each one this week"]) == 0
    assert main(["rename", str(run), f"{lapsed}=Lapsed big spenders"]) == 0
    segments = pd.read_csv(run / "segments.csv").set_index("cluster")
    assert segments.loc[lapsed, ["segment", "action"]].tolist() == ["Lapsed big spenders", "Phone each one this week"]
    report = (run / "report.html").read_text()
    assert "Phone each one this week" in report and "edited by the analyst" in report
    capsys.readouterr()
    assert main(["playbook", str(run)]) == 0
    assert f"{lapsed} Lapsed big spenders: Phone each one this week (edited)" in capsys.readouterr().out

    again = tmp_path / "again"  # a refit that keeps the names keeps the edited actions of the same segments
    assert main(["run", str(data), "--out", str(again), "--algorithms", "kmeans", "--k", "3", "--seed", "7",
                 "--names-from", str(run / "model.joblib")]) == 0  # fmt: skip
    refit = pd.read_csv(again / "segments.csv").set_index("segment")
    assert refit.loc["Lapsed big spenders", "action"] == "Phone each one this week"

    assert main(["playbook", str(run), f"{lapsed}="]) == 0  # empty: back to the suggestion
    assert pd.read_csv(run / "segments.csv").set_index("cluster").loc[lapsed, "action"].startswith("Win back")
    assert main(["playbook", str(run), "9=Nothing"]) == 2
    assert "There is no segment 9" in capsys.readouterr().err


@pytest.mark.slow
def test_value_none_leaves_value_columns_empty_and_a_wrong_column_is_refused(tmp_path, capsys):
    table, _ = shoppers(100)
    data = tmp_path / "shoppers.csv"
    table.to_csv(data, index=False)
    assert main(["run", str(data), "--out", str(tmp_path / "r"), "--algorithms", "kmeans", "--k", "3",
                 "--value", "none"]) == 0  # fmt: skip
    segments = pd.read_csv(tmp_path / "r" / "segments.csv")
    assert segments["value_share"].isna().all() and segments["action"].notna().all()
    assert main(["run", str(data), "--out", str(tmp_path / "s"), "--value", "profit"]) == 2
    assert "The value column 'profit' is not in the data" in capsys.readouterr().err


def test_value_and_actions_carry_over_a_refit_in_core():
    table, _ = shoppers()
    config = RunConfig(algorithms=["kmeans"], k_min=3, k_max=3, n_bootstrap=2)
    first = run_segmentation(table, config)
    first.actions = {0: "Keep this one"}
    second = run_segmentation(table, RunConfig(algorithms=["kmeans"], k_min=3, k_max=3, n_bootstrap=2, seed=3))
    carried, matched = second.with_names_from(first.explanation, first.names, first.actions)
    new_zero = next(new for new, old in matched.items() if old == 0)
    assert carried.actions == {new_zero: "Keep this one"}
    assert carried.plays(table)[new_zero].action == "Keep this one"
    assert carried.value_column == "total_spend"


@pytest.mark.slow
def test_the_pdf_report_has_every_segment_as_text_and_its_figures_drawn(tmp_path, demo_csv):
    run = tmp_path / "run"
    assert main(["run", str(demo_csv), "--out", str(run)]) == 0
    assert main(["report", str(run), "--pdf"]) == 0
    pdf = run / "report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line for line in info.splitlines() if line.startswith("Pages:")).split()[1])
    segments = pd.read_csv(run / "segments.csv")
    assert pages >= 1 + len(segments)  # a page per segment after the overview
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    for name in segments["segment"]:
        assert name in flat
    for action in segments["action"]:
        assert " ".join(action.split()[:4]) in flat
    assert "What each segment is worth" in flat
    # The first two pages hold the value chart and the map. Rasterised, they have the segments' colours: text and
    # tables are grey, so coloured pixels are the figures' drawings.
    subprocess.run(["pdftoppm", "-r", "30", "-f", "1", "-l", "2", str(pdf), str(tmp_path / "page")], check=True)
    pages_drawn = sorted(tmp_path.glob("page-*.ppm"))
    assert len(pages_drawn) == 2
    for page in pages_drawn:
        pixels = np.frombuffer(page.read_bytes().split(b"\n", 3)[3], dtype=np.uint8).reshape(-1, 3).astype(int)
        coloured = (pixels.max(axis=1) - pixels.min(axis=1)) > 60
        assert coloured.mean() > 0.005, page


def test_without_a_browser_the_pdf_says_how_to_get_one_and_the_html_still_works(tmp_path, monkeypatch, capsys):
    table, _ = shoppers(100)
    data = tmp_path / "shoppers.csv"
    table.to_csv(data, index=False)
    assert main(["run", str(data), "--out", str(tmp_path / "r"), "--algorithms", "kmeans", "--k", "3"]) == 0
    monkeypatch.setenv("SEGSTUDIO_CHROMIUM", str(tmp_path / "no-such-browser"))
    capsys.readouterr()
    assert main(["report", str(tmp_path / "r"), "--pdf"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("segment: error: Making a PDF needs Chromium or Chrome") and "apt-get install chromium" in err
    assert len(err.strip().splitlines()) == 1
    assert (tmp_path / "r" / "report.html").is_file() and not (tmp_path / "r" / "report.pdf").exists()
