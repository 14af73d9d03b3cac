"""Which browser session a request belongs to.

The id is 128 random bits in an HttpOnly cookie; the shell copies it into a dcc.Store so that background jobs, which
run outside the request, know whose project to work on.
"""
from __future__ import annotations

import re
import secrets

import flask

from core.errors import SegmentationError

COOKIE = "segstudio_session"
_VALID = re.compile(r"^[0-9a-f]{32}$")


def new_session_id() -> str:
    return secrets.token_hex(16)


def is_valid(session_id: object) -> bool:
    return isinstance(session_id, str) and bool(_VALID.match(session_id))


def current_session_id() -> str:
    """The session of the current request, creating (and setting the cookie for) a new one if needed."""
    if not flask.has_request_context():
        return new_session_id()
    existing = flask.request.cookies.get(COOKIE)
    if is_valid(existing):
        return existing
    session_id = new_session_id()

    @flask.after_this_request
    def remember(response: flask.Response) -> flask.Response:
        response.set_cookie(COOKIE, session_id, httponly=True, samesite="Lax", max_age=60 * 60 * 24 * 365)
        return response

    return session_id


def checked(session_id: object) -> str:
    """The session id from a callback's State, refused unless it is one this app could have issued."""
    if not is_valid(session_id):
        raise SegmentationError("This page has lost its session; reload it.")
    return session_id  # type: ignore[return-value]


def guard_callbacks(server: flask.Flask, store_id: str) -> None:
    """Refuse any callback request that names a session other than the browser's own cookie.

    Callbacks take the session id from a dcc.Store (background jobs run outside the request and cannot read the
    cookie), so a crafted request could name another session's id; this check runs before Dash dispatches it,
    for ordinary and background callbacks alike.
    """

    @server.before_request
    def same_session():
        if flask.request.method != "POST" or not flask.request.path.endswith("/_dash-update-component"):
            return None
        if "cacheKey" in flask.request.args:
            # A background job's progress polls: the launching request was checked, and the job is then named by
            # a cache key (a hash that includes the inputs) that only the launching page knows.
            return None
        body = flask.request.get_json(silent=True) or {}
        cookie = flask.request.cookies.get(COOKIE)
        for item in _flatten([*(body.get("inputs") or []), *(body.get("state") or [])]):
            if isinstance(item, dict) and item.get("id") == store_id and item.get("value") != cookie:
                flask.abort(403, "This page belongs to another session; reload it.")
        return None


def _flatten(items: list) -> list:
    out = []
    for item in items:  # pattern-matching inputs arrive as nested lists
        out.extend(_flatten(item) if isinstance(item, list) else [item])
    return out
