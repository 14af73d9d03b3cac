"""Preparation choices: KNN imputation from similar customers, and the three scalings."""

import numpy as np
import pandas as pd
import pytest

from core.preprocess import SampledKNNImputer, build_preprocessor

pytestmark = pytest.mark.unit


def test_knn_imputation_takes_the_value_of_similar_customers():
    rng = np.random.default_rng(0)
    group = rng.integers(0, 2, 400)
    frame = pd.DataFrame(
        {
            "income": np.where(group, 100.0, 10.0) + rng.normal(0, 1, 400),
            "spend": np.where(group, 50.0, 5.0) + rng.normal(0, 1, 400),
        }
    )
    frame.loc[:9, "spend"] = np.nan
    filled = SampledKNNImputer(max_rows=200).fit(frame).transform(frame)
    expected = np.where(group[:10], 50.0, 5.0)
    assert np.abs(filled.loc[:9, "spend"].to_numpy() - expected).max() < 2  # the median would give about 27
    assert filled.loc[10:, "spend"].equals(frame.loc[10:, "spend"])  # complete rows are untouched


@pytest.mark.parametrize(
    "scale, check",
    [
        ("standard", lambda z: np.allclose(z.mean(), 0) and np.allclose(z.std(), 1)),
        ("robust", lambda z: np.allclose(np.median(z), 0)),
        ("minmax", lambda z: np.isclose(z.min(), 0) and np.isclose(z.max(), 1)),
    ],
)
def test_scalings(scale, check):
    frame = pd.DataFrame({"x": np.random.default_rng(1).lognormal(size=300)})
    Z = build_preprocessor({"x": "numeric"}, scale=scale).fit_transform(frame)["x"].to_numpy()
    assert check(Z)
