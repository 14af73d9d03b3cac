"""Explaining segments: profiles in the analyst's units, importances, tests, rules and the report."""

import numpy as np
import pandas as pd
import pytest

from core.explain import Condition, SegmentExplainer, readable_number
from core.roles import feature_columns, infer_roles

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def explained(demo):
    table, truth = demo
    roles = infer_roles(table)
    features = feature_columns(roles, None)
    labels = np.unique(truth, return_inverse=True)[1]
    return table, labels, SegmentExplainer(features, roles).fit(table, labels)


def test_profiles_are_in_original_units_and_compare_with_everyone(explained):
    table, labels, explainer = explained
    income = explainer.profile_.set_index(["feature", "cluster"]).loc["income"]
    for segment in np.unique(labels):
        values = table.loc[labels == segment, "income"]
        assert income.loc[segment, "mean"] == pytest.approx(values.mean())
        assert income.loc[segment, "median"] == pytest.approx(values.median())
        assert income.loc[segment, "max"] == values.max()
        assert income.loc[segment, "difference"] == pytest.approx(values.mean() - table["income"].mean())
        assert income.loc[segment, "effect"] == pytest.approx(
            (values.mean() - table["income"].mean()) / table["income"].std()
        )
    shares = explainer.category_profile_
    channel = shares[(shares["feature"] == "channel") & (shares["cluster"] == 0)]
    assert channel["share"].sum() == pytest.approx(1.0)
    expected = (table.loc[labels == 0, "channel"] == "Online").mean()
    assert channel.set_index("level").loc["Online", "share"] == pytest.approx(expected)


def test_rules_cover_most_of_their_segment_and_hold_on_the_data(explained):
    table, labels, explainer = explained
    for segment in np.unique(labels):
        text, coverage, precision = explainer.rule_summary(int(segment))
        assert text and coverage > 0.8 and precision > 0.8, (segment, text, coverage, precision)
        rule = explainer.rules_[int(segment)][0]
        matched = np.ones(len(table), dtype=bool)
        for condition in rule.conditions:  # the rule as written, re-checked on the raw table
            column = table[condition.feature]
            if condition.kind == "date":
                column = (pd.to_datetime(column) - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
            if condition.kind != "categorical":
                column = column.astype(float).fillna(column.astype(float).median())
            matched &= condition.holds(column)
        inside = labels == segment
        assert (matched & inside).sum() / inside.sum() == pytest.approx(rule.coverage, abs=0.02)


def test_importances_and_tests_point_at_the_features_that_differ(explained):
    _, labels, explainer = explained
    assert explainer.forest_accuracy_ > 0.95
    top = explainer.importance_.sort_values("impurity", ascending=False)["feature"].head(4)
    assert set(top) & {"fashion_spend", "groceries_spend", "electronics_spend", "home_spend"}
    assert set(explainer.segment_importance_.columns) == set(np.unique(labels))
    recency = explainer.profile_.query("feature == 'recency_days'").set_index("cluster")["mean"]
    lapsed = int(recency.idxmax())  # the lapsed archetype: told apart from the rest by how long since they came
    assert explainer.key_features(lapsed)[0] == "recency_days"
    tests = explainer.tests_.set_index("feature")
    assert tests.loc["income", "test"] == "ANOVA F" and tests.loc["income", "p_value"] < 1e-10
    assert tests.loc["channel", "test"] == "chi-squared" and 0 < tests.loc["channel", "effect_size"] <= 1


def test_readable_numbers_and_conditions():
    assert [readable_number(v) for v in (72_350, 1_234.5, 12.345, 0.456, 2_500_000)] == [
        "72.3k",
        "1,234",
        "12.3",
        "0.456",
        "2.5M",
    ]
    assert Condition("income", ">", 72_300.0).text() == "income > 72.3k"
    assert Condition("channel", "==", "Online", "categorical").text() == "channel = Online"
    assert Condition("since", "<=", 19_000.0, "date").text() == "since on or before 2022-01-08"
