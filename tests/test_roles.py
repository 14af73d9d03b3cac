import pytest

from core.readers import read_table
from core.roles import infer_roles
from tests.helpers import DATA, DATA_FILES

pytestmark = pytest.mark.unit


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
    roles = infer_roles(read_table(DATA_FILES[dataset]))
    assert {c: roles[c] for c in expected} == expected


def test_transaction_log_columns():
    roles = infer_roles(read_table(DATA / "cdnow" / "CDNOW_master.txt"))
    assert roles == {"customer_id": "id", "date": "date", "number_of_cds": "numeric", "dollar_value": "numeric"}


def test_text_constant_and_flag_columns():
    import pandas as pd

    n = 100
    table = pd.DataFrame(
        {
            "comment": [f"customer {i} wrote a long free-text remark about the service" for i in range(n)],
            "country": ["NL"] * n,
            "is_member": [i % 2 for i in range(n)],
            "visits": [i % 17 for i in range(n)],
        }
    )
    assert infer_roles(table) == {
        "comment": "text",
        "country": "constant",
        "is_member": "categorical",
        "visits": "numeric",
    }
