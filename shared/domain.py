"""What every service's domain code stands on: ids, the events of a source, a change to one
stored document, and domain errors.

Domain code is plain Python on dicts: it decides, it does not store and it knows nothing of
HTTP or MongoDB. A command returns a new document or a :class:`Change`, with the envelopes of
the events it causes; the repository writes both in one operation (the outbox) and only while
the document is still the version the change was decided on. A broken rule is a
:class:`DomainError`; ``shared.web`` maps each kind to its HTTP status.
"""
import uuid
from dataclasses import dataclass, field

from shared.errors import Refusal
from shared.events.catalogue import make_event

VERSION = "version"


def new_id(prefix):
    """A new identifier such as ``prj_3f2a...``: the prefix says what it names."""
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


class EventSource:
    """The events one service publishes (its name is the envelope's ``source``)."""

    def __init__(self, name):
        self.name = name

    def event(self, event_type, data, network_id, trace, practice_id=None):
        return make_event(event_type, data, source=self.name, network_id=network_id,
                          trace=trace, practice_id=practice_id)


@dataclass
class Change:
    """A change to one stored document: fields to set, items to append to list fields, and the
    events it causes. ``decided_on`` is the document as read when the change was decided: the
    repository applies the change only while that document's ``version`` still holds, and
    bumps the version, so two concurrent commands cannot both act on the same state."""
    decided_on: dict
    set: dict = field(default_factory=dict)
    append: dict = field(default_factory=dict)
    events: list = field(default_factory=list)

    @property
    def document_id(self):
        return self.decided_on["_id"]

    @property
    def version(self):
        """The version decided on; ``None`` for a document stored before versions existed."""
        return self.decided_on.get(VERSION)

    def applied(self):
        """The document as it will be once stored (for answers and for chained commands)."""
        document = {**self.decided_on, **self.set}
        for name, items in self.append.items():
            document[name] = list(document.get(name) or []) + list(items)
        document[VERSION] = (self.version or 0) + 1
        return document


class DomainError(Refusal):
    """A command refused by a rule; ``fields`` names each field and why (no HTTP status:
    ``shared.web`` chooses it by kind)."""


class NotFoundError(DomainError):
    """It does not exist, or the asker may not know that it does."""
    code = "not_found"


class NotPermitted(DomainError):
    """The asker may see it but not do this."""
    code = "forbidden"


class ConflictError(DomainError):
    """The current state does not allow it (or changed while the command was decided)."""
    code = "conflict"


class RuleBroken(DomainError):
    """The command itself is invalid against the domain's rules."""
    code = "validation_failed"
