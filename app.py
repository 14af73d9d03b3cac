"""Segmentation Studio: the Dash app. `python app.py` serves it on http://127.0.0.1:8050; gunicorn serves `server`."""

from __future__ import annotations

import logging
import os

import dash

from dashboard import shell
from dashboard.auth import require_login
from dashboard.failures import on_callback_error, refuse_malformed_callbacks
from dashboard.fairness import share_per_session
from dashboard.jobs import background_manager
from dashboard.review import serve_review_reports
from dashboard.session import establish_sessions, server_key, session_signing_key
from dashboard.settings import load_settings
from dashboard.vendor import BOOTSTRAP_URL, serve_bootstrap


class StudioDash(dash.Dash):
    """Dash with its background-job handles and per-page token signed under a key bound to the browser's session,
    so that none of them can be used from another browser (see dashboard.session)."""

    def _get_signing_secret(self) -> bytes:
        return session_signing_key(super()._get_signing_secret())


# The server's log: jobs' start, end, duration and failures, callback errors (no data values, no credentials).
# Under gunicorn it goes to gunicorn's error log (stderr).
if not logging.getLogger().handlers:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
logging.getLogger("segstudio").setLevel(os.environ.get("SEGSTUDIO_LOG_LEVEL", "INFO").upper())

settings = load_settings()
manager = background_manager(settings)
app = StudioDash(
    __name__,
    use_pages=True,
    title="Segmentation Studio",
    external_stylesheets=[BOOTSTRAP_URL],
    background_callback_manager=manager,
    suppress_callback_exceptions=True,
    on_error=on_callback_error,
)
app.layout = shell.layout
server = app.server
server.secret_key = server_key()
# With REDIS_URL set, the fits run on Celery workers started with `celery -A app:celery_app worker`.
celery_app = getattr(manager, "handle", None) if settings.redis_url else None
# Uploads arrive base64-encoded inside a JSON request, about 4/3 of the file size.
server.config["MAX_CONTENT_LENGTH"] = int(settings.max_upload_mb * 1.4 + 10) * 1024 * 1024
if settings.login:
    require_login(server, *settings.login)
serve_bootstrap(server)
serve_review_reports(server)
establish_sessions(server)
refuse_malformed_callbacks(server)
share_per_session(server)

import callbacks  # noqa: E402,F401  (registers every page's callbacks)

# Dash completes its setup (the callback map, the pages' router) on a worker's first request, without a lock: under
# threaded workers two first requests race and one is answered "callback not found". Do it now, before serving.
with server.test_client() as _client:
    _client.get("/")

if __name__ == "__main__":
    app.run(
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8050")),
        debug=os.environ.get("SEGSTUDIO_DEBUG") == "1",
    )
