"""Every event type in the system: who publishes it, who consumes it, and its schema.

This table is the contract between services, and the one statement of who consumes what. The
broker topology (exchanges, consumer queues, retry and dead-letter queues) is declared from it,
each service's event handlers are made from it (a ``@catalogued_handler`` method gets one per
event type that names it: ``shared.messaging.handle_catalogued_events``), and
``docs/events.md`` and the AsyncAPI document are generated from it.
"""
from dataclasses import dataclass, replace

from marshmallow import ValidationError

from shared.events import measurement as measurement_events
from shared.events import notifications as notification_events
from shared.events import projects as project_events
from shared.events import training as training_events
from shared.events.envelope import EnvelopeSchema, new_envelope


@dataclass(frozen=True)
class EventType:
    name: str
    version: int
    producer: str
    schema: type
    description: str
    # "service.method" of every handler of this type (a @catalogued_handler method); the queue
    # is named as nameko names it.
    consumers: tuple = ()

    @property
    def exchange(self):
        return f"{self.producer}.events"

    def queue_for(self, consumer):
        """nameko's SERVICE_POOL queue name for ``consumer`` ("service.method")."""
        return f"evt-{self.producer}-{self.name}--{consumer}"


CATALOGUE = (
    EventType("network.registered", 1, "projects", project_events.NetworkRegisteredData,
              "A primary care network was registered (the other services refuse networks "
              "they have not heard of).",
              ("training.record_network",)),
    EventType("practice.registered", 1, "projects", project_events.PracticeRegisteredData,
              "A GP practice (its ODS code) was registered in a network.",
              ("training.record_practice",)),
    EventType("project.created", 1, "projects", project_events.ProjectCreatedData,
              "A QI project was registered, with its aim, scope and first practices.",
              ("measurement.track_project",)),
    EventType("project.stage_changed", 1, "projects", project_events.ProjectStageChangedData,
              "A project moved along idea → planning → testing → implementing → sustaining → closed.",
              ("training.record_stage_changed",)),
    EventType("project.practice_joined", 1, "projects", project_events.ProjectPracticeJoinedData,
              "A practice takes part in a project (and becomes an expected data submitter).",
              ("measurement.track_practice_joined",)),
    EventType("project.member_added", 1, "projects", project_events.ProjectMemberAddedData,
              "A staff member (pseudonymous id) joined a project team with a role.",
              ("training.record_member_added",)),
    EventType("pdsa.cycle_started", 1, "projects", project_events.PdsaCycleStartedData,
              "A PDSA cycle began testing a change idea; says whether a prediction was made.",
              ("measurement.annotate_cycle_started",)),
    EventType("pdsa.cycle_completed", 1, "projects", project_events.PdsaCycleCompletedData,
              "A PDSA cycle was studied and acted on (adopt, adapt or abandon).",
              ("measurement.annotate_cycle_completed", "training.record_cycle_completed")),
    EventType("huddle.item_raised", 1, "projects", project_events.HuddleItemRaisedData,
              "A team raised an issue on its huddle board."),
    EventType("huddle.item_escalated", 1, "projects", project_events.HuddleItemEscalatedData,
              "A huddle item the team cannot solve was escalated to a named leader."),
    EventType("huddle.item_resolved", 1, "projects", project_events.HuddleItemResolvedData,
              "A huddle item was unblocked; carries the time it took."),
    EventType("apikey.issued", 1, "projects", project_events.ApiKeyIssuedData,
              "An API key was issued; carries its SHA-256 hash (never the key) so every service "
              "can verify it without sharing a database."),
    EventType("apikey.revoked", 1, "projects", project_events.ApiKeyRevokedData,
              "An API key was revoked; every service refuses it from then on."),
    EventType("measurement.recorded", 1, "measurement",
              measurement_events.MeasurementRecordedData,
              "A practice's value for a measure and period was stored (new, or a correction); "
              "carries what it adds to the pooled value and what it replaced.",
              ("measurement.apply_to_network_series", "projects.learn_measure")),
    EventType("measurement.corrected", 1, "measurement",
              measurement_events.MeasurementCorrectedData,
              "A submitted value was changed; old and new, who and when (the audit trail)."),
    EventType("measurement.signal_detected", 1, "measurement",
              measurement_events.SignalDetectedData,
              "The latest point of a practice's or the pooled series became a special cause; "
              "sent once per episode.",
              ("projects.learn_signal",)),
    EventType("measurement.assurance_changed", 1, "measurement",
              measurement_events.AssuranceChangedData,
              "A series' assurance against its target changed (consistent pass/fail, "
              "inconsistent)."),
    EventType("measurement.submission_overdue", 1, "measurement",
              measurement_events.SubmissionOverdueData,
              "A participating practice has submitted nothing for a period some days after "
              "it ended; sent once."),
    EventType("training.enrolled", 1, "training", training_events.EnrolledData,
              "A person has a place on a training cohort (directly, or moved up from the "
              "waiting list)."),
    EventType("training.waitlisted", 1, "training", training_events.WaitlistedData,
              "A cohort was full: the person is on its waiting list, first come first served."),
    EventType("training.moved_up_from_waiting_list", 1, "training",
              training_events.MovedUpFromWaitingListData,
              "Someone withdrew and the first person waiting has the place; they are told."),
    EventType("training.completed", 1, "training", training_events.CompletedData,
              "A person met an offering's completion criteria (attendance share; for the "
              "leaders' programme a live project)."),
    EventType("training.level_awarded", 1, "training", training_events.LevelAwardedData,
              "A capability level was awarded to a person, with its date and evidence."),
    EventType("training.capability_gap_identified", 1, "training",
              training_events.CapabilityGapIdentifiedData,
              "A required level became overdue or lapsed, or a project lead lacks it as the "
              "project leaves planning; raised once per gap."),
    EventType("training.gap_closed", 1, "training", training_events.GapClosedData,
              "A capability gap closed (the level is held, or the person left); once per gap."),
    EventType("training.repeated_absence", 1, "training", training_events.RepeatedAbsenceData,
              "A person was absent (not apologies) from repeated sessions of a cohort; for "
              "their team's leaders. Once per enrolment."),
    EventType("training.target_at_risk", 1, "training", training_events.TargetAtRiskData,
              "A practice's coverage trend will miss the network's target by its date."),
    EventType("notification.sent", 1, "notifications", notification_events.NotificationSentData,
              "A notification reached a person by one channel (email, webhook or inbox); names "
              "the person by staff id and never by address."),
    EventType("notification.failed", 1, "notifications",
              notification_events.NotificationFailedData,
              "A notification could not be delivered after its bounded retries; an admin may "
              "retry it."),
)


@dataclass(frozen=True)
class Subscription:
    """A handler ("service.method") of every event type whose name matches one of ``patterns``,
    in AMQP topic syntax (words split on ``.``; ``*`` is one word, ``#`` any number of words).
    It becomes a consumer of each matching type above, with that type's own queue, so a type
    added later is declared and bound for it without another edit."""

    consumer: str
    patterns: tuple


# Handlers of every event type their patterns match (each a ``@catalogued_handler``).
SUBSCRIPTIONS = (
    # Every routed event type, and the two that stop a ladder (resolution, submission).
    Subscription("notifications.notify_of", (
        "measurement.signal_detected", "measurement.assurance_changed",
        "measurement.submission_overdue", "measurement.recorded",
        "huddle.item_escalated", "huddle.item_resolved",
        "training.capability_gap_identified", "training.target_at_risk")),
)

# The service that issues API keys; every other service keeps a replica of the key hashes
# (``shared.service_base.Service`` gives it these handlers). The key owner declares the replica
# queues of every registered service (``services.registry.DEPLOYED_CATALOGUE``) before the
# first key is issued, so a new service needs no edit here.
KEY_OWNER = "projects"
KEY_REPLICA_HANDLERS = (("apply_api_key_issued", "apikey.issued"),
                        ("apply_api_key_revoked", "apikey.revoked"))


def key_replica_subscriptions(service_names):
    """The key replica's handlers of each of ``service_names`` but the key owner."""
    return tuple(Subscription(f"{name}.{handler}", (event_name,))
                 for name in service_names if name != KEY_OWNER
                 for handler, event_name in KEY_REPLICA_HANDLERS)


def topic_matches(pattern, name):
    """Whether event type ``name`` matches ``pattern`` as a RabbitMQ topic binding would."""
    def match(pattern_words, name_words):
        if not pattern_words:
            return not name_words
        first, rest = pattern_words[0], pattern_words[1:]
        if first == "#":
            return any(match(rest, name_words[skip:]) for skip in range(len(name_words) + 1))
        return bool(name_words) and first in ("*", name_words[0]) and match(rest, name_words[1:])
    return match(pattern.split("."), name.split("."))


def matching_event_types(patterns, catalogue=None):
    """The event types of ``catalogue`` (default: the catalogue) matched by any of
    ``patterns``, in catalogue order. A pattern matching nothing is a ``ValueError`` (a typo
    would otherwise subscribe to nothing)."""
    events = CATALOGUE if catalogue is None else catalogue
    for pattern in patterns:
        if not any(topic_matches(pattern, event.name) for event in events):
            raise ValueError(f"no event type in the catalogue matches {pattern!r}")
    return tuple(event for event in events
                 if any(topic_matches(pattern, event.name) for pattern in patterns))


def with_subscriptions(catalogue, subscriptions):
    """``catalogue`` with each subscription's consumer added to the types it matches."""
    consumers = {event.name: list(event.consumers) for event in catalogue}
    for subscription in subscriptions:
        for event in matching_event_types(subscription.patterns, catalogue):
            if subscription.consumer not in consumers[event.name]:
                consumers[event.name].append(subscription.consumer)
    return tuple(replace(event, consumers=tuple(consumers[event.name])) for event in catalogue)


CATALOGUE = with_subscriptions(CATALOGUE, SUBSCRIPTIONS)
_BY_KEY = {(event.name, event.version): event for event in CATALOGUE}
_ENVELOPE = EnvelopeSchema()


def event_type(name, version=1):
    try:
        return _BY_KEY[(name, version)]
    except KeyError:
        raise KeyError(f"event type {name} v{version} is not in the catalogue") from None


def producers(catalogue=None):
    return sorted({event.producer for event in (catalogue or CATALOGUE)})


def consumer_queues(catalogue=None):
    """(event type, consumer, queue name) for every consumer in the catalogue."""
    return [(event, consumer, event.queue_for(consumer))
            for event in (catalogue or CATALOGUE) for consumer in event.consumers]


def make_event(name, data, *, source, network_id, trace, practice_id=None, version=1):
    """A new envelope for event ``name``, its ``data`` dumped to JSON types by the event's
    schema and checked against it (a mismatch is a programming error and raises)."""
    event = event_type(name, version)
    if source != event.producer:
        raise ValueError(f"{name} is published by {event.producer}, not {source}")
    schema = event.schema()
    dumped = schema.dump(data)
    schema.load(dumped)
    return new_envelope(name, dumped, source=source, network_id=network_id, trace=trace,
                        practice_id=practice_id, schema_version=version)


def validate_envelope(envelope):
    """Check an envelope and its ``data`` against the catalogue; returns the loaded envelope.

    Raises marshmallow ``ValidationError`` naming the bad fields (``data.<field>`` for data).
    """
    loaded = _ENVELOPE.load(envelope)
    try:
        event = event_type(loaded["event_type"], loaded["schema_version"])
    except KeyError as exc:
        raise ValidationError({"event_type": [str(exc.args[0])]}) from None
    if loaded["source"] != event.producer:
        raise ValidationError({"source": [f"{event.name} is published by {event.producer}"]})
    try:
        loaded["data"] = event.schema().load(loaded["data"])
    except ValidationError as exc:
        raise ValidationError({"data": exc.messages}) from None
    return loaded
