"""What goes in and out of the huddle board's and the wallboard links' HTTP API."""
from marshmallow import Schema, fields, validate

from shared.validation import Strict, free_text, ods_code, staff_id
from shared.web import PageQuery

from services.projects.huddle_board import COLUMNS, STATUSES

TEAM_LENGTH = 100


class HuddleItemIn(Strict):
    practice_id = ods_code(load_default=None, metadata={
        "description": "defaults to the caller's practice"})
    team = free_text(TEAM_LENGTH, required=True)
    description = free_text(2000, required=True)
    raised_by = staff_id(required=True)


class HuddleMoveIn(Strict):
    column = fields.String(required=True, validate=validate.OneOf(COLUMNS), metadata={
        "description": "to_do, doing or done (done resolves the item)"})


class HuddleAssignmentIn(Strict):
    assignee = staff_id(required=True, allow_none=True, metadata={
        "description": "the staff id of who takes it, or null for nobody"})


class HuddleEscalationIn(Strict):
    escalated_to = staff_id(required=True, metadata={"description": "the named leader"})
    reason = free_text(2000, required=True, metadata={
        "description": "what the leader must unblock"},
        error_messages={"required": "required: say what the leader must unblock"})


class HuddleResolutionIn(Strict):
    resolution = free_text(2000, required=True)


class HistoryLineOut(Schema):
    at = fields.AwareDateTime()
    by = fields.String(allow_none=True)
    action = fields.String()
    detail = fields.String(allow_none=True)


class HuddleItemOut(Schema):
    id = fields.String(attribute="_id")
    network_id = fields.String()
    practice_id = fields.String()
    team = fields.String()
    description = fields.String()
    raised_by = fields.String()
    status = fields.String()
    column = fields.String()
    assignee = fields.String(allow_none=True)
    assigned_at = fields.AwareDateTime(allow_none=True)
    raised_at = fields.AwareDateTime()
    touched_at = fields.AwareDateTime()
    escalated_to = fields.String(allow_none=True)
    escalated_at = fields.AwareDateTime(allow_none=True)
    escalation_reason = fields.String(allow_none=True)
    resolved_at = fields.AwareDateTime(allow_none=True)
    resolution = fields.String(allow_none=True)
    time_to_unblock_seconds = fields.Float(allow_none=True)
    bottlenecks = fields.List(fields.String(), metadata={
        "description": "unassigned (no assignee for 7 days), untouched (no change for 30)"})
    history = fields.List(fields.Nested(HistoryLineOut))


class HuddleQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(STATUSES))
    practice_id = ods_code()
    team = fields.String()
    bottleneck = fields.String(validate=validate.OneOf(("yes",)), metadata={
        "description": "yes: only items marked as bottlenecks"})


class BoardQuery(Strict):
    team = free_text(TEAM_LENGTH, required=True)
    view = fields.String(validate=validate.OneOf(("all", "bottlenecks")), load_default="all")


class BoardOut(Schema):
    practice_id = fields.String()
    practice_name = fields.String()
    network_id = fields.String()
    team = fields.String()
    view = fields.String()
    items = fields.List(fields.Nested(HuddleItemOut), metadata={
        "description": "every item not done and the most recently done, newest first"})


class BoardSummaryOut(Schema):
    practice_id = fields.String()
    team = fields.String()
    open_items = fields.Integer()
    bottlenecks = fields.Integer()


class BoardsQuery(Schema):
    practice_id = ods_code()


class BoardsOut(Schema):
    items = fields.List(fields.Nested(BoardSummaryOut))


class WallboardIn(Strict):
    practice_id = ods_code(required=True)
    team = free_text(TEAM_LENGTH, required=True)
    label = free_text(100, required=True, metadata={
        "description": "where the screen is, such as 'Reception office'"})


class WallboardOut(Schema):
    id = fields.String(attribute="_id")
    practice_id = fields.String()
    team = fields.String()
    label = fields.String()
    issued_at = fields.AwareDateTime()
    issued_by = fields.String(allow_none=True)
    revoked_at = fields.AwareDateTime(allow_none=True)
    revoked_by = fields.String(allow_none=True)


class IssuedWallboardOut(WallboardOut):
    token = fields.String(metadata={"description": "shown once; only its hash is stored"})


class WallboardsQuery(PageQuery):
    practice_id = ods_code(required=True)

