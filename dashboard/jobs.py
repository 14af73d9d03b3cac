"""The background-callback manager: long fits run in worker processes, with progress and cancel."""
from __future__ import annotations

import diskcache
from dash import DiskcacheManager

from dashboard.settings import Settings


def background_manager(settings: Settings) -> DiskcacheManager:
    """A diskcache-backed manager: no server to set up, shared by every worker of one machine."""
    settings.jobs_dir.mkdir(parents=True, exist_ok=True)
    return DiskcacheManager(diskcache.Cache(str(settings.jobs_dir)), expire=24 * 3600)
