"""The unsubscribe page a mail's "Stop these emails" link opens, in the NHS.UK design: what
would stop, and a button that stops it; then a page that says it has.

It works signed out (a mail's reader may have no session here). The signed token in the link
is the authority, as for the notifications service's one-click POST (RFC 8058), which the
button's POST is forwarded to: so the form needs no session or CSRF token (a forger would need
the token, and with it could post to the notifications service directly). Opening the page
changes nothing (mail scanners follow links); the token stays on this site (Referrer-Policy
same-origin, no third-party content) and the pages are never cached (no-store)."""
from urllib.parse import quote

import requests

from services.web.pages import page, redirect
from services.web.upstream import TIMEOUT_SECONDS, UpstreamRefused

ANY_EVENT = "*"
# What a person stops receiving, in their words (the event types a mail is sent for).
EMAIL_WORDS = {
    "measurement.signal_detected": "signals on the measures you follow",
    "measurement.assurance_changed": "changes in a measure's assurance against its target",
    "measurement.submission_overdue": "data submissions that are overdue",
    "huddle.item_escalated": "huddle items escalated to you",
    "training.capability_gap_identified": "capability gaps in your team",
    "training.target_at_risk": "training targets at risk",
}
INVALID = ("This unsubscribe link is not valid",
           "The link may be incomplete: copy the whole link from a recent email, or sign in and "
           "change what you receive in your notification preferences.")
GONE = ("You no longer receive our emails",
        "The person this link was sent to is no longer on the network's notification list.")


def what_stops(state):
    """The emails a link stops, in words: ``state`` is the notifications service's answer."""
    if state["event_type"] == ANY_EVENT:
        return "every email from the PCN Improvement Network that you may opt out of"
    words = EMAIL_WORDS.get(state["event_type"]) or state.get("description") \
        or state["event_type"]
    return f"emails about {words}"


class UnsubscribePages:
    """Mixed into ``WebService``: ``GET /unsubscribe?token=`` (asks), ``POST /unsubscribe``
    (stops, then redirects), ``GET /unsubscribe/done?token=`` (says so)."""

    def _unsubscribing(self, method, path, token):
        """The notifications service's answer for ``token`` (no person token: the link's
        token is the authority); ``UpstreamRefused`` when it refuses."""
        response = requests.request(
            method, self.settings.notifications_url + path, params={"token": token},
            headers={"Accept": "application/json"}, timeout=TIMEOUT_SECONDS)
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"error": response.text[:200]}
            raise UpstreamRefused(response.status_code, body)
        return response.json()

    def _unsubscribe_state(self, token):
        """(state, None) of a genuine token, or (None, an error page) for a link that is not
        (malformed, forged, or its person no longer a recipient)."""
        if not token or len(token) > 1000:
            return None, self.error_page(400, *INVALID)
        try:
            return self._unsubscribing("GET", "/unsubscribe/state", token), None
        except UpstreamRefused as refused:
            if refused.status in (400, 422):
                return None, self.error_page(400, *INVALID)
            if refused.status == 404:
                return None, self.error_page(410, *GONE)
            raise

    @page("GET", "/unsubscribe", signed_in=False)
    def unsubscribe_page(self, request, session):
        token = request.args.get("token", "")
        state, refused = self._unsubscribe_state(token)
        if refused:
            return refused
        if state["unsubscribed"]:
            return redirect(f"/unsubscribe/done?token={quote(token, safe='')}")
        return "unsubscribe.jinja", {"title": "Unsubscribe", "what": what_stops(state),
                                     "token": token}

    @page("POST", "/unsubscribe", signed_in=False)
    def unsubscribe_confirmed(self, request, session):
        token = request.form.get("token", "")
        state, refused = self._unsubscribe_state(token)
        if refused:
            return refused
        self._unsubscribing("POST", "/unsubscribe", token)
        return redirect(f"/unsubscribe/done?token={quote(token, safe='')}")

    @page("GET", "/unsubscribe/done", signed_in=False)
    def unsubscribed(self, request, session):
        token = request.args.get("token", "")
        state, refused = self._unsubscribe_state(token)
        if refused:
            return refused
        if not state["unsubscribed"]:  # nothing was stopped: ask first
            return redirect(f"/unsubscribe?token={quote(token, safe='')}")
        return "unsubscribed.jinja", {"title": "You are unsubscribed",
                                      "what": what_stops(state)}
