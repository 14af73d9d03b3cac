"""A Gaussian mixture whose components become segments only where a density valley separates them.

BIC chooses how many Gaussian components describe the customers' density; but a skewed group, or a group that is
not elliptical, takes several components, and a segment per component would cut natural groups apart. Components
that no valley separates are merged (the modal view of a mixture: Hennig, "Methods for merging Gaussian mixture
components", ADAC 2010, whose ridgeline idea this follows on the straight line between two component means): along
the segment between two means, the mixture's density never falls below ``valley`` times the lower of its two
ends. The density is taken over the continuous columns only: one-hot columns are discrete, and so are flags and
small counts, and every gap between their values would otherwise look like a valley. A diffuse background
component (broad, light and thin: scattered customers around the groups) is never a bridge between two groups.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.stats import multivariate_normal
from sklearn.mixture import GaussianMixture

STEPS = 21  # points on each line between two means
FULL_ROWS_PER_DIMENSION = 2


class ModalMixture(GaussianMixture):
    """GaussianMixture whose labels are segments: components merged where no density valley separates them.

    Args:
        covariance_type: GaussianMixture's, or ``auto`` (the default): full where there are enough customers for
            it, else diagonal (see :func:`_covariance_for`); the fitted model keeps the one it used.
        merge: ``valleys`` to merge components without a valley between them, ``none`` for one segment per
            component.
        valley: how deep a valley must be to keep two components apart (the density along the line between their
            means must fall below this share of the lower end).

    Fitted attributes (besides GaussianMixture's): ``segment_of_component_`` (segment of each component) and
    ``n_segments_``.
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "auto",
        n_init: int = 1,
        reg_covar: float = 1e-4,
        random_state: Any = None,
        merge: str = "valleys",
        valley: float = 0.75,
    ) -> None:
        super().__init__(
            n_components=n_components,
            covariance_type=covariance_type,
            n_init=n_init,
            reg_covar=reg_covar,
            random_state=random_state,
        )
        self.merge = merge
        self.valley = valley

    def fit(self, X: np.ndarray, y: object = None) -> ModalMixture:
        if self.covariance_type == "auto":  # resolved here: GaussianMixture predicts with the type it fitted
            self.covariance_type: str = _covariance_for(len(X), X.shape[1], self.n_components)
        GaussianMixture.fit_predict(self, X)  # EM (GaussianMixture.fit goes through fit_predict, overridden here)
        self.bic_ = float(self.bic(X))  # the fitted rows' BIC, which the selection compares across k
        self.segment_of_component_ = (
            self._segments(np.asarray(X)) if self.merge == "valleys" else np.arange(self.n_components)
        )
        self.n_segments_ = int(self.segment_of_component_.max() + 1)
        return self

    def fit_predict(self, X: np.ndarray, y: object = None) -> np.ndarray:
        return self.fit(X).predict(X)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.segment_of_component_[super().predict(X)]

    def _segments(self, X: np.ndarray) -> np.ndarray:
        """Segment number of each component: connected components of the 'no valley between' relation."""
        k = self.n_components
        continuous = [j for j in range(X.shape[1]) if _continuous(X[: min(len(X), 5_000), j])]
        if k == 1 or not continuous:
            return np.arange(k)
        means = self.means_[:, continuous]
        covariances = np.stack(
            [
                _full(self.covariances_, self.covariance_type, i, X.shape[1])[np.ix_(continuous, continuous)]
                for i in range(k)
            ]
        )
        parts = [multivariate_normal(means[i], covariances[i], allow_singular=True) for i in range(k)]

        def density(points: np.ndarray) -> np.ndarray:
            return np.sum([w * part.pdf(points) for w, part in zip(self.weights_, parts)], axis=0)

        background = _background(self.weights_, covariances, np.array([density(m[None, :]) for m in means]).ravel())
        parent = list(range(k))

        def root(i: int) -> int:
            while parent[i] != i:
                i = parent[i]
            return i

        line = np.linspace(0.0, 1.0, STEPS)[:, None]
        for i in range(k):
            for j in range(i + 1, k):
                if background[i] or background[j]:
                    continue
                values = np.atleast_1d(density(means[i] * (1 - line) + means[j] * line))
                if values.min() >= self.valley * min(values[0], values[-1]):
                    parent[root(i)] = root(j)
        roots = np.array([root(i) for i in range(k)])
        return np.unique(roots, return_inverse=True)[1].astype(np.int64)


def _covariance_for(rows: int, dimensions: int, components: int) -> str:
    """``full`` where each component has at least FULL_ROWS_PER_DIMENSION customers per dimension on average, else
    ``diag``. A full covariance has d (d + 1) / 2 parameters: with fewer customers than dimensions per component,
    EM shrinks components onto a handful of customers, whose likelihood BIC cannot penalise enough (300 customers
    of four groups in 50 dimensions gave 8 components)."""
    if rows >= FULL_ROWS_PER_DIMENSION * components * (dimensions + 1):
        return "full"
    warnings.warn(
        f"diagonal covariances: {rows:,} customers are too few for full ones with {components} components in "
        f"{dimensions} dimensions",
        UserWarning,
        stacklevel=3,
    )
    return "diag"


def _continuous(values: np.ndarray) -> bool:
    """A column whose density can have valleys: many distinct values, not piled on a few (one-hot columns, flags,
    small counts such as 1, 2 or 3 purchases are discrete: every gap between their values looks like a valley)."""
    distinct, counts = np.unique(values, return_counts=True)
    return len(distinct) > 20 and np.sort(counts)[-5:].sum() < 0.5 * len(values)


def _full(covariances: np.ndarray, kind: str, i: int, d: int) -> np.ndarray:
    """Component i's covariance matrix, whatever GaussianMixture's covariance_type stored."""
    if kind == "full":
        return covariances[i]
    if kind == "tied":
        return covariances
    if kind == "diag":
        return np.diag(covariances[i])
    return np.eye(d) * covariances[i]  # spherical


def _background(weights: np.ndarray, covariances: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """Components that describe scattered customers rather than a group: light (under 20% of customers), much
    broader than the typical component (each axis about e times wider: log-volume 2 per dimension above the
    median) and much less dense at their centre (under 5% of the median peak)."""
    d = covariances.shape[1]
    volume = np.array([np.linalg.slogdet(c)[1] for c in covariances])
    return (weights < 0.2) & (volume > np.median(volume) + 2 * d) & (peaks < 0.05 * np.median(peaks))
