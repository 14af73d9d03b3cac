"""Serve Bootstrap's CSS from an installed package: the app must work offline, so no CDN links."""

from __future__ import annotations

from pathlib import Path

import flask
import flask_bootstrap

BOOTSTRAP_DIR = Path(flask_bootstrap.__file__).parent / "static" / "bootstrap5" / "css"
BOOTSTRAP_URL = "/vendor/bootstrap/bootstrap.min.css"


def serve_bootstrap(server: flask.Flask) -> None:
    """Add the route that serves Bootstrap's stylesheet (and its source map) from the package folder."""

    @server.route("/vendor/bootstrap/<path:name>")
    def bootstrap_file(name: str) -> flask.Response:
        return flask.send_from_directory(BOOTSTRAP_DIR, name, max_age=86400)
