"""After a send: retry with backoff or give up, and the events a delivery publishes."""
import math
import random
from datetime import timedelta

from services.notifications.domain.events import as_aware
from shared.domain import EventSource
from shared.events.envelope import Trace

SOURCE = EventSource("notifications")


def backoff_seconds(attempts, settings, rng=random):
    """Exponential backoff with full jitter after ``attempts`` failures, capped."""
    ceiling = min(settings.backoff_cap_seconds,
                  settings.backoff_base_seconds * math.pow(2, max(attempts - 1, 0)))
    return settings.backoff_base_seconds / 2 + rng.uniform(0, ceiling)


def after_failure(notification, error, now, settings, rng=random):
    """The fields to set after a failed send: retry later (backoff, or what the receiver
    asked with Retry-After), or ``failed`` when the error is final or attempts ran out."""
    attempts = notification["attempts"] + 1
    final = not error.retryable or attempts >= settings.max_attempts
    fields = {"attempts": attempts, "last_error": error.reason, "claimed_until": None}
    if final:
        return {**fields, "state": "failed", "reason": error.reason, "failed_at": now}
    wait = backoff_seconds(attempts, settings, rng)
    if error.retry_after is not None:
        wait = max(wait, error.retry_after)
    return {**fields, "state": "queued", "due_at": now + timedelta(seconds=wait)}


def sent_event(notification, now, trace):
    occurred = as_aware(notification["occurred_at"])
    return SOURCE.event("notification.sent", {
        "notification_id": notification["_id"], "event_id": notification["event_id"],
        "event_type": notification["event_type"], "recipient_id": notification["recipient_id"],
        "channel": notification["channel"], "route": notification["route"],
        "attempts": max(notification["attempts"], 1), "sent_at": now,
        "latency_seconds": max((now - occurred).total_seconds(), 0.0),
    }, notification["network_id"], trace)


def failed_event(notification, fields, trace):
    return SOURCE.event("notification.failed", {
        "notification_id": notification["_id"], "event_id": notification["event_id"],
        "event_type": notification["event_type"], "recipient_id": notification["recipient_id"],
        "channel": notification["channel"], "route": notification["route"],
        "attempts": fields["attempts"], "reason": fields["reason"],
        "failed_at": fields["failed_at"],
    }, notification["network_id"], trace)


def trace_of(notification):
    """The trace of a notification's own events: its event's correlation, caused by it."""
    return Trace(notification.get("correlation_id") or notification["_id"],
                 notification["event_id"])
