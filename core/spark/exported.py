"""A Spark run's preprocessing and chosen model in local form: a CustomerSegmenter that model.joblib, `segment
predict`, the Predict page and `segment rename` use without Spark."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.errors import SegmentationError
from core.segmenter import CustomerSegmenter, Progress
from core.selection import Selection
from core.spark.features import FittedFeatures, local_preprocessor
from core.spark.models import Candidate


class SparkSegmenter(CustomerSegmenter):
    """The fitted state of a Spark run, on the driver's sample of customers.

    ``labels_`` and ``meta_labels_`` are the sample's segments (as Spark labelled them); ``sizes_`` the segments'
    customers over every row, ``value_`` their value (Spark's aggregations); ``sampling_`` what was sampled where.
    """

    def sampling_note(self) -> str:
        s = self.sampling_
        return (
            f"Spark fitted every candidate on a Spark-side sample of {s['fit_rows']:,} of {s['rows']:,} customers "
            f"(quality metrics on {s['metric_rows']:,} on the driver); the chosen model labelled every customer on "
            f"the cluster. Profiles are over every customer; names, rules, importances, stability and the map come "
            f"from a sample of {s['driver_rows']:,} on the driver."
        )

    def choose(self, X: pd.DataFrame, row: int, progress: Progress | None = None) -> CustomerSegmenter:
        raise SegmentationError(
            "This segmentation ran on Spark: choose another leaderboard row with "
            f"`segment run --engine spark --select {row}`, which labels every customer on the cluster."
        )


def exported_segmenter(
    spec: FittedFeatures,
    chosen: Candidate,
    cluster_order: np.ndarray,
    board: pd.DataFrame,
    selection: Selection,
    labels: np.ndarray,
    params: dict[str, Any],
    k_range: tuple[int, int],
    sampling: dict[str, int],
    seed: int,
) -> SparkSegmenter:
    """The local segmenter of a Spark run (``labels``: the driver sample's segments, numbered by size)."""
    segmenter = SparkSegmenter(
        roles=spec.roles(), algorithms=(chosen.algorithm,), k_min=k_range[0], k_max=k_range[1], random_state=seed
    )
    segmenter.roles_ = spec.roles()
    segmenter.feature_names_in_ = np.asarray(list(spec.roles()), dtype=object)
    segmenter.preprocessor_ = local_preprocessor(spec)
    segmenter.reducer_ = None
    segmenter.sample_rows_ = None
    segmenter.k_distance_ = None
    segmenter.k_range_ = k_range
    segmenter.cluster_order_ = cluster_order
    segmenter.model_ = chosen.local
    segmenter.assigner_ = chosen.assigner
    segmenter.algorithm_ = chosen.algorithm
    segmenter.params_ = params
    segmenter.labels_ = labels.astype(np.int32)
    segmenter.meta_labels_ = labels.astype(np.int32)
    segmenter.membership_ = None
    segmenter.n_clusters_ = int(len(np.unique(labels[labels >= 0])))
    segmenter.leaderboard_ = board
    segmenter.selection_ = selection
    segmenter.consensus_rows_ = [selection.row]
    segmenter.agreement_ = pd.DataFrame([[1.0]], index=["chosen"], columns=["chosen"])
    segmenter.stability_ = None
    segmenter.sampling_ = sampling
    return segmenter
