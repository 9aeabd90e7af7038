"""The services' public HTTP APIs, called with the signed-in person's own rights: every call
carries a person token (shared/person_token.py) of the kind the call needs, never a key that
may do more. Calls are counted per page, for the bench and the metrics."""
import requests

from shared.person_token import PersonTokens
from shared.errors import ApiError
from shared.web import MAX_PAGE_SIZE

TIMEOUT_SECONDS = 10


class UpstreamRefused(Exception):
    """An upstream answered an error: ``status`` and its JSON ``body``."""

    def __init__(self, status, body):
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


class Upstream:
    """One page's view of the services for one person (``access``)."""

    def __init__(self, settings, tokens: PersonTokens, access, session=None):
        self.settings = settings
        self.tokens = tokens
        self.access = access
        self.http = session or requests
        self.calls = 0

    def _token(self, kind):
        a = self.access
        if kind == "person":
            return self.tokens.sign(a.user_id, "person", a.network_id, staff_id=a.staff_id)
        return self.tokens.sign(a.user_id, a.upstream_kind, a.network_id,
                                practice_id=a.practice_id, staff_id=a.staff_id,
                                practice_lead=a.is_practice_lead)

    def call(self, method, base, path, kind="member", params=None, body=None, raw=False,
             headers=None):
        """One request to a service (``base``): its JSON answer (the response when ``raw``);
        ``UpstreamRefused`` for any error status. ``headers``: more, such as an
        ``Idempotency-Key``."""
        self.calls += 1
        response = self.http.request(
            method, base + path, params=params, json=body, timeout=TIMEOUT_SECONDS,
            headers={"Authorization": f"Bearer {self._token(kind)}", **(headers or {})})
        if response.status_code >= 400:
            try:
                payload = response.json()
            except ValueError:
                payload = {"error": response.text[:200]}
            raise UpstreamRefused(response.status_code, payload)
        return response if raw else response.json()

    def measurement(self, path, **kwargs):
        return self.call("GET", self.settings.measurement_url, path, **kwargs)

    def projects(self, path, **kwargs):
        return self.call("GET", self.settings.projects_url, path, **kwargs)

    def training(self, path, **kwargs):
        return self.call("GET", self.settings.training_url, path, **kwargs)

    def every_item(self, read, path, params):
        """Every item of a list endpoint, page after page of the longest page the services
        give: ``read`` is ``self.training`` or the like."""
        items, page = [], 1
        while True:
            answer = read(path, params={**params, "page": page, "page_size": MAX_PAGE_SIZE})
            items += answer["items"]
            if not answer["items"] or len(items) >= answer["total"]:
                return items
            page += 1

    def send(self, service, method, path, body=None, **kwargs):
        """A change at ``service`` (projects, measurement, training or notifications as the
        person's practice or network, never as a person): its JSON answer."""
        base = getattr(self.settings, f"{service}_url")
        return self.call(method, base, path, body=body, **kwargs)

    def notifications(self, method, path, **kwargs):
        return self.call(method, self.settings.notifications_url, path, kind="person", **kwargs)


__all__ = ["Upstream", "UpstreamRefused", "ApiError"]
