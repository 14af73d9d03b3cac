"""The automatic choice of a segmentation: find the groups that are there, say when there are none, and say why.

Measured on the known-structure suite (bench/known_structure.py, `python -m bench.selection`): silhouette, the
usual rule, rewards round, equal, well-separated blobs and lands on k = 2 for nested, elongated, skewed or bent
groups; compared across algorithms it is not on equal terms (a density model's silhouette leaves its noise out).
DBCV across families was no better (it favoured coarse splits and misjudged one-hot columns). What worked:

1. **Within each family, its own criterion**: Gaussian mixtures by BIC (the number of components that describes
   the density), their components merged into segments where no density valley separates them (core.mixture);
   density models (HDBSCAN, DBSCAN) by DBCV; the other k-based algorithms by silhouette.
2. **Across families**, the merged mixture is the choice: it recovers round, unequal, elongated, skewed and mixed
   groups. A density model replaces it only when the mixture needed every component the k range allows (the
   density is not a few Gaussian groups: bent or nested shapes) and the density model's segments are a clean,
   coarser grouping of the mixture's (little noise, every mixture segment inside one of them).
3. **Whether there are natural groups at all** (`structure_test`): Tibshirani's gap statistic against a uniform
   reference aligned with the data's principal axes, and any clean density solution. When neither shows
   structure the customers form a continuum, the run says so, and the segments are a partition for targeting:
   KMeans at the knee of its elbow curve, within 3 to 8 segments (the analyst's range permitting) of at least 5%
   each.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans

GAP_ROWS = 1_000
GAP_K = 6
GAP_REFERENCES = 5
GAP_GAIN = 0.1  # below this (and two standard errors) more segments explain the data no better than a uniform box
CLEAN_NOISE = 0.1  # a density model's solution is clean with at most this share unassigned
CLEAN_DBCV = 0.3
COARSENING = 0.9  # a segment lies inside a coarser one when this share of it does
TARGETING_K = (3, 8)
TARGETING_MIN_SHARE = 0.05
MIXTURE = "gmm"
DENSITY = ("hdbscan", "dbscan")


@dataclass
class Selection:
    """What the automatic choice rests on: shown in the CLI, the pages, run.json and the report.

    Attributes:
        row: the chosen leaderboard row.
        reason: why it was chosen, in a sentence.
        runner_up: the best other candidate (None when there was no other).
        runner_up_reason: why the runner-up lost.
        natural_groups: whether the customers form groups at all (False: a continuum, segments for targeting).
        evidence: what that verdict rests on (figures).
        warnings: what the analyst should know (a choice at the edge of the k range, every candidate failing the
            guards, ...).
    """

    row: int
    reason: str
    runner_up: int | None = None
    runner_up_reason: str = ""
    natural_groups: bool = True
    evidence: str = ""
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.row, self.natural_groups = int(self.row), bool(self.natural_groups)  # plain types, for run.json

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["runner_up"] = None if self.runner_up is None else int(self.runner_up)
        return out

    @property
    def verdict(self) -> str:
        if self.natural_groups:
            return "The customers form natural groups."
        return (
            "No natural groups: the customers form a continuum. The segments are a partition for targeting, "
            "not groups found in the data."
        )


Gaps = tuple[np.ndarray, np.ndarray]


def gap_statistic(Z: np.ndarray, seed: int = 0) -> Gaps:
    """Gap(k) and its standard error for k = 1..GAP_K (Tibshirani, Walther & Hastie 2001), KMeans on a sample,
    reference data uniform in the box of the sample's principal axes."""
    return gaps_of(*gap_sample(Z, seed), seed)


def gap_sample(Z: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.random.Generator]:
    """The customers the gap statistic is measured on, and the generator that then draws its reference data (the
    two can go to another process: a generator keeps its state)."""
    rng = np.random.default_rng(seed)
    return (Z[rng.choice(len(Z), min(GAP_ROWS, len(Z)), replace=False)] if len(Z) > GAP_ROWS else Z), rng


def gaps_of(X: np.ndarray, rng: np.random.Generator, seed: int = 0) -> Gaps:
    """:func:`gap_statistic` of the sampled customers ``X``."""
    centred = X - X.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ axes.T
    low, high = projected.min(axis=0), projected.max(axis=0)
    distinct = len(np.unique(X, axis=0))
    ks = range(1, max(1, min(GAP_K, distinct - 1)) + 1)

    def log_w(data: np.ndarray, k: int) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # few distinct customers: KMeans says so, and the gap is still defined
            return float(np.log(KMeans(k, n_init=2, random_state=seed).fit(data).inertia_ + 1e-12))

    gaps, errors = [], []
    for k in ks:
        reference = [log_w(rng.uniform(low, high, size=projected.shape), k) for _ in range(GAP_REFERENCES)]
        gaps.append(np.mean(reference) - log_w(projected, k))
        errors.append(np.std(reference) * np.sqrt(1 + 1 / GAP_REFERENCES))
    return np.array(gaps), np.array(errors)


def structure_test(
    Z: np.ndarray, board: pd.DataFrame, eligible: pd.Series, seed: int = 0, gaps: Gaps | None = None
) -> tuple[bool, str]:
    """Whether the customers form natural groups, and the figures that say so (``gaps``: Z's
    :func:`gap_statistic`, when it was measured already)."""
    values, errors = gaps if gaps is not None else gap_statistic(Z, seed)
    best = int(np.argmax(values))
    gain = float(values[best] - values[0])
    grouped = best > 0 and gain > max(GAP_GAIN, 2 * errors[best])
    evidence = (
        f"gap statistic: {values[best]:.2f} at k = {best + 1} against {values[0]:.2f} at k = 1 "
        f"(gain {gain:.2f}, standard error {errors[best]:.2f})"
    )
    clean = board[
        eligible
        & board["algorithm"].isin(DENSITY)
        & (board["noise_share"] <= CLEAN_NOISE)
        & (board["dbcv"] >= CLEAN_DBCV)
    ]
    if len(clean):
        row = clean["dbcv"].idxmax()
        evidence += (
            f"; a density model (row {row}) finds {int(clean.loc[row, 'n_clusters'])} dense groups "
            f"(DBCV {clean.loc[row, 'dbcv']:.2f}, {clean.loc[row, 'noise_share']:.0%} unassigned)"
        )
        grouped = True
    else:
        evidence += "; no density model finds clean dense groups"
    return bool(grouped), evidence


def family_winners(board: pd.DataFrame, eligible: pd.Series, bic: dict[int, float]) -> dict[str, int]:
    """The best row of each algorithm by its own criterion: mixtures by BIC, density models by DBCV, the rest by
    silhouette (candidates that pass the guards, else any fitted one)."""
    winners = {}
    for algorithm in dict.fromkeys(board["algorithm"]):
        own = board[(board["algorithm"] == algorithm) & ~board["note"].fillna("").str.startswith("failed")]
        pool = own[eligible.loc[own.index]] if eligible.loc[own.index].any() else own[own["n_clusters"] >= 2]
        if pool.empty:
            continue
        if algorithm == MIXTURE and any(i in bic for i in pool.index):
            best = min((i for i in pool.index if i in bic), key=lambda i: (bic[i], i))
            # BIC says how many segments; among the mixtures that give that many, the best separated ones
            same = pool[(pool["n_clusters"] == pool.loc[best, "n_clusters"]) & pool["silhouette"].notna()]
            winners[algorithm] = int(same["silhouette"].idxmax()) if len(same) else best
        else:
            score = "dbcv" if algorithm in DENSITY and pool["dbcv"].notna().any() else "silhouette"
            if pool[score].notna().any():
                winners[algorithm] = int(pool[score].idxmax())
    return winners


def choose(
    board: pd.DataFrame,
    eligible: pd.Series,
    labelings: list[np.ndarray | None],
    bic: dict[int, float],
    components: dict[int, int],
    k_range: tuple[int, int],
    natural_groups: bool,
    evidence: str,
) -> Selection:
    """The automatic choice among the fitted candidates (see the module's docstring for why this way)."""
    winners = family_winners(board, eligible, bic)
    if not winners:
        fitted = board[~board["note"].fillna("").str.startswith("failed")]
        row = int(fitted.index[0])
        return Selection(
            row,
            "No candidate could be compared; the first fitted one is used.",
            natural_groups=natural_groups,
            evidence=evidence,
        )
    if not natural_groups:
        selection = _targeting(board, eligible, k_range)
        if selection is not None:
            selection.natural_groups, selection.evidence = False, evidence
            _runner_up(selection, board, winners)
            return add_warnings(selection, board, eligible, components, k_range)
    if MIXTURE in winners:
        row = winners[MIXTURE]
        parts = components.get(row, int(board.loc[row, "n_clusters"]))
        segments = int(board.loc[row, "n_clusters"])
        merged = f", merged into {segments} segments where no density valley separates them" if parts > segments else ""
        lowest = min(bic, key=lambda i: (bic[i], i))
        if lowest == row:
            reason = (
                f"Gaussian mixture with the lowest BIC ({bic[row]:,.0f}): {parts} components describe the "
                f"customers' density{merged}."
            )
        else:
            reason = (
                f"Gaussian mixture: the lowest BIC ({bic[lowest]:,.0f}, {components.get(lowest)} components) "
                f"gives {segments} segments; of the mixtures that give {segments}, this one ({parts} "
                f"components{merged}) separates them best (silhouette {board.loc[row, 'silhouette']:.3f})."
            )
        density = [winners[a] for a in DENSITY if a in winners]
        for other in density:
            unmerged = segments >= 0.8 * parts  # merging found no valleys to close: the shapes are not elliptical
            ranged = k_range[0] < k_range[1]  # a k the analyst fixed is not second-guessed by a density model
            if (
                ranged
                and parts >= k_range[1]
                and unmerged
                and _clean(board, other)
                and _coarsens(labelings[other], labelings[row])
            ):
                reason = (
                    f"{_label(board, other)}: {int(board.loc[other, 'n_clusters'])} dense groups of any shape "
                    f"(DBCV {board.loc[other, 'dbcv']:.2f}); the Gaussian mixture needed all {parts} "
                    "components the range allows, so the groups are not elliptical, and these dense groups "
                    "each gather several of its segments."
                )
                row = other
                break
        selection = Selection(int(row), reason, natural_groups=natural_groups, evidence=evidence)
    else:
        row = max(winners.values(), key=lambda i: (board.loc[i, "silhouette"], -i))
        selection = Selection(
            int(row),
            f"{_label(board, row)} with the highest silhouette "
            f"({board.loc[row, 'silhouette']:.3f}) among the algorithms run (no "
            "Gaussian mixture was run, whose BIC the choice prefers).",
            natural_groups=natural_groups,
            evidence=evidence,
        )
    _runner_up(selection, board, winners)
    return add_warnings(selection, board, eligible, components, k_range)


def _targeting(board: pd.DataFrame, eligible: pd.Series, k_range: tuple[int, int]) -> Selection | None:
    """For a continuum: the KMeans (else any k-based) candidate at the knee of the elbow, 3 to 8 segments."""
    low, high = max(TARGETING_K[0], k_range[0]), min(TARGETING_K[1], k_range[1])
    for algorithm in ("kmeans", "minibatch_kmeans", MIXTURE, "birch", "agglomerative"):
        own = board[(board["algorithm"] == algorithm) & eligible & board["inertia"].notna()]
        useful = own[
            (own["n_clusters"] >= low) & (own["n_clusters"] <= high) & (own["smallest_share"] >= TARGETING_MIN_SHARE)
        ]
        if len(useful) == 0:
            continue
        curve = own.sort_values("n_clusters")
        knee_k = _knee(curve["n_clusters"].to_numpy(float), curve["inertia"].to_numpy(float))
        row = int((useful["n_clusters"] - knee_k).abs().sort_values(kind="stable").index[0])
        return Selection(
            row,
            f"{_label(board, row)}: the knee of the elbow curve (segments that each hold at least "
            f"{TARGETING_MIN_SHARE:.0%} of customers, {low} to {high} segments): each further "
            "segment explains less of the spread.",
        )
    return None


def _knee(k: np.ndarray, inertia: np.ndarray) -> float:
    """The k farthest below the straight line between the ends of the (normalised) elbow curve."""
    if len(k) < 3:
        return float(k[0])
    x = (k - k[0]) / (k[-1] - k[0])
    y = (inertia - inertia[-1]) / max(inertia[0] - inertia[-1], 1e-12)
    return float(k[int(np.argmax((1 - x) - y))])


def _runner_up(selection: Selection, board: pd.DataFrame, winners: dict[str, int]) -> None:
    others = [i for i in winners.values() if i != selection.row]
    if not others:
        return
    row = max(others, key=lambda i: (np.nan_to_num(board.loc[i, "silhouette"], nan=-1), -i))
    selection.runner_up = int(row)
    if board.loc[row, "algorithm"] in DENSITY:
        why = (
            f"{_label(board, row)} found {int(board.loc[row, 'n_clusters'])} segments with "
            f"{board.loc[row, 'noise_share']:.0%} of customers unassigned; a density model is chosen only when "
            "the mixture cannot describe the groups and its segments gather the mixture's"
        )
    elif board.loc[row, "algorithm"] == MIXTURE:
        why = f"{_label(board, row)}: the mixture's segments did not fit this data's groups as well"
    else:
        why = (
            f"{_label(board, row)}: the best silhouette of its algorithm ({board.loc[row, 'silhouette']:.3f}); "
            "silhouette rewards round, equal, well-separated groups, so the choice prefers the mixture's BIC, which "
            "also fits elongated, unequal and skewed ones"
        )
    selection.runner_up_reason = why + "."


def add_warnings(
    selection: Selection, board: pd.DataFrame, eligible: pd.Series, components: dict[int, int], k_range: tuple[int, int]
) -> Selection:
    row = selection.row
    if not eligible.any():
        selection.warnings.append(
            "Every candidate fails a guard (a segment over 90% of customers, one under 0.5%, or over half "
            "unassigned): this segmentation is the best of poor ones; look at the Compare page before using it."
        )
    elif not eligible.loc[row]:
        selection.warnings.append("The chosen candidate fails a guard against degenerate segmentations.")
    swept = json.loads(board.loc[row, "params"]).get("n_clusters")
    if swept is not None and int(swept) >= k_range[1] and k_range[0] < k_range[1]:
        what = "components" if board.loc[row, "algorithm"] == MIXTURE else "segments"
        selection.warnings.append(
            f"The choice is at the top of the range ({k_range[1]} {what}): more may fit better; widen the range "
            "(--k, or the Model page's slider) to see."
        )
    return selection


def _clean(board: pd.DataFrame, row: int) -> bool:
    """A density model's solution that stands on its own: dense groups (DBCV of 0.3 or more), little noise."""
    return bool(
        board.loc[row, "noise_share"] <= CLEAN_NOISE
        and board.loc[row, "n_clusters"] >= 2
        and board.loc[row, "largest_share"] <= 0.9
        and board.loc[row, "dbcv"] >= CLEAN_DBCV
    )


def _coarsens(coarse: np.ndarray | None, fine: np.ndarray | None) -> bool:
    """Every segment of ``fine`` lies (90% or more of it, noise aside) inside one segment of ``coarse``, which has
    fewer segments."""
    if coarse is None or fine is None:
        return False
    inside = coarse >= 0
    if len(np.unique(coarse[inside])) >= len(np.unique(fine[fine >= 0])):
        return False
    table = pd.crosstab(fine[inside], coarse[inside])
    return bool((table.max(axis=1) / table.sum(axis=1) >= COARSENING).all())


def _label(board: pd.DataFrame, row: int) -> str:
    from core.algorithms import ALGORITHMS

    spec = ALGORITHMS[board.loc[row, "algorithm"]]
    return f"{spec.label} (row {row}, {int(board.loc[row, 'n_clusters'])} segments)"
