"""Score new customers with a saved model (model.joblib written by `segment run`)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from core.errors import SegmentationError
from core.features import FeatureSpec, add_features
from core.pipeline import SegmentationResult
from core.predictor import NO_GOOD_FIT

NO_GOOD_FIT_NAME = "No good fit"


def load_model(path: str | Path, need_predictor: bool = True) -> dict[str, Any]:
    """Load a model bundle from a path the operator gives (never from an upload: unpickling runs code)."""
    path = Path(path)
    if not path.is_file():
        raise SegmentationError(f"{path}: model file not found.")
    try:
        bundle = joblib.load(path)
    except Exception as exc:  # a damaged or foreign file can raise almost anything while unpickling
        raise SegmentationError(f"{path} could not be loaded as a model ({type(exc).__name__}).") from exc
    if not isinstance(bundle, dict) or bundle.get("format") != "segmentation-studio/model":
        raise SegmentationError(f"{path} is not a model.joblib written by `segment run`.")
    if need_predictor and bundle.get("predictor") is None:
        raise SegmentationError(f"{path} has fewer than two segments; there is nothing to assign customers to.")
    return bundle


def scoring_bundle(result: SegmentationResult) -> dict[str, Any]:
    """The parts of a result that scoring new customers needs (what model.joblib holds for it)."""
    return {
        "segmenter": result.segmenter,
        "predictor": result.predictor,
        "names": dict(result.names),
        "features": result.features,
        "engineered": [f.to_dict() for f in result.engineered],
        "roles": result.roles,
    }


def input_columns(bundle: dict[str, Any]) -> list[str]:
    """The columns a new customer must have: the model's features, with engineered ones replaced by their inputs."""
    engineered = [FeatureSpec(**f) for f in bundle.get("engineered", [])]
    built = {f.name for f in engineered}
    needed = [c for c in bundle["features"] if c not in built]
    needed += [c for f in engineered for c in f.columns if c not in needed and c not in built]
    return needed


def assign(bundle: dict[str, Any], table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segment (NO_GOOD_FIT where none fits), confidence and model-space features of each new customer.

    Raises:
        SegmentationError: a column the model needs is missing (the message names every one), or the model has
            fewer than two segments.
    """
    if bundle.get("predictor") is None:
        raise SegmentationError("This segmentation has fewer than two segments; there is nothing to assign to.")
    missing = [c for c in input_columns(bundle) if c not in table.columns]
    if missing:
        raise SegmentationError(f"The new file lacks column(s) the model needs: {', '.join(missing)}.")
    prepared, _ = add_features(table, [FeatureSpec(**f) for f in bundle.get("engineered", [])])
    Z = bundle["segmenter"].transform_features(prepared)
    clusters, confidence = bundle["predictor"].predict(Z, bundle["segmenter"].membership(Z))
    return clusters, confidence, Z


def segment_label(bundle: dict[str, Any], cluster: int) -> str:
    return NO_GOOD_FIT_NAME if cluster == NO_GOOD_FIT else {int(k): v for k, v in bundle["names"].items()}[cluster]


def score_customers(bundle: dict[str, Any], table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The table plus ``cluster``, ``segment`` and ``confidence``; and the columns the model does not use.

    Raises:
        SegmentationError: a column the model needs is missing (the message names every one).
    """
    clusters, confidence, _ = assign(bundle, table)
    needed = input_columns(bundle)
    extra = [c for c in table.columns if c not in needed]
    out = table.copy()
    out["cluster"] = clusters
    out["segment"] = [segment_label(bundle, int(c)) for c in clusters]
    out["confidence"] = confidence
    return out, extra
