import pytest
from sklearn.metrics import adjusted_rand_score

from core.demo import make_demo_customers
from core.pipeline import run_segmentation

pytestmark = pytest.mark.unit


def test_demo_table_is_deterministic_and_realistic(demo):
    table, segments = demo
    again = make_demo_customers()
    assert table.equals(again)
    assert len(table) == 2000 and table["customer_id"].is_unique
    assert {"income", "education", "marital_status", "channel", "customer_since", "recency_days"} <= set(table)
    assert "true_segment" not in table.columns and segments.nunique() == 4
    missing_share = table.isna().mean()
    assert 0.01 < missing_share["income"] < 0.08
    assert missing_share.max() < 0.1


@pytest.mark.slow
def test_demo_segments_are_recovered(demo):
    table, truth = demo
    result = run_segmentation(table)
    assert result.segmenter.n_clusters_ == 4
    assert adjusted_rand_score(truth, result.labels) >= 0.8
