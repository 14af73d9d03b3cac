"""Server-side storage of each session's project: its table, the analyst's choices and the fitted result.

Big tables never travel through the browser: callbacks pass a session id and read from here. Every file is written
to a temporary name and renamed, so a crash leaves the previous version readable.
"""
from __future__ import annotations

import json
import shutil
from functools import lru_cache
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from core.atomic import atomic_write, atomic_write_text
from core.demo import make_demo_customers
from core.pipeline import SegmentationResult
from core.roles import infer_roles
from dashboard.session import checked
from dashboard.settings import load_settings

DEMO_NAME = "Demo customers (built in)"
_TABLE = "dataset.parquet"
_META = "dataset.json"
_SETTINGS = "settings.json"
_LOG = "transactions.parquet"
_RESULT = "result.joblib"


@lru_cache(maxsize=1)
def _demo_table() -> pd.DataFrame:
    return make_demo_customers()


class ProjectStore:
    """One project per browser session, kept in ``root/<session id>/``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _folder(self, session_id: str) -> Path:
        return self.root / checked(session_id)

    def table(self, session_id: str) -> pd.DataFrame:
        """The session's table; the built-in demo table until the analyst loads one."""
        path = self._folder(session_id) / _TABLE
        return pd.read_parquet(path) if path.exists() else _demo_table().copy()

    def meta(self, session_id: str) -> dict[str, Any]:
        """Name, size and column roles of the session's table."""
        path = self._folder(session_id) / _META
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
        demo = _demo_table()
        return {"name": DEMO_NAME, "rows": len(demo), "columns": list(demo.columns), "roles": infer_roles(demo),
                "source": "generated in the app", "rfm": None}

    def roles(self, session_id: str) -> dict[str, str]:
        """Every column's role: inferred, then the analyst's overrides."""
        return {**self.meta(session_id)["roles"], **self.settings(session_id).get("roles", {})}

    def save_table(self, session_id: str, table: pd.DataFrame, name: str, source: str = "",
                   log: pd.DataFrame | None = None, rfm: dict | None = None) -> dict[str, Any]:
        """Make ``table`` the session's data (``log``: the transaction log it was built from, kept to go back to).

        The previous choices and result no longer apply and are removed.
        """
        folder = self._folder(session_id)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {"name": name, "rows": len(table), "columns": list(table.columns), "roles": infer_roles(table),
                "source": source, "rfm": rfm}
        atomic_write(folder / _TABLE, lambda path: table.to_parquet(path, index=False))
        atomic_write_text(folder / _META, json.dumps(meta))
        if log is not None:
            atomic_write(folder / _LOG, lambda path: log.to_parquet(path, index=False))
        else:
            (folder / _LOG).unlink(missing_ok=True)
        for stale in (_SETTINGS, _RESULT):
            (folder / stale).unlink(missing_ok=True)
        return meta

    def log(self, session_id: str) -> pd.DataFrame | None:
        """The transaction log the current (RFM) table was built from, if any."""
        path = self._folder(session_id) / _LOG
        return pd.read_parquet(path) if path.exists() else None

    def use_demo(self, session_id: str) -> dict[str, Any]:
        """Go back to the built-in demo table."""
        folder = self._folder(session_id)
        if folder.exists():
            shutil.rmtree(folder)
        return self.meta(session_id)

    def settings(self, session_id: str) -> dict[str, Any]:
        """The analyst's choices for the current table: ``columns``, ``roles`` overrides, ``features``."""
        path = self._folder(session_id) / _SETTINGS
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def update_settings(self, session_id: str, **changes: Any) -> dict[str, Any]:
        folder = self._folder(session_id)
        folder.mkdir(parents=True, exist_ok=True)
        settings = {**self.settings(session_id), **changes}
        atomic_write_text(folder / _SETTINGS, json.dumps(settings))
        return settings

    def selection(self, session_id: str) -> list[str] | None:
        return self.settings(session_id).get("columns")

    def save_selection(self, session_id: str, columns: list[str]) -> None:
        self.update_settings(session_id, columns=columns)

    def result(self, session_id: str) -> SegmentationResult | None:
        path = self._folder(session_id) / _RESULT
        return joblib.load(path) if path.exists() else None

    def save_result(self, session_id: str, result: SegmentationResult) -> None:
        folder = self._folder(session_id)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(folder / _RESULT, lambda path: joblib.dump(result, path))


def project_store() -> ProjectStore:
    """The store under the configured data folder (read from the environment on each call, so tests can move it)."""
    return ProjectStore(load_settings().sessions_dir)
