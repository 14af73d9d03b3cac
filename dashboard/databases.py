"""The app's database connections (the operator's, plus the built-in demo SQLite database), and keeping tables the
segments were written to in step with renames."""

from __future__ import annotations

import logging

from core.database import Connection, Databases, load_databases, rename_in_table
from core.errors import SegmentationError
from dashboard.settings import load_settings
from dashboard.store import ProjectStore

log = logging.getLogger("segstudio.database")


def app_databases() -> Databases:
    """The operator's connections and the built-in demo database (made on first use), so a fresh machine has one."""
    return load_databases(load_settings().data_dir)


def chosen_connection(name: object, url: object) -> Connection:
    """The connection the analyst picked (a name the operator configured; a typed URL only where allowed)."""
    databases = app_databases()
    if isinstance(url, str) and url.strip():
        return databases.get(url.strip())
    if not isinstance(name, str) or name not in databases.connections:
        raise SegmentationError("Choose one of the listed database connections.")
    return databases.connections[name]


def connection_options(databases: Databases, writable_only: bool = False) -> list[dict[str, str]]:
    """Dropdown options: names and labels only; URLs and passwords stay on the server."""
    return [
        {"label": c.label, "value": c.name} for c in databases.connections.values() if c.writable or not writable_only
    ]


def update_written_tables(store: ProjectStore, session_id: str, names: dict[int, str]) -> list[str]:
    """After a rename, set the new names in every table this result was written to; one line per table."""
    lines: list[str] = []
    entries = store.writebacks(session_id)
    if not entries:
        return lines
    databases = app_databases()
    for entry in entries:
        where = f"{entry['table']} in '{entry['database']}'"
        try:
            changed = rename_in_table(databases.get(entry["database"]), entry["table"], entry["run_id"], names)
            lines.append(f"Updated {changed:,} rows of {where}.")
        except SegmentationError as exc:
            log.info("a written table was not updated after a rename: %s", exc)
            lines.append(f"{where} was not updated: {exc}")
    return lines
