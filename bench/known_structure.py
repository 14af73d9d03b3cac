"""Customer tables of known structure: seeded generators for the selection's test and benchmark.

Each set is a table (3,000 customers by default) and the true group of every customer (-1 for background noise,
which is left out of the ARI). ``groups`` says whether the set has natural groups at all: the pure-noise set has
none, and a run on it must say so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.datasets import make_blobs, make_circles, make_moons


@dataclass(frozen=True)
class KnownSet:
    name: str
    table: pd.DataFrame
    truth: np.ndarray
    groups: bool = True

    @property
    def k(self) -> int:
        return len(np.unique(self.truth[self.truth >= 0]))


def _frame(X: np.ndarray, prefix: str = "x") -> pd.DataFrame:
    return pd.DataFrame(X, columns=[f"{prefix}{i + 1}" for i in range(X.shape[1])])


def blobs_2d(n: int, seed: int) -> KnownSet:
    X, y = make_blobs(n, centers=5, n_features=2, cluster_std=1.0, center_box=(-12, 12), random_state=seed)
    return KnownSet("round blobs, 2D, k=5", _frame(X), y)


def blobs_8d(n: int, seed: int) -> KnownSet:
    X, y = make_blobs(n, centers=4, n_features=8, cluster_std=1.5, center_box=(-8, 8), random_state=seed)
    return KnownSet("round blobs, 8D, k=4", _frame(X), y)


def unequal_sizes(n: int, seed: int) -> KnownSet:
    sizes = [int(n * 0.7), int(n * 0.2), n - int(n * 0.7) - int(n * 0.2)]
    X, y = make_blobs(sizes, centers=[[0, 0], [7, 6], [-6, 7]], cluster_std=1.2, random_state=seed)
    return KnownSet("unequal sizes 70/20/10%, k=3", _frame(X), y)


def unequal_densities(n: int, seed: int) -> KnownSet:
    X, y = make_blobs(n, centers=[[0, 0], [9, 0], [3, 11]], cluster_std=[0.4, 1.5, 2.5], random_state=seed)
    return KnownSet("unequal densities (sd 0.4/1.5/2.5), k=3", _frame(X), y)


def anisotropic(n: int, seed: int) -> KnownSet:
    X, y = make_blobs(n, centers=[[-4, -4], [4, 4], [-2, 6]], cluster_std=0.7, random_state=seed)
    X = X @ np.array([[0.6, -0.6], [-0.4, 0.8]]) * 3
    return KnownSet("elongated (anisotropic), k=3", _frame(X), y)


def two_moons(n: int, seed: int) -> KnownSet:
    X, y = make_moons(n, noise=0.06, random_state=seed)
    return KnownSet("two moons, k=2", _frame(X * 10), y)


def circles(n: int, seed: int) -> KnownSet:
    X, y = make_circles(n, noise=0.04, factor=0.45, random_state=seed)
    return KnownSet("concentric circles, k=2", _frame(X * 10), y)


def blobs_in_noise(n: int, seed: int) -> KnownSet:
    rng = np.random.default_rng(seed)
    noise = int(n * 0.05)
    X, y = make_blobs(n - noise, centers=5, n_features=2, cluster_std=0.9, center_box=(-10, 10), random_state=seed)
    background = rng.uniform(X.min(axis=0) - 3, X.max(axis=0) + 3, size=(noise, 2))
    return KnownSet(
        "5 blobs in 5% uniform noise, k=5", _frame(np.vstack([X, background])), np.r_[y, np.full(noise, -1)]
    )


def skewed_rfm(n: int, seed: int) -> KnownSet:
    """Four RFM-like groups: gamma recency in days, Poisson purchase counts, lognormal spend."""
    rng = np.random.default_rng(seed)
    groups = [  # (share, recency shape & scale, frequency mean, log-spend mean & sd)
        (0.40, (2.0, 20.0), 12.0, 6.5, 0.35),  # active, frequent, high spend
        (0.30, (3.0, 70.0), 4.0, 5.0, 0.35),  # occasional
        (0.20, (6.0, 60.0), 1.2, 3.8, 0.4),  # lapsing, low spend
        (0.10, (2.0, 15.0), 30.0, 8.0, 0.3),  # best customers
    ]
    parts, truth = [], []
    for label, (share, (shape, scale), freq, log_mean, log_sd) in enumerate(groups):
        m = int(round(n * share))
        parts.append(
            pd.DataFrame(
                {
                    "recency_days": rng.gamma(shape, scale, m).round(),
                    "frequency": rng.poisson(freq, m) + 1,
                    "monetary": rng.lognormal(log_mean, log_sd, m).round(2),
                }
            )
        )
        truth.append(np.full(m, label))
    return KnownSet(
        "skewed RFM-like (gamma/Poisson/lognormal), k=4", pd.concat(parts, ignore_index=True), np.concatenate(truth)
    )


def mixed_types(n: int, seed: int) -> KnownSet:
    """Three groups told apart by two numbers and a category together."""
    rng = np.random.default_rng(seed)
    y = rng.choice(3, n, p=[0.45, 0.35, 0.2])
    income = np.array([30, 60, 95])[y] + rng.normal(0, 8, n)
    visits = np.array([2, 8, 4])[y] + rng.normal(0, 1.2, n)
    channels = np.array([["store", "store", "web"], ["web", "web", "app"], ["app", "app", "store"]])
    channel = channels[y, rng.choice(3, n, p=[0.45, 0.45, 0.1])]
    return KnownSet(
        "mixed numeric + categorical, k=3",
        pd.DataFrame({"income": income.round(1), "visits": visits.round(1), "channel": channel}),
        y,
    )


def pure_noise(n: int, seed: int) -> KnownSet:
    """One correlated Gaussian cloud: no natural groups."""
    rng = np.random.default_rng(seed)
    covariance = np.array([[1.0, 0.5, 0.2, 0.0], [0.5, 1.0, 0.3, 0.1], [0.2, 0.3, 1.0, 0.4], [0.0, 0.1, 0.4, 1.0]])
    X = rng.multivariate_normal(np.zeros(4), covariance, n) * [10, 5, 2, 1] + [50, 20, 5, 1]
    return KnownSet("pure noise (one Gaussian cloud), no groups", _frame(X), np.zeros(n, dtype=int), groups=False)


def uniform_noise(n: int, seed: int) -> KnownSet:
    rng = np.random.default_rng(seed)
    return KnownSet(
        "pure noise (uniform box), no groups", _frame(rng.uniform(0, 1, (n, 3))), np.zeros(n, dtype=int), groups=False
    )


GENERATORS: list[Callable[[int, int], KnownSet]] = [
    blobs_2d,
    blobs_8d,
    unequal_sizes,
    unequal_densities,
    anisotropic,
    two_moons,
    circles,
    blobs_in_noise,
    skewed_rfm,
    mixed_types,
    pure_noise,
    uniform_noise,
]


def known_sets(n: int = 3_000, seed: int = 0) -> list[KnownSet]:
    return [make(n, seed) for make in GENERATORS]
