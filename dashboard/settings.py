"""Settings from the environment, with defaults that need no setup."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from core.database import data_dir_from_environment


@dataclass(frozen=True)
class Settings:
    """Where projects live and how big an upload may be.

    Attributes:
        data_dir: projects and job state (SEGSTUDIO_DATA_DIR; default ~/.segmentation-studio).
        max_upload_mb: largest accepted upload in megabytes (SEGSTUDIO_MAX_UPLOAD_MB; default 200).
        import_dir: the server's data folder, for files too big to upload (SEGSTUDIO_IMPORT_DIR; default
            <data_dir>/imports).
        max_rows: most rows a file opened in the app may have, checked before parsing (SEGSTUDIO_MAX_ROWS; default
            10 million); the `segment` command has no such bound.
        max_parse_seconds: longest a file opened in the app may take to read (SEGSTUDIO_MAX_PARSE_SECONDS; default
            60, under gunicorn's usual timeout).
        max_jobs: segmentations run at once on this server, all sessions together (SEGSTUDIO_MAX_JOBS; default 2,
            one per core of the reference machine).
        max_queued: fits that may wait for a free slot beyond max_jobs (SEGSTUDIO_MAX_QUEUED; default 20); more
            are refused with a "busy" message.
        login: (username, password) when the operator turned sign-in on (SEGSTUDIO_USERNAME and
            SEGSTUDIO_PASSWORD), else None.
        redis_url: when set (REDIS_URL), background jobs run on Celery workers through this Redis server instead of
            in processes beside the app, so several app servers share one job queue.
        session_requests: callback requests one browser session may have running at once, on all worker processes
            of the machine (SEGSTUDIO_SESSION_REQUESTS; default 3).
        session_wait: how long a request beyond that waits for a free slot before it is refused with 429
            (SEGSTUDIO_SESSION_WAIT, seconds; default 0.2).
    """

    data_dir: Path
    max_upload_mb: int
    import_dir: Path
    max_jobs: int = 2
    max_rows: int = 10_000_000
    max_parse_seconds: float = 60.0
    max_queued: int = 20
    login: tuple[str, str] | None = None
    redis_url: str | None = None
    session_requests: int = 3
    session_wait: float = 0.2

    @property
    def read_limits(self) -> dict:
        """read_table's bounds for a file opened in the app (the command line has none)."""
        return {"max_rows": self.max_rows, "max_seconds": self.max_parse_seconds}

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    @property
    def sessions_dir(self) -> Path:
        return self.data_dir / "sessions"


def load_settings() -> Settings:
    data_dir = data_dir_from_environment()
    import_dir = Path(os.environ.get("SEGSTUDIO_IMPORT_DIR") or data_dir / "imports").expanduser().resolve()
    username, password = os.environ.get("SEGSTUDIO_USERNAME", ""), os.environ.get("SEGSTUDIO_PASSWORD", "")
    if bool(username) != bool(password):
        raise SystemExit("Set both SEGSTUDIO_USERNAME and SEGSTUDIO_PASSWORD to require sign-in, or neither.")
    return Settings(
        data_dir=data_dir,
        max_upload_mb=int(os.environ.get("SEGSTUDIO_MAX_UPLOAD_MB", "200")),
        import_dir=import_dir,
        max_jobs=max(1, int(os.environ.get("SEGSTUDIO_MAX_JOBS", "2"))),
        max_queued=max(0, int(os.environ.get("SEGSTUDIO_MAX_QUEUED", "20"))),
        max_rows=max(1, int(os.environ.get("SEGSTUDIO_MAX_ROWS", "10000000"))),
        max_parse_seconds=float(os.environ.get("SEGSTUDIO_MAX_PARSE_SECONDS", "60")),
        login=(username, password) if username else None,
        redis_url=os.environ.get("REDIS_URL") or None,
        session_requests=max(1, int(os.environ.get("SEGSTUDIO_SESSION_REQUESTS", "3"))),
        session_wait=max(0.0, float(os.environ.get("SEGSTUDIO_SESSION_WAIT", "0.2"))),
    )
