"""What a run will cost before it starts: seconds and memory, from figures measured on the 2-core development
machine (``python -m bench.steps``), so an analyst about to segment millions of customers knows what to expect.

The model is deliberately simple: fixed costs per candidate on the fitting sample, grown with the number of model
features, plus costs per row for reading the table through the features, labelling, explaining and writing. It is
right to within about a factor of two on the benchmark tables; the page says it is an estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.algorithms import LOW_DIMENSIONS, get_algorithm
from core.preprocess import MAX_CATEGORIES

# Seconds per candidate on a 100,000-row fitting sample, with few (<= 10) and many (~50) model features.
_PER_CANDIDATE = {
    "kmeans": (0.6, 0.9),
    "minibatch_kmeans": (0.8, 1.4),
    "gmm": (0.8, 3.0),
    "birch": (1.5, 4.0),
    "agglomerative": (3.0, 4.0),
    "spectral": (2.0, 3.0),
    "hdbscan": (1.0, 5.0),
    "dbscan": (1.5, 6.0),
}
_PER_ROW_CELL = 3e-7  # seconds per row and model feature: preparing, projecting, explaining and writing
# seconds per model feature whatever the rows: reading, profiling, naming and writing go column by column (300 x
# 1,999 took 18-22 s, of which the candidates fitted on principal components took 4 s)
_PER_FEATURE = 0.007
_LABEL_PER_ROW = {"hdbscan": (0.04e-6, 5e-6), "dbscan": (0.1e-6, 9e-6)}  # nearest-neighbour assignment per row
_BASE_SECONDS = 2.0  # starting the command, and a run's fixed steps: 2.7 s for 200 customers in all
_BASE_GIB = 0.4


@dataclass(frozen=True)
class Estimate:
    seconds: float
    gib: float
    features: int

    def text(self) -> str:
        """'about 1.5 min and 2.1 GiB of memory'."""
        time = f"{self.seconds:.0f} s" if self.seconds < 90 else f"{self.seconds / 60:.1f} min"
        return f"about {time} and {self.gib:.1f} GiB of memory"


def model_features(distinct: dict[str, int], roles: dict[str, str], columns: list[str]) -> int:
    """How many columns the model sees: numbers and dates one each, a category one per level (at most 20).

    ``distinct``: the number of distinct values of each column (the table's column profile).
    """
    count = 0
    for column in columns:
        role = roles.get(column)
        if role in ("numeric", "date"):
            count += 1
        elif role == "categorical":
            count += min(int(distinct.get(column, MAX_CATEGORIES)), MAX_CATEGORIES)
    return max(count, 1)


def estimate_run(
    rows: int,
    features: int,
    algorithms: list[str],
    k_min: int,
    k_max: int,
    sample_size: int = 100_000,
    max_components: int = 50,
) -> Estimate:
    """Seconds and peak memory of a run on ``rows`` customers with ``features`` model features (candidates see at
    most ``max_components`` principal components of them)."""
    fitted = min(features, max_components) if max_components else features
    wide = fitted > LOW_DIMENSIONS
    scale = min(rows, sample_size) / 100_000
    seconds = _BASE_SECONDS + _PER_ROW_CELL * rows * max(features, 10) + _PER_FEATURE * features
    for key in algorithms:
        spec = get_algorithm(key)
        candidates = (k_max - k_min + 1) if spec.sweep == "k" else 4
        seconds += candidates * _PER_CANDIDATE.get(key, (2.0, 5.0))[wide] * max(scale, 0.05)
        seconds += _LABEL_PER_ROW.get(key, (0.0, 0.0))[wide] * rows
    table_gib = rows * (features + 4) * 8 / 2**30
    return Estimate(seconds=seconds, gib=_BASE_GIB + 5 * table_gib, features=features)
