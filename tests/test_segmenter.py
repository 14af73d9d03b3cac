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
