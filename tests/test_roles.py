import pytest

from core.readers import read_table
from core.roles import infer_roles
from tests.conftest import SHARED_DATA, SHARED_FILES


def test_demo_roles(demo):
    roles = infer_roles(demo[0])
    assert roles["customer_id"] == "id"
    assert roles["income"] == roles["recency_days"] == "numeric"
    assert roles["education"] == roles["channel"] == "categorical"
    assert roles["customer_since"] == "date"


@pytest.mark.parametrize(
    "dataset, expected",
    [
        ("mall", {"CustomerID": "id", "Genre": "categorical", "Age": "numeric", "Annual Income (k$)": "numeric"}),
        ("wholesale", {"Channel": "categorical", "Region": "categorical", "Fresh": "numeric"}),
        ("cc_general", {"CUST_ID": "id", "BALANCE": "numeric", "MINIMUM_PAYMENTS": "numeric"}),
    ],
)
def test_roles_on_real_datasets(dataset, expected):
    roles = infer_roles(read_table(SHARED_FILES[dataset]))
    assert {c: roles[c] for c in expected} == expected


def test_transaction_log_columns():
    roles = infer_roles(read_table(SHARED_DATA / "cdnow" / "CDNOW_master.txt"))
    assert roles == {"customer_id": "id", "date": "date", "number_of_cds": "numeric", "dollar_value": "numeric"}
