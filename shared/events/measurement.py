"""Data schemas of the events the measurement service publishes."""
from marshmallow import Schema, fields, validate

SERIES_POOLED = "pooled"


class Contribution(Schema):
    """What one practice's submission adds to the pooled value of its period."""

    value = fields.Float(allow_none=True, load_default=None)
    numerator = fields.Float(allow_none=True, load_default=None)
    denominator = fields.Float(allow_none=True, load_default=None)
    weight = fields.Float(required=True)


class MeasurementRecordedData(Schema):
    measure_id = fields.String(required=True)
    project_id = fields.String(required=True)
    practice_id = fields.String(required=True)
    period = fields.Date(required=True)
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    contribution = fields.Nested(Contribution, required=True)
    previous = fields.Nested(Contribution, allow_none=True, load_default=None)


class MeasurementCorrectedData(Schema):
    measure_id = fields.String(required=True)
    project_id = fields.String(required=True)
    practice_id = fields.String(required=True)
    period = fields.Date(required=True)
    old = fields.Nested(Contribution, required=True)
    new = fields.Nested(Contribution, required=True)
    corrected_by = fields.String(required=True)
    corrected_at = fields.AwareDateTime(required=True)
    reason = fields.String(load_default=None, metadata={
        "description": "why the value changed, when the submitter said (at most 500 "
                       "characters); absent otherwise"})


class SignalDetectedData(Schema):
    measure_id = fields.String(required=True)
    project_id = fields.String(required=True)
    series = fields.String(required=True, metadata={
        "description": "'pooled' or the practice's ODS code"})
    rule = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(
        ("improvement", "concern", "neutral")))
    point_type = fields.String(required=True)
    period = fields.Date(required=True)
    value = fields.Float(required=True)
    measure_type = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(
        ("outcome", "process", "balancing")), metadata={
        "description": "the measure's type, for the projects service's suggested progress "
                       "score (absent from publishers that do not say)"})


class AssuranceChangedData(Schema):
    measure_id = fields.String(required=True)
    project_id = fields.String(required=True)
    series = fields.String(required=True)
    previous = fields.String(allow_none=True, load_default=None)
    current = fields.String(allow_none=True, load_default=None)
    target = fields.Float(allow_none=True, load_default=None)


class SubmissionOverdueData(Schema):
    measure_id = fields.String(required=True)
    project_id = fields.String(required=True)
    practice_id = fields.String(required=True)
    period = fields.Date(required=True)
    due_by = fields.Date(required=True)
