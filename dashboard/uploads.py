"""Uploaded files arrive as base64 data URLs inside a callback request; this turns them back into bytes, on the
server's terms: the size bound is checked on the decoded size before decoding, whatever the browser enforced, and
a file name or contents of the wrong JSON type is refused with a message instead of failing."""

from __future__ import annotations

import base64
import binascii
from pathlib import PurePath

import pandas as pd

from core.errors import SegmentationError
from core.readers import read_table
from core.spark.outputs import is_spark_run
from dashboard.settings import load_settings

MAX_NAME = 200


def upload_name(filename: object) -> str:
    """The name to read an upload by and show: a string (a one-element list, as a multi-file upload sends it, or a
    number, taken as text), without folders or control characters."""
    if isinstance(filename, list) and len(filename) == 1:
        filename = filename[0]
    if isinstance(filename, (int, float)) and not isinstance(filename, bool):
        filename = str(filename)
    if not isinstance(filename, str):
        raise SegmentationError("The upload arrived without a file name; choose the file again.")
    name = "".join(ch for ch in filename if ch.isprintable()).replace("\\", "/")
    name = PurePath(name).name.strip()[:MAX_NAME]
    if not name:
        raise SegmentationError("The upload arrived without a file name; choose the file again.")
    return name


def decode_upload(contents: object, filename: str, max_mb: float) -> bytes:
    """The upload's bytes; refused when it decodes to more than ``max_mb`` megabytes (SEGSTUDIO_MAX_UPLOAD_MB)."""
    if isinstance(contents, list) and len(contents) == 1:
        contents = contents[0]
    if not isinstance(contents, str) or "," not in contents:
        raise SegmentationError(f"{filename} arrived damaged; try uploading it again.")
    encoded = contents.split(",", 1)[1]
    size = len(encoded) * 3 // 4 - encoded[-2:].count("=")  # the decoded size, known before decoding
    if size > max_mb * 2**20:
        raise SegmentationError(
            f"{filename} is {size / 2**20:,.1f} MB; this server takes uploads up to {max_mb:g} MB "
            "(SEGSTUDIO_MAX_UPLOAD_MB). Larger files can be opened from the server's data folder or segmented "
            "with the `segment` command."
        )
    try:
        return base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error):
        raise SegmentationError(f"{filename} arrived damaged; try uploading it again.") from None


def read_upload(contents: object, filename: object) -> tuple[pd.DataFrame, str]:
    """An uploaded table and its name, read within every bound the server sets (size, rows, columns, time)."""
    settings = load_settings()
    name = upload_name(filename)
    return read_table(decode_upload(contents, name, settings.max_upload_mb), name, **settings.read_limits), name


SERVER_FORMATS = (".csv", ".tsv", ".txt", ".xlsx", ".parquet")


def server_files() -> list[dict]:
    """The tables the operator put in the server's data folder, and the finished Spark run folders there, as
    dropdown options (names only, no paths)."""
    folder = load_settings().import_dir
    if not folder.is_dir():
        return []
    files = sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in SERVER_FORMATS and p.resolve().parent == folder
    )
    options = [{"label": f"{p.name} ({p.stat().st_size / 1e6:,.1f} MB)", "value": p.name} for p in files]
    runs = sorted(p for p in folder.iterdir() if p.is_dir() and p.resolve().parent == folder and is_spark_run(p))
    return options + [{"label": f"{p.name}/ (Spark run: segments and a sample)", "value": p.name} for p in runs]
