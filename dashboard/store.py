"""Server-side storage of each session's projects: their tables, the analyst's choices and the fitted results.

Big tables never travel through the browser: callbacks pass a session id and read from the session's current
project here. Every file is written to a temporary name and renamed, so a crash leaves the previous version readable.

Layout: ``root/<session>/current`` names the open project; ``root/<session>/projects/<project>/`` holds its files.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from core.atomic import atomic_write, atomic_write_text
from core.bundle import SourceRecord
from core.database import rows_checksum
from core.demo import make_demo_customers
from core.errors import SegmentationError
from core.explore import column_profile
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
_NAMES = "names.json"
_WRITEBACKS = "writebacks.json"
_MONITOR = "monitor.joblib"
_PROJECT = "project.json"
_CURRENT = "current"
_REVIEW = "review.token"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22}$")
_PROJECT_ID = re.compile(r"^[0-9a-f]{32}$")  # 128 random bits


@lru_cache(maxsize=1)
def _demo_table() -> pd.DataFrame:
    return make_demo_customers()


class FileCache:
    """Objects loaded from files, kept in this process while their file is unchanged (same mtime and size).

    A page of a million-customer project reads the table and the result; loading them again for every callback
    would cost most of a second each. Only the ``size`` most recently used files are kept.
    """

    def __init__(self, load: Callable[[Path], Any], size: int = 2) -> None:
        self.load = load
        self.size = size
        self.entries: OrderedDict[tuple, Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, path: Path) -> Any:
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        with self.lock:
            if key in self.entries:
                self.entries.move_to_end(key)
                return self.entries[key]
        value = self.load(path)
        with self.lock:
            for old in [k for k in self.entries if k[0] == key[0]]:
                del self.entries[old]
            self.entries[key] = value
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        return value


_TABLES = FileCache(pd.read_parquet)
_RESULTS = FileCache(joblib.load)


def _fingerprint(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_mtime_ns, stat.st_size]


class ProjectStore:
    """The projects of each browser session, kept in ``root/<session id>/projects/``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    # ------------------------------------------------------------------ projects
    def _session(self, session_id: str) -> Path:
        return self.root / checked(session_id)

    def current_project(self, session_id: str) -> str:
        """The id of the session's open project (a first one is made on first use)."""
        marker = self._session(session_id) / _CURRENT
        if marker.exists():
            project = marker.read_text(encoding="utf-8").strip()
            if _PROJECT_ID.match(project) and (self._session(session_id) / "projects" / project).is_dir():
                return project
        return self.new_project(session_id)

    def _folder(self, session_id: str) -> Path:
        return self._session(session_id) / "projects" / self.current_project(session_id)

    def new_project(self, session_id: str, name: str = "") -> str:
        """Start an empty project (on the demo data) and open it."""
        number = len(self.projects(session_id)) + 1
        project = secrets.token_hex(16)
        folder = self._session(session_id) / "projects" / project
        folder.mkdir(parents=True)
        created = datetime.now(timezone.utc).isoformat(timespec="microseconds")
        atomic_write_text(
            folder / _PROJECT, json.dumps({"name": name.strip() or f"Project {number}", "created": created})
        )
        self.open_project(session_id, project)
        return project

    def open_project(self, session_id: str, project: str) -> None:
        if (
            not isinstance(project, str)
            or not _PROJECT_ID.match(project)
            or not (self._session(session_id) / "projects" / project).is_dir()
        ):
            raise SegmentationError("That project does not exist (any more).")
        atomic_write_text(self._session(session_id) / _CURRENT, project)

    def projects(self, session_id: str) -> list[dict[str, Any]]:
        """This session's projects, newest first: id, name, created, dataset name, whether segmented."""
        folder = self._session(session_id) / "projects"
        out = []
        for path in folder.iterdir() if folder.is_dir() else []:
            if not (path / _PROJECT).exists():
                continue
            info = json.loads((path / _PROJECT).read_text(encoding="utf-8"))
            dataset = (
                json.loads((path / _META).read_text(encoding="utf-8"))["name"] if (path / _META).exists() else DEMO_NAME
            )
            out.append({"id": path.name, **info, "dataset": dataset, "segmented": (path / _RESULT).exists()})
        return sorted(out, key=lambda p: p["created"], reverse=True)

    def project_info(self, session_id: str) -> dict[str, Any]:
        project = self.current_project(session_id)
        return next(p for p in self.projects(session_id) if p["id"] == project)

    def rename_project(self, session_id: str, name: str) -> None:
        name = " ".join(str(name or "").split())
        if not name:
            raise SegmentationError("A project needs a name.")
        folder = self._folder(session_id)
        info = json.loads((folder / _PROJECT).read_text(encoding="utf-8"))
        atomic_write_text(folder / _PROJECT, json.dumps({**info, "name": name[:80]}))

    # -------------------------------------------------------------- review links
    def review_token(self, session_id: str, create: bool = False) -> str | None:
        """The current project's review token (128 random bits), made on request."""
        folder = self._folder(session_id)
        path = folder / _REVIEW
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        if not create:
            return None
        token = secrets.token_urlsafe(16)
        index = self.root.parent / "reviews"
        index.mkdir(parents=True, exist_ok=True)
        atomic_write_text(index / token, json.dumps([session_id, folder.name]))
        atomic_write_text(path, token)
        return token

    def reviewed_project(self, token: str) -> tuple[str, str] | None:
        """(session, project) a review token opens, or None for an unknown or malformed token."""
        if not isinstance(token, str) or not _TOKEN.match(token):
            return None
        path = self.root.parent / "reviews" / token
        if not path.exists():
            return None
        session_id, project = json.loads(path.read_text(encoding="utf-8"))
        return session_id, project

    def project_result(self, session_id: str, project: str) -> SegmentationResult | None:
        if not _PROJECT_ID.match(project):
            return None
        return _load_result(self._session(session_id) / "projects" / project)

    def project_table(self, session_id: str, project: str) -> pd.DataFrame:
        return _load_table(self._session(session_id) / "projects" / project)

    def path(self, session_id: str, name: str) -> Path:
        """A file of the current project (job state, caches)."""
        return self._folder(session_id) / name

    def table(self, session_id: str) -> pd.DataFrame:
        """The session's table; the built-in demo table until the analyst loads one."""
        return _load_table(self._folder(session_id))

    def meta(self, session_id: str) -> dict[str, Any]:
        """Name, size and column roles of the session's table."""
        path = self._folder(session_id) / _META
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
        demo = _demo_table()
        return {
            "name": DEMO_NAME,
            "rows": len(demo),
            "columns": list(demo.columns),
            "roles": infer_roles(demo),
            "source": "generated in the app",
            "rfm": None,
        }

    def source(self, session_id: str) -> SourceRecord:
        """Where the current table came from, as run.json and the report record it."""
        meta = self.meta(session_id)
        return SourceRecord(
            file=meta.get("name", ""),
            rows=int(meta.get("rows", 0)),
            columns=list(meta.get("columns", [])),
            read_as=meta.get("source", ""),
            database=meta.get("database"),
            query=meta.get("query"),
            sha256=meta.get("sha256"),
        )

    def roles(self, session_id: str) -> dict[str, str]:
        """Every column's role: inferred, then the analyst's overrides."""
        return {**self.meta(session_id)["roles"], **self.settings(session_id).get("roles", {})}

    def save_table(
        self,
        session_id: str,
        table: pd.DataFrame,
        name: str,
        source: str = "",
        log: pd.DataFrame | None = None,
        rfm: dict | None = None,
        database: str | None = None,
        query: str | None = None,
    ) -> dict[str, Any]:
        """Make ``table`` the session's data (``log``: the transaction log it was built from, kept to go back to).

        The previous choices and result no longer apply and are removed.
        """
        folder = self._folder(session_id)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {
            "name": name,
            "rows": len(table),
            "columns": list(table.columns),
            "roles": infer_roles(table),
            "source": source,
            "rfm": rfm,
            "profile": column_profile(table),
            "database": database,
            "query": query,
            "sha256": rows_checksum(table) if database else None,
        }
        atomic_write(folder / _TABLE, lambda path: table.to_parquet(path, index=False))
        atomic_write_text(folder / _META, json.dumps(meta))
        if log is not None:
            atomic_write(folder / _LOG, lambda path: log.to_parquet(path, index=False))
        else:
            (folder / _LOG).unlink(missing_ok=True)
        for stale in (_SETTINGS, _RESULT, _NAMES, _WRITEBACKS, _MONITOR, *(p.name for p in folder.glob("umap*.npz"))):
            (folder / stale).unlink(missing_ok=True)
        return meta

    def log(self, session_id: str) -> pd.DataFrame | None:
        """The transaction log the current (RFM) table was built from, if any."""
        path = self._folder(session_id) / _LOG
        return pd.read_parquet(path) if path.exists() else None

    def use_demo(self, session_id: str) -> dict[str, Any]:
        """Go back to the built-in demo table (the project keeps its name; its data, choices and result go)."""
        folder = self._folder(session_id)
        for path in folder.iterdir():
            if path.name != _PROJECT:
                shutil.rmtree(path) if path.is_dir() else path.unlink()
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
        """The current project's result with its latest segment names (a copy: changing it changes nothing stored)."""
        return _load_result(self._folder(session_id))

    def save_result(self, session_id: str, result: SegmentationResult) -> None:
        folder = self._folder(session_id)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(folder / _RESULT, lambda path: joblib.dump(result, path))
        (folder / _MONITOR).unlink(missing_ok=True)  # it compared a batch with the segments of the result replaced
        self._annotate(
            session_id, fresh=True, names=result.names, actions=result.actions or {}, value_column=result.value_column
        )

    def save_names(self, session_id: str, names: dict[int, str]) -> None:
        """Store new segment names beside the result (a small file: renaming must not rewrite a large result)."""
        self._annotate(session_id, names=names)

    def save_actions(self, session_id: str, actions: dict[int, str]) -> None:
        """Store the analyst's actions per segment (replacing the playbook's suggestions) beside the result."""
        self._annotate(session_id, actions=actions)

    def save_value_column(self, session_id: str, column: str | None) -> None:
        """Store the column each segment's worth is measured in (None: no value column)."""
        self._annotate(session_id, value_column=column)

    def _annotate(self, session_id: str, fresh: bool = False, **changes: Any) -> None:
        """What the analyst says about the result (names, actions, value column), kept in a small file beside it.

        The file carries the result file's fingerprint, so what a crash left before a new result was written never
        relabels the new one.
        """
        folder = self._folder(session_id)
        path, fingerprint = folder / _NAMES, _fingerprint(folder / _RESULT)
        record = {} if fresh or not path.exists() else json.loads(path.read_text(encoding="utf-8"))
        if record.get("result") != fingerprint:
            record = {}
        for key in ("names", "actions"):
            if key in changes:
                record[key] = {str(k): v for k, v in changes[key].items()}
        if "value_column" in changes:
            record["value_column"] = changes["value_column"]
        atomic_write_text(path, json.dumps({**record, "result": fingerprint}))

    def save_monitor(self, session_id: str, comparison: Any) -> None:
        """The last comparison of a new batch with the current result (for its downloads and later visits)."""
        atomic_write(self._folder(session_id) / _MONITOR, lambda path: joblib.dump(comparison, path))

    def monitor(self, session_id: str) -> Any:
        """The last comparison saved with :meth:`save_monitor`, or None (none yet, or unreadable)."""
        path = self._folder(session_id) / _MONITOR
        if not path.exists():
            return None
        try:
            return joblib.load(path)
        except Exception:  # a leftover another version wrote: simply not shown
            return None

    def record_writeback(self, session_id: str, entry: dict[str, Any]) -> None:
        """Remember a table the current result was written to (database, table, run_id), for later renames."""
        folder = self._folder(session_id)
        same = (entry["database"], entry["table"])
        kept = [e for e in self.writebacks(session_id) if (e["database"], e["table"]) != same]
        record = {"result": _fingerprint(folder / _RESULT), "entries": [*kept, entry]}
        atomic_write_text(folder / _WRITEBACKS, json.dumps(record))

    def writebacks(self, session_id: str) -> list[dict[str, Any]]:
        """The tables the current result was written to (none once a new result replaced it)."""
        folder = self._folder(session_id)
        path = folder / _WRITEBACKS
        if not path.exists():
            return []
        record = json.loads(path.read_text(encoding="utf-8"))
        return list(record["entries"]) if record.get("result") == _fingerprint(folder / _RESULT) else []


def _load_table(folder: Path) -> pd.DataFrame:
    path = folder / _TABLE
    # A shallow copy: callers may add columns without changing the cached table (pandas copies on write).
    return _TABLES.get(path).copy(deep=False) if path.exists() else _demo_table().copy()


def _load_result(folder: Path) -> SegmentationResult | None:
    path = folder / _RESULT
    if not path.exists():
        return None
    result = replace(_RESULTS.get(path))
    names_path = folder / _NAMES
    if names_path.exists():
        stored = json.loads(names_path.read_text(encoding="utf-8"))
        if stored.get("result") == _fingerprint(path):
            result.names = {int(k): v for k, v in stored.get("names", {}).items()} or result.names
            result.actions = {int(k): v for k, v in stored.get("actions", {}).items()} or None
            if "value_column" in stored:
                result.value_column = stored["value_column"]
    return result


def project_store() -> ProjectStore:
    """The store under the configured data folder (read from the environment on each call, so tests can move it)."""
    return ProjectStore(load_settings().sessions_dir)
