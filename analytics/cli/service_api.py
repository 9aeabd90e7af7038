"""The measurement service as ``pcnqi`` calls it, over the standard library's HTTP client:
retried on network errors and 502/503/504, every other refusal an exception that knows its
exit status."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import NamedTuple, Sequence

from analytics.cli.chunks import Chunk
from analytics.cli.exit_statuses import (
    EXIT_NOT_FOUND, EXIT_REFUSED, EXIT_SERVICE_ERROR, EXIT_UNREACHABLE, EXIT_USAGE,
    CommandFailed,
)

DEFAULT_API_URL = "http://127.0.0.1:8002"
REQUEST_TIMEOUT_SECONDS = 60
# Pauses before retrying a request that met a network error or a 502/503/504: the same
# Idempotency-Key makes a retried chunk safe even when its first answer was lost.
RETRY_PAUSES_SECONDS = (1, 2, 4)
RETRIED_STATUSES = (502, 503, 504)


class ServiceUnreachable(Exception):
    """No answer (network error, timeout) even after the retries."""


class ServiceAnswer(NamedTuple):
    status: int
    headers: dict
    body: bytes

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class ServiceRefused(Exception):
    """The service answered 4xx/5xx (or not what was asked for: ``message`` says so);
    ``fields`` is its JSON error's ``fields``."""

    def __init__(self, answer: ServiceAnswer, message=None):
        error = answer.json() if isinstance(answer.json(), dict) else {}
        self.status = answer.status
        self.message = message or error.get("message") or answer.body[:200].decode(
            "utf-8", "replace")
        self.fields = error.get("fields") or {}
        super().__init__(f"HTTP {self.status}: {self.message}")

    def exit_status(self):
        if self.status in (401, 403):
            return EXIT_UNREACHABLE
        if self.status == 404:
            return EXIT_NOT_FOUND
        if self.status in (400, 422):
            return EXIT_REFUSED
        return EXIT_SERVICE_ERROR

    def describe(self):
        details = "; ".join(
            f"{field}: {', '.join(map(str, why)) if isinstance(why, list) else why}"
            for field, why in self.fields.items())
        return f"HTTP {self.status}: {self.message}" + (f" ({details})" if details else "")


class MeasurementApi:
    """The few calls ``pcnqi`` makes, over the standard library's HTTP client."""

    def __init__(self, base_url: str, api_key: str, timeout=REQUEST_TIMEOUT_SECONDS,
                 retry_pauses=None, sleep=None):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.retry_pauses = RETRY_PAUSES_SECONDS if retry_pauses is None else retry_pauses
        self.sleep = sleep or time.sleep

    def request(self, method, path, query=None, body=None, headers=None) -> ServiceAnswer:
        """The answer to one request, retried on network errors and 502/503/504; raises
        :class:`ServiceUnreachable`, or :class:`ServiceRefused` for any other status >= 400."""
        url = self.base_url + path
        query = {k: v for k, v in (query or {}).items() if v}
        if query:
            url += "?" + urllib.parse.urlencode(query)
        all_headers = {"Authorization": f"Bearer {self.api_key}", "Accept": "*/*"}
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        problem, asked_pause = None, 0
        for pause in (0, *self.retry_pauses):
            if pause:
                self.sleep(max(pause, asked_pause))
            request = urllib.request.Request(url, data=body, headers=all_headers,
                                             method=method)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return ServiceAnswer(response.status, dict(response.headers),
                                         response.read())
            except urllib.error.HTTPError as exc:
                answer = ServiceAnswer(exc.code, dict(exc.headers or {}), exc.read())
                if exc.code not in RETRIED_STATUSES:
                    raise ServiceRefused(answer) from None
                problem = f"HTTP {exc.code}"
                asked_pause = _retry_after(exc.headers)
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                problem = str(getattr(exc, "reason", None) or exc) or type(exc).__name__
        raise ServiceUnreachable(f"{method} {url}: {problem} (tried "
                                 f"{len(self.retry_pauses) + 1} times)")

    def measure(self, measure_id) -> dict:
        answer = self.request("GET", f"/measures/{_path(measure_id)}")
        return _json_object(answer, ("value_kind", "frequency"))

    def spc(self, measure_id, practice_id=None) -> dict:
        answer = self.request("GET", f"/measures/{_path(measure_id)}/spc",
                              {"practice_id": practice_id})
        return _json_object(answer, ("points",))

    def chart(self, measure_id, fmt, practice_id=None) -> bytes:
        return self.request("GET", f"/measures/{_path(measure_id)}/chart.{fmt}",
                            {"practice_id": practice_id}).body

    def submit_chunk(self, chunk: Chunk) -> tuple:
        """(the service's batch answer, True if it replays an earlier run's answer)."""
        answer = self.request("POST", "/submissions/batch", body=chunk.body,
                              headers={"Idempotency-Key": chunk.idempotency_key})
        body = _json_object(answer, ("rows",))
        replayed = any(k.lower() == "idempotent-replayed" and v == "true"
                       for k, v in answer.headers.items())
        return body, replayed


def _retry_after(headers) -> float:
    """A 503's ``Retry-After`` in seconds (a number of seconds only), at most a minute."""
    try:
        return min(max(float((headers or {}).get("Retry-After", 0)), 0), 60)
    except ValueError:
        return 0


def _json_object(answer: ServiceAnswer, required: Sequence[str]) -> dict:
    """The answer's JSON object, which must hold ``required``; else :class:`ServiceRefused`
    (a proxy's page, or another service at that address)."""
    body = answer.json()
    if not isinstance(body, dict) or any(name not in body for name in required):
        raise ServiceRefused(answer, f"expected the measurement service's JSON with "
                                     f"{', '.join(required)}; is --api/PCN_API_URL right?")
    return body


def _path(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


def api_for(api_url, environ) -> MeasurementApi:
    """The service at ``api_url`` (``--api``), else ``$PCN_API_URL``, else the default, with the
    key in ``$PCN_API_KEY``; no key is a usage error."""
    key = environ.get("PCN_API_KEY", "").strip()
    if not key:
        raise CommandFailed(EXIT_USAGE, "set PCN_API_KEY to your API key (pcn_...)")
    return MeasurementApi(api_url or environ.get("PCN_API_URL") or DEFAULT_API_URL, key)
