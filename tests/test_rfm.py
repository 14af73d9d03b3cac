"""RFM on a small hand-made transaction log, with a return, a cancelled invoice and a row without a customer."""

import pytest

from core.errors import SegmentationError
from core.readers import read_table
from core.rfm import build_rfm
from tests.helpers import DATA
from tests.helpers import RFM_LOG as LOG

pytestmark = pytest.mark.unit


def test_rfm_values_are_exact():
    table, report = build_rfm(LOG, "customer", "day", quantity="quantity", price="price", invoice="invoice")
    rows = table.set_index("customer")
    # A bought 2x10 on Jan 1 and 1x20 on Feb 1, then returned the Feb item (cancelled invoice C2) on Feb 3.
    assert rows.loc["A", ["recency_days", "frequency", "monetary", "tenure_days"]].tolist() == [29, 2, 20.0, 60]
    assert rows.loc["A", "average_basket"] == 10.0
    # B's two lines belong to one invoice: one purchase of 20.
    assert rows.loc["B", ["recency_days", "frequency", "monetary", "tenure_days"]].tolist() == [46, 1, 20.0, 46]
    assert rows.loc["C", ["recency_days", "frequency", "monetary", "tenure_days"]].tolist() == [0, 2, 115.0, 91]
    assert rows.loc["D", ["recency_days", "frequency", "monetary"]].tolist() == [10, 1, 10.0]
    assert report.transactions == 8 and report.customers == 4
    assert report.missing_customer_rows == 1 and report.return_rows == 1 and report.cancelled_invoices == 1
    assert report.as_of == "2024-03-01"
    assert "1 rows without a customer id" in report.summary()


def test_scores_and_rule_segments():
    table, _ = build_rfm(LOG, "customer", "day", quantity="quantity", price="price", invoice="invoice")
    rows = table.set_index("customer")
    assert rows.loc["C", "RFM"] == "555" and rows.loc["C", "rfm_segment"] == "Champions"
    assert set(table[["R", "F", "M"]].stack()) <= {1, 2, 3, 4, 5}
    assert table["rfm_segment"].ne("").all()


def test_as_of_and_amount_column():
    log = LOG.assign(amount=LOG["quantity"] * LOG["price"])
    table, report = build_rfm(log, "customer", "day", amount="amount", as_of="2024-03-31")
    assert report.as_of == "2024-03-31"
    assert table.set_index("customer").loc["C", "recency_days"] == 30
    assert table.set_index("customer").loc["A", "frequency"] == 2  # without invoices: purchases, returns left out


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"amount": None}, "Give either an amount column, or both a quantity and a unit price column"),
        ({"amount": "nope"}, "Column\\(s\\) not in the transaction log: nope"),
        ({"amount": "customer"}, "The amount column 'customer' has no numbers"),
    ],
)
def test_rfm_errors(kwargs, message):
    with pytest.raises(SegmentationError, match=message):
        build_rfm(LOG, "customer", "day", **kwargs)


def test_cdnow_transaction_log():
    log = read_table(DATA / "cdnow" / "CDNOW_master.txt")
    table, report = build_rfm(log, "customer_id", "date", amount="dollar_value")
    assert report.customers == 23_570 and report.transactions == 69_659
    assert table["monetary"].sum() == pytest.approx(2_500_315.63, abs=0.01)
    assert report.as_of == "1998-06-30"
