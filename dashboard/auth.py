"""Optional sign-in for the whole app: HTTP basic authentication with one operator-set account.

Set SEGSTUDIO_USERNAME and SEGSTUDIO_PASSWORD to turn it on (both, or neither). Every request, pages, callbacks,
downloads and review links alike, then needs the account; serve the app over HTTPS (a reverse proxy) so the
password does not travel in clear text.
"""

from __future__ import annotations

import hmac

import flask

REALM = "Segmentation Studio"


def require_login(server: flask.Flask, username: str, password: str) -> None:
    """Refuse every request that does not carry the account's credentials (401 with a sign-in challenge)."""

    @server.before_request
    def signed_in():
        given = flask.request.authorization
        if (
            given is not None
            and given.type == "basic"
            and hmac.compare_digest((given.username or "").encode(), username.encode())
            and hmac.compare_digest((given.password or "").encode(), password.encode())
        ):
            return None
        return flask.Response(
            "Sign in to Segmentation Studio.", 401, {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'}
        )
