"""A browser's side of Dash's callback protocol, over HTTP: what the load test's simulated analysts speak.

It reads the page config (the signed page-load token background callbacks are bound to), takes the session cookie,
and calls callbacks by the input that triggers them, as the renderer does; a background callback is polled with its
signed cache key and job until it answers.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import requests

SESSION_COOKIE = "segstudio_session"


class DashError(RuntimeError):
    """The server answered a callback with an error status."""

    def __init__(self, status: int, text: str):
        super().__init__(f"HTTP {status}: {text[:300]}")
        self.status = status
        self.text = text


class DashClient:
    """One browser session of a Dash app (its cookie, its page-load token), calling callbacks over HTTP."""

    def __init__(self, url: str, timeout: float = 120, http: Any = None):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.http = http if http is not None else requests.Session()  # or anything with requests' get/post/cookies
        page = self._get("/").text
        config = re.search(r'<script id="_dash-config" type="application/json">(.*?)</script>', page, re.S)
        self.end_id = json.loads(config.group(1)).get("end_id") if config else None
        self.cookie = self.http.cookies.get(SESSION_COOKIE)  # set with the first page: "<session id>.<signature>"
        self.session_id = (self.cookie or "").split(".")[0]
        self.callbacks = self._get("/_dash-dependencies").json()

    def _get(self, path: str) -> requests.Response:
        response = self.http.get(self.url + path, timeout=self.timeout)
        if response.status_code != 200:
            raise DashError(response.status_code, response.text)
        return response

    def find(self, trigger: str, output: str = "") -> dict:
        """The callback that ``trigger`` ("id.property") fires and whose output names ``output``."""
        for spec in self.callbacks:
            if output in spec["output"] and any(_name(i) == trigger for i in spec["inputs"]):
                return spec
        raise KeyError(f"no callback triggered by {trigger} with output {output!r}")

    def call(
        self,
        trigger: str,
        value: Any,
        output: str = "",
        values: dict[str, Any] | None = None,
        poll_every: float = 0.5,
        deadline: float = 600,
    ) -> Any:
        """Fire ``trigger`` with ``value`` (other inputs and states from ``values``, else None); the response.

        A pattern-matching trigger is named by one matched component (``'{"file":"a.csv","type":"button"}.n_clicks'``)
        and ``value`` lists (id, value) pairs of every matched component. Returns the decoded response
        ({"multi": True, "response": {"id": {"property": value}}} for several outputs), or None when the callback
        made no update (HTTP 204). A background callback is polled until it answers.
        """
        changed = trigger
        component, _, prop = trigger.rpartition(".")
        if component.startswith("{"):  # the wildcard form the callback was declared with
            wildcard = {key: ["ALL"] for key in json.loads(component) if key != "type"}
            trigger = (
                json.dumps({**wildcard, "type": json.loads(component)["type"]}, sort_keys=True, separators=(",", ":"))
                + "."
                + prop
            )
        spec = self.find(trigger, output)
        values = {**(values or {}), trigger: value}
        body = {
            "output": spec["output"],
            "outputs": _outputs(spec["output"]),
            "inputs": [_item(i, values) for i in spec["inputs"]],
            "state": [_item(s, values) for s in spec["state"]],
            "changedPropIds": [changed],
        }
        params = {"endId": self.end_id} if self.end_id else {}
        answer = self._post(body, params)
        if not (isinstance(answer, dict) and "cacheKey" in answer):
            return answer
        # A background callback: the first answer names the job; poll with empty inputs, as the renderer does.
        params = {**params, "cacheKey": answer["cacheKey"], "job": answer["job"]}
        polled = {
            **body,
            "inputs": [_cleared(i) for i in body["inputs"]],
            "state": [_cleared(s) for s in body["state"]],
        }
        stop = time.monotonic() + deadline
        while time.monotonic() < stop:
            time.sleep(poll_every)
            answer = self._post(polled, params)
            if answer is None or "response" in answer:
                return answer
        raise TimeoutError(f"{trigger}: no answer within {deadline} s")

    def _post(self, body: dict, params: dict) -> Any:
        try:
            response = self.http.post(
                self.url + "/_dash-update-component", json=body, params=params, timeout=self.timeout
            )
        except requests.ConnectionError:
            # The server closed an idle keep-alive connection as this request went out on it; a browser sends
            # the request again on a new connection, and so does this client (once).
            response = self.http.post(
                self.url + "/_dash-update-component", json=body, params=params, timeout=self.timeout
            )
        if response.status_code == 204:
            return None
        if response.status_code != 200:
            raise DashError(response.status_code, response.text)
        return response.json()


def _name(item: dict) -> str:
    return f"{item['id']}.{item['property']}"


def _item(spec: dict, values: dict[str, Any]) -> dict:
    name = _name(spec)
    if spec["id"].startswith("{"):  # a pattern-matching (ALL) dependency: a list of matched components
        return [
            {"id": component, "property": spec["property"], "value": v}  # type: ignore[return-value]
            for component, v in values.get(name, [])
        ]
    return {"id": spec["id"], "property": spec["property"], "value": values.get(name)}


def _cleared(item: dict | list) -> dict | list:
    if isinstance(item, list):
        return [_cleared(one) for one in item]
    return {**item, "value": None}


def _outputs(output: str) -> list[dict] | dict:
    """The ``outputs`` field the renderer sends: one {id, property} per output of the callback."""
    if not output.startswith(".."):
        component, _, prop = output.rpartition(".")
        return {"id": component, "property": prop}
    parts = output[2:-2].split("...")
    return [dict(zip(("id", "property"), part.rsplit(".", 1))) for part in parts]
