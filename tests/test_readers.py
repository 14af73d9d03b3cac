import pandas as pd
import pytest

from core.errors import SegmentationError
from core.readers import read_table
from tests.helpers import UNREADABLE_FILES

pytestmark = pytest.mark.unit

ROWS = "id,name,amount,joined\n0001,Ann,12.5,2021-03-01\n0002,Bob,7,2022-11-15\n0003,Cé,3.25,2020-01-31\n"


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_csv_keeps_zero_padded_ids_and_types_columns(tmp_path):
    table = read_table(write(tmp_path, "c.csv", ROWS.encode()))
    assert list(table["id"]) == ["0001", "0002", "0003"]
    assert table["amount"].dtype == float and table["amount"].sum() == pytest.approx(22.75)
    assert pd.api.types.is_datetime64_any_dtype(table["joined"])


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_delimiters_are_sniffed(tmp_path, delimiter):
    table = read_table(write(tmp_path, "d.txt", ROWS.replace(",", delimiter).encode()))
    assert list(table.columns) == ["id", "name", "amount", "joined"]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "cp1252"])
def test_encodings_are_detected(tmp_path, encoding):
    table = read_table(write(tmp_path, "e.csv", ROWS.encode(encoding)))
    assert table.columns[0] == "id"
    assert table["name"].iloc[2] == "Cé"


def test_semicolon_file_with_decimal_commas(tmp_path):
    text = "kunde;umsatz\nA1;1,5\nA2;2,25\n"
    table = read_table(write(tmp_path, "s.csv", text.encode("latin-1")))
    assert table["umsatz"].tolist() == [1.5, 2.25]


def test_parquet_and_excel(tmp_path, demo):
    table = demo[0].head(50)
    table.to_parquet(tmp_path / "t.parquet")
    table.to_excel(tmp_path / "t.xlsx", index=False)
    for name in ("t.parquet", "t.xlsx"):
        read = read_table(tmp_path / name)
        assert read.shape == table.shape
        assert read["income"].sum() == pytest.approx(table["income"].sum())


@pytest.mark.parametrize("name, data, message", UNREADABLE_FILES)
def test_bad_files_give_clear_messages(tmp_path, name, data, message):
    with pytest.raises(SegmentationError, match=message):
        read_table(write(tmp_path, name, data))


def test_missing_file_is_named(tmp_path):
    with pytest.raises(SegmentationError, match="nope.csv does not exist"):
        read_table(tmp_path / "nope.csv")


def test_uploaded_bytes_are_read_like_files():
    table = read_table(ROWS.encode(), "upload.csv")
    assert table.shape == (3, 4)


def test_quoted_fields_with_delimiters_and_newlines(tmp_path):
    text = 'id,note,amount\n1,"hello, world",3\n2,"two\nlines",4\n3,plain,5\n'
    table = read_table(write(tmp_path, "q.csv", text.encode()))
    assert table["note"].tolist() == ["hello, world", "two\nlines", "plain"]
    assert table["amount"].tolist() == [3, 4, 5]


def test_day_first_dates(tmp_path):
    text = "id,joined\n" + "".join(f"{i},{d}-08-2013\n" for i, d in enumerate(range(13, 29)))
    table = read_table(write(tmp_path, "d.csv", text.encode()))
    assert table["joined"].iloc[8] == pd.Timestamp("2013-08-21")


def test_compact_dates_in_a_date_column(tmp_path):
    table = read_table(write(tmp_path, "c.csv", b"order_date,x\n19970101,1\n19980630,2\n"))
    assert table["order_date"].tolist() == [pd.Timestamp("1997-01-01"), pd.Timestamp("1998-06-30")]
