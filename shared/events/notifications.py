"""Data schemas of the events the notifications service publishes.

They say that a notification reached (or could not reach) a person, by which channel and why;
never to which address: contact details stay inside the notifications service.
"""
from marshmallow import Schema, fields, validate

CHANNELS = ("email", "webhook", "inbox")


class NotificationSentData(Schema):
    notification_id = fields.String(required=True)
    event_id = fields.String(required=True, metadata={
        "description": "the event the notification is about (a digest: its first item's)"})
    event_type = fields.String(required=True)
    recipient_id = fields.String(required=True, metadata={
        "description": "the pseudonymous staff id of the person notified"})
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    route = fields.String(required=True)
    attempts = fields.Integer(required=True, validate=validate.Range(min=1))
    sent_at = fields.AwareDateTime(required=True)
    latency_seconds = fields.Float(required=True, metadata={
        "description": "from the event's occurred_at to the send"})


class NotificationFailedData(Schema):
    notification_id = fields.String(required=True)
    event_id = fields.String(required=True)
    event_type = fields.String(required=True)
    recipient_id = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    route = fields.String(required=True)
    attempts = fields.Integer(required=True, validate=validate.Range(min=0))
    reason = fields.String(required=True, metadata={
        "description": "why it failed, without any address (e.g. 'smtp: connection refused')"})
    failed_at = fields.AwareDateTime(required=True)
