"""Each algorithm on data with known structure, the selection rule, consensus and stability."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs, make_moons
from sklearn.metrics import adjusted_rand_score, silhouette_score

from core.algorithms import ALGORITHMS, fit_labels, get_algorithm, suggest_eps
from core.config import RunConfig
from core.consensus import agreement_matrix, consensus_labels
from core.errors import SegmentationError
from core.pipeline import run_segmentation
from core.quality import SharedDistances, bootstrap_stability, stratified_sample
from core.segmenter import CustomerSegmenter, select_best
from core.threads import numeric_threads

pytestmark = pytest.mark.unit


def numeric(X):
    table = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    return table, {c: "numeric" for c in table}


def blobs(n=600, centers=4, seed=3):
    corners = 10.0 * np.eye(4)[:centers]
    return make_blobs(n_samples=n, centers=corners, cluster_std=1.0, random_state=seed)


# k-based algorithms must find the demo's four archetypes (ARI >= 0.9: they are well separated, and the demo's 3%
# missing values imputed by the median may move a few customers).
@pytest.mark.parametrize(
    "algorithm",
    [
        "kmeans",
        "minibatch_kmeans",
        "bisecting_kmeans",
        "birch",
        *(pytest.param(a, marks=pytest.mark.slow) for a in ("gmm", "agglomerative", "spectral")),
    ],
)
def test_k_based_algorithms_recover_the_demo_segments(demo, algorithm):
    table, truth = demo
    result = run_segmentation(table, RunConfig(algorithms=[algorithm], k_min=3, k_max=6, n_bootstrap=0))
    assert result.segmenter.n_clusters_ == 4
    assert adjusted_rand_score(truth, result.labels) >= 0.9


# Density methods on two interleaved moons, which no k-based method separates; ARI >= 0.9 allows for the few
# boundary points they leave as noise. Silhouette favours round segments, so moons are judged by DBCV, the
# criterion made for density-based clusters.
@pytest.mark.parametrize("algorithm", ["hdbscan", "dbscan"])
def test_density_algorithms_recover_moons(algorithm):
    X, truth = make_moons(n_samples=800, noise=0.05, random_state=0)
    table, roles = numeric(X)
    model = CustomerSegmenter(roles=roles, algorithms=[algorithm], criterion="dbcv", n_bootstrap=0).fit(table)
    assert model.n_clusters_ == 2
    assigned = model.labels_ >= 0
    assert assigned.mean() > 0.9
    assert adjusted_rand_score(truth[assigned], model.labels_[assigned]) >= 0.9
    kmeans = CustomerSegmenter(roles=roles, algorithms=["kmeans"], k_min=2, k_max=2, n_bootstrap=0).fit(table)
    assert adjusted_rand_score(truth, kmeans.labels_) < 0.6  # the test can tell a density method from KMeans


def test_large_tables_fit_on_a_sample_and_assign_every_row():
    X, truth = blobs(n=4000)
    table, roles = numeric(X)
    model = CustomerSegmenter(
        roles=roles, algorithms=["agglomerative", "spectral"], k_min=4, k_max=4, n_bootstrap=0
    ).fit(table)
    board = model.leaderboard_
    assert board.loc[board["algorithm"] == "spectral", "fit_rows"].item() == ALGORITHMS["spectral"].max_fit_rows
    assert board.loc[board["algorithm"] == "spectral", "assignment"].item() == (
        "rest assigned by nearest neighbours (k=10)"
    )
    assert board.loc[board["algorithm"] == "agglomerative", "assignment"].item() == "all rows fitted"
    assert (model.labels_ >= 0).all() and len(model.labels_) == 4000
    assert adjusted_rand_score(truth, model.labels_) > 0.95


def test_leaderboard_has_every_candidate_and_the_metrics():
    X, _ = blobs(n=2000)
    table, roles = numeric(X)
    model = CustomerSegmenter(roles=roles, algorithms=["kmeans", "hdbscan"], k_min=2, k_max=6, n_bootstrap=0).fit(table)
    board = model.leaderboard_
    assert board["algorithm"].tolist() == ["kmeans"] * 5 + ["hdbscan"] * 4
    hdb = board[board["algorithm"] == "hdbscan"]
    assert hdb["dbcv"].notna().all() and board.loc[board["algorithm"] == "kmeans", "dbcv"].isna().all()
    # the quick stability is measured for the chosen model and the consensus members only (every candidate's when
    # stability is the criterion)
    measured = board["stability"].notna()
    assert measured.sum() >= 2 and board.loc[measured, "stability"].between(0, 1).all()
    assert set(board.index[measured]) == {*model.consensus_rows_, int(board.index[board["selected"]][0])}
    by_stability = CustomerSegmenter(
        roles=roles, algorithms=["kmeans"], k_min=2, k_max=4, criterion="stability", n_bootstrap=0
    ).fit(table)
    assert by_stability.leaderboard_["stability"].between(0, 1).all()
    kmeans = board[board["algorithm"] == "kmeans"]
    assert kmeans["inertia"].is_monotonic_decreasing  # the elbow curve


def test_selection_rule_avoids_degenerate_solutions():
    board = pd.DataFrame(
        {
            "n_clusters": [2, 8, 5, 4, 3],
            "silhouette": [0.95, 0.9, 0.85, 0.6, 0.5],
            "noise_share": [0.0, 0.7, 0.0, 0.0, 0.0],  # row 1: most customers unassigned
            "largest_share": [0.97, 0.2, 0.4, 0.5, 0.5],  # row 0: one giant segment
            "smallest_share": [0.03, 0.01, 0.001, 0.1, 0.2],  # row 2: a segment of a handful of customers
            "note": ["", "", "", "", ""],
        }
    )
    assert select_best(board, "silhouette") == 3
    board["davies_bouldin"] = [0.1, 0.2, 0.3, 0.9, 0.4]
    assert select_best(board, "davies_bouldin") == 4  # lower is better


@pytest.mark.slow
def test_the_analyst_can_pick_any_row_or_criterion(demo):
    table = demo[0]
    by_hand = run_segmentation(table, RunConfig(algorithms=["kmeans"], k_min=2, k_max=5, select=3, n_bootstrap=0))
    assert by_hand.segmenter.n_clusters_ == 5 and by_hand.leaderboard["selected"].tolist() == [False] * 3 + [True]
    with pytest.raises(SegmentationError, match="no leaderboard row 9"):
        run_segmentation(table, RunConfig(algorithms=["kmeans"], k_min=2, k_max=5, select=9, n_bootstrap=0))
    by_ch = run_segmentation(table, RunConfig(algorithms=["kmeans"], criterion="calinski_harabasz", n_bootstrap=0))
    board = by_ch.leaderboard
    assert board.loc[board["selected"], "calinski_harabasz"].item() == board["calinski_harabasz"].max()


def test_consensus_of_identical_labelings_equals_them():
    labels = np.random.default_rng(0).integers(0, 5, 1000)
    meta = consensus_labels([labels, labels, labels])
    assert adjusted_rand_score(labels, meta) == 1.0
    assert agreement_matrix({"a": labels, "b": labels}).to_numpy().min() == 1.0


def test_consensus_follows_the_majority():
    truth = np.repeat([0, 1, 2], 100)
    noisy = truth.copy()
    noisy[:100] = 1  # one model merges the first two groups
    meta = consensus_labels([truth, truth, noisy])
    assert adjusted_rand_score(truth, meta) == 1.0


@pytest.mark.slow
def test_meta_cluster_is_computed_across_models(demo):
    table, truth = demo
    result = run_segmentation(table, RunConfig(algorithms=["kmeans", "gmm"], n_bootstrap=0))
    assert adjusted_rand_score(truth, result.segmenter.meta_labels_) >= 0.9
    assert result.segmenter.agreement_.shape == (2, 2)


def test_stability_is_high_on_blobs_and_low_on_uniform_noise():
    X, _ = blobs(n=800)
    spec, params = get_algorithm("kmeans"), get_algorithm("kmeans").defaults()
    _, labels, _ = fit_labels(spec, params, 4, X, seed=0)
    stable = bootstrap_stability(spec, params, 4, X, labels, n_boot=8, eval_size=800, seed=0)
    assert min(stable.per_segment.values()) > 0.9
    assert stable.per_customer.mean() > 0.95

    noise = np.random.default_rng(0).uniform(size=(800, 6))
    _, labels, _ = fit_labels(spec, params, 8, noise, seed=0)
    unstable = bootstrap_stability(spec, params, 8, noise, labels, n_boot=8, eval_size=800, seed=0)
    assert unstable.overall < 0.75
    assert min(unstable.per_segment.values()) < 0.6  # flagged as not to be trusted


def test_stratified_sample_keeps_every_segment():
    labels = np.array([0] * 100_000 + [1] * 30 + [2] * 5)
    rows = stratified_sample(labels, 1_000, np.random.default_rng(0))
    assert set(labels[rows]) == {0, 1, 2} and (labels[rows] == 2).sum() == 5
    assert len(rows) < 1_200


@pytest.mark.parametrize("n", [400, 3_000])
def test_shared_distances_give_sklearns_silhouette(n):
    X, truth = blobs(n=n)
    shared = SharedDistances(X, 5_000 if n < 1_000 else 1_000, np.random.default_rng(0))
    for labels in (truth, np.where(np.arange(n) % 50 == 0, -1, truth), np.arange(n) % 3):
        rows = shared.rows[labels[shared.rows] >= 0]
        assert shared.silhouette(labels) == pytest.approx(silhouette_score(X[rows], labels[rows]), abs=1e-12)


def test_shared_distances_refuse_a_segment_thin_in_the_sample():
    X, truth = blobs(n=3_000)
    labels = truth.copy()
    labels[:60] = 9  # 60 customers in the table; about 20 in a 1,000-row sample
    shared = SharedDistances(X, 1_000, np.random.default_rng(0))
    assert (labels[shared.rows] == 9).sum() < SharedDistances.MIN_SHARED
    assert shared.silhouette(labels) is None


def test_eps_suggestion_matches_the_scale_of_the_data():
    X, _ = blobs(n=600)
    assert 0.3 < suggest_eps(X, 10) < 3.0
    assert suggest_eps(X * 100, 10) == pytest.approx(100 * suggest_eps(X, 10), rel=1e-6)


@pytest.mark.parametrize(
    "algorithm, params, message",
    [
        ("kmeans", {"n_init": 0}, "kmeans parameter 'n_init' must be between 1 and 50; got 0"),
        ("kmeans", {"n_init": 2.5}, "kmeans parameter 'n_init' must be a whole number; got 2.5"),
        (
            "gmm",
            {"covariance_type": "round"},
            "gmm parameter 'covariance_type' must be one of auto, full, tied, diag, spherical; got 'round'",
        ),
        ("birch", {"threshold": "big"}, "birch parameter 'threshold' must be a number; got 'big'"),
        ("dbscan", {"radius": 1}, "dbscan has no parameter radius; it has: min_samples"),
    ],
)
def test_parameter_specs_reject_invalid_values(algorithm, params, message):
    with pytest.raises(SegmentationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        RunConfig(algorithms=[algorithm], params={algorithm: params})


def test_unknown_algorithm_and_criterion_are_named():
    with pytest.raises(SegmentationError, match="Unknown algorithm\\(s\\): optics"):
        RunConfig(algorithms=["optics"])
    with pytest.raises(SegmentationError, match="Unknown criterion 'fun'"):
        CustomerSegmenter(roles={"x": "numeric"}, criterion="fun").fit(pd.DataFrame({"x": np.arange(10.0)}))


def test_hdbscan_assigns_new_customers_to_the_nearest_fitted_one_in_few_and_many_dimensions():
    from sklearn.neighbors import NearestNeighbors

    from core.algorithms import HdbscanAssigner, _hdbscan

    rng = np.random.default_rng(3)
    for dims in (3, 12):  # a k-d tree in few dimensions, a brute-force index in many (2,000: none thinned out)
        X, _ = make_blobs(n_samples=2000, centers=3, n_features=dims, cluster_std=1.0, random_state=dims)
        model = _hdbscan({"min_samples": 10, "cluster_selection_method": "eom"}, 50, 0).fit(X)
        assigner = HdbscanAssigner(model, X)
        new = X[rng.choice(len(X), 2000)] + rng.normal(0, 0.5, (2000, dims))
        nearest = NearestNeighbors(n_neighbors=1).fit(X).kneighbors(new)[1][:, 0]
        with numeric_threads():  # the k-d tree queried on every core gives the same
            labels, strength = assigner.label_and_strength(new)
        assert (labels == model.labels_[nearest]).all()
        assert (assigner(new) == labels).all() and ((strength > 0) == (labels >= 0)).all()
        # a model.joblib saved before the k-d tree keeps scikit-learn's index and gives the same
        old = HdbscanAssigner.__new__(HdbscanAssigner)
        old.__dict__.update(vars(assigner), index=NearestNeighbors(n_neighbors=1).fit(X))
        assert (old(new) == labels).all()


def test_work_in_threads_keeps_order_and_steps_inside_run_on_one_thread():
    from core.threads import in_threads, parallel_threads

    assert parallel_threads() == 1
    with numeric_threads(openmp=2):
        assert parallel_threads() == 2
        assert in_threads(lambda i: i * i, range(7)) == [i * i for i in range(7)]
        assert in_threads(lambda _: parallel_threads(), range(4)) == [1] * 4
    assert parallel_threads() == 1
