"""python -m bench.selection [--rows 3000] [--seed 0]: the automatic choice on customers of known structure.

For every set of bench/known_structure.py, runs the default segmentation (as `segment run` does) and prints the
adjusted Rand index (ARI, against the true groups; background noise left out) of the automatic choice, of the best
candidate the run fitted (the oracle of the selection), and of the notebooks' rule (standard scaling, KMeans for
k = 2..10, best silhouette); whether the run found natural groups; and the run's time.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score

from bench.known_structure import KnownSet, known_sets
from core.config import RunConfig
from core.pipeline import run_segmentation


@dataclass
class Outcome:
    name: str
    chosen: float
    oracle: float
    kmeans_silhouette: float
    natural_groups: bool
    expected_groups: bool
    k: int
    seconds: float
    reason: str


def _ari(known: KnownSet, labels: np.ndarray) -> float:
    keep = known.truth >= 0
    return float(adjusted_rand_score(known.truth[keep], labels[keep]))


def measure(known: KnownSet, seed: int = 0, transform: str = "none") -> Outcome:
    started = time.perf_counter()
    result = run_segmentation(known.table, RunConfig(seed=seed, transform=transform), keep_candidates=True)
    seconds = time.perf_counter() - started
    segmenter = result.segmenter
    candidates = [labels for labels in segmenter.candidate_labels_ if labels is not None]
    Z = segmenter.transform_features(known.table)
    scores = {
        k: silhouette_score(
            Z,
            KMeans(k, n_init=3, random_state=seed).fit_predict(Z),
            sample_size=min(len(Z), 5_000),
            random_state=seed,
        )
        for k in range(2, 11)
    }
    best_k = max(scores, key=lambda k: scores[k])
    notebook = KMeans(best_k, n_init=3, random_state=seed).fit_predict(Z)
    return Outcome(
        known.name,
        _ari(known, result.labels),
        max(_ari(known, c) for c in candidates),
        _ari(known, notebook),
        segmenter.selection_.natural_groups,
        known.groups,
        segmenter.n_clusters_,
        seconds,
        segmenter.selection_.reason,
    )


def table(outcomes: list[Outcome]) -> list[str]:
    lines = [
        "| set | automatic choice | best candidate | KMeans + silhouette | natural groups found | seconds |",
        "|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        found = ("yes" if o.natural_groups else "no") + ("" if o.natural_groups == o.expected_groups else " (wrong)")
        lines.append(
            f"| {o.name} | {o.chosen:.2f} (k = {o.k}) | {o.oracle:.2f} | {o.kmeans_silhouette:.2f} | "
            f"{found} | {o.seconds:.1f} |"
        )
    grouped = [o for o in outcomes if o.expected_groups]
    lines.append(
        f"| mean over the sets with groups | {np.mean([o.chosen for o in grouped]):.2f} | "
        f"{np.mean([o.oracle for o in grouped]):.2f} | {np.mean([o.kmeans_silhouette for o in grouped]):.2f}"
        " | | |"
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.selection", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=3_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reasons", action="store_true", help="also print what each choice rests on")
    parser.add_argument("--transform", default="none", help="skew transform of the runs (none, log1p, yeo-johnson)")
    args = parser.parse_args(argv)
    outcomes = [measure(known, args.seed, args.transform) for known in known_sets(args.rows, args.seed)]
    print("\n".join(table(outcomes)))
    if args.reasons:
        for o in outcomes:
            print(f"{o.name}: {o.reason}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
