import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from core.config import RunConfig
from core.errors import SegmentationError
from core.pipeline import run_segmentation
from core.segmenter import LEADERBOARD_COLUMNS, CustomerSegmenter

pytestmark = pytest.mark.unit


def blobs_table(n=600, centers=3, seed=1):
    """Well-separated blobs: centres on the corners of a large simplex, so the true k is unambiguous."""
    corners = 10.0 * np.eye(max(centers, 4))[:centers, :4]
    X, y = make_blobs(n_samples=n, centers=corners, n_features=4, cluster_std=1.0, random_state=seed)
    return pd.DataFrame(X, columns=["a", "b", "c", "d"]), y


def test_best_k_is_found_on_blobs():
    table, truth = blobs_table(centers=5)
    model = CustomerSegmenter(roles={c: "numeric" for c in table}, k_min=2, k_max=8).fit(table)
    assert model.n_clusters_ == 5
    assert adjusted_rand_score(truth, model.labels_) > 0.95
    board = model.leaderboard_
    assert list(board.columns) == list(LEADERBOARD_COLUMNS)
    assert board["n_clusters"].tolist() == list(range(2, 9))
    assert board["selected"].sum() == 1
    assert json.loads(board.loc[board["selected"], "params"].iloc[0])["n_clusters"] == 5


def test_segments_are_numbered_by_size_and_predict_matches_fit():
    table, _ = blobs_table(n=700, centers=4)
    model = CustomerSegmenter(roles={c: "numeric" for c in table}, k_min=4, k_max=4).fit(table)
    sizes = np.bincount(model.labels_)
    assert list(sizes) == sorted(sizes, reverse=True)
    np.testing.assert_array_equal(model.predict(table), model.labels_)


@pytest.mark.slow
def test_same_seed_same_labels_different_seed_still_same_partition(demo):
    table = demo[0]
    first = run_segmentation(table, RunConfig(seed=7))
    second = run_segmentation(table, RunConfig(seed=7))
    np.testing.assert_array_equal(first.labels, second.labels)


def test_metrics_use_a_sample_on_large_tables():
    table, truth = blobs_table(n=3000, centers=3)
    model = CustomerSegmenter(roles={c: "numeric" for c in table}, k_min=3, k_max=3, metric_sample_size=500).fit(table)
    assert model.leaderboard_["silhouette"].iloc[0] > 0.5
    assert adjusted_rand_score(truth, model.labels_) > 0.95


@pytest.mark.parametrize(
    "config, message",
    [
        (RunConfig(columns=["customer_id"]), "No usable feature column among: customer_id \\(id\\)"),
        (RunConfig(columns=["nope"]), "Column\\(s\\) not in the data: nope"),
    ],
)
def test_bad_requests_are_explained(demo, config, message):
    with pytest.raises(SegmentationError, match=message):
        run_segmentation(demo[0], config)


def test_too_few_rows_for_the_segments_asked():
    table = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    with pytest.raises(SegmentationError, match="3 rows, fewer than the 4 segments"):
        run_segmentation(table, RunConfig(k_min=4, k_max=6))


def test_all_missing_column_is_named():
    table = pd.DataFrame({"x": np.arange(20.0), "empty": np.nan})
    with pytest.raises(SegmentationError, match="empty"):
        CustomerSegmenter(roles={"x": "numeric", "empty": "numeric"}).fit(table)


def test_bad_k_range_is_refused():
    with pytest.raises(SegmentationError, match="2 <= min <= max"):
        RunConfig(k_min=5, k_max=3)


def wide_table(n=240, columns=400, seed=0):
    """Four hidden groups, each raising its own tenth of many noisy columns (a product-by-product spend export)."""
    rng = np.random.default_rng(seed)
    group = np.arange(n) % 4
    values = rng.normal(0.0, 1.0, (n, columns))
    for g in range(4):
        values[np.ix_(group == g, rng.choice(columns, columns // 10, replace=False))] += 2.5
    return pd.DataFrame(values, columns=[f"item_{j}" for j in range(columns)]), group


def test_a_wide_table_is_fitted_on_principal_components_and_says_so(tmp_path):
    from core.bundle import SourceRecord
    from core.exports import write_outputs

    table, truth = wide_table(n=200, columns=150)
    result = run_segmentation(table, RunConfig(k_min=2, k_max=6, n_bootstrap=2))
    segmenter = result.segmenter
    # four groups live in three directions: the components above noise are three, and at least five are kept
    assert segmenter.reducer_.n_components_ == 5 and segmenter.reducer_.n_features_in_ == 150
    assert adjusted_rand_score(truth, result.labels) > 0.95
    assert segmenter.leaderboard_["note"].str.contains("on 5 principal components").all()
    assert segmenter.reduction_note().startswith("Fitted on 5 principal components of the 150 model features, those")
    # new customers go through the same reduction; profiles stay in the analyst's columns
    assert (segmenter.predict(table.iloc[:40]) == result.labels[:40]).mean() > 0.95
    assert set(result.explanation.profile_["feature"]) == set(table.columns)
    write_outputs(tmp_path, table, result, SourceRecord(file="wide.csv"))
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["reduction"]["features"] == 150 and record["reduction"]["components"] == 5
    assert "principal components" in (tmp_path / "report.html").read_text()


@pytest.mark.slow
def test_components_above_noise_are_kept_up_to_the_bound():
    table, truth = wide_table(n=400, columns=200)
    lifted = table.copy()
    rng = np.random.default_rng(1)
    for g in range(12):  # twelve more groups of columns that vary together: twelve more directions above noise
        lifted.iloc[:, 12 * g : 12 * g + 12] += rng.normal(0, 2.0, (len(table), 1))
    quick = {"k_max": 3, "n_bootstrap": 0, "algorithms": ["kmeans"]}
    kept = run_segmentation(lifted, RunConfig(**quick)).segmenter.reducer_.n_components_
    assert kept >= 12
    bounded = run_segmentation(lifted, RunConfig(**quick, max_components=8)).segmenter.reducer_
    assert bounded.n_components_ == 8


def test_a_narrow_table_is_not_reduced_and_reduction_can_be_turned_off():
    table, _ = blobs_table()
    assert run_segmentation(table, RunConfig(k_max=4, n_bootstrap=0)).segmenter.reducer_ is None
    wide, _ = wide_table(n=120, columns=80)
    assert run_segmentation(wide, RunConfig(k_max=4, n_bootstrap=0, max_components=0)).segmenter.reducer_ is None
    with pytest.raises(SegmentationError, match="max_components must be 0"):
        RunConfig(max_components=1)


def test_mixtures_use_diagonal_covariances_where_full_ones_have_too_few_customers():
    from core.algorithms import fit_labels, get_algorithm

    spec = get_algorithm("gmm")
    params = spec.defaults()
    few = np.random.default_rng(0).normal(size=(200, 30))
    model, _, _ = fit_labels(spec, params, 6, few, seed=0)
    assert model.covariance_type == "diag"
    assert any("diagonal covariances: 200 customers are too few" in w for w in model.fit_warnings_)
    many = np.random.default_rng(0).normal(size=(2_000, 3))
    model, _, _ = fit_labels(spec, params, 6, many, seed=0)
    assert model.covariance_type == "full" and not model.fit_warnings_
