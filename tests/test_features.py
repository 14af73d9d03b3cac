"""Engineered features, outlier handling and transforms."""

import numpy as np
import pandas as pd
import pytest

from core.config import RunConfig
from core.errors import SegmentationError
from core.features import FeatureSpec, add_features, parse_feature
from core.outliers import outlier_counts
from core.pipeline import run_segmentation

pytestmark = pytest.mark.unit

TABLE = pd.DataFrame(
    {
        "food": [10.0, 0.0, 5.0, np.nan],
        "drinks": [5.0, 0.0, 0.0, 2.0],
        "visits": [3, 0, 5, 1],
        "born": [1980, 1990, 2001, 1850],
        "joined": pd.to_datetime(["2020-01-01", "2021-06-30", "2022-01-01", "2021-01-01"]),
    }
)


def test_sum_count_ratio_age_tenure():
    specs = [
        parse_feature(t)
        for t in (
            "total=sum(food, drinks)",
            "kinds=count(food, drinks)",
            "per_visit=ratio(total, visits)",
            "age=age(born, as_of=2025-06-01)",
            "tenure=tenure(joined)",
        )
    ]
    out, resolved = add_features(TABLE, specs)
    assert out["total"].tolist() == [15.0, 0.0, 5.0, 2.0]
    assert out["kinds"].tolist() == [2, 0, 1, 1]
    assert out["per_visit"].tolist()[:1] == [5.0] and np.isnan(out["per_visit"][1])  # no division by zero
    assert out["age"].tolist()[:3] == [45.0, 35.0, 24.0] and np.isnan(out["age"][3])  # 1850 is not a birth year
    assert out["tenure"].tolist() == [731.0, 185.0, 0.0, 365.0]
    assert resolved[4].as_of == "2022-01-01"  # the reference date is kept, so a replay computes the same


def test_family_size_counts_adults_from_the_marital_status_and_adds_the_children(tmp_path, capsys):
    household = pd.DataFrame(
        {
            "Marital_Status": ["Married", "Together", "Single", "Divorced", None, "YOLO", "Living_Together", "widow"],
            "Kidhome": [1, 0, 2, 0, 1, 0, 1, np.nan],
            "Teenhome": [1, 0, 0, 0, 0, 0, np.nan, np.nan],
        }
    )
    out, _ = add_features(household, [parse_feature("family=family_size(Marital_Status, Kidhome, Teenhome)")])
    family = out["family"].tolist()
    assert family[:4] == [4.0, 2.0, 3.0, 1.0] and np.isnan(family[4])  # an unknown status is not guessed
    assert family[5:] == [1.0, 3.0, 1.0]  # missing children count none when no child column says otherwise
    alone, _ = add_features(household, [parse_feature("adults=family_size(Marital_Status)")])
    assert alone["adults"].tolist()[:4] == [2.0, 2.0, 1.0, 1.0]
    with pytest.raises(SegmentationError, match="column 'Marital_Status' is not numeric"):
        add_features(household, [parse_feature("x=family_size(Kidhome, Marital_Status)")])


@pytest.mark.parametrize(
    "text, message",
    [
        ("total", "--feature expects NAME=KIND"),
        ("x=median(a, b)", "Unknown feature kind 'median'"),
        ("x=ratio(a)", "ratio takes exactly 2 column\\(s\\); got 1"),
    ],
)
def test_bad_feature_expressions(text, message):
    with pytest.raises(SegmentationError, match=message):
        parse_feature(text)


def test_feature_on_missing_column_is_named():
    with pytest.raises(SegmentationError, match="Feature 'x' uses column\\(s\\) not in the data: nope"):
        add_features(TABLE, [FeatureSpec("x", "sum", ["food", "nope"])])


def test_engineered_features_are_segmented_and_exported(demo):
    config = RunConfig(
        columns=["income"],
        algorithms=["kmeans"],
        k_min=2,
        k_max=4,
        n_bootstrap=0,
        features=[
            {
                "name": "total_spend",
                "kind": "sum",
                "columns": ["groceries_spend", "electronics_spend", "fashion_spend", "home_spend"],
            }
        ],
    )
    result = run_segmentation(demo[0], config)
    assert result.features == ["income", "total_spend"]
    assert "total_spend" in result.prepared(demo[0]).columns


def test_outliers_are_counted_capped_or_excluded_but_never_lost():
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"x": rng.normal(0, 1, 300), "y": rng.normal(0, 1, 300)})
    table.loc[:4, "x"] = 50.0  # five extreme customers
    flagged, counts = outlier_counts(table, ["x", "y"], "iqr", 1.5)
    assert flagged[:5].all() and counts["x"] >= 5

    excluded = run_segmentation(
        table,
        RunConfig(
            algorithms=["kmeans"], k_min=2, k_max=3, n_bootstrap=0, outliers={"method": "zscore", "action": "exclude"}
        ),
    )
    z_flagged, _ = outlier_counts(table, ["x", "y"], "zscore", 3.0)
    assert excluded.excluded[:5].all() and excluded.excluded.sum() == z_flagged.sum()
    assert len(excluded.labels) == 300 and (excluded.labels[:5] >= 0).all()  # assigned afterwards
    assert (excluded.meta_labels[:5] == -1).all()

    capped = run_segmentation(
        table,
        RunConfig(algorithms=["kmeans"], k_min=2, k_max=3, n_bootstrap=0, outliers={"method": "iqr", "action": "cap"}),
    )
    assert capped.excluded is None and capped.outlier_counts["x"] >= 5
    scaled = capped.segmenter.transform_features(table)
    assert scaled[:5, 0].max() < 4  # 50 was capped at the upper fence before scaling


def test_transforms_of_skewed_columns(demo):
    table = demo[0]
    logged = run_segmentation(
        table,
        RunConfig(
            columns=["income", "electronics_spend"],
            algorithms=["kmeans"],
            k_min=2,
            k_max=3,
            n_bootstrap=0,
            transform="log1p",
            transform_columns=["electronics_spend"],
        ),
    )
    assert logged.transformed == ["electronics_spend"]
    negative = table.assign(balance=np.linspace(-5, 100, len(table)))
    with pytest.raises(SegmentationError, match="balance has negative values; use the Yeo-Johnson transform"):
        run_segmentation(negative, RunConfig(columns=["balance"], transform="log1p", transform_columns=["balance"]))
    yeo = run_segmentation(
        negative,
        RunConfig(
            columns=["balance", "income"],
            algorithms=["kmeans"],
            k_min=2,
            k_max=3,
            n_bootstrap=0,
            transform="yeo-johnson",
            transform_columns=["balance"],
        ),
    )
    assert yeo.transformed == ["balance"]
