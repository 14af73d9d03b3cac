"""Assign new customers to existing segments, with a confidence, and say "No good fit" when none fits.

A classifier trained on the segment labels gives the segment and its predict_proba the confidence; a customer
farther from the segment's centre than 99% of that segment's own customers is reported as no good fit rather than
forced into it.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.utils.validation import check_is_fitted

from core.errors import SegmentationError
from core.quality import stratified_sample
from core.threads import in_threads

NO_GOOD_FIT = -2
CLASSIFIERS = ("logistic", "forest")
CV_ROWS = 20_000
FIT_ROWS = 100_000
BLOCK = 250_000  # customers scored at once


class SegmentPredictor(BaseEstimator):
    """Classifier of customers (in the model's feature space) into the fitted segments.

    Args:
        classifier: ``logistic`` (default: fast, calibrated enough) or ``forest`` (random forest).
        fit_quantile: a customer beyond this quantile of its segment's distances to the centre is no good fit.
        random_state: seed.
    """

    def __init__(self, classifier: str = "logistic", fit_quantile: float = 0.99, random_state: int = 0) -> None:
        self.classifier = classifier
        self.fit_quantile = fit_quantile
        self.random_state = random_state

    def fit(self, Z: np.ndarray, labels: np.ndarray) -> SegmentPredictor:
        """Learn the segments of the assigned customers (noise rows are left out)."""
        if self.classifier not in CLASSIFIERS:
            raise SegmentationError(f"Unknown classifier '{self.classifier}'; use one of: {', '.join(CLASSIFIERS)}.")
        assigned = np.flatnonzero(labels >= 0)
        if len(assigned) > FIT_ROWS:  # a classifier of a few segments has long converged at this size
            assigned = assigned[stratified_sample(labels[assigned], FIT_ROWS, np.random.default_rng(self.random_state))]
        X, y = Z[assigned], labels[assigned]
        self.segments_ = np.unique(y)
        if len(self.segments_) < 2:
            raise SegmentationError("A predictor needs at least two segments.")
        self.model_ = self._make().fit(X, y)
        rng = np.random.default_rng(self.random_state)
        rows = rng.choice(len(X), min(len(X), CV_ROWS), replace=False)
        folds = int(min(5, np.bincount(y[rows]).min())) if np.bincount(y[rows]).min() >= 2 else 0
        self.cv_accuracy_ = float(cross_val_score(self._make(), X[rows], y[rows], cv=folds).mean()) if folds else np.nan
        self.centres_ = np.stack([X[y == s].mean(axis=0) for s in self.segments_])
        self.limits_ = np.array(
            [
                np.quantile(np.linalg.norm(X[y == s] - centre, axis=1), self.fit_quantile)
                for s, centre in zip(self.segments_, self.centres_)
            ]
        )
        return self

    def predict(self, Z: np.ndarray, membership: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Segment and confidence of each customer; NO_GOOD_FIT (-2) where the customer is beyond the segment.

        membership: the clustering's own strength of belonging (HDBSCAN's, 0 to 1), which scales the confidence;
        a customer with none (HDBSCAN calls it noise) fits no segment.
        """
        check_is_fitted(self)
        probabilities = self.model_.predict_proba(Z)
        best = probabilities.argmax(axis=1)
        return self._checked(Z, self.model_.classes_[best], probabilities[np.arange(len(Z)), best], membership)

    def confidence_of(self, Z: np.ndarray, labels: np.ndarray, membership: np.ndarray | None = None) -> np.ndarray:
        """The confidence in segments already given (the training labels): the classifier's probability of each
        customer's own segment, NaN for unassigned customers."""
        check_is_fitted(self)
        out = np.full(len(Z), np.nan)
        assigned = np.flatnonzero(labels >= 0)

        def own(rows: np.ndarray) -> np.ndarray:
            probabilities = self.model_.predict_proba(Z[rows])
            return probabilities[np.arange(len(rows)), np.searchsorted(self.model_.classes_, labels[rows])]

        if len(assigned):  # in blocks, on the run's threads: 5 million customers at once took 0.7 s on one
            out[assigned] = np.concatenate(in_threads(own, np.array_split(assigned, -(-len(assigned) // BLOCK))))
            if membership is not None:
                out[assigned] *= membership[assigned]
        return np.round(out, 4)

    def _checked(
        self, Z: np.ndarray, segments: np.ndarray, confidence: np.ndarray, membership: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        index = np.searchsorted(self.segments_, segments)
        distance = np.linalg.norm(Z - self.centres_[index], axis=1)
        unfit = distance > self.limits_[index]
        if membership is not None:
            confidence = confidence * membership
            unfit |= membership <= 0
        segments = np.where(unfit, NO_GOOD_FIT, segments)
        # A customer who fits no segment has no confidence: a probability of the closest segment would read as a
        # measure of fit it is not (a far outlier gets 100% from a classifier far from its training data).
        confidence = np.where(unfit, np.nan, confidence)
        return segments.astype(np.int32), np.round(confidence, 4)

    def describe(self) -> str:
        """'logistic regression, cross-validated accuracy 99.5%' for the page and the report."""
        check_is_fitted(self)
        kind = "random forest" if self.classifier == "forest" else "logistic regression"
        if np.isnan(self.cv_accuracy_):
            return f"{kind} (too few customers per segment to cross-validate)"
        return f"{kind}, cross-validated accuracy {self.cv_accuracy_:.1%}"

    def _make(self):
        if self.classifier == "forest":
            return RandomForestClassifier(
                n_estimators=200, min_samples_leaf=2, random_state=self.random_state, n_jobs=1
            )
        return LogisticRegression(max_iter=1000)
