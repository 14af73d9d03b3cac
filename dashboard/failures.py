"""What a page shows when a callback fails: a message in the page, never an HTTP 500, and a log line for the operator.

Callbacks catch the errors an analyst can act on (SegmentationError) and say so where they happen; this is the net
under everything else: a request the page never sends (a value of the wrong type, a crafted body) or a defect.
The analyst sees a short message in the shell's alert; the server log gets the traceback, without data values.
"""

from __future__ import annotations

import logging

import flask
from dash import set_props
from werkzeug.exceptions import HTTPException

from core.errors import SegmentationError
from dashboard import ids

log = logging.getLogger("segstudio.callbacks")
UNEXPECTED = (
    "Something went wrong on the server while updating this page; it was logged for the operator. "
    "Your project is unchanged. Reload the page and try again."
)
MALFORMED = "This request does not match the page's callbacks (the page may be out of date); reload the page."


def on_callback_error(error: Exception) -> None:
    """Dash's app-wide error handler: outputs stay as they were, the shell's alert says what happened."""
    if isinstance(error, SegmentationError):
        message = str(error)
    else:
        log.exception("callback failed: %s", type(error).__name__, exc_info=error)
        message = UNEXPECTED
    set_props(ids.APP_ALERT, {"children": message, "is_open": True})


def refuse_malformed_callbacks(server: flask.Flask) -> None:
    """A callback request that Dash cannot even dispatch (inputs that do not match the callback, an unknown output,
    a body of the wrong shape) is answered 400 with a message, not 500: the page never sends one."""

    @server.errorhandler(Exception)
    def malformed(error: Exception) -> flask.Response | HTTPException:
        if isinstance(error, HTTPException):
            return error
        if not flask.request.path.endswith("/_dash-update-component"):
            log.exception("request failed: %s %s", flask.request.method, flask.request.path, exc_info=error)
            return flask.Response(
                "The server could not answer this request; it was logged for the operator.", 500, mimetype="text/plain"
            )
        log.warning("malformed callback request refused: %s: %s", type(error).__name__, str(error)[:200])
        return flask.Response(MALFORMED, 400, mimetype="text/plain")
