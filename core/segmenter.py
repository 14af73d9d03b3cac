"""The customer segmenter: preprocessing, a sweep over algorithms and their parameters, a documented choice of the
best candidate, a consensus across models, and the stability of the chosen segments.

It follows scikit-learn's conventions (parameters in the constructor, fitted state with a trailing underscore), so
it can be saved with joblib, reloaded and used to assign new customers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.decomposition import PCA
from sklearn.utils.validation import check_is_fitted

from core.algorithms import (
    ALGORITHMS,
    AlgorithmSpec,
    eps_at_knee,
    fit_labels,
    get_algorithm,
    k_distances,
    scaled_value,
    sweep_values,
)
from core.consensus import agreement_matrix, consensus_labels
from core.contracts import LEADERBOARD_COLUMNS
from core.errors import SegmentationError
from core.preprocess import build_preprocessor
from core.quality import (
    SharedDistances,
    Stability,
    bootstrap_stability,
    geometric_metrics,
    segment_shares,
    within_sum_of_squares,
)
from core.roles import FEATURE_ROLES
from core.selection import Selection, add_warnings, family_winners, gap_sample, gaps_of, structure_test
from core.selection import choose as choose_automatically
from core.threads import in_threads
from core.workers import FitTask, fit_in_order, submit

Progress = Callable[[float, str], None]
Plan = list[tuple[AlgorithmSpec, dict[str, Any]]]
Assigner = Callable[[np.ndarray], np.ndarray]
Fitted = tuple[AlgorithmSpec, dict[str, Any], Any, Any, Assigner]  # spec, parameters, swept value, model, assigner
# Which way is better for each selection criterion.
# "auto" (core.selection): each family by its own criterion, then the mixture or a density model; the others rank
# every candidate by one metric.
CRITERIA = {
    "auto": "max",
    "silhouette": "max",
    "davies_bouldin": "min",
    "calinski_harabasz": "max",
    "dbcv": "max",
    "stability": "max",
}
# Guards against solutions an analyst cannot use, however good their score: one segment holding nearly everyone,
# a segment of a handful of customers, or most customers left unassigned. Such candidates are chosen only when
# nothing else is left.
MAX_LARGEST_SHARE = 0.9
MIN_SMALLEST_SHARE = 0.005
MAX_NOISE_SHARE = 0.5
QUICK_BOOTSTRAPS = 3
QUICK_STABILITY_ROWS = 2_000
ASSIGN_CHUNK = 250_000  # rows an assigner labels at once: small temporary arrays, and work for every thread
REDUCER_ROWS = 20_000  # principal axes settle long before that
MIN_COMPONENTS = 5


def ignore_progress(fraction: float, message: str) -> None:
    """Default progress sink: a fit run from a script reports to nobody."""


class CustomerSegmenter(ClusterMixin, BaseEstimator):
    """Preprocess customer columns, fit every candidate model, keep the best and measure how far to trust it.

    Args:
        roles: role of each feature column (``numeric``, ``categorical`` or ``date``).
        algorithms: keys of :data:`core.algorithms.ALGORITHMS` to try.
        params: per algorithm, parameters that differ from the defaults.
        k_min: smallest number of segments to try (k-based algorithms).
        k_max: largest number of segments to try.
        criterion: how the best candidate is chosen (see :func:`select_best`).
        select: a leaderboard row to use instead of the automatic choice.
        metric_sample_size: metrics use a stratified sample of at most this many rows.
        sample_size: on larger tables every candidate is fitted and scored on a random sample of this many rows;
            only the chosen model and the consensus members then label every row.
        n_bootstrap: refits used to measure the chosen model's stability (0 to skip).
        stability_sample_size: customers evaluated in the stability refits.
        transform: ``none``, ``log1p`` or ``yeo-johnson`` for ``transform_columns``.
        transform_columns: skewed numeric columns to transform.
        cap: (method, threshold) to cap numeric features at outlier fences, or None.
        impute: how missing numbers are filled: ``median``, ``mean`` or ``knn``.
        scale: ``standard``, ``robust`` or ``minmax`` scaling of numeric and date features.
        as_of: reference date for date features (default the newest date).
        random_state: seed for every random step.
        max_components: above this many model features (one-hot columns count), candidates are fitted on at most
            this many principal components of them, those above the noise level (0: never). Profiles, names and
            rules stay in the analyst's columns.
        keep_candidates: keep every candidate's labels of the fitted rows in ``candidate_labels_`` (for measuring
            the selection against known groups; off by default, it costs memory).
    """

    def __init__(
        self,
        roles: dict[str, str] | None = None,
        algorithms: tuple[str, ...] | list[str] = ("kmeans",),
        params: dict[str, dict[str, Any]] | None = None,
        k_min: int = 2,
        k_max: int = 10,
        criterion: str = "auto",
        select: int | None = None,
        metric_sample_size: int = 5_000,
        sample_size: int = 100_000,
        n_bootstrap: int = 10,
        stability_sample_size: int = 5_000,
        transform: str = "none",
        transform_columns: list[str] | None = None,
        cap: tuple[str, float] | None = None,
        as_of: str | None = None,
        impute: str = "median",
        scale: str = "standard",
        random_state: int = 0,
        max_components: int = 50,
        keep_candidates: bool = False,
    ) -> None:
        self.roles = roles
        self.algorithms = algorithms
        self.params = params
        self.k_min = k_min
        self.k_max = k_max
        self.criterion = criterion
        self.select = select
        self.metric_sample_size = metric_sample_size
        self.sample_size = sample_size
        self.n_bootstrap = n_bootstrap
        self.stability_sample_size = stability_sample_size
        self.transform = transform
        self.transform_columns = transform_columns
        self.cap = cap
        self.as_of = as_of
        self.impute = impute
        self.scale = scale
        self.random_state = random_state
        self.max_components = max_components
        self.keep_candidates = keep_candidates

    # ------------------------------------------------------------------ fitting
    def fit(self, X: pd.DataFrame, y: object = None, progress: Progress | None = None) -> CustomerSegmenter:
        """Fit the preprocessing and every candidate, choose one, then build the consensus and stability."""
        self.fit_transform(X, progress=progress)
        return self

    def fit_transform(self, X: pd.DataFrame, y: object = None, progress: Progress | None = None) -> np.ndarray:
        """Fit as :meth:`fit` does and return the feature matrix of X, which callers need next (a second transform
        of millions of rows costs seconds)."""
        report = progress or ignore_progress
        features = self._check_input(X)
        plan = self._plan()
        report(0.02, "Preparing features")
        self.sample_rows_ = self._sample_rows(len(features))
        self.preprocessor_ = build_preprocessor(
            self.roles_, self.transform, self.transform_columns, self.cap, self.as_of, self.impute, self.scale
        )
        self.preprocessor_.fit(features if self.sample_rows_ is None else features.iloc[self.sample_rows_])
        Z = self.preprocessor_.transform(features).to_numpy(dtype=np.float64)
        if not np.isfinite(Z).all():
            raise SegmentationError("Some feature values are infinite; remove or cap them before segmenting.")
        self.reducer_ = self._reducer(Z)
        if self.reducer_ is not None:
            report(0.03, f"Reducing {Z.shape[1]:,} features to {self.reducer_.n_components_} principal components")
            Z = self.reducer_.transform(Z)
        self._k_distance(Z, plan)
        self._Z_for_tests = Z
        # whether there are natural groups at all, measured in a worker (where there is one) beside the sweep
        self._gaps = submit(gaps_of, *gap_sample(self._sampled(Z), self.random_state), self.random_state)
        rows, labelings, fitted = self._sweep(Z, plan, report)
        board = pd.DataFrame(rows)
        if self.keep_candidates:
            self.candidate_labels_ = labelings
        report(0.78, "Testing for natural groups and choosing the model")
        self.selection_ = self._select(board, labelings)
        best = self.selection_.row
        self._finalists_stability(Z, board, labelings, fitted, {best, *self._consensus_rows(board)})
        board["selected"] = board.index == best
        if not eligible(board).loc[best]:  # the leaderboard says so too, beside the chosen row
            guard = (
                "chosen although it fails a guard: no candidate passes them all"
                if not eligible(board).any()
                else "chosen by the analyst although it fails a guard"
            )
            board.loc[best, "note"] = "; ".join(filter(None, [board.loc[best, "note"], guard]))
        self.leaderboard_ = board[list(LEADERBOARD_COLUMNS)]
        report(0.8, "Labelling every customer with the chosen model")
        chosen_labels, chosen = labelings[best], fitted[best]
        assert chosen_labels is not None and chosen is not None  # the choice is never a candidate that failed
        full = {best: self._label_chosen(Z, chosen_labels, chosen[4])}
        self._keep_chosen(full[best], chosen)
        report(0.85, "Combining models into a consensus")
        self._build_consensus(Z, board, labelings, fitted, full)
        del self._Z_for_tests, self._gaps
        report(0.9, "Measuring stability")
        self._measure_stability(Z)
        report(1.0, f"Done: {self.n_clusters_} segments")
        return Z

    def _reducer(self, Z: np.ndarray) -> PCA | None:
        """Principal components for a wide table, or None. Distances between customers, and with them every
        algorithm's work, grow with the number of features: 300 customers x 2,000 columns took 94 s fitted on the
        columns, 18 s on components. Segments live in the few directions where customers differ most; the
        components kept are those whose variance stands above what noise alone gives (the Marchenko-Pastur edge
        for this many customers and features), at least MIN_COMPONENTS and at most ``max_components``. Keeping
        noise components instead (a fixed 50) let BIC prefer too few segments: 200 customers x 150 columns of four
        groups gave 2 segments (ARI 0.33), the components above the edge 4 (ARI 1.0). Fitted on at most
        REDUCER_ROWS customers."""
        n, d = Z.shape
        if not self.max_components or d <= self.max_components or n < 3:
            return None
        rows = self.sample_rows_ if self.sample_rows_ is not None else np.arange(n)
        if len(rows) > REDUCER_ROWS:
            rows = np.sort(np.random.default_rng(self.random_state).choice(rows, REDUCER_ROWS, replace=False))
        X = Z[rows]
        most = min(self.max_components, len(X) - 1)
        pca = PCA(n_components=most, svd_solver="randomized", random_state=self.random_state).fit(X)
        noise = X.var(axis=0).mean()  # per feature, if all were noise
        ratio = d / len(X)
        edge = noise * (1 + np.sqrt(ratio)) ** 2 if ratio < 1 else noise * (1 + np.sqrt(1 / ratio)) ** 2 * ratio
        keep = int(np.clip((pca.explained_variance_ > edge).sum(), min(MIN_COMPONENTS, most), most))
        if keep == most:
            return pca
        return PCA(n_components=keep, svd_solver="randomized", random_state=self.random_state).fit(X)

    @property
    def _dimensions(self) -> int:
        """How many columns the candidates see."""
        reducer = getattr(self, "reducer_", None)
        return int(reducer.n_components_) if reducer is not None else len(self.preprocessor_.get_feature_names_out())

    def reduction_note(self) -> str:
        """What the candidates were fitted on when the table was reduced ('' when it was not)."""
        reducer = getattr(self, "reducer_", None)
        if reducer is None:
            return ""
        return (
            f"Fitted on {reducer.n_components_} principal components of the {reducer.n_features_in_:,} model "
            f"features, those that stand above noise ({reducer.explained_variance_ratio_.sum():.0%} of the variance)"
        )

    def _k_distance(self, Z: np.ndarray, plan: Plan) -> None:
        """For DBSCAN, the k-distance curve its eps is read from (kept for the k-distance plot)."""
        self.k_distance_ = None
        for spec, params in plan:
            if spec.key == "dbscan":
                curve = k_distances(Z, params["min_samples"], seed=self.random_state)
                self.k_distance_ = {
                    "distances": curve.astype(np.float32),
                    "min_samples": params["min_samples"],
                    "eps": eps_at_knee(curve),
                }

    def _plan(self) -> list[tuple[AlgorithmSpec, dict[str, Any]]]:
        if self.criterion not in CRITERIA:
            raise SegmentationError(f"Unknown criterion '{self.criterion}'; choose from: {', '.join(CRITERIA)}.")
        if not self.algorithms:
            raise SegmentationError("Choose at least one algorithm.")
        given = self.params or {}
        unknown = sorted(set(given) - set(self.algorithms))
        if unknown:
            raise SegmentationError(f"Parameters given for algorithm(s) not being run: {', '.join(unknown)}.")
        return [(spec, spec.validate(given.get(spec.key))) for spec in map(get_algorithm, self.algorithms)]

    def _sample_rows(self, n: int) -> np.ndarray | None:
        """The rows every candidate is fitted and scored on: all (None), or a seeded random sample."""
        if n <= self.sample_size:
            return None
        return np.sort(np.random.default_rng([self.random_state, n]).choice(n, self.sample_size, replace=False))

    def _sampled(self, Z: np.ndarray) -> np.ndarray:
        return Z if self.sample_rows_ is None else Z[self.sample_rows_]

    def _label_all(self, Z: np.ndarray, sample_labels: np.ndarray, assigner: Assigner) -> np.ndarray:
        """Labels of every row from a candidate's labels of the sample: the rest are assigned by its assigner."""
        if self.sample_rows_ is None:
            return sample_labels
        labels = np.empty(len(Z), dtype=np.int32)
        labels[self.sample_rows_] = sample_labels
        rest = np.ones(len(Z), dtype=bool)
        rest[self.sample_rows_] = False
        blocks = [
            np.flatnonzero(rest[start : start + ASSIGN_CHUNK]) + start for start in range(0, len(Z), ASSIGN_CHUNK)
        ]
        for block, assigned in zip(blocks, in_threads(lambda block: assigner(Z[block]), blocks)):
            labels[block] = assigned
        return labels

    def _label_chosen(self, Z: np.ndarray, sample_labels: np.ndarray, assigner: Assigner) -> np.ndarray:
        """:meth:`_label_all` for the chosen model, keeping (HDBSCAN) every row's membership strength from the same
        neighbour queries in ``membership_``."""
        both = getattr(assigner, "label_and_strength", None)
        self.membership_ = None
        if both is None:
            return self._label_all(Z, sample_labels, assigner)
        labels = np.empty(len(Z), dtype=np.int32)
        self.membership_ = np.empty(len(Z), dtype=np.float32)
        blocks = [slice(start, start + ASSIGN_CHUNK) for start in range(0, len(Z), ASSIGN_CHUNK)]
        for block, (assigned, strength) in zip(blocks, in_threads(lambda block: both(Z[block]), blocks)):
            labels[block], self.membership_[block] = assigned, strength
        labels[slice(None) if self.sample_rows_ is None else self.sample_rows_] = sample_labels
        return labels

    def _sweep(
        self, Z_all: np.ndarray, plan: Plan, report: Progress
    ) -> tuple[list[dict[str, Any]], list[np.ndarray | None], list[Fitted | None]]:
        rng = np.random.default_rng(self.random_state)
        n = len(Z_all)
        Z = self._sampled(Z_all)
        distinct = len(np.unique(Z[rng.choice(len(Z), min(len(Z), 20_000), replace=False)], axis=0))
        if distinct < self.k_max:  # only then is counting every distinct row worth its cost
            distinct = len(np.unique(Z, axis=0))
        k_range = (self.k_min, min(self.k_max, distinct))
        self.k_range_ = k_range
        self.bic_: dict[int, float] = {}  # leaderboard row -> the mixture's BIC (mixtures only)
        self.components_: dict[int, int] = {}  # leaderboard row -> the mixture's components
        if k_range[1] < k_range[0]:
            raise SegmentationError(f"The data has fewer distinct customers than the {self.k_min} segments asked for.")
        work = [
            (spec, p, v)
            for spec, p in plan
            for v in sweep_values(spec, n, k_range, (self.k_distance_ or {}).get("eps"), p)
        ]
        return self._fit_candidates(Z_all, Z, work, report)

    def _fit_candidates(
        self, Z_all: np.ndarray, Z: np.ndarray, work: list, report: Progress
    ) -> tuple[list[dict[str, Any]], list[np.ndarray | None], list[Fitted | None]]:
        n = len(Z_all)
        every = self.criterion == "stability"  # the criterion needs every candidate's stability; else finalists'
        rows: list[dict[str, Any]] = []
        labelings: list[np.ndarray | None] = []
        fitted: list[Fitted | None] = []
        shared = SharedDistances(Z, self.metric_sample_size, np.random.default_rng(self.random_state))
        reduced = f"on {self.reducer_.n_components_} principal components" if self.reducer_ is not None else ""
        tasks = [
            FitTask(spec.key, params, scaled_value(spec, value, len(Z), n), self._fit_rows(spec, len(Z)))
            for spec, params, value in work
        ]
        batches: list[list[FitTask]] = []
        for task, (spec, _, _) in zip(tasks, work):  # HDBSCAN's sizes in one batch: they share a spanning tree
            if batches and spec.key == "hdbscan" and batches[-1][-1].algorithm == "hdbscan":
                batches[-1].append(task)
            else:
                batches.append([task])
        outcomes = fit_in_order(batches, Z, self.random_state)
        for step, ((spec, params, value), task) in enumerate(zip(work, tasks)):
            report(
                0.05 + 0.8 * step / len(work),
                f"Fitting {spec.label} {_describe(spec, value)} ({step + 1} of {len(work)})",
            )
            outcome = next(outcomes)
            fit_rows, local = task.fit_rows, task.value  # a minimum segment size, from the table to the sample
            if outcome.error is not None:
                rows.append(_failed_row(spec, params, value, outcome.error))
                labelings.append(None)
                fitted.append(None)
                continue
            model, labels, assigner, seconds = outcome.model, outcome.labels, outcome.assigner, outcome.seconds
            assert labels is not None
            rows.append(
                {
                    "algorithm": spec.key,
                    "params": json.dumps({**params, **{_sweep_name(spec): value}}),
                    **segment_shares(labels),
                    **geometric_metrics(
                        Z,
                        labels,
                        np.random.default_rng(self.random_state),
                        self.metric_sample_size,
                        spec.density,
                        shared,
                    ),
                    "stability": self._quick_stability(spec, params, local, Z, labels) if every else np.nan,
                    "inertia": within_sum_of_squares(Z, labels) * n / len(Z),
                    "fit_seconds": round(seconds, 4),
                    "fit_rows": int(len(Z) if fit_rows is None else len(fit_rows)),
                    "assignment": _assignment(spec, fit_rows is not None or len(Z) < n),
                    "note": "; ".join(filter(None, [reduced, *model.fit_warnings_])),
                }
            )
            labelings.append(labels.astype(np.int32))
            fitted.append((spec, params, value, model, assigner))
            if hasattr(model, "bic_"):
                self.bic_[len(rows) - 1], self.components_[len(rows) - 1] = model.bic_, int(model.n_components)
                merged = int(model.n_components) - int(model.n_segments_)
                if merged > 0:
                    rows[-1]["note"] = "; ".join(
                        filter(
                            None,
                            [
                                rows[-1]["note"],
                                f"{model.n_components} components merged into "
                                f"{model.n_segments_} segments (no density valley between)",
                            ],
                        )
                    )
        if all(f is None for f in fitted):
            reasons = "; ".join(sorted({r["note"] for r in rows}))
            raise SegmentationError(f"No model could be fitted: {reasons}")
        return rows, labelings, fitted

    def _fit_rows(self, spec: AlgorithmSpec, n: int) -> np.ndarray | None:
        """The rows a candidate is fitted on: all, or a sample seeded by its algorithm, so that a refit of one row
        alone reproduces it and every candidate of an algorithm sees the same customers (k compared on the same
        rows, and HDBSCAN's sizes can share one spanning tree)."""
        limit = spec.fit_limit(self._dimensions)
        if not limit or n <= limit:
            return None
        seed = [self.random_state, list(ALGORITHMS).index(spec.key)]
        return np.sort(np.random.default_rng(seed).choice(n, limit, replace=False))

    def choose(self, X: pd.DataFrame, row: int, progress: Progress | None = None) -> CustomerSegmenter:
        """Make leaderboard ``row`` the chosen model (the analyst's pick), refitting only that candidate."""
        check_is_fitted(self)
        report = progress or ignore_progress
        board = self.leaderboard_.copy()
        if not 0 <= row < len(board):
            raise SegmentationError(f"There is no leaderboard row {row}; rows are 0 to {len(board) - 1}.")
        if failed(board).loc[row]:
            raise SegmentationError(f"Leaderboard row {row} failed to fit: {board.loc[row, 'note']}")
        report(0.1, f"Refitting leaderboard row {row}")
        Z = self.transform_features(X)
        spec = get_algorithm(board.loc[row, "algorithm"])
        swept = json.loads(board.loc[row, "params"])
        value = swept.pop(_sweep_name(spec))
        sample = self._sampled(Z)
        model, labels, assigner = fit_labels(
            spec,
            swept,
            scaled_value(spec, value, len(sample), len(Z)),
            sample,
            self.random_state,
            self._fit_rows(spec, len(sample)),
        )
        self._keep_chosen(self._label_chosen(Z, labels, assigner), (spec, swept, value, model, assigner))
        if pd.isna(board.loc[row, "stability"]):  # measured in the sweep for finalists only
            board.loc[row, "stability"] = self._quick_stability(
                spec, swept, scaled_value(spec, value, len(sample), len(Z)), sample, labels
            )
        board["selected"] = board.index == row
        self.leaderboard_ = board
        self.select = row
        previous = getattr(self, "selection_", None)
        self.selection_ = Selection(
            row,
            f"Leaderboard row {row}, chosen by the analyst.",
            natural_groups=previous.natural_groups if previous else True,
            evidence=previous.evidence if previous else "",
        )
        report(0.5, "Measuring stability")
        self._measure_stability(Z)
        report(1.0, f"Done: {self.n_clusters_} segments")
        return self

    def _select(self, board: pd.DataFrame, labelings: list[np.ndarray | None]) -> Selection:
        """The chosen candidate and what the choice rests on: the analyst's row, the automatic choice, or the best
        by a criterion; whether the customers form natural groups is tested in every case."""
        ok = eligible(board)
        gaps = self._gaps.result() if self._gaps is not None else None
        natural, evidence = structure_test(self._sampled(self._Z_for_tests), board, ok, self.random_state, gaps)
        if self.select is not None:
            if not isinstance(self.select, int) or not 0 <= self.select < len(board):
                raise SegmentationError(f"There is no leaderboard row {self.select}; rows are 0 to {len(board) - 1}.")
            if failed(board).loc[self.select]:
                raise SegmentationError(
                    f"Leaderboard row {self.select} failed to fit: {board.loc[self.select, 'note']}"
                )
            chosen = Selection(
                self.select,
                f"Leaderboard row {self.select}, chosen by the analyst.",
                natural_groups=natural,
                evidence=evidence,
            )
            return add_warnings(chosen, board, ok, self.components_, self.k_range_)
        if self.criterion == "auto":
            return choose_automatically(
                board, ok, labelings, self.bic_, self.components_, self.k_range_, natural, evidence
            )
        row = select_best(board, self.criterion)
        best = Selection(
            row,
            f"The best {self.criterion.replace('_', '-')} among the candidates that pass the "
            f"guards ({board.loc[row, self.criterion]:.3f}).",
            natural_groups=natural,
            evidence=evidence,
        )
        return add_warnings(best, board, ok, self.components_, self.k_range_)

    def _keep_chosen(self, raw: np.ndarray, fitted: Fitted) -> None:
        spec, params, value, model, assigner = fitted
        counts = np.bincount(raw[raw >= 0])
        present = np.flatnonzero(counts)
        order = np.full(len(counts), -1)
        order[present[np.argsort(-counts[present], kind="stable")]] = np.arange(len(present))
        self.cluster_order_ = order  # number segments by size (0 = largest) so the numbering means something
        self.labels_ = self._ordered(raw)
        self.n_clusters_ = int(len(present))
        self.algorithm_ = spec.key
        self.params_ = {**params, _sweep_name(spec): value}
        self.model_ = model
        self.assigner_ = assigner

    def _ordered(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw)
        out = np.full(len(raw), -1, dtype=np.int32)
        known = (raw >= 0) & (raw < len(self.cluster_order_))
        out[known] = self.cluster_order_[raw[known]]
        return out

    def _build_consensus(
        self,
        Z: np.ndarray,
        board: pd.DataFrame,
        labelings: list[np.ndarray | None],
        fitted: list[Fitted | None],
        full: dict[int, np.ndarray],
    ) -> None:
        """Consensus of every row from the members' labels of every row; agreement measured on the sample."""
        members = self._consensus_rows(board)
        named = {}
        for i in members:
            spec = get_algorithm(board.loc[i, "algorithm"])
            member_labels, member = labelings[i], fitted[i]
            assert member_labels is not None and member is not None  # members are candidates that were fitted
            named[f"{spec.label} · {board.loc[i, 'n_clusters']} segments (row {i})"] = member_labels
            if i not in full:
                full[i] = self._label_all(Z, member_labels, member[4])
        self.consensus_rows_ = members
        self.meta_labels_ = consensus_labels([full[i] for i in members]).astype(np.int32)
        self.agreement_ = agreement_matrix(named)

    def _consensus_rows(self, board: pd.DataFrame) -> list[int]:
        winners = family_winners(board, eligible(board), self.bic_) if self.criterion == "auto" else None
        return consensus_members(board, "silhouette" if self.criterion == "auto" else self.criterion, winners)

    def _quick_stability(
        self, spec: AlgorithmSpec, params: dict[str, Any], local: Any, Z: np.ndarray, labels: np.ndarray
    ) -> float:
        quick = bootstrap_stability(
            spec, params, local, Z, labels, QUICK_BOOTSTRAPS, QUICK_STABILITY_ROWS, self.random_state
        )
        return round(quick.overall, 4)

    def _finalists_stability(
        self,
        Z_all: np.ndarray,
        board: pd.DataFrame,
        labelings: list[np.ndarray | None],
        fitted: list[Fitted | None],
        finalists: set[int],
    ) -> None:
        """The leaderboard's quick stability of the chosen candidate and the consensus members (every candidate's
        when the criterion is stability): three refits of each of 22 candidates were a third of a small file's
        run (10.5 of 29 s on a 2,240-customer table with 43 features), and the automatic choice does not use it."""
        Z = self._sampled(Z_all)
        for i in sorted(finalists):
            labels, member = labelings[i], fitted[i]
            if labels is None or member is None or not pd.isna(board.loc[i, "stability"]):
                continue
            spec, params, value = member[:3]
            board.loc[i, "stability"] = self._quick_stability(
                spec, params, scaled_value(spec, value, len(Z), len(Z_all)), Z, labels
            )

    def _measure_stability(self, Z: np.ndarray) -> None:
        self.stability_: Stability | None = None
        if self.n_bootstrap <= 0:
            return
        spec = get_algorithm(self.algorithm_)
        params = {k: v for k, v in self.params_.items() if k != _sweep_name(spec)}
        self.stability_ = bootstrap_stability(
            spec,
            params,
            self.params_[_sweep_name(spec)],
            Z,
            self.labels_,
            self.n_bootstrap,
            self.stability_sample_size,
            self.random_state,
        )

    # ---------------------------------------------------------------- predicting
    def transform_features(self, X: pd.DataFrame) -> np.ndarray:
        """The scaled, encoded feature matrix the model sees for these customers."""
        check_is_fitted(self)
        missing = [c for c in self.feature_names_in_ if c not in X.columns]
        if missing:
            raise SegmentationError(f"Missing column(s): {', '.join(missing)}.")
        Z = self.preprocessor_.transform(X[list(self.feature_names_in_)]).to_numpy(dtype=np.float64)
        reducer = getattr(self, "reducer_", None)  # models saved before reduction existed have none
        return Z if reducer is None else reducer.transform(Z)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Assign customers to the fitted segments (-1: unassigned, for density models)."""
        return self._ordered(self.assigner_(self.transform_features(X)))

    def membership(self, Z: np.ndarray) -> np.ndarray | None:
        """The chosen model's own strength of membership for rows of the feature matrix (HDBSCAN), else None."""
        strength = getattr(self.assigner_, "strength", None)
        return strength(Z) if strength is not None else None

    def sampling_note(self) -> str:
        """What was sampled on a large table, in one sentence for the pages and the report ('' when nothing was)."""
        rows = getattr(self, "sample_rows_", None)
        if rows is None:
            return ""
        return (
            f"Every candidate was fitted and scored on a random sample of {len(rows):,} of {len(self.labels_):,} "
            f"customers (quality metrics on at most {self.metric_sample_size:,}); the chosen model and the "
            "consensus members then labelled every customer."
        )

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    def _check_input(self, X: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise SegmentationError("The segmenter expects a table with named columns.")
        if not isinstance(self.k_min, int) or not isinstance(self.k_max, int) or not 2 <= self.k_min <= self.k_max:
            raise SegmentationError(
                f"The range of segments must be whole numbers with 2 <= min <= max; got {self.k_min}-{self.k_max}."
            )
        roles = {c: r for c, r in (self.roles or {}).items() if r in FEATURE_ROLES}
        if not roles:
            raise SegmentationError(
                "No usable feature column: choose at least one numeric, categorical or date column."
            )
        absent = [c for c in roles if c not in X.columns]
        if absent:
            raise SegmentationError(f"Column(s) not in the data: {', '.join(absent)}.")
        infinite = [
            c
            for c, r in roles.items()
            if r == "numeric"
            and np.isinf(pd.to_numeric(X[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan)).any()
        ]
        if infinite:
            raise SegmentationError(
                f"Column(s) with infinite values (inf): {', '.join(infinite)}; remove or replace them before "
                "segmenting, or leave the column(s) out."
            )
        empty = [c for c in roles if X[c].isna().all()]
        if empty:
            raise SegmentationError(f"Column(s) with no values at all: {', '.join(empty)}; leave them out.")
        if len(X) < self.k_min:
            raise SegmentationError(f"The data has {len(X)} rows, fewer than the {self.k_min} segments asked for.")
        self.roles_ = roles
        self.feature_names_in_ = np.asarray(list(roles), dtype=object)
        return X[list(roles)]


def _sweep_name(spec: AlgorithmSpec) -> str:
    return {"k": "n_clusters"}.get(spec.sweep, spec.sweep)


def _describe(spec: AlgorithmSpec, value: Any) -> str:
    return f"with {'k' if spec.sweep == 'k' else spec.sweep}={value}"


def _assignment(spec: AlgorithmSpec, sampled: bool) -> str:
    if not sampled:
        return "all rows fitted"
    how = {"hdbscan": "nearest fitted customer", "dbscan": "nearest core point within eps"}.get(spec.key)
    return f"rest assigned by {how or ('the model' if spec.can_predict else 'nearest neighbours (k=10)')}"


def _failed_row(spec: AlgorithmSpec, params: dict[str, Any], value: Any, exc: Exception) -> dict[str, Any]:
    message = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return {
        "algorithm": spec.key,
        "params": json.dumps({**params, _sweep_name(spec): value}),
        "n_clusters": 0,
        "noise_share": np.nan,
        "smallest_share": np.nan,
        "largest_share": np.nan,
        "silhouette": np.nan,
        "davies_bouldin": np.nan,
        "calinski_harabasz": np.nan,
        "dbcv": np.nan,
        "stability": np.nan,
        "inertia": np.nan,
        "fit_seconds": np.nan,
        "fit_rows": 0,
        "assignment": "",
        "note": f"failed: {message}",
    }


def eligible(board: pd.DataFrame) -> pd.Series:
    """Candidates that pass the guards against degenerate solutions."""
    return (
        (board["n_clusters"] >= 2)
        & (board["noise_share"] <= MAX_NOISE_SHARE)
        & (board["largest_share"] <= MAX_LARGEST_SHARE)
        & (board["smallest_share"] >= MIN_SMALLEST_SHARE)
        & ~failed(board)
    )


def failed(board: pd.DataFrame) -> pd.Series:
    """Candidates that could not be fitted."""
    return board["note"].fillna("").str.startswith("failed")


def select_best(board: pd.DataFrame, criterion: str = "silhouette") -> int:
    """Index of the best candidate by ``criterion`` among those that pass the guards.

    Guards: at least 2 segments; at most 50% of customers unassigned; no segment over 90% of customers; none under
    0.5%. If no candidate passes, the best fitted candidate with at least 2 segments wins, then any fitted one.
    Ties go to fewer segments, then to the earlier row.
    """
    fitted = board[~failed(board)]
    for pool in (board[eligible(board)], fitted[fitted["n_clusters"] >= 2], fitted):
        scores = pool[criterion].dropna()
        if len(scores):
            best = scores.max() if CRITERIA[criterion] == "max" else scores.min()
            tied = pool.loc[scores.index[scores == best]]
            return int(tied.sort_values("n_clusters", kind="stable").index[0])
    raise SegmentationError(f"No candidate has a {criterion} score; try another criterion or more segments.")


def consensus_members(board: pd.DataFrame, criterion: str, winners: dict[str, int] | None = None) -> list[int]:
    """The models combined into the consensus: the best of each algorithm (``winners``, when the automatic choice
    named them by each family's own criterion), or the top three of a single one."""
    algorithms = list(dict.fromkeys(board["algorithm"]))
    fitted = board[~failed(board)]
    if winners is not None and len(winners) > 1:
        return sorted(winners.values())
    if len(algorithms) > 1:
        members = []
        for algorithm in algorithms:
            own = fitted[fitted["algorithm"] == algorithm]
            if own[criterion].notna().any():  # an algorithm that found no segments at all has nothing to add
                members.append(select_best(own, criterion))
        if len(members) > 1:
            return members
    ranked = fitted[eligible(fitted)] if eligible(fitted).sum() >= 2 else fitted
    ascending = CRITERIA[criterion] == "min"
    return [int(i) for i in ranked.sort_values(criterion, ascending=ascending, kind="stable").index[:3]]
