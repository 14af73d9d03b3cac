"""Monitoring a new batch: stable when nothing moved, and each kind of movement flagged where it happened."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.bundle import ModelBundle
from core.cli import main
from core.config import RunConfig
from core.monitor import PSI_MINOR, monitor, psi
from core.pipeline import run_segmentation
from core.predictor import NO_GOOD_FIT

pytestmark = pytest.mark.unit

CENTRES = np.array([[0.0, 0.0, 0.0], [6.0, 0.0, 3.0], [0.0, 6.0, -3.0]])


def customers(n: int, seed: int, weights=(0.5, 0.3, 0.2), start: int = 0) -> pd.DataFrame:
    """Three well separated groups of customers, with a plan that follows the group."""
    rng = np.random.default_rng(seed)
    group = rng.choice(3, n, p=weights)
    values = CENTRES[group] + rng.normal(0, 1, (n, 3))
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:06d}" for i in range(start, start + n)],
            "spend": values[:, 0] * 100 + 1_000,
            "visits": values[:, 1] + 10,
            "tenure": values[:, 2] + 20,
            "plan": np.where(group == 2, "premium", np.where(rng.random(n) < 0.5, "basic", "plus")),
        }
    )


@pytest.fixture(scope="module")
def fitted():
    table = customers(3_000, seed=0)
    config = RunConfig(algorithms=["kmeans"], k_min=3, k_max=3, n_bootstrap=2, transform="none")
    result = run_segmentation(table, config)
    return table, result, ModelBundle.of(result, table)


def test_psi_is_zero_for_equal_shares_and_grows_with_the_shift():
    assert psi(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == 0
    assert 0 < psi(np.array([0.5, 0.5]), np.array([0.55, 0.45])) < psi(np.array([0.5, 0.5]), np.array([0.7, 0.3]))


def test_a_batch_from_the_same_distribution_is_stable(fitted):
    _, _, bundle = fitted
    report = monitor(bundle.scorer, bundle.reference, customers(3_000, seed=1, start=10_000))
    overall = report.drift[report.drift["scope"] == "all"]
    assert report.verdict == "Stable", report.reasons
    assert report.share_psi < PSI_MINOR
    assert (overall["psi"] < PSI_MINOR).all(), overall
    assert set(overall["feature"]) == {"spend", "visits", "tenure", "plan"}
    assert (report.centres["status"] == "stable").all()
    assert report.returning == 0 and report.new_customers == 3_000  # no id of the batch is in the reference


def test_shifted_segment_shares_are_flagged_on_the_shares(fitted):
    _, _, bundle = fitted
    report = monitor(bundle.scorer, bundle.reference, customers(3_000, seed=2, weights=(0.2, 0.3, 0.5)))
    assert report.share_psi >= 0.25 and report.chi2_p < 1e-6
    assert report.verdict == "Refit recommended"
    assert any(r.startswith("segment shares moved") for r in report.reasons)
    shares = report.shares.set_index("cluster")
    assert shares["new_share"].sum() == pytest.approx(1.0, abs=1e-3)


def test_one_feature_shifted_by_one_sd_is_flagged_and_the_others_are_not(fitted):
    table, _, bundle = fitted
    batch = customers(3_000, seed=3)
    batch["visits"] += table["visits"].std()
    report = monitor(bundle.scorer, bundle.reference, batch)
    overall = report.drift[report.drift["scope"] == "all"].set_index("feature")
    assert overall.loc["visits", "status"] == "major drift"
    assert overall.loc["visits", "wasserstein"] == pytest.approx(1.0, abs=0.15)
    assert (overall.drop(index="visits")["psi"] < PSI_MINOR).all(), overall
    assert "visits drifted" in " ".join(report.reasons)
    assert not any(f in " ".join(report.reasons) for f in ("spend drifted", "tenure drifted", "plan drifted"))


def test_migration_counts_are_exact_for_overlapping_ids(fitted):
    table, result, bundle = fitted
    returning = table.iloc[:2_000].copy()
    movers = returning.index[:300]
    returning.loc[movers, ["spend", "visits", "tenure"]] = CENTRES[1] * [100, 1, 1] + [1_000, 10, 20]
    batch = pd.concat([returning, customers(250, seed=4, start=90_000)], ignore_index=True)
    report = monitor(bundle.scorer, bundle.reference, batch)
    now, _, _ = bundle.scorer.assign(batch)
    expected = pd.crosstab(result.labels[:2_000], now[:2_000])
    moved = report.migration.dropna(subset=["from_cluster", "to_cluster"])
    got = moved.pivot(index="from_cluster", columns="to_cluster", values="customers").fillna(0)
    assert got.to_numpy().astype(int).tolist() == expected.to_numpy().tolist()
    assert (report.returning, report.new_customers, report.gone_customers) == (2_000, 250, 1_000)
    new_rows = report.migration[report.migration["from_segment"] == "New customer"]
    gone_rows = report.migration[report.migration["to_segment"] == "Gone"]
    assert new_rows["customers"].sum() == 250 and gone_rows["customers"].sum() == 1_000
    target = int(pd.Series(now[:300]).mode()[0])
    assert target != NO_GOOD_FIT and (now[:300] == target).all()  # the movers all went to one segment


def test_segment_monitor_writes_its_files_and_reads_no_old_data(fitted, tmp_path):
    table, result, _ = fitted
    from core.exports import write_outputs

    write_outputs(tmp_path / "run", table, result, ModelBundle.of(result, table).source)
    batch = customers(2_000, seed=5)
    batch["spend"] *= 1.5
    batch.to_csv(tmp_path / "new batch.csv", index=False)
    (tmp_path / "run" / "labelled_customers.csv").unlink()  # the model file alone is enough
    code = main(["monitor", "--model", str(tmp_path / "run" / "model.joblib"), str(tmp_path / "new batch.csv"), "--out",
                 str(tmp_path / "mon")])  # fmt: skip
    assert code == 0
    drift = pd.read_csv(tmp_path / "mon" / "drift.csv")
    assert list(drift.columns) == [
        "scope", "cluster", "segment", "feature", "kind", "psi", "wasserstein", "jensen_shannon", "reference_mean",
        "new_mean", "status",
    ]  # fmt: skip
    assert drift.set_index(["scope", "feature"]).loc[("all", "spend"), "status"] == "major drift"
    migration = pd.read_csv(tmp_path / "mon" / "migration.csv")
    assert list(migration.columns) == [
        "from_cluster", "from_segment", "to_cluster", "to_segment", "customers", "share_of_from",
    ]  # fmt: skip
    record = json.loads((tmp_path / "mon" / "monitor.json").read_text())
    assert record["verdict"] == "Refit recommended" and record["rows"] == 2_000
    page = (tmp_path / "mon" / "monitor.html").read_text()
    assert "Refit recommended" in page and "spend drifted" in page and "<script>" in page and "<script src" not in page


def test_segment_monitor_refuses_a_batch_without_the_models_columns(fitted, tmp_path, capsys):
    table, result, _ = fitted
    from core.exports import write_outputs

    write_outputs(tmp_path / "run", table, result, ModelBundle.of(result, table).source)
    table.drop(columns=["visits"]).to_csv(tmp_path / "bad.csv", index=False)
    code = main(["monitor", "--model", str(tmp_path / "run" / "model.joblib"), str(tmp_path / "bad.csv"), "--out",
                 str(tmp_path / "mon")])  # fmt: skip
    assert code == 2
    assert capsys.readouterr().err.strip() == "segment: error: The new file lacks column(s) the model needs: visits."


def test_a_batch_too_small_to_measure_gets_no_verdict_of_drift(fitted):
    _, _, bundle = fitted
    report = monitor(bundle.scorer, bundle.reference, customers(40, seed=9))
    assert report.verdict == "Too few customers to judge"
    assert report.reasons == ["a batch of 40 customers is too small to measure drift: at least 100 are needed"]


def test_an_id_hashes_the_same_as_a_number_or_as_its_text():
    from core.monitor import _hash

    numbers = _hash(pd.Series([7, 123, 40_000_000_000]))
    assert (_hash(pd.Series(["7", "123", "40000000000"])) == numbers).all()
    mixed = _hash(pd.Series(["007", "123", "40000000000"]))  # "007" is not the number 7's text
    assert mixed[0] != numbers[0] and (mixed[1:] == numbers[1:]).all()
    assert (_hash(pd.Series(["007", "a"])) == _hash(pd.Series(["007", "a"]), numbers=False)).all()
    # text hashes are pandas' own, as in every model.joblib saved so far
    ids = pd.Series(["007", "a", "C10001", None, "12"])
    assert (_hash(ids, numbers=False) == pd.util.hash_array(ids.astype(str).to_numpy(dtype=object))).all()
    # a reference saved before numbers were hashed as numbers compares text with text
    assert (_hash(pd.Series([7, 123]), numbers=False) == _hash(pd.Series(["7", "123"]), numbers=False)).all()


def test_a_reference_saved_before_ids_were_hashed_as_numbers_still_finds_returning_customers(fitted):
    from dataclasses import replace

    from core.monitor import _hash

    table, _, bundle = fitted
    numbered = table.assign(customer_id=np.arange(len(table)))
    reference = bundle.reference
    old = replace(reference, id_hashes=_hash(numbered["customer_id"], numbers=False))
    del old.__dict__["id_hashing"]  # as unpickled from a model.joblib written before the field existed
    assert old.id_hashing == 1
    report = monitor(bundle.scorer, old, numbered.iloc[:1_000])
    assert (report.returning, report.new_customers) == (1_000, 0)
    assert bundle.reference.id_hashing == 2
