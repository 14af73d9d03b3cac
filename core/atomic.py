"""Write files whole or not at all: a crash mid-write leaves the previous version in place."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

_UMASK = os.umask(0)
os.umask(_UMASK)  # read once at import: files get the usual permissions, not mkstemp's owner-only 0600


def atomic_write(target: str | Path, write: Callable[[Path], Any]) -> None:
    """Call ``write`` on a temporary path beside ``target``, then rename it over ``target``."""
    target = Path(target)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)
        write(Path(tmp))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(target: str | Path, text: str) -> None:
    atomic_write(target, lambda path: path.write_text(text, encoding="utf-8", newline=""))
