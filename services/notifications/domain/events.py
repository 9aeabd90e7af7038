"""What the service reads of an event it was sent (the envelope as the handler loaded it:
datetimes, dates and a UUID event id), and what of it may be kept or leave the service."""
from datetime import date, datetime, timezone

THIN_FIELDS = ("kind", "period", "series", "rule", "current", "previous", "team",
               "was_escalated")


def as_aware(moment):
    """An aware datetime from a loaded one, a naive one (UTC) or ISO text (a stored ladder's
    starting event, kept before events were kept loaded)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def as_text(value):
    """A data value as the event carried it in JSON: a date or datetime as ISO 8601 text (as
    the event schemas write them), anything else as it is."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def thin_data(data):
    """What may leave the service about an event: ids and a few descriptive words, never a
    contact or free text (webhook bodies and stored notices carry only this)."""
    thin = {name: as_text(value) for name, value in data.items()
            if name.endswith("_id") or name in THIN_FIELDS}
    return {name: value for name, value in thin.items()
            if value is None or isinstance(value, (str, int, float, bool))}


def thin_envelope(envelope):
    """What a ladder keeps of the event that started it: the envelope's ids and moments and
    its thin data (all a step's notice needs)."""
    return {"event_id": str(envelope["event_id"]), "event_type": envelope["event_type"],
            "occurred_at": as_aware(envelope["occurred_at"]),
            "network_id": envelope["network_id"], "practice_id": envelope.get("practice_id"),
            "correlation_id": envelope.get("correlation_id"),
            "data": thin_data(envelope["data"])}
