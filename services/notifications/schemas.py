"""Request and response shapes of the notifications service (marshmallow at every boundary).

Bad input names its field: an invalid email address or webhook URL, an unknown event type,
role or audience, a time zone that does not exist, a malformed time of day.
"""
from types import SimpleNamespace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.notifications import domain, templates
from shared.events.catalogue import CATALOGUE
from shared.validation import Strict, ods_code, staff_id
from shared.web import PageQuery

CLOCK = validate.Regexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
                        error="a time of day as HH:MM, such as 08:00")
IDENTIFIER = validate.Length(min=1, max=64)


def known_event_types():
    """Event types a route may name: the catalogue's, and those routed by default (the
    training events are routed before their producer lands in the catalogue)."""
    return {event.name for event in CATALOGUE} | set(domain.DEFAULT_ROUTES)


def data_fields_of(event_type):
    """The data fields of ``event_type`` (None when its schema is not in the catalogue)."""
    for event in CATALOGUE:
        if event.name == event_type:
            return set(event.schema().fields)
    return None


class JsonBoolean(fields.Boolean):
    """true or false only: marshmallow's Boolean also takes 0, 1, "yes"... (0 == False)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def check_time_zone(name):
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{name!r} is not an IANA time zone such as Europe/London") from None


def check_event_type(name):
    if name not in known_event_types():
        raise ValidationError(f"unknown event type {name!r}; see docs/events.md")


class Scope(Strict):
    kind = fields.String(required=True, validate=validate.OneOf(domain.SCOPES))
    id = fields.String(required=True, validate=IDENTIFIER, metadata={
        "description": "the network id, ODS code, team name or project id"})


class ContactFields(Strict):
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    webhook_url = fields.Url(allow_none=True, schemes={"http", "https"}, require_tld=False,
                             validate=validate.Length(max=2000), metadata={
                                 "description": "https; private and loopback hosts are refused "
                                                "unless the deployment allows them"})
    time_zone = fields.String(allow_none=True, validate=check_time_zone)
    digest_time = fields.String(allow_none=True, validate=CLOCK)
    quiet_start = fields.String(allow_none=True, validate=CLOCK, metadata={
        "description": "quiet hours (non-urgent email and webhooks wait), on the person's "
                       "clock; overnight when quiet_end is before it; null: none"})
    quiet_end = fields.String(allow_none=True, validate=CLOCK)

    # Checked beside the other fields' errors, so that a form shows them all at once; a time
    # that is malformed already has its own error.
    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def quiet_hours_have_a_start_and_an_end(self, data, original, **kwargs):
        if any(name in original and name not in data for name in ("quiet_start", "quiet_end")):
            return
        if "quiet_start" not in data and "quiet_end" not in data:
            return
        start, end = data.get("quiet_start"), data.get("quiet_end")
        if start and not end:
            raise ValidationError("give quiet hours an end as well as a start, such as 07:00",
                                  "quiet_end")
        if end and not start:
            raise ValidationError("give quiet hours a start as well as an end, such as 22:00",
                                  "quiet_start")
        if start and start == end:
            raise ValidationError("quiet hours cannot end when they start: give a different "
                                  "time (an end before the start runs overnight)", "quiet_end")


class RecipientCreate(ContactFields):
    staff_id = staff_id(required=True)
    network_id = fields.String(required=True, validate=IDENTIFIER)
    practice_id = ods_code(allow_none=True, load_default=None)
    role = fields.String(required=True, validate=validate.OneOf(domain.ROLES))
    scope = fields.Nested(Scope, required=True)

    @validates_schema
    def practice_people_have_a_practice(self, data, **kwargs):
        if data["role"] == "practice_lead" and not data.get("practice_id"):
            raise ValidationError("a practice lead needs the practice's ODS code",
                                  "practice_id")
        if data["scope"]["kind"] == "practice" and data.get("practice_id") not in (
                None, data["scope"]["id"]):
            raise ValidationError("the practice scope must be the recipient's practice",
                                  "scope")


class RecipientChange(ContactFields):
    role = fields.String(validate=validate.OneOf(domain.ROLES))
    scope = fields.Nested(Scope)
    practice_id = ods_code(allow_none=True)


class RecipientView(Schema):
    staff_id = fields.String(attribute="_id")
    network_id = fields.String()
    practice_id = fields.String(allow_none=True)
    role = fields.String()
    scope = fields.Nested(Scope)
    email = fields.String(attribute="contacts.email", allow_none=True)
    webhook_url = fields.String(attribute="contacts.webhook.url", allow_none=True)
    webhook_disabled_at = fields.AwareDateTime(attribute="contacts.webhook.disabled_at",
                                               allow_none=True, metadata={
                                                   "description": "set when the endpoint "
                                                   "answered 410; a new URL enables it"})
    time_zone = fields.String(allow_none=True)
    digest_time = fields.String(allow_none=True)
    quiet_start = fields.String(allow_none=True)
    quiet_end = fields.String(allow_none=True)
    # The signing secret of a new webhook endpoint: in the answer that creates it, only.
    webhook_secret = fields.String(allow_none=True)


class WatcherCreate(Strict):
    subject_kind = fields.String(required=True, validate=validate.OneOf(domain.WATCHABLE))
    subject_id = fields.String(required=True, validate=IDENTIFIER)


class Rule(Strict):
    name = fields.String(required=True, validate=validate.Regexp(
        r"^[a-z][a-z0-9_]{0,39}$", error="lower-case letters, digits and _"))
    when = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                       load_default=dict, metadata={
                           "description": "event data field → accepted values"})
    audience = fields.List(fields.String(validate=validate.OneOf(domain.AUDIENCES)),
                           required=True, validate=validate.Length(min=1))
    mode = fields.String(required=True, validate=validate.OneOf(("immediate", "digest")))
    channels = fields.List(fields.String(validate=validate.OneOf(domain.CHANNELS)),
                           load_default=lambda: list(domain.CHANNELS),
                           validate=validate.Length(min=1))
    critical = JsonBoolean(load_default=False)
    critical_measure_ids = fields.List(fields.String(validate=IDENTIFIER), load_default=list,
                                       metadata={"description": "measures marked "
                                                 "safety-related: critical for those"})


class RouteChange(Strict):
    event_type = fields.String(required=True, validate=check_event_type)
    rules = fields.List(fields.Nested(Rule), required=True)

    @validates_schema
    def conditions_name_event_fields(self, data, **kwargs):
        known = data_fields_of(data.get("event_type"))
        if known is None:
            return
        for index, rule in enumerate(data.get("rules") or ()):
            unknown = sorted(set(rule.get("when") or {}) - known)
            if unknown:
                raise ValidationError(
                    {"rules": {index: {"when": [f"{data['event_type']} has no field "
                                                f"{', '.join(unknown)}"]}}})
        names = [rule["name"] for rule in data.get("rules") or ()]
        if len(names) != len(set(names)):
            raise ValidationError("each rule of a route needs its own name", "rules")


MODE = fields.String(validate=validate.OneOf(domain.MODES))
CHANNEL_KEY = fields.String(validate=validate.OneOf(domain.CHANNELS))


class PreferencesChange(Strict):
    by_event = fields.Dict(keys=fields.String(validate=check_event_type),
                           values=fields.Dict(keys=CHANNEL_KEY, values=MODE),
                           load_default=dict, metadata={
                               "description": "event type → channel → immediate|digest|off"})
    by_channel = fields.Dict(keys=CHANNEL_KEY, values=MODE, load_default=dict)


class InboxQuery(PageQuery):
    archived = fields.Boolean(load_default=False)


class DeliveriesQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(domain.STATES))
    network_id = fields.String(validate=IDENTIFIER)


class UnsubscribeRequest(Strict):
    token = fields.String(required=True, validate=validate.Length(min=10, max=1000))


# The web front end's pages as paths: a mail's links (templates.link_for) without the site.
WEB_PATHS = SimpleNamespace(web_url="")


def web_page_of(notification):
    """The path of the web front end's page a notification is about (as its mail links), or
    None."""
    return templates.link_for(notification.get("data") or {}, WEB_PATHS)


class NotificationView(Schema):
    notification_id = fields.String(attribute="_id")
    kind = fields.String()
    event_id = fields.String()
    event_type = fields.String()
    recipient_id = fields.String()
    channel = fields.String()
    route = fields.String()
    critical = fields.Boolean()
    state = fields.String()
    reason = fields.String(allow_none=True)
    summary = fields.String(allow_none=True)
    unread = fields.Boolean()
    data = fields.Dict()
    attempts = fields.Integer()
    due_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    sent_at = fields.AwareDateTime(allow_none=True)
    read_at = fields.AwareDateTime(allow_none=True)
    archived_at = fields.AwareDateTime(allow_none=True)
    page = fields.Function(web_page_of, metadata={
        "description": "the path of the web front end's page it is about (the measure, the "
                       "huddle item, a training record), or null"})


class WatcherView(Schema):
    staff_id = fields.String()
    subject_kind = fields.String()
    subject_id = fields.String()
    since = fields.AwareDateTime()


class RouteView(Schema):
    event_type = fields.String()
    rules = fields.List(fields.Nested(Rule))
    default = fields.Boolean(metadata={"description": "true: the default rules are in force"})


class PreferencesView(Schema):
    by_event = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(),
                                                                    values=fields.String()))
    by_channel = fields.Dict(keys=fields.String(), values=fields.String())
    unsubscribed = fields.List(fields.String(), metadata={
        "description": "event types unsubscribed from by one-click link (* = all non-critical)"})


class InboxPage(Schema):
    items = fields.List(fields.Nested(NotificationView), required=True)
    page = fields.Integer(required=True)
    page_size = fields.Integer(required=True)
    total = fields.Integer(required=True)
    unread = fields.Integer(required=True, metadata={"description": "unread items in all"})


class UnreadView(Schema):
    unread = fields.Integer(required=True)


class UnsubscribeStateView(Schema):
    event_type = fields.String(required=True, metadata={
        "description": "the event type the link stops emailing (* = all non-critical email)"})
    description = fields.String(allow_none=True, metadata={
        "description": "the catalogue's words for it (none for *)"})
    unsubscribed = fields.Boolean(required=True, metadata={
        "description": "whether the person has already unsubscribed from it"})


class UnsubscribedView(Schema):
    unsubscribed = fields.String(required=True, metadata={
        "description": "the event type no longer emailed (* = all non-critical email)"})
