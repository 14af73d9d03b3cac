"""Automatic segment names: unique, short, and saying what sets each segment apart."""

import pytest

from core.config import RunConfig
from core.naming import auto_names, label_of
from core.pipeline import run_segmentation
from core.rfm import build_rfm
from tests.helpers import RFM_LOG as LOG

pytestmark = pytest.mark.unit


def test_demo_names_reflect_the_profiles(demo):
    table, truth = demo
    result = run_segmentation(table, RunConfig(algorithms=["kmeans"], k_min=4, k_max=4, n_bootstrap=0))
    names = result.names
    assert len(set(names.values())) == len(names) == 4
    assert all(len(name) <= 60 for name in names.values())
    affluent = truth.groupby(result.labels).apply(lambda s: (s == "Affluent loyalists").mean()).idxmax()
    assert "income" in names[int(affluent)].lower()
    lapsed = truth.groupby(result.labels).apply(lambda s: (s == "Lapsed occasionals").mean()).idxmax()
    assert names[int(lapsed)].startswith("Lapsed")  # recency_days far above the average


def test_rfm_words():
    table, _ = build_rfm(LOG, "customer", "day", quantity="quantity", price="price", invoice="invoice")
    labels = (table["customer"] == "C").astype(int).to_numpy()  # C: most recent, most frequent, highest value
    roles = {"recency_days": "numeric", "frequency": "numeric", "monetary": "numeric"}
    names = auto_names(table, labels, list(roles), roles)
    assert names[1].startswith("Recent") or "high value" in names[1].lower() or "frequent" in names[1].lower()


def test_labels_of_awkward_column_names():
    assert label_of("Annual Income (k$)") == "annual income"
    assert label_of("fashion_spend") == "fashion spend"
    assert label_of("PurchasesFrequency") == "purchases frequency"
