"""Read a customer table from whatever file an analyst brings, or say precisely why not.

Delimited text is read as strings first and typed afterwards, so that zero-padded identifiers ("0001") keep their
padding and one stray word in a numeric column does not turn the whole column into text.
"""

from __future__ import annotations

import csv
import io
import re
import time
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pandas.tseries.api import guess_datetime_format

from core.errors import SegmentationError
from core.threads import in_threads

TEXT_SUFFIXES = {".csv", ".tsv", ".txt", ".tab", ".dat"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | EXCEL_SUFFIXES | PARQUET_SUFFIXES
_SNIFF_BYTES = 256 * 1024
_CANDIDATE_DELIMITERS = (",", ";", "\t", "|")
_NA_VALUES = ["", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "#N/A", "?", "-"]
_LEADING_ZERO = re.compile(r"^0\d+$")
_MONEY = re.compile(r"^\(?[-+]?\s*[$€£¥₹]?\s*[-+]?\d{1,3}(?:[,.\u00a0']?\d{3})*(?:[.,]\d+)?\s*[$€£¥₹%]?\)?$")
MAX_COLUMNS = 2_000  # wider files are exports of everything; the analyst should pick the columns first
MAX_HEADER_BYTES = 2 * 2**20
# A workbook or Parquet file is compressed: a small file can unpack to gigabytes (a "zip bomb"). Their unpacked
# size is read from their directory before any parsing and bounded (openpyxl reads ~6 MB of sheet XML a second).
MAX_UNPACKED_EXCEL = 100 * 2**20
MAX_UNPACKED_PARQUET = 2 * 2**30
_DATE_LIKE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$|[A-Za-z]{3,9}")
Opener = Callable[[], BinaryIO]  # a fresh binary handle on the file, per reading pass
_DATE_NAME = re.compile(r"date|day|since|time", re.IGNORECASE)


def read_table(
    source: str | Path | bytes,
    filename: str | None = None,
    max_rows: int | None = None,
    max_seconds: float | None = None,
) -> pd.DataFrame:
    """Read a CSV/TSV/delimited text, Excel or Parquet file into a typed DataFrame.

    Args:
        source: a path, or the file's bytes (an upload).
        filename: the name shown in messages and used for the format; defaults to the path's name.
        max_rows: refuse a file with more data rows, before parsing it (the app bounds what one request parses;
            None reads any number).
        max_seconds: stop reading after this long (checked between the steps of the read and between columns,
            each of which takes a few seconds at most within the app's size bounds); None has no limit.

    Returns:
        The table, with numeric, datetime and string columns.

    Raises:
        SegmentationError: the file is missing, empty, unreadable or of an unsupported format.
    """
    if isinstance(source, (bytes, bytearray)):
        name = filename or "upload"
        if not source:
            raise SegmentationError(f"{name} is empty.")
        opener: Opener = lambda: io.BytesIO(source)  # noqa: E731 - a fresh handle per attempt
    else:
        path = Path(source)
        name = filename or path.name
        if not path.is_file():
            raise SegmentationError(f"{path} does not exist or is not a file.")
        if path.stat().st_size == 0:
            raise SegmentationError(f"{name} is empty.")
        opener = lambda: open(path, "rb")  # noqa: E731

    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES and suffix:
        raise SegmentationError(
            f"{name}: the format '{suffix}' is not supported; use CSV, TSV or other delimited text, "
            "Excel (.xlsx) or Parquet."
        )
    deadline = Deadline(name, max_seconds)
    if suffix in EXCEL_SUFFIXES:
        table = _read_excel(opener, name, deadline)
    elif suffix in PARQUET_SUFFIXES:
        table = _read_parquet(opener, name, max_rows)
    else:
        table = _read_delimited(opener, name, max_rows, deadline)
    if table.shape[1] == 0:
        raise SegmentationError(f"{name} has no columns.")
    _check_width(name, table.shape[1])
    if len(table) == 0:
        raise SegmentationError(f"{name} has a header but no data rows.")
    if max_rows is not None and len(table) > max_rows:
        raise _too_many_rows(name, max_rows, len(table))
    table.attrs.setdefault("source", {})["file"] = name
    return table


def describe_source(table: pd.DataFrame) -> str:
    """How a table was read, for the analyst to check: format, encoding, delimiter, decimal mark."""
    source = table.attrs.get("source", {})
    parts = [source.get("format", "table")]
    if "delimiter" in source:
        parts.append(
            {
                ",": "comma-separated",
                ";": "semicolon-separated",
                "\t": "tab-separated",
                "|": "pipe-separated",
                " ": "whitespace-separated",
            }[source["delimiter"]]
        )
    if "encoding" in source:
        parts.append(f"encoding {source['encoding']}")
    if source.get("decimal") == ",":
        parts.append("decimal commas")
    return ", ".join(parts)


class Deadline:
    """When a read must stop: a request that parses a file must end within the server's time limit."""

    def __init__(self, name: str, seconds: float | None):
        self.name, self.seconds = name, seconds
        self.at = None if seconds is None else time.monotonic() + seconds

    def check(self) -> None:
        if self.at is not None and time.monotonic() > self.at:
            raise SegmentationError(
                f"Reading {self.name} took longer than {self.seconds:g} s, the most this server gives a file "
                "(SEGSTUDIO_MAX_PARSE_SECONDS). Save the columns and rows you need to a smaller file, or segment it "
                "with the `segment` command."
            )


def _check_width(name: str, columns: int) -> None:
    if columns > MAX_COLUMNS:
        raise SegmentationError(
            f"{name} has {columns:,} columns; Segmentation Studio reads at most {MAX_COLUMNS:,}. Save the columns you "
            "need to a new file and load that."
        )


def _too_many_rows(name: str, max_rows: int, rows: int | None = None) -> SegmentationError:
    count = f"{rows:,} rows" if rows is not None else f"more than {max_rows:,} rows"
    return SegmentationError(
        f"{name} has {count}; this server reads at most {max_rows:,} in the browser (SEGSTUDIO_MAX_ROWS). "
        "Segment it with the `segment` command, or load a sample."
    )


def _read_excel(opener: Opener, name: str, deadline: Deadline) -> pd.DataFrame:
    with opener() as handle:
        try:
            with zipfile.ZipFile(handle) as workbook:
                unpacked = sum(entry.file_size for entry in workbook.infolist())
        except zipfile.BadZipFile as exc:
            raise SegmentationError(f"{name} could not be read as an Excel workbook (not an .xlsx file).") from exc
    if unpacked > MAX_UNPACKED_EXCEL:
        raise SegmentationError(
            f"{name} unpacks to {unpacked / 2**20:,.0f} MB; Excel workbooks are read up to "
            f"{MAX_UNPACKED_EXCEL / 2**20:,.0f} MB unpacked. Save the sheet as CSV and load that."
        )
    with opener() as handle:
        try:
            raw = pd.read_excel(handle, sheet_name=0)
        except Exception as exc:  # openpyxl raises many types for a damaged workbook
            raise SegmentationError(f"{name} could not be read as an Excel workbook ({exc}).") from exc
    raw.columns = [str(c).strip() for c in raw.columns]
    _check_column_names(list(raw.columns), name)
    deadline.check()
    table = coerce_types(raw, deadline=deadline)
    table.attrs["source"] = {"format": "Excel workbook (first sheet)"}
    return table


def _read_parquet(opener: Opener, name: str, max_rows: int | None) -> pd.DataFrame:
    with opener() as handle:
        try:
            metadata = pq.ParquetFile(handle).metadata
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
            raise SegmentationError(f"{name} could not be read as a Parquet file ({exc}).") from exc
    _check_width(name, metadata.num_columns)
    if max_rows is not None and metadata.num_rows > max_rows:
        raise _too_many_rows(name, max_rows, metadata.num_rows)
    unpacked = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    if unpacked > MAX_UNPACKED_PARQUET:
        raise SegmentationError(
            f"{name} unpacks to {unpacked / 2**30:,.1f} GB; Parquet files are read up to "
            f"{MAX_UNPACKED_PARQUET / 2**30:,.0f} GB unpacked. Save the columns and rows you need to a new file."
        )
    with opener() as handle:
        try:
            table = pd.read_parquet(handle)
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
            raise SegmentationError(f"{name} could not be read as a Parquet file ({exc}).") from exc
    table.columns = [str(c) for c in table.columns]
    _check_column_names(list(table.columns), name)
    for column in table.columns:  # lists, maps and structs: kept as their text, never used as features
        if table[column].dtype == object and table[column].map(lambda v: isinstance(v, (list, dict, np.ndarray))).any():
            table[column] = (
                table[column]
                .map(lambda v: None if v is None else str(v.tolist() if isinstance(v, np.ndarray) else v))
                .astype("str")
            )
    table.attrs["source"] = {"format": "Parquet"}
    return table


def _read_delimited(opener: Opener, name: str, max_rows: int | None, deadline: Deadline) -> pd.DataFrame:
    head = _head(opener, name)
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SegmentationError(f"{name} does not look like a text table: it contains binary data.")
    encoding = detect_encoding(head)
    text = head.decode(encoding, errors="replace")
    if not text.strip():
        raise SegmentationError(f"{name} is empty.")
    lines = [line for line in text.splitlines()[:60] if line.strip()]
    if len(lines) > 1 and not head.endswith((b"\n", b"\r")):
        lines = lines[:-1]  # the last line may be cut in the middle
    try:
        delimiter = sniff_delimiter(lines)
        header = _header_names(lines[0], delimiter)
    except csv.Error as exc:  # e.g. "field larger than field limit": a line of one 128 KB field
        raise SegmentationError(
            f"{name} does not look like a table with a header row: its first lines cannot be split into columns "
            f"({exc})."
        ) from None
    decimal = "," if delimiter == ";" and re.search(r"\d,\d", text) else "."
    _check_width(name, len(header))  # before parsing: a very wide file would take long and much memory to read
    _check_column_names(header, name)
    if max_rows is not None:
        counted = _count_lines(opener, stop_after=max_rows + 1)
        if counted > max_rows + 1:  # a header and max_rows rows (or a few less, when quoted cells hold line breaks)
            raise _too_many_rows(name, max_rows)
    raw = _read_strings_fast(opener, delimiter, encoding)
    if raw is None:
        raw = _read_strings(opener, name, delimiter, encoding)
    raw.columns = [str(c).strip() for c in raw.columns]
    deadline.check()
    table = coerce_types(raw, decimal=decimal, deadline=deadline)
    table.attrs["source"] = {
        "format": "delimited text",
        "encoding": encoding,
        "delimiter": delimiter,
        "decimal": decimal,
    }
    return table


def _head(opener: Opener, name: str) -> bytes:
    """The first 256 KiB, and on to the end of the header line when it is longer (a wide file's header can be
    megabytes): the column count is checked on the whole header before anything is parsed. A header longer than
    MAX_HEADER_BYTES is refused (2,000 columns of names up to a thousand characters fit)."""
    with opener() as handle:
        head = handle.read(_SNIFF_BYTES)
        while len(head) >= _SNIFF_BYTES and b"\n" not in head and b"\r" not in head:
            if len(head) > MAX_HEADER_BYTES:
                raise SegmentationError(
                    f"{name}'s first line is longer than {MAX_HEADER_BYTES // 2**20} MB: either it has far more than "
                    f"{MAX_COLUMNS:,} columns or it is not a table with a header row. Save the columns you need to a "
                    "new file and load that."
                )
            block = handle.read(_SNIFF_BYTES)
            if not block:
                break
            head += block
    return head


def _count_lines(opener: Opener, stop_after: int) -> int:
    """Lines in a text file (counting stops a block after ``stop_after``): 0.1 s per 200 MB, before any parsing."""
    lines = 0
    last = b"\n"
    with opener() as handle:
        while block := handle.read(16 * 2**20):
            lines += block.count(b"\n")
            last = block[-1:]
            if lines > stop_after:
                return lines
    return lines + (last != b"\n")


def _read_strings_fast(opener: Opener, delimiter: str, encoding: str) -> pd.DataFrame | None:
    """Every cell as a string with pyarrow's multithreaded reader (about 6x faster than the C engine); None when
    it cannot read the file, which then goes to the C engine and its precise messages."""
    if encoding not in ("utf-8", "utf-8-sig") or delimiter == " ":
        return None
    with opener() as handle:
        try:
            raw = pd.read_csv(
                handle, sep=delimiter, dtype=str, keep_default_na=False, na_values=_NA_VALUES, engine="pyarrow"
            )
        except Exception:  # pyarrow's ArrowInvalid and friends: ragged rows, bad UTF-8, line breaks in quotes
            return None
    raw.columns = [str(c).lstrip("\ufeff") for c in raw.columns]
    return raw


def _read_strings(opener: Opener, name: str, delimiter: str, encoding: str) -> pd.DataFrame:
    with opener() as handle:
        stream = io.TextIOWrapper(handle, encoding=encoding, errors="strict", newline="")
        try:
            raw = pd.read_csv(
                stream,
                sep=r"\s+" if delimiter == " " else delimiter,
                dtype=str,
                keep_default_na=False,
                na_values=_NA_VALUES,
                skipinitialspace=True,
                engine="python" if delimiter == " " else "c",
            )
        except UnicodeDecodeError as exc:
            raise SegmentationError(
                f"{name} mixes text encodings: it starts as {encoding} but byte {exc.start} of a later block "
                "is not; save it as UTF-8 and upload it again."
            ) from exc
        except (pd.errors.ParserError, csv.Error) as exc:
            raise SegmentationError(f"{name} could not be parsed as delimited text: {exc}") from exc
        except pd.errors.EmptyDataError as exc:
            raise SegmentationError(f"{name} is empty.") from exc
    return raw


def detect_encoding(head: bytes) -> str:
    """Name the encoding of a file from its first bytes: BOMs first, then strict UTF-8, then cp1252/Latin-1."""
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:  # a multi-byte character cut by the sniffing window
            return "utf-8"
    try:
        head.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def sniff_delimiter(lines: list[str]) -> str:
    """Pick the delimiter that splits the first lines into the same number of fields most consistently.

    Returns one of ``, ; TAB |``, or a single space meaning "runs of whitespace" (fixed-width exports).
    """
    best, best_score = ",", (0.0, 1)
    for delimiter in _CANDIDATE_DELIMITERS:
        try:
            widths = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        except csv.Error:  # a field over the csv module's 128 KiB limit: not this delimiter
            continue
        width, count = Counter(widths).most_common(1)[0]
        score = (count / len(widths), width)
        if width > 1 and score > best_score:
            best, best_score = delimiter, score
    if best_score[1] > 1:
        return best
    widths = [len(line.split()) for line in lines]
    width, count = Counter(widths).most_common(1)[0]
    return " " if width > 1 and count / len(widths) >= 0.9 else ","


def _header_names(line: str, delimiter: str) -> list[str]:
    if delimiter == " ":
        return line.split()
    return [name.strip() for name in next(csv.reader([line], delimiter=delimiter))]


def _check_column_names(names: list[str], file_name: str) -> None:
    duplicated = sorted({n for n in names if names.count(n) > 1 and n.strip()})
    if duplicated:
        raise SegmentationError(
            f"{file_name} has duplicate column names: {', '.join(repr(n) for n in duplicated)}; "
            "rename them so each column has its own name."
        )


def coerce_types(raw: pd.DataFrame, decimal: str = ".", deadline: Deadline | None = None) -> pd.DataFrame:
    """Turn string columns into numbers or dates where nearly every value parses; keep the rest as text. Columns
    are read on the run's threads (Arrow's kernels release the GIL: 1,000,000 rows x 30 columns 5.4 s -> 3.0 s)."""

    def coerced(column: str) -> pd.Series:
        if deadline is not None:
            deadline.check()
        return _coerce_column(raw[column], decimal)

    return pd.DataFrame(dict(zip(raw.columns, in_threads(coerced, raw.columns))), index=raw.index)


def _coerce_column(values: pd.Series, decimal: str) -> pd.Series:
    if values.dtype.kind in "biufcmM":
        return values
    text = values.astype("str").str.strip().where(values.notna())
    present = text.dropna()
    if present.empty:
        return pd.Series(np.nan, index=values.index, dtype=float, name=values.name)
    candidate = text.str.replace(",", ".", regex=False) if decimal == "," else text
    spread = candidate.dropna().iloc[:: max(1, len(present) // 2_000)]
    numeric = pd.to_numeric(spread, errors="coerce").notna().mean() >= 0.9  # cheap test before the whole column
    if numeric and present.str.match(_LEADING_ZERO).any():
        return text  # codes and identifiers whose padding matters
    numbers = _numbers(candidate) if numeric else None
    if numbers is not None and numbers.notna().sum() >= 0.98 * len(present):
        written_as_integers = not present.str.contains(f"[{re.escape(decimal)}eE]", regex=True).any()
        if written_as_integers and numbers.dropna().abs().lt(2**53).all():
            compact_dates = _compact_dates(text, str(values.name))
            if compact_dates is not None:
                return compact_dates
            return numbers.astype("Int64") if numbers.isna().any() else numbers.astype("int64")
        return numbers.astype(float)
    money = _money(text, spread, decimal)
    if money is not None:
        return money
    sample = present.iloc[:200]
    if sample.str.contains(_DATE_LIKE).mean() >= 0.9 and sample.str.contains(r"\d").mean() >= 0.9:
        dates = _parse_dates(text)
        if dates is not None and dates.notna().sum() >= 0.95 * len(present):
            return dates
    return text


def _money(text: pd.Series, spread: pd.Series, decimal: str) -> pd.Series | None:
    """Amounts written for people ("$1,234.50", "1.234,50 €", "(12.00)", "45%"), as numbers; None if the column
    is not made of them."""
    if spread.empty or not spread.str.contains(r"\d").all() or spread.str.fullmatch(_MONEY).mean() < 0.98:
        return None
    thousands = "." if decimal == "," else ","
    cleaned = (
        text.str.replace(r"[$€£¥₹%\s\u00a0']", "", regex=True)
        .str.replace(thousands, "", regex=False)
        .str.replace(r"^\((.*)\)$", r"-\1", regex=True)
    )
    if decimal == ",":
        cleaned = cleaned.str.replace(",", ".", regex=False)
    numbers = pd.to_numeric(cleaned, errors="coerce")
    return numbers.astype(float) if numbers.notna().sum() >= 0.98 * text.notna().sum() else None


def _numbers(text: pd.Series) -> pd.Series:
    """The values as floats (NaN where not a number): pyarrow's cast when every value is a number (fast), else
    pandas' per-value conversion."""
    try:
        values = pc.cast(pa.array(text, from_pandas=True, type=pa.string()), pa.float64())
        return pd.Series(values.to_numpy(zero_copy_only=False), index=text.index, name=text.name)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pd.to_numeric(text, errors="coerce")


def _compact_dates(text: pd.Series, name: str) -> pd.Series | None:
    """YYYYMMDD integers (common in exports) are dates when the column's name says so."""
    if not _DATE_NAME.search(name) or not text.dropna().str.fullmatch(r"(19|20)\d{6}").all():
        return None
    dates = pd.to_datetime(text, format="%Y%m%d", errors="coerce")
    return dates if dates.notna().sum() == text.notna().sum() else None


def _parse_dates(text: pd.Series) -> pd.Series | None:
    """Dates in the one format that reads most of a sample (fast, vectorized), else per-value parsing."""
    present = text.dropna()
    sample = present.iloc[:: max(1, len(present) // 200)]
    best, best_count = None, 0
    for candidate in _date_formats(sample.iloc[:20]):
        count = pd.to_datetime(sample, format=candidate, errors="coerce").notna().sum()
        if count > best_count:  # ties keep the month-first reading, as the fallback below does
            best, best_count = candidate, count
    if best is not None and best_count >= 0.95 * len(sample):
        parsed = pd.to_datetime(text, format=best, errors="coerce")
        if parsed.notna().sum() >= 0.95 * len(present):
            return parsed
    best = None
    for dayfirst in (False, True):
        try:
            parsed = pd.to_datetime(text, errors="coerce", dayfirst=dayfirst, format="mixed")
        except (ValueError, TypeError, OverflowError):
            continue
        if best is None or parsed.notna().sum() > best.notna().sum():
            best = parsed
    return best


def _date_formats(values: pd.Series) -> list[str]:
    """strptime formats that fit these values, month-first readings before day-first ones."""
    formats: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns when a guess contradicts dayfirst; both are wanted here
        for dayfirst in (False, True):
            for value in values:
                guessed = guess_datetime_format(value, dayfirst=dayfirst)
                if guessed and guessed not in formats:
                    formats.append(guessed)
    return formats
