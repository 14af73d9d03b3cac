"""Consensus (meta) clustering across models, and how much the models agree.

Evidence accumulation (Fred & Jain, 2005): two customers are as similar as the share of models that put them in the
same segment. That co-association depends only on each customer's combination of labels, so it is computed exactly
on the distinct combinations (a few hundred, however many customers), then cut hierarchically at 0.5: customers end
up together when most models agree they belong together.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from sklearn.metrics import adjusted_rand_score

MAX_PATTERNS = 3_000


def consensus_labels(labelings: list[np.ndarray], threshold: float = 0.5) -> np.ndarray:
    """One labelling that combines several (noise, -1, counts as a label of its own); numbered by size."""
    if not labelings:
        raise ValueError("consensus needs at least one labelling")
    patterns, inverse, counts = _combinations(labelings)
    if len(patterns) == 1:
        return np.zeros(len(inverse), dtype=np.int64)
    keep = np.argsort(-counts, kind="stable")[:MAX_PATTERNS]
    kept = patterns[keep]
    # Share of models that disagree between every two kept combinations.
    distance = (kept[:, None, :] != kept[None, :, :]).mean(axis=2)
    tree = linkage(squareform(distance, checks=False), method="average")
    groups = fcluster(tree, t=threshold, criterion="distance") - 1
    group_of_pattern = np.full(len(patterns), -1)
    group_of_pattern[keep] = groups
    rare = np.flatnonzero(group_of_pattern < 0)
    if len(rare):  # a rare combination joins the kept one it shares most labels with
        nearest = (patterns[rare][:, None, :] != kept[None, :, :]).mean(axis=2).argmin(axis=1)
        group_of_pattern[rare] = groups[nearest]
    labels = group_of_pattern[inverse]
    sizes = np.bincount(labels)
    order = np.argsort(np.argsort(-sizes, kind="stable"), kind="stable")
    return order[labels]


def _combinations(labelings: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct label combinations, each row's combination and their counts; rows are coded as one integer
    first (a 1-D unique is several times faster than np.unique over rows at millions of customers)."""
    shifted = [np.asarray(labels, dtype=np.int64) + 1 for labels in labelings]  # noise (-1) becomes 0
    bases = [int(labels.max()) + 1 for labels in shifted]
    if np.prod(np.array(bases, dtype=float)) >= 2.0**62:
        stacked = np.column_stack(shifted)
        patterns, inverse, counts = np.unique(stacked, axis=0, return_inverse=True, return_counts=True)
        return patterns - 1, inverse.ravel(), counts
    code = np.zeros(len(shifted[0]), dtype=np.int64)
    for labels, base in zip(shifted, bases):
        code = code * base + labels
    if np.prod(np.array(bases, dtype=float)) <= max(len(code), 1_000):  # few possible codes: counted, not sorted
        every = np.bincount(code)
        codes = np.flatnonzero(every)
        position = np.zeros(len(every), dtype=np.int64)
        position[codes] = np.arange(len(codes))
        inverse, counts = position[code], every[codes]
    else:
        codes, inverse, counts = np.unique(code, return_inverse=True, return_counts=True)
    patterns = np.empty((len(codes), len(shifted)), dtype=np.int64)
    for j in range(len(shifted) - 1, -1, -1):
        codes, patterns[:, j] = np.divmod(codes, bases[j])
    return patterns - 1, inverse.ravel(), counts


def agreement_matrix(labelings: dict[str, np.ndarray]) -> pd.DataFrame:
    """Adjusted Rand index between every two models (1 = identical partitions, about 0 = chance)."""
    names = list(labelings)
    matrix = np.ones((len(names), len(names)))
    for i, a in enumerate(names):
        for j in range(i + 1, len(names)):
            matrix[i, j] = matrix[j, i] = adjusted_rand_score(labelings[a], labelings[names[j]])
    return pd.DataFrame(matrix, index=names, columns=names)
