"""Score new customers with a fitted segmentation: the part of model.joblib that assigns them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.contracts import SCORED_COLUMNS
from core.errors import SegmentationError
from core.features import FeatureSpec, add_features
from core.predictor import NO_GOOD_FIT, SegmentPredictor
from core.segmenter import CustomerSegmenter

if TYPE_CHECKING:
    from core.pipeline import SegmentationResult

NO_GOOD_FIT_NAME = "No good fit"


@dataclass
class Scorer:
    """What assigning new customers needs: the fitted preprocessing and model, the classifier, the names.

    Attributes:
        segmenter: the fitted preprocessing and clustering model.
        predictor: assigns customers with a confidence; None when there are fewer than two segments.
        names: segment number -> name.
        features: the model's input features (engineered ones included).
        engineered: the engineered features, rebuilt from their input columns for every new customer.
        roles: the role of every column the model was fitted from.
    """

    segmenter: CustomerSegmenter
    predictor: SegmentPredictor | None
    names: dict[int, str]
    features: list[str]
    engineered: list[FeatureSpec] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, result: SegmentationResult) -> Scorer:
        return cls(
            segmenter=result.segmenter,
            predictor=result.predictor,
            names=dict(result.names),
            features=list(result.features),
            engineered=list(result.engineered),
            roles=dict(result.roles),
        )

    def input_columns(self) -> list[str]:
        """The columns a new customer must have: the features, with engineered ones replaced by their inputs."""
        built = {f.name for f in self.engineered}
        needed = [c for c in self.features if c not in built]
        needed += [c for f in self.engineered for c in f.columns if c not in needed and c not in built]
        return needed

    def assign(self, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Segment (NO_GOOD_FIT where none fits), confidence and model-space features of each new customer.

        Raises:
            SegmentationError: a column the model needs is missing (the message names every one), or the model
                has fewer than two segments.
        """
        if self.predictor is None:
            raise SegmentationError("This segmentation has fewer than two segments; there is nothing to assign to.")
        missing = [c for c in self.input_columns() if c not in table.columns]
        if missing:
            raise SegmentationError(f"The new file lacks column(s) the model needs: {', '.join(missing)}.")
        prepared, _ = add_features(table, self.engineered)
        Z = self.segmenter.transform_features(prepared)
        clusters, confidence = self.predictor.predict(Z, self.segmenter.membership(Z))
        return clusters, confidence, Z

    def label(self, cluster: int) -> str:
        return NO_GOOD_FIT_NAME if cluster == NO_GOOD_FIT else self.names[cluster]

    def score(self, table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
        """The table plus ``cluster``, ``segment`` and ``confidence``; and the columns the model does not use.

        Raises:
            SegmentationError: a column the model needs is missing (the message names every one).
        """
        clusters, confidence, _ = self.assign(table)
        needed = self.input_columns()
        extra = [c for c in table.columns if c not in needed]
        out = table.copy()
        cluster, segment, confidence_column = SCORED_COLUMNS
        out[cluster] = clusters
        out[segment] = [self.label(int(c)) for c in clusters]
        out[confidence_column] = confidence
        return out, extra


def legacy_scorer(bundle: dict[str, Any]) -> Scorer:
    """The scorer of a model.joblib written before bundles were typed (format version 2, a dict)."""
    return Scorer(
        segmenter=bundle["segmenter"],
        predictor=bundle.get("predictor"),
        names={int(k): v for k, v in bundle["names"].items()},
        features=list(bundle["features"]),
        engineered=[FeatureSpec(**f) for f in bundle.get("engineered", [])],
        roles=dict(bundle["roles"]),
    )
