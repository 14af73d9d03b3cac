"""Uploaded files arrive as base64 data URLs; this turns them back into bytes, or says the upload was damaged."""
from __future__ import annotations

import base64
import binascii

from core.errors import SegmentationError


def decode_upload(contents: str, filename: str | None) -> bytes:
    try:
        _, encoded = contents.split(",", 1)
        return base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error):
        raise SegmentationError(f"{filename or 'The upload'} arrived damaged; try uploading it again.") from None
