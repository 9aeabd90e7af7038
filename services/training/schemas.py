"""Request and response shapes of the training service (marshmallow at every boundary).

Bad input names its field: an unknown level or offering kind, a date out of bounds, free text
holding an NHS number, an email address or a phone number (this service holds no contact
details: people are pseudonymous staff ids).
"""
import re

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.training.domain.catalogue import ATTENDANCE, OFFERING_KINDS
from services.training.domain.framework import ANCHORS, APPLIES_TO, AWARDABLE_LEVELS, LEVELS
from services.training.domain.people import MAX_IMPORT_ROWS
from shared.domain import RuleBroken
from shared.errors import field_messages
from shared.validation import (Strict, bounded_date, bounded_float, bounded_integer,
                               no_patient_identifiers, ods_code, staff_id)
from shared.web import PageQuery

EMAIL_SHAPE = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
# UK phone numbers: +44 or 0, then 9-10 digits, optionally grouped.
PHONE_SHAPE = re.compile(r"(?<![\d])(?:\+44\s?|0)\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4}(?![\d])")
IDENTIFIER = validate.Length(min=1, max=64)
MAX_SESSIONS = 52


def no_contact_details(text):
    """No email addresses or phone numbers: the registry holds pseudonymous ids only."""
    if text and EMAIL_SHAPE.search(text):
        raise ValidationError("looks like an email address; this registry holds no contact "
                              "details")
    if text and PHONE_SHAPE.search(text):
        raise ValidationError("looks like a phone number; this registry holds no contact "
                              "details")


def plain_text(max_length, **kwargs):
    """Free text of 1..max_length characters without NHS numbers or contact details."""
    return fields.String(validate=[validate.Length(min=1, max=max_length),
                                   no_patient_identifiers, no_contact_details], **kwargs)


def level_field(choices=LEVELS, **kwargs):
    return fields.String(validate=validate.OneOf(
        choices, error=f"one of {', '.join(choices)}"), **kwargs)


class NullableNested(fields.Nested):
    """A nested object or null, documented as OpenAPI 3.0 writes that (``nullable`` beside an
    ``allOf`` of the schema): apispec documents ``allow_none`` as "the schema or any object"."""

    def __init__(self, nested, **kwargs):
        metadata = {"nullable": True, **kwargs.pop("metadata", {})}
        super().__init__(nested, allow_none=False, metadata=metadata, **kwargs)

    def deserialize(self, value, attr=None, data=None, **kwargs):
        if value is None:
            return None
        return super().deserialize(value, attr, data, **kwargs)


class RequirementIn(Strict):
    requirement_id = fields.String(required=True, validate=validate.Regexp(
        r"^[a-z][a-z0-9_]{1,63}$", error="lower-case letters, digits and _"))
    applies_to = fields.String(required=True, validate=validate.OneOf(APPLIES_TO))
    role = plain_text(60, load_default=None, allow_none=True)
    level = level_field(AWARDABLE_LEVELS, required=True)
    anchor = fields.String(required=True, validate=validate.OneOf(ANCHORS))
    within_days = bounded_integer(0, 3650, required=True)


class CoverageTargetIn(Strict):
    level = level_field(AWARDABLE_LEVELS, required=True)
    share = bounded_float(0, 1, required=True)
    by = bounded_date(years_ahead=10, load_default=None, allow_none=True)


class TargetsIn(Strict):
    introduction_share_per_year = bounded_float(0, 1)
    foundations_share_per_year = bounded_float(0, 1)
    leaders_on_programme_share = bounded_float(0, 1)
    coverage = fields.Nested(CoverageTargetIn)


# Days a level stays held without a refresher, by level: the keys are the levels, no others.
RefreshDaysIn = type("RefreshDaysIn", (Strict,), {
    "__doc__": "Days (30 to 3650) a level stays held without a refresher, by level.",
    "error_messages": {"unknown": f"not a level: give one of {', '.join(AWARDABLE_LEVELS)}"},
    **{level: bounded_integer(30, 3650) for level in AWARDABLE_LEVELS}})


class FrameworkChangeIn(Strict):
    requirements = fields.List(fields.Nested(RequirementIn), validate=validate.Length(
        min=1, max=50))
    refresh_days = fields.Nested(RefreshDaysIn)
    targets = fields.Nested(TargetsIn)


class StaffIn(Strict):
    staff_id = staff_id(required=True, metadata={
        "description": "pseudonymous: the id the projects service uses for members"})
    network_id = fields.String(required=True, validate=IDENTIFIER)
    practice_id = ods_code(required=True)
    team = plain_text(80, required=True)
    role = plain_text(60, required=True, metadata={
        "description": "the job, e.g. practice_manager or board_member (never a name)"})
    leader = fields.Boolean(load_default=False, metadata={
        "description": "in a management or leadership role"})
    lived_experience_partner = fields.Boolean(load_default=False)
    started_on = bounded_date(required=True)
    left_on = bounded_date(load_default=None, allow_none=True)

    @validates_schema
    def leaves_after_starting(self, data, **kwargs):
        if data.get("left_on") and data["left_on"] < data["started_on"]:
            raise ValidationError("a person leaves after they start", "left_on")


IMPORT_ROWS = validate.Length(min=1, max=MAX_IMPORT_ROWS, error=f"1 to {MAX_IMPORT_ROWS} rows")


def staff_csv(**kwargs):
    return fields.String(validate=validate.Length(min=1, max=5_000_000), metadata={
        "description": "the same fields as CSV with a header row (or give rows); any common "
                       "line ending"}, **kwargs)


class StaffRowsIn(Strict):
    """A staff import as JSON rows (documented; ``StaffImportIn`` loads it)."""
    rows = fields.List(fields.Nested(StaffIn), required=True, validate=IMPORT_ROWS,
                       metadata={"description": "the people (or give csv)"})


class StaffCsvIn(Strict):
    """A staff import as CSV text (documented; ``StaffImportIn`` loads it)."""
    csv = staff_csv(required=True)


class StaffImportIn(Strict):
    """What POST /staff-imports loads: ``rows`` or ``csv``, one of them (the document says
    ``StaffRowsIn`` or ``StaffCsvIn``). Each row is loaded by ``StaffIn`` in the service layer,
    so that a bad row is named ``rows.<n>.<field>`` and refuses the whole import."""
    rows = fields.List(fields.Dict(), validate=IMPORT_ROWS)
    csv = staff_csv()

    @validates_schema
    def rows_or_csv(self, data, **kwargs):
        if ("rows" in data) == ("csv" in data):
            raise ValidationError("give rows or csv, not both", "rows")


class StaffUpdateIn(Strict):
    team = plain_text(80)
    role = plain_text(60)
    leader = fields.Boolean()
    lived_experience_partner = fields.Boolean()
    left_on = bounded_date(allow_none=True)


class CompletionCriteriaIn(Strict):
    attendance_share = bounded_float(0.01, 1, load_default=0.8)
    requires_live_project = fields.Boolean(load_default=False, metadata={
        "description": "the leaders' programme: a live project with the person as member"})


class OfferingIn(Strict):
    network_id = fields.String(required=True, validate=IDENTIFIER)
    kind = fields.String(required=True, validate=validate.OneOf(OFFERING_KINDS))
    title = plain_text(200, required=True)
    awards_level = level_field(AWARDABLE_LEVELS, load_default=None, allow_none=True)
    refresher_for = level_field(AWARDABLE_LEVELS, load_default=None, allow_none=True)
    duration_hours = bounded_float(0.25, 1000, required=True)
    capacity = bounded_integer(1, 1000, required=True)
    completion = fields.Nested(CompletionCriteriaIn, load_default=lambda: {
        "attendance_share": 0.8, "requires_live_project": False})


class CohortIn(Strict):
    offering_id = fields.String(required=True, validate=IDENTIFIER)
    session_dates = fields.List(bounded_date(), required=True,
                                validate=validate.Length(min=1, max=MAX_SESSIONS))
    capacity = bounded_integer(1, 1000, load_default=None, allow_none=True)


class StaffRef(Strict):
    staff_id = staff_id(required=True)


class AttendanceIn(Strict):
    staff_id = staff_id(required=True)
    status = fields.String(required=True, validate=validate.OneOf(ATTENDANCE))


class RegisterIn(Strict):
    csv = fields.String(required=True, validate=validate.Length(min=1, max=1_000_000),
                        metadata={"description": "the register: header staff_id,status; any "
                                                 "common line ending"})


class AwardIn(Strict):
    staff_id = staff_id(required=True)
    level = level_field(AWARDABLE_LEVELS, required=True)
    evidence = plain_text(500, required=True)


class TrainingNeedIn(Strict):
    offering_id = fields.String(required=True, validate=IDENTIFIER)
    by = bounded_date(required=True)


class AssessmentIn(Strict):
    assessed_level = level_field(required=True)
    notes = plain_text(2000, load_default=None, allow_none=True)
    assessor_staff_id = staff_id(load_default=None, allow_none=True, metadata={
        "description": "the assessing leader (required with a practice key)"})
    training_need = NullableNested(TrainingNeedIn, load_default=None)


class StaffQuery(PageQuery):
    network_id = fields.String(validate=IDENTIFIER)
    practice_id = ods_code()
    team = plain_text(80)


class OfferingQuery(PageQuery):
    network_id = fields.String(validate=IDENTIFIER)
    kind = fields.String(validate=validate.OneOf(OFFERING_KINDS))


class CohortQuery(PageQuery):
    """One offering's cohorts, or every cohort of a network (a catalogue page in one call)."""
    offering_id = fields.String(validate=IDENTIFIER)
    network_id = fields.String(validate=IDENTIFIER)

    @validates_schema
    def one_catalogue(self, data, **kwargs):
        if bool(data.get("offering_id")) == bool(data.get("network_id")):
            raise ValidationError("give offering_id or network_id, not both", "offering_id")


class ScopeQuery(Strict):
    """A report's scope: a practice (optionally one team) or a network."""
    network_id = fields.String(validate=IDENTIFIER)
    practice_id = ods_code()
    team = plain_text(80)

    @validates_schema
    def one_scope(self, data, **kwargs):
        if not data.get("network_id") and not data.get("practice_id"):
            raise ValidationError("give practice_id or network_id", "practice_id")
        if data.get("team") and not data.get("practice_id"):
            raise ValidationError("a team is named within a practice", "practice_id")


class PyramidRow(Schema):
    level = fields.String()
    holding = fields.Integer()
    required = fields.Integer()
    required_holding = fields.Integer()
    share = fields.Float()


class ReportOut(Schema):
    scope = fields.Dict()
    on = fields.String()
    staff = fields.Integer()
    pyramid = fields.List(fields.Nested(PyramidRow))
    dosage = fields.Dict()
    lived_experience_partners = fields.Dict()
    activation = fields.Dict()
    gaps = fields.Dict()
    next_needs = fields.List(fields.Dict())


class FrameworkOut(Schema):
    network_id = fields.String()
    requirements = fields.List(fields.Dict())
    refresh_days = fields.Dict(keys=fields.String(), values=fields.Integer())
    targets = fields.Dict()
    changes = fields.List(fields.Dict())


class StaffOut(Schema):
    staff_id = fields.String(attribute="_id")
    network_id = fields.String()
    practice_id = fields.String()
    team = fields.String()
    role = fields.String()
    leader = fields.Boolean()
    lived_experience_partner = fields.Boolean()
    started_on = fields.String()
    left_on = fields.String(allow_none=True)
    levels = fields.Dict()
    obligations = fields.List(fields.Dict())
    next_due_on = fields.String(allow_none=True)


class PersonOut(Schema):
    """A person's record: levels, each open requirement against the level held, practical
    evidence, assessments and training needs."""
    staff_id = fields.String()
    held_level = fields.String()
    lapsed_levels = fields.List(fields.String())
    levels = fields.Dict()
    requirements = fields.List(fields.Dict())
    practical_evidence = fields.Dict()
    assessments = fields.List(fields.Dict())
    training_needs = fields.List(fields.Dict())


class OfferingOut(Schema):
    offering_id = fields.String(attribute="_id")
    network_id = fields.String()
    kind = fields.String()
    title = fields.String()
    awards_level = fields.String(allow_none=True)
    refresher_for = fields.String(allow_none=True)
    duration_hours = fields.Float()
    capacity = fields.Integer()
    completion = fields.Dict()


class CohortOut(Schema):
    cohort_id = fields.String(attribute="_id")
    offering_id = fields.String()
    network_id = fields.String()
    kind = fields.String()
    capacity = fields.Integer()
    places_left = fields.Integer()
    sessions = fields.List(fields.Dict())
    enrolments = fields.List(fields.Dict())
    waiting = fields.List(fields.Dict())


class EnrolmentOut(Schema):
    staff_id = fields.String()
    state = fields.String(metadata={"description": "enrolled, or waiting (the cohort is full)"})
    cohort = fields.Nested(CohortOut)


def load_rows(schema, rows, refusal, field="rows"):
    """Every row loaded by ``schema``, or none: the first problems (20 at most) refuse them
    all, as ``RuleBroken`` with the message ``refusal``, each named
    ``rows.<index>.<field>``."""
    loaded, problems = [], {}
    for index, row in enumerate(rows):
        try:
            loaded.append(schema.load(row))
        except ValidationError as exc:
            for name, messages in exc.messages.items():
                problems[f"{field}.{index}.{name}"] = messages
        if len(problems) >= 20:
            break
    if problems:
        raise RuleBroken(refusal, field_messages(problems))
    return loaded
