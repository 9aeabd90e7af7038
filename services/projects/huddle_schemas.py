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


class UnblockingOut(Schema):
    window_days = fields.Integer(metadata={"description": "the window: the last 90 days"})
    since = fields.AwareDateTime(metadata={
        "description": "the window's start; an item resolved at this moment is counted"})
    unblocked = fields.Integer(metadata={
        "description": "how many items were resolved (unblocked) in the window"})
    median_seconds = fields.Float(allow_none=True, metadata={
        "description": "the median time from raised to resolved of those items, in seconds "
                       "(half took at most this long); null when none was resolved"})
    longest_seconds = fields.Float(allow_none=True, metadata={
        "description": "the longest time to unblock of those items; null when none"})
    escalated_waiting = fields.Integer(metadata={
        "description": "how many items are escalated and not resolved now"})
    oldest_waiting_seconds = fields.Float(allow_none=True, metadata={
        "description": "how long the oldest of those has waited since it was raised, in "
                       "seconds; null when none is waiting"})


class BoardOut(Schema):
    practice_id = fields.String()
    practice_name = fields.String()
    network_id = fields.String()
    team = fields.String()
    view = fields.String()
    items = fields.List(fields.Nested(HuddleItemOut), metadata={
        "description": "every item not done and the most recently done, newest first"})
    unblocking = fields.Nested(UnblockingOut, metadata={
        "description": "how fast the team's items are unblocked (over all its items, "
                       "whatever the view)"})


class BoardSummaryOut(Schema):
    practice_id = fields.String()
    team = fields.String()
    open_items = fields.Integer()
    bottlenecks = fields.Integer()
    unblocking = fields.Nested(UnblockingOut, metadata={
        "description": "how fast this team's items are unblocked"})


class BoardsQuery(Schema):
    practice_id = ods_code()


class BoardsOut(Schema):
    items = fields.List(fields.Nested(BoardSummaryOut))
    unblocking = fields.Nested(UnblockingOut, metadata={
        "description": "how fast the items of all these boards are unblocked (a network "
                       "lead's: the network's)"})


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

