"""What goes in and out of the measurement service's HTTP API."""
from marshmallow import Schema, fields, validate

from analytics import spc
from services.measurement import domain
from shared.validation import (
    MAX_FIX_AFTER_N_POINTS, MAX_MAGNITUDE, MIN_DENOMINATOR, Strict, bounded_date,
    bounded_float, bounded_integer, free_text, ods_code,
)
from shared.web import PageQuery


class MeasureIn(Strict):
    name = free_text(200, required=True)
    type = fields.String(required=True, validate=validate.OneOf(domain.MEASURE_TYPES))
    value_kind = fields.String(required=True, validate=validate.OneOf(domain.VALUE_KINDS))
    unit = free_text(50, load_default=None, allow_none=True)
    frequency = fields.String(required=True, validate=validate.OneOf(domain.FREQUENCIES))
    operational_definition = free_text(2000, required=True)
    improvement = fields.String(required=True, validate=validate.OneOf(
        spc.IMPROVEMENT_DIRECTIONS))
    target = bounded_float(load_default=None, allow_none=True)
    fix_after_n_points = bounded_integer(12, MAX_FIX_AFTER_N_POINTS, load_default=None,
                                         allow_none=True)


class MeasureCopyIn(Strict):
    from_measure_id = fields.String(required=True, metadata={
        "description": "reuse the definition of a measure of another project of the network"})


class MeasureOut(Schema):
    id = fields.String(attribute="_id")
    project_id = fields.String()
    network_id = fields.String()
    name = fields.String()
    type = fields.String()
    value_kind = fields.String()
    unit = fields.String(allow_none=True)
    frequency = fields.String()
    operational_definition = fields.String()
    improvement = fields.String()
    target = fields.Float(allow_none=True)
    fix_after_n_points = fields.Integer(allow_none=True)
    rebase_dates = fields.List(fields.String())
    feedback_source = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()


class RebaseIn(Strict):
    date = bounded_date(required=True, metadata={"description": "the first period of the new "
                                                                "baseline"})


class SubmissionRow(Strict):
    period = bounded_date(required=True, metadata={
        "description": "any day of the period; aligned to its Monday or 1st of the month"})
    practice_id = ods_code(load_default=None, metadata={
        "description": "defaults to the caller's practice"})
    value = bounded_float(load_default=None, allow_none=True, metadata={
        "description": "a count (whole, not negative) or a continuous value"})
    numerator = bounded_float(0, MAX_MAGNITUDE, load_default=None, allow_none=True, metadata={
        "description": "a proportion's or rate's numerator (a proportion's is at most its "
                       "denominator)"})
    denominator = bounded_float(MIN_DENOMINATOR, MAX_MAGNITUDE, load_default=None,
                                allow_none=True, metadata={
                                    "description": "a proportion's or rate's denominator; a "
                                                   "rate's value is at most 1e12"})
    reason = free_text(500, load_default=None, allow_none=True, metadata={
        "description": "why a value already submitted changes (kept in its audit trail)"})


class SubmissionIn(SubmissionRow):
    measure_id = fields.String(required=True)


class BatchIn(Strict):
    rows = fields.List(fields.Nested(SubmissionIn), required=True,
                       validate=validate.Length(min=1, max=domain.MAX_BATCH_ROWS))


class ContributionOut(Schema):
    value = fields.Float(allow_none=True)
    numerator = fields.Float(allow_none=True)
    denominator = fields.Float(allow_none=True)
    weight = fields.Float()


class CorrectionOut(Schema):
    at = fields.AwareDateTime()
    by = fields.String()
    old = fields.Nested(ContributionOut)
    new = fields.Nested(ContributionOut)
    reason = fields.String(allow_none=True)


class SubmissionOut(Schema):
    id = fields.String(attribute="_id")
    measure_id = fields.String()
    practice_id = fields.String()
    period = fields.String()
    value = fields.Float(attribute="contribution.value", allow_none=True)
    numerator = fields.Float(attribute="contribution.numerator", allow_none=True)
    denominator = fields.Float(attribute="contribution.denominator", allow_none=True)
    version = fields.Integer()
    submitted_at = fields.AwareDateTime()
    submitted_by = fields.String()
    corrections = fields.List(fields.Nested(CorrectionOut))


SUBMISSION_OUTCOMES = ("created", "corrected", "unchanged")


class SubmissionResultOut(SubmissionOut):
    outcome = fields.String(validate=validate.OneOf(SUBMISSION_OUTCOMES), metadata={
        "description": "created (201), or corrected / unchanged for a repeat (200)"})


class BatchRowOut(Schema):
    id = fields.String()
    outcome = fields.String(validate=validate.OneOf(SUBMISSION_OUTCOMES))


class BatchOut(Schema):
    rows = fields.Integer()
    created = fields.Integer()
    corrected = fields.Integer()
    unchanged = fields.Integer()
    results = fields.List(fields.Nested(BatchRowOut))


class PooledPeriodOut(Schema):
    period = fields.String()
    value = fields.Float(allow_none=True, metadata={"description": "null while undefined"})
    practices_submitted = fields.Integer()
    practices_expected = fields.Integer()
    numerator = fields.Float()
    denominator = fields.Float()
    n = fields.Float(metadata={"description": "the summed weights"})
    by_practice = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True),
                              metadata={"description": "shown to the network's lead only"})


class PooledOut(Schema):
    measure_id = fields.String()
    value_kind = fields.String()
    periods = fields.List(fields.Nested(PooledPeriodOut))


class CoverageOut(Schema):
    period = fields.String()
    expected = fields.List(fields.String())
    submitted = fields.List(fields.String())
    missing = fields.List(fields.String())


class SubmissionQuery(PageQuery):
    practice_id = ods_code()
    newest_first = fields.Boolean(load_default=False)


class DueQuery(Strict):
    period = bounded_date(metadata={"description": "any day of an earlier period, to correct "
                                                   "it; default: the latest period ended"})


class DueMeasureOut(MeasureOut):
    project_title = fields.String(allow_none=True)
    period = fields.String(metadata={"description": "the first day of the period due"})
    period_end = fields.String()
    submission = fields.Nested(SubmissionOut, allow_none=True, metadata={
        "description": "what the practice submitted for the period, with its corrections"})


class DueOut(Schema):
    practice_id = fields.String()
    today = fields.String(metadata={"description": "the service's day the answer is for"})
    items = fields.List(fields.Nested(DueMeasureOut))


class SeriesQuery(Strict):
    practice_id = ods_code(metadata={"description": "a practice's series; omit for pooled"})


class CoverageQuery(Strict):
    period = bounded_date(required=True)


class FeedbackIn(Strict):
    source = fields.String(required=True, validate=validate.OneOf(domain.FEEDBACK_SOURCES))
    rating = bounded_integer(1, 5, required=True)
    comment = free_text(2000, load_default=None, allow_none=True)
    period = bounded_date(required=True)
    practice_id = ods_code(load_default=None)


class FeedbackOut(Schema):
    source = fields.String()
    rating = fields.Integer()
    comment = fields.String(allow_none=True)
    period = fields.String()
    practice_id = fields.String()
    received_at = fields.AwareDateTime()


class SpcPointOut(Schema):
    date = fields.String()
    value = fields.Float(allow_none=True)
    mean = fields.Float(allow_none=True)
    lpl = fields.Float(allow_none=True)
    upl = fields.Float(allow_none=True)
    rebase_group = fields.Integer()
    relative_to_mean = fields.Integer(allow_none=True)
    outside_limits = fields.Boolean(allow_none=True, metadata={
        "description": "null where the point has no limits or no value"})
    close_to_limits = fields.Boolean(allow_none=True, metadata={
        "description": "null where the point has no limits or no value"})
    special_cause_type = fields.String(allow_none=True)
    point_type = fields.String(allow_none=True)
    rules = fields.List(fields.String())


class SpcOut(Schema):
    measure_id = fields.String()
    series = fields.String()
    points = fields.List(fields.Nested(SpcPointOut))
    variation_type = fields.String(allow_none=True)
    assurance_type = fields.String(allow_none=True)

