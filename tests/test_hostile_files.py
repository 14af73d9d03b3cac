"""A corpus of hostile and broken files, generated here, through the reader, the command line and the upload.

Each file either reads (and then the app and `segment run` cope with it) or gets a clear message: in the page, and
on the command line as one line on stderr with exit status 2. Nothing crashes, hangs or prints a traceback.
"""

from __future__ import annotations

import gzip
import io
import zipfile

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dash import no_update

from core.cli import main
from core.errors import SegmentationError
from core.readers import read_table
from dashboard import ids
from dashboard.store import project_store
from tests.helpers import load, text_of, upload_contents

pytestmark = pytest.mark.unit

HTML = "<img src=x onerror=alert(1)>"


def _rows(n: int, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    return "".join(f"C{i},{rng.normal(50, 10):.2f},{rng.integers(1, 20)}\n" for i in range(n))


def _excel_with_sheets_and_merged_cells() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["id", "spend", "visits", "region"])
    for i in range(40):
        sheet.append([f"C{i}", 10.0 + i * (3 if i % 2 else 1), i % 7, "north" if i < 20 else "south"])
    sheet.merge_cells("D2:D21")  # merged cells: only the first keeps its value
    book.create_sheet("notes").append(["this sheet", "is ignored"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _nested_parquet() -> bytes:
    table = pa.table(
        {
            "id": [f"C{i}" for i in range(30)],
            "spend": [float(i) for i in range(30)],
            "tags": [["a", "b"][: i % 3] for i in range(30)],
            "address": [{"city": "X", "zip": str(i)} for i in range(30)],
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def _zip_renamed() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("huge.csv", b"0," * 5_000_000)
    return buffer.getvalue()


# (file name, bytes, the message it must get, or None if it must read)
CORPUS = [
    ("empty.csv", b"", "empty.csv is empty"),
    ("header only.csv", b"id,spend,visits\n", "has a header but no data rows"),
    ("one row.csv", b"id,spend,visits\nC1,10,2\n", None),
    ("binary.csv", bytes(range(256)) * 40, "does not look like a text table"),
    ("gzip bomb.csv", gzip.compress(b"0" * 20_000_000), "does not look like a text table"),
    ("zip renamed.csv", _zip_renamed(), "does not look like a text table"),
    ("csv named.xlsx", b"id,spend\nC1,1\n", "could not be read as an Excel workbook"),
    ("notes.docx", b"hello", "the format '.docx' is not supported"),
    ("invalid utf8.csv", b"id,name,spend\n1,caf\xe9,10\n2,na\xefve,20\n3,\x81x,30\n", None),
    (
        "mixed encodings.csv",
        b"id,name,spend\n" + ("1,caf\u00e9,10\n".encode() * 30_000) + b"2,caf\xe9,20\n",
        "mixes text encodings",
    ),
    ("ragged.csv", b"id,spend\n1,2\n3,4,5\n6,7\n", "could not be parsed as delimited text"),
    (
        "wide.csv",
        (",".join(f"c{i}" for i in range(10_000)) + "\n" + ",".join(["1"] * 10_000) + "\n").encode(),
        "has 10,000 columns; Segmentation Studio reads at most 2,000",
    ),
    (
        "huge cell.csv",
        ("id,note,spend,visits\n" + f"C0,{'x' * 1_000_000},1,2\n" + _rows(30).replace(",", ",n,", 1)).encode(),
        None,
    ),
    (
        "long header.csv",
        (",".join(f"column_{i}_{'n' * 90}" for i in range(4_000)) + "\n" + ",".join(["1"] * 4_000) + "\n").encode(),
        "has 4,000 columns; Segmentation Studio reads at most 2,000",
    ),  # a header longer than the first 256 KiB
    (
        "one long field.csv",
        b"x" * 200_000 + b"\n" + b"y" * 10 + b"\n",
        "does not look like a table with a header row",
    ),  # over the csv module's 128 KiB field limit
    ("endless header.csv", b"a" * 3_000_000, "first line is longer than 2 MB"),
    ("duplicate names.csv", b"id,spend,spend\n1,2,3\n", "duplicate column names: 'spend'"),
    ("empty names.csv", b",spend,\n1,2,3\n4,5,6\n", None),
    ("html and formulas.csv", (f"id,{HTML},=SUM(A1),+cmd\n" + _rows(40).replace("\n", ",1\n")).encode(), None),
    ("all missing.csv", ("id,spend,visits,empty\n" + _rows(40).replace("\n", ",\n")).encode(), None),
    ("constant.csv", ("id,spend,visits,same\n" + _rows(40).replace("\n", ",7\n")).encode(), None),
    (
        "inf and nan.csv",
        b"id,spend,visits\n"
        + b"".join(b"C%d,%s,%d\n" % (i, v, i % 5) for i, v in enumerate([b"inf", b"nan", b"-inf"] + [b"1.5"] * 37)),
        None,
    ),
    (
        "money.csv",
        b"id,spend,share\n" + b"".join(b'C%d,"$%d,%03d.50",%d%%\n' % (i, 1 + i % 9, i, i) for i in range(40)),
        None,
    ),
    (
        "many date formats.csv",
        b"id,joined,spend\n"
        + b"".join(
            b"C%d,%s,%d\n" % (i, d, i)
            for i, d in enumerate([b"2024-01-05", b"05/01/2024", b'"Jan 5, 2024"', b"2023-12-31 10:00"] * 10)
        ),
        None,
    ),
    ("sheets and merged.xlsx", _excel_with_sheets_and_merged_cells(), None),
    ("nested.parquet", _nested_parquet(), None),
]
IDS = [name for name, _, _ in CORPUS]


@pytest.mark.parametrize("name, data, message", CORPUS, ids=IDS)
def test_the_reader_reads_or_says_why(tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    if message is None:
        table = read_table(path)
        assert len(table) >= 1 and table.shape[1] >= 2
    else:
        with pytest.raises(SegmentationError, match=message.replace("(", r"\(").replace(")", r"\)")):
            read_table(path)


@pytest.mark.parametrize("name, data, message", CORPUS, ids=IDS)
def test_the_command_line_exits_0_or_2_with_one_line(tmp_path, capsys, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    code = main(["run", str(path), "--out", str(tmp_path / "out"), "--k", "2-4", "--algorithms", "kmeans"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if message is not None:
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    else:
        assert code in (0, 2), err
        if code == 2:  # readable, but no segmentation possible: the reason is given
            assert err.startswith("segment: error: ") and len(err.strip().splitlines()) == 1
        else:
            labelled = pd.read_csv(tmp_path / "out" / "labelled_customers.csv", dtype=str)
            assert len(labelled) == len(read_table(path))  # every row labelled
            assert not any(c.startswith(("=", "+", "-", "@")) for c in labelled.columns)
            if name == "html and formulas.csv":  # names kept as text, formula-like ones neutralised
                assert {HTML, "'=SUM(A1)", "'+cmd"} <= set(labelled.columns)


@pytest.mark.parametrize("name, data, message", CORPUS, ids=IDS)
def test_the_upload_shows_the_message_or_the_table(session, name, data, message):
    version, alert, _ = load(session, ids.UPLOAD, upload_contents(data), name)
    if message is None:
        assert version is not no_update and alert is None
        assert project_store().meta(session)["name"] == name
    else:
        assert version is no_update
        assert "Could not load this file." in text_of(alert) and message in text_of(alert)


def _parquet(rows: int, columns: int = 3) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table({f"c{i}": np.arange(rows, dtype=float) for i in range(columns)}), buffer)
    return buffer.getvalue()


def _workbook_bomb() -> bytes:
    """An .xlsx-named zip whose sheet unpacks to 400 MB (a few hundred kB packed)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            block = b"<c><v>0</v></c>".ljust(4 * 2**20, b" ")
            for _ in range(100):
                sheet.write(block)
    return buffer.getvalue()


def test_the_app_refuses_what_would_take_too_long_or_too_much_memory_before_parsing(session, monkeypatch):
    monkeypatch.setenv("SEGSTUDIO_MAX_ROWS", "1000")
    refused = [
        (
            "long.csv",
            ("id,spend,visits\n" + _rows(1001)).encode(),
            "long.csv has more than 1,000 rows; this server reads at most 1,000 in the browser",
        ),
        ("long.parquet", _parquet(1500), "long.parquet has 1,500 rows; this server reads at most 1,000"),
        (
            "wide.parquet",
            _parquet(5, columns=2001),
            "wide.parquet has 2,001 columns; Segmentation Studio reads at most 2,000",
        ),
        ("bomb.xlsx", _workbook_bomb(), "bomb.xlsx unpacks to 400 MB; Excel workbooks are read up to 100 MB"),
    ]
    for name, data, message in refused:
        version, alert, _ = load(session, ids.UPLOAD, upload_contents(data), name)
        assert version is no_update and message in text_of(alert), (name, text_of(alert))
    version, alert, _ = load(
        session, ids.UPLOAD, upload_contents(("id,spend,visits\n" + _rows(1000)).encode()), "just fits.csv"
    )
    assert alert is None and project_store().meta(session)["rows"] == 1000
    assert len(read_table(("id,spend,visits\n" + _rows(1001)).encode(), "long.csv")) == 1001  # no bound: the CLI
    monkeypatch.setenv("SEGSTUDIO_MAX_PARSE_SECONDS", "0")  # every read is past its time at its first check
    version, alert, _ = load(
        session, ids.UPLOAD, upload_contents(("id,spend,visits\n" + _rows(10)).encode()), "slow.csv"
    )
    assert (
        version is no_update
        and "Reading slow.csv took longer than 0 s, the most this server gives a file" in text_of(alert)
    )
