"""The automatic choice finds the groups that are there, says when there are none, and says what it rests on."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from bench.known_structure import blobs_2d, known_sets, pure_noise, skewed_rfm, two_moons
from bench.selection import measure
from core.cli import main
from core.config import RunConfig
from core.mixture import ModalMixture
from core.pipeline import run_segmentation
from core.readers import read_table
from tests.helpers import DATA_FILES

pytestmark = pytest.mark.unit

SETS = known_sets()


@pytest.mark.slow
@pytest.mark.parametrize("known", SETS, ids=[s.name for s in SETS])
def test_the_choice_is_within_005_ari_of_the_best_candidate_and_the_verdict_is_right(known):
    outcome = measure(known)
    assert outcome.natural_groups == known.groups, outcome.reason
    if known.groups:
        assert outcome.chosen >= outcome.oracle - 0.05, (outcome.chosen, outcome.oracle, outcome.reason)
        assert outcome.chosen >= 0.9, outcome.reason  # every set with groups is recovered (the mean target is 0.9)


def test_mixture_components_with_no_valley_between_become_one_segment():
    rng = np.random.default_rng(0)
    skewed = np.c_[rng.lognormal(0, 0.6, 1500), rng.normal(0, 1, 1500)]  # one skewed group: several components
    apart = np.c_[rng.normal(12, 0.5, 500), rng.normal(0, 1, 500)]  # and a group past a valley
    X = np.r_[skewed, apart]
    model = ModalMixture(n_components=5, random_state=0).fit(X)
    labels = model.predict(X)
    assert model.n_segments_ == 2
    assert adjusted_rand_score(np.r_[np.zeros(1500), np.ones(500)], labels) > 0.95
    unmerged = ModalMixture(n_components=5, random_state=0, merge="none").fit(X)
    assert unmerged.n_segments_ == 5


@pytest.mark.slow
def test_pure_noise_and_blobs_get_opposite_verdicts_in_the_result():
    noise = run_segmentation(pure_noise(1_500, 1).table, RunConfig(n_bootstrap=0))
    blobs = run_segmentation(blobs_2d(1_500, 1).table, RunConfig(n_bootstrap=0))
    assert not noise.segmenter.selection_.natural_groups and blobs.segmenter.selection_.natural_groups
    targeting = noise.segmenter.selection_
    assert 3 <= noise.segmenter.n_clusters_ <= 8 and "knee of the elbow" in targeting.reason
    assert np.bincount(noise.labels).min() >= 0.05 * len(noise.labels)


@pytest.mark.slow
def test_a_density_model_wins_only_on_shapes_a_mixture_cannot_describe():
    moons = run_segmentation(two_moons(1_500, 2).table, RunConfig(n_bootstrap=0))
    assert moons.segmenter.algorithm_ == "hdbscan" and "not elliptical" in moons.segmenter.selection_.reason
    rfm = run_segmentation(skewed_rfm(1_500, 2).table, RunConfig(n_bootstrap=0))
    assert rfm.segmenter.algorithm_ == "gmm" and rfm.segmenter.selection_.runner_up is not None


@pytest.mark.slow
def test_the_command_line_and_the_report_say_whether_there_are_natural_groups(tmp_path, capsys):
    said = {}
    for name, known in (("noise", pure_noise(1_200, 3)), ("blobs", blobs_2d(1_200, 3))):
        path = tmp_path / f"{name}.csv"
        known.table.to_csv(path, index=False)
        assert main(["run", str(path), "--out", str(tmp_path / name), "--algorithms", "kmeans,gmm"]) == 0
        said[name] = capsys.readouterr().out
        record = json.loads((tmp_path / name / "run.json").read_text())
        assert record["selection"]["reason"] and record["selection"]["evidence"].startswith("gap statistic")
        report = (tmp_path / name / "report.html").read_text()
        verdict = "No natural groups" if name == "noise" else "The customers form natural groups."
        assert verdict in report and verdict in said[name]
        assert record["selection"]["natural_groups"] is (name == "blobs")
    assert "why this model: KMeans" in said["noise"] and "knee of the elbow" in said["noise"]
    assert "why this model: Gaussian mixture with the lowest BIC" in said["blobs"]


def test_a_choice_at_the_top_of_the_range_is_flagged(tmp_path):
    table = blobs_2d(1_500, 4).table
    result = run_segmentation(
        table, RunConfig(algorithms=["kmeans"], k_min=2, k_max=3, criterion="silhouette", n_bootstrap=0)
    )
    if result.segmenter.n_clusters_ == 3:
        assert any("top of the range" in w for w in result.segmenter.selection_.warnings)
    result = run_segmentation(table, RunConfig(algorithms=["gmm"], k_min=2, k_max=3, n_bootstrap=0))
    assert any("top of the range (3 components)" in w for w in result.segmenter.selection_.warnings)


def test_every_candidate_failing_the_guards_is_said():
    rng = np.random.default_rng(5)
    lopsided = pd.DataFrame(
        {
            "x": np.r_[rng.normal(0, 1, 2_000), rng.normal(30, 1, 8)],
            "y": np.r_[rng.normal(0, 1, 2_000), rng.normal(30, 1, 8)],
        }
    )
    result = run_segmentation(
        lopsided, RunConfig(algorithms=["kmeans"], k_min=2, k_max=2, n_bootstrap=0, transform="none")
    )
    assert any("Every candidate fails a guard" in w for w in result.segmenter.selection_.warnings)
    chosen = result.leaderboard[result.leaderboard["selected"]].iloc[0]
    assert "chosen although it fails a guard: no candidate passes them all" in chosen["note"]


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["mall", "wholesale", "cc_general"])
def test_real_files_get_a_choice_with_its_reasons_and_readable_names(dataset):
    result = run_segmentation(read_table(DATA_FILES[dataset]), RunConfig(n_bootstrap=0))
    selection = result.segmenter.selection_
    assert selection.reason and selection.evidence
    names = [n for k, n in result.names.items() if k >= 0]
    assert not any(
        ch.isdigit() and "mostly" in n.lower() and f"mostly {ch}" in n.lower() for n in names for ch in "0123456789"
    ), names  # codes read "channel 2", not "mostly 2 channel"
    leads = pd.Series([n.split(",")[0] for n in names]).value_counts()
    assert leads.iloc[0] <= max(2, len(names) // 2), names  # no one trait opens most names
