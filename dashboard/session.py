"""Which browser session a request belongs to: decided on the server from the session cookie, never from the page.

The cookie holds 128 random bits and the server's signature of them (HMAC-SHA256 under a key kept in the data
folder), is HttpOnly, and is the only thing that names a session: no callback input or state does. A background job
runs outside the request; Dash hands it the launching request's cookies (server side, with the job), so it derives
the same session. Dash's background-job handles and its per-page token are signed with a key bound to the session
(see :func:`session_signing_key`), so a handle or page token taken from one browser is useless in another.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from functools import lru_cache
from pathlib import Path

import flask
from dash import callback_context
from dash.exceptions import MissingCallbackContextException

from core.errors import SegmentationError
from dashboard.settings import load_settings

COOKIE = "segstudio_session"
_ID = re.compile(r"^[0-9a-f]{32}$")
_SIGNED = re.compile(r"^([0-9a-f]{32})\.([0-9a-f]{64})$")
CALLBACK_PATH = "/_dash-update-component"
LOST = "This page has lost its session (the cookie is missing or was not issued by this server); reload the page."


class SessionLost(SegmentationError):
    """A callback arrived without a session cookie this server issued."""


def new_session_id() -> str:
    return secrets.token_hex(16)


def is_valid(session_id: object) -> bool:
    """A session id in the form the server issues (used by the store before it touches a folder)."""
    return isinstance(session_id, str) and bool(_ID.match(session_id))


def checked(session_id: object) -> str:
    """``session_id`` if it has the form of a session id, else SessionLost (the store's guard on folder names)."""
    if not is_valid(session_id):
        raise SessionLost(LOST)
    return session_id  # type: ignore[return-value]


@lru_cache(maxsize=4)
def _key_at(path: Path) -> bytes:
    """The server's secret, created once (0600) in the data folder so every worker and job process shares it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


def server_key() -> bytes:
    """SEGSTUDIO_SECRET_KEY when the operator sets one (several machines), else the data folder's own key."""
    given = os.environ.get("SEGSTUDIO_SECRET_KEY")
    if given:
        return hashlib.sha256(given.encode("utf-8")).digest()
    return _key_at(load_settings().data_dir / "secret.key")


def sign(session_id: str) -> str:
    """The cookie value for a session: its id and the server's signature of it."""
    mac = hmac.new(server_key(), f"session:{checked(session_id)}".encode(), hashlib.sha256).hexdigest()
    return f"{session_id}.{mac}"


def verify(value: object) -> str | None:
    """The session a cookie value names, or None unless this server signed it.

    Bare ids (cookies before they were signed) are not honoured: those ids were also in the page, where a script
    could read them, so they must not open anything any more.
    """
    if not isinstance(value, str):
        return None
    match = _SIGNED.match(value)
    if match and hmac.compare_digest(sign(match.group(1)), value):
        return match.group(1)
    return None


def request_session() -> str:
    """The session of the callback being run: from the request's cookie, or for a background job from the cookie
    of the request that launched it. Raises SessionLost when there is none."""
    try:
        cookies = callback_context.cookies
    except MissingCallbackContextException:
        cookies = flask.request.cookies if flask.has_request_context() else {}
    session_id = verify(cookies.get(COOKIE))
    if session_id is None:
        raise SessionLost(LOST)
    return session_id


def session_signing_key(base: bytes) -> bytes:
    """Dash's signing key for the current request, bound to its session: the per-page token Dash puts in the page
    and the background-job handles (result key, job) it returns verify only with the same browser's cookie.
    Outside a request, or before a session is known, a random key that verifies nothing."""
    session_id = flask.g.get("session") if flask.has_request_context() else None
    scope = session_id or secrets.token_hex(16)
    return hmac.new(base, f"dash-handles:{scope}".encode(), hashlib.sha256).digest()


def establish_sessions(server: flask.Flask) -> None:
    """Give every browser a signed session cookie on its first page, and refuse callbacks that carry none.

    A callback request without a valid cookie is answered 403 before Dash runs anything: the page that sent it
    was not loaded from this server in this browser (or its cookie was cleared), and reloading fixes it.
    """

    @server.before_request
    def identify() -> flask.Response | None:
        value = flask.request.cookies.get(COOKIE)
        session_id = verify(value)
        if session_id is None and flask.request.path.endswith(CALLBACK_PATH):
            return flask.Response(LOST, 403, mimetype="text/plain")
        if session_id is None:
            session_id = new_session_id()
        flask.g.session = session_id
        flask.g.issue_cookie = value != sign(session_id)
        return None

    @server.after_request
    def remember(response: flask.Response) -> flask.Response:
        if flask.g.get("issue_cookie"):
            response.set_cookie(
                COOKIE,
                sign(flask.g.session),
                httponly=True,
                samesite="Lax",
                secure=flask.request.is_secure,
                max_age=60 * 60 * 24 * 365,
            )
        return response
