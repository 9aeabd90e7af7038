"""Data schemas of the events the projects service publishes (registry, projects, PDSA, huddles)."""
from marshmallow import Schema, fields, validate

PROJECT_STAGES = ("idea", "planning", "testing", "implementing", "sustaining", "closed")
PROJECT_SCOPES = ("practice", "network")
MEMBER_ROLES = ("lead", "sponsor", "member", "coach", "lived_experience_partner")
ACT_DECISIONS = ("adopt", "adapt", "abandon")
# A person key is one staff member's own (their inbox and preferences in notifications);
# it carries their pseudonymous staff id and nothing else of theirs.
KEY_ROLES = ("practice", "network_lead", "person", "ops", "admin")


class NetworkRegisteredData(Schema):
    network_id = fields.String(required=True)
    name = fields.String(required=True)


class PracticeRegisteredData(Schema):
    practice_id = fields.String(required=True)  # the practice's ODS code
    network_id = fields.String(required=True)
    name = fields.String(required=True)


class AimData(Schema):
    what = fields.String(required=True)
    how_much = fields.String(required=True)
    by_when = fields.Date(required=True)


class ProjectCreatedData(Schema):
    project_id = fields.String(required=True)
    title = fields.String(required=True)
    scope = fields.String(required=True, validate=validate.OneOf(PROJECT_SCOPES))
    stage = fields.String(required=True, validate=validate.OneOf(PROJECT_STAGES))
    aim = fields.Nested(AimData, required=True)
    practice_ids = fields.List(fields.String(), required=True)


class ProjectStageChangedData(Schema):
    project_id = fields.String(required=True)
    from_stage = fields.String(required=True, validate=validate.OneOf(PROJECT_STAGES))
    to_stage = fields.String(required=True, validate=validate.OneOf(PROJECT_STAGES))
    reason = fields.String(allow_none=True, load_default=None)


class ProjectPracticeJoinedData(Schema):
    project_id = fields.String(required=True)
    practice_id = fields.String(required=True)


class ProjectMemberAddedData(Schema):
    project_id = fields.String(required=True)
    staff_id = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(MEMBER_ROLES))
    practice_id = fields.String(allow_none=True, load_default=None)


class PdsaCycleStartedData(Schema):
    cycle_id = fields.String(required=True)
    project_id = fields.String(required=True)
    change_idea = fields.String(required=True)
    started_on = fields.Date(required=True)
    has_prediction = fields.Boolean(required=True)


class PdsaCycleCompletedData(Schema):
    cycle_id = fields.String(required=True)
    project_id = fields.String(required=True)
    change_idea = fields.String(required=True)
    started_on = fields.Date(required=True)
    completed_on = fields.Date(required=True)
    act = fields.String(required=True, validate=validate.OneOf(ACT_DECISIONS))
    has_prediction = fields.Boolean(required=True)


class HuddleItemRaisedData(Schema):
    item_id = fields.String(required=True)
    team = fields.String(required=True)
    raised_by = fields.String(required=True)
    raised_at = fields.AwareDateTime(required=True)


class HuddleItemEscalatedData(Schema):
    item_id = fields.String(required=True)
    team = fields.String(required=True)
    escalated_to = fields.String(required=True)
    escalated_at = fields.AwareDateTime(required=True)


class HuddleItemResolvedData(Schema):
    item_id = fields.String(required=True)
    team = fields.String(required=True)
    resolved_at = fields.AwareDateTime(required=True)
    was_escalated = fields.Boolean(required=True)
    time_to_unblock_seconds = fields.Float(required=True)


class ApiKeyIssuedData(Schema):
    key_id = fields.String(required=True)
    key_hash = fields.String(required=True, validate=validate.Length(equal=64))
    role = fields.String(required=True, validate=validate.OneOf(KEY_ROLES))
    network_id = fields.String(allow_none=True, load_default=None)
    practice_id = fields.String(allow_none=True, load_default=None)
    staff_id = fields.String(allow_none=True, load_default=None)
    issued_at = fields.AwareDateTime(required=True)


class ApiKeyRevokedData(Schema):
    key_id = fields.String(required=True)
    revoked_at = fields.AwareDateTime(required=True)
