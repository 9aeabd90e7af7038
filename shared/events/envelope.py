"""The envelope every event travels in, and how one is made."""
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from marshmallow import RAISE, Schema, fields, validate

SERVICE_NAMES = ("projects", "measurement", "training", "notifications")


class EnvelopeSchema(Schema):
    """The fields around every event; ``data`` is checked by the event type's own schema."""

    class Meta:
        unknown = RAISE

    event_id = fields.UUID(required=True)
    event_type = fields.String(required=True, validate=validate.Length(min=3))
    schema_version = fields.Integer(required=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True, format="iso", default_timezone=timezone.utc)
    source = fields.String(required=True, validate=validate.OneOf(SERVICE_NAMES))
    # None only for platform events that belong to no network (keys of admin and ops).
    network_id = fields.String(required=True, allow_none=True, validate=validate.Length(min=1))
    practice_id = fields.String(load_default=None, allow_none=True)
    correlation_id = fields.String(required=True, validate=validate.Length(min=1))
    causation_id = fields.String(load_default=None, allow_none=True)
    data = fields.Dict(required=True)


def utc_now():
    return datetime.now(timezone.utc)


def isoformat(moment):
    """UTC ISO 8601 with a ``Z``-free ``+00:00`` offset, as marshmallow writes it."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Trace:
    """Where a change came from: the request or event that caused it."""

    correlation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    causation_id: str | None = None

    @classmethod
    def after(cls, envelope):
        """The trace of work done because of ``envelope``: same correlation, caused by it."""
        return cls(envelope["correlation_id"], str(envelope["event_id"]))


def new_envelope(event_type, data, *, source, network_id, trace, practice_id=None,
                 schema_version=1, occurred_at=None):
    """Build an envelope as a plain dict, ready to store in an outbox and publish as JSON."""
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "schema_version": schema_version,
        "occurred_at": isoformat(occurred_at or utc_now()),
        "source": source,
        "network_id": network_id,
        "practice_id": practice_id,
        "correlation_id": trace.correlation_id,
        "causation_id": trace.causation_id,
        "data": data,
    }
