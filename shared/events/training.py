"""Data schemas of the events the training service publishes.

People are named by their pseudonymous staff id only: the training service holds no names,
emails or phone numbers.
"""
from marshmallow import Schema, fields, validate

LEVELS = ("none", "introduction", "foundations", "improvement_leader", "coach", "board")
GAP_REASONS = ("overdue", "lapsed", "project_lead")


class EnrolledData(Schema):
    cohort_id = fields.String(required=True)
    offering_id = fields.String(required=True)
    staff_id = fields.String(required=True)
    enrolled_on = fields.Date(required=True)
    from_waiting_list = fields.Boolean(required=True)


class WaitlistedData(Schema):
    cohort_id = fields.String(required=True)
    offering_id = fields.String(required=True)
    staff_id = fields.String(required=True)
    position = fields.Integer(required=True, validate=validate.Range(min=1))


class MovedUpFromWaitingListData(Schema):
    cohort_id = fields.String(required=True)
    offering_id = fields.String(required=True)
    staff_id = fields.String(required=True, metadata={
        "description": "the person moved up, who is told they have a place"})
    waited_since = fields.Date(required=True)
    enrolled_on = fields.Date(required=True)


class CompletedData(Schema):
    cohort_id = fields.String(required=True)
    offering_id = fields.String(required=True)
    staff_id = fields.String(required=True)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    completed_on = fields.Date(required=True)
    attendance_share = fields.Float(required=True, validate=validate.Range(min=0, max=1))
    project_id = fields.String(allow_none=True, load_default=None, metadata={
        "description": "the live project that counted, for the leaders' programme"})


class LevelAwardedData(Schema):
    staff_id = fields.String(required=True)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    awarded_on = fields.Date(required=True)
    offering_id = fields.String(allow_none=True, load_default=None)
    cohort_id = fields.String(allow_none=True, load_default=None)
    evidence = fields.String(required=True)


class CapabilityGapIdentifiedData(Schema):
    gap_id = fields.String(required=True)
    staff_id = fields.String(required=True)
    practice_id = fields.String(required=True)
    team = fields.String(required=True)
    requirement_id = fields.String(required=True)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS), metadata={
        "description": "the level required"})
    held_level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    reason = fields.String(required=True, validate=validate.OneOf(GAP_REASONS), metadata={
        "description": "overdue: the due date passed; lapsed: the refresh period passed; "
                       "project_lead: the lead's project left planning"})
    due_on = fields.Date(required=True)
    project_id = fields.String(allow_none=True, load_default=None)


class GapClosedData(Schema):
    gap_id = fields.String(required=True)
    staff_id = fields.String(required=True)
    practice_id = fields.String(required=True)
    requirement_id = fields.String(required=True)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    closed_on = fields.Date(required=True)
    how = fields.String(required=True, validate=validate.OneOf(("level_held", "left")))


class RepeatedAbsenceData(Schema):
    cohort_id = fields.String(required=True)
    offering_id = fields.String(required=True)
    staff_id = fields.String(required=True)
    absences = fields.Integer(required=True, validate=validate.Range(min=1))
    leader_staff_ids = fields.List(fields.String(), required=True, metadata={
        "description": "the leaders of the person's team, to be told"})


class TargetAtRiskData(Schema):
    practice_id = fields.String(required=True)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    target_share = fields.Float(required=True)
    target_date = fields.Date(required=True)
    current_share = fields.Float(required=True)
    projected_share = fields.Float(required=True, metadata={
        "description": "the share the last 12 months' trend reaches by the target date"})
