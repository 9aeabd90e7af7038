"""What goes in and out of the projects service's HTTP API."""
from marshmallow import Schema, fields, validate

from shared.events.projects import (
    ACT_DECISIONS, KEY_ROLES, MEMBER_ROLES, PROJECT_SCOPES, PROJECT_STAGES,
)
from shared.validation import Strict, bounded_date, free_text, ods_code, staff_id
from shared.web import PageQuery

from services.projects.domain import lived_experience_partners
from services.projects.progress import SCORES

AIM_YEARS_AHEAD = 10  # an aim may look further ahead than a PDSA cycle


# --- registry -----------------------------------------------------------------------------

class NetworkIn(Strict):
    id = fields.String(required=True, validate=validate.Regexp(
        r"^[a-z0-9][a-z0-9-]{2,39}$", error="3-40 lower-case letters, digits or hyphens"))
    name = free_text(200, required=True)


class NetworkOut(Schema):
    id = fields.String(attribute="_id")
    name = fields.String()
    created_at = fields.AwareDateTime()


class PracticeIn(Strict):
    ods_code = ods_code(required=True)
    name = free_text(200, required=True)
    network_id = fields.String(required=True)


class PracticeOut(Schema):
    ods_code = fields.String(attribute="_id")
    name = fields.String()
    network_id = fields.String()
    created_at = fields.AwareDateTime()


class PracticeQuery(PageQuery):
    network_id = fields.String()


class ApiKeyIn(Strict):
    role = fields.String(required=True, validate=validate.OneOf(KEY_ROLES))
    network_id = fields.String(load_default=None, allow_none=True)
    practice_id = ods_code(load_default=None, allow_none=True)
    staff_id = staff_id(load_default=None, allow_none=True, metadata={
        "description": "for role person only: the holder's pseudonymous staff id"})
    label = free_text(200, load_default=None, allow_none=True)


class ApiKeyOut(Schema):
    key_id = fields.String(attribute="_id")
    role = fields.String()
    network_id = fields.String(allow_none=True)
    practice_id = fields.String(allow_none=True)
    staff_id = fields.String(allow_none=True)
    label = fields.String(allow_none=True)
    issued_at = fields.AwareDateTime()
    revoked_at = fields.AwareDateTime(allow_none=True)


class IssuedApiKeyOut(ApiKeyOut):
    api_key = fields.String(metadata={"description": "shown once; only its hash is stored"})


# --- projects -----------------------------------------------------------------------------

class AimIn(Strict):
    what = free_text(500, required=True, metadata={"description": "what will improve"})
    how_much = free_text(200, required=True, metadata={"description": "by how much"})
    by_when = bounded_date(AIM_YEARS_AHEAD, required=True)


class MemberIn(Strict):
    staff_id = staff_id(required=True)
    role = fields.String(required=True, validate=validate.OneOf(MEMBER_ROLES))
    practice_id = ods_code(load_default=None, allow_none=True)


class ProjectIn(Strict):
    network_id = fields.String(load_default=None, metadata={
        "description": "defaults to the caller's network"})
    title = free_text(200, required=True)
    aim = fields.Nested(AimIn, required=True)
    scope = fields.String(required=True, validate=validate.OneOf(PROJECT_SCOPES))
    practice_ids = fields.List(ods_code(), required=True, validate=validate.Length(min=1, max=50))
    change_ideas = fields.List(free_text(500), load_default=list, validate=validate.Length(max=50))
    members = fields.List(fields.Nested(MemberIn), load_default=list,
                          validate=validate.Length(max=100))


class MemberOut(Schema):
    staff_id = fields.String()
    role = fields.String()
    practice_id = fields.String(allow_none=True)
    added_at = fields.AwareDateTime()


class StageChangeOut(Schema):
    from_stage = fields.String(allow_none=True)
    to_stage = fields.String()
    at = fields.AwareDateTime()
    reason = fields.String(allow_none=True)


class ChangeIdeaOut(Schema):
    change_idea_id = fields.String()
    description = fields.String()


class ProgressScoreOut(Schema):
    score = fields.Float()
    note = fields.String(allow_none=True)
    by = fields.String()
    at = fields.AwareDateTime()


class ProgressSuggestionOut(Schema):
    score = fields.Float()
    meaning = fields.String()
    reasons = fields.List(fields.String())


class ProjectOut(Schema):
    id = fields.String(attribute="_id")
    network_id = fields.String()
    title = fields.String()
    aim = fields.Dict()
    scope = fields.String()
    practice_ids = fields.List(fields.String())
    members = fields.List(fields.Nested(MemberOut))
    lived_experience_partners = fields.Function(lived_experience_partners)
    change_ideas = fields.List(fields.Nested(ChangeIdeaOut))
    stage = fields.String()
    stage_history = fields.List(fields.Nested(StageChangeOut))
    progress_score = fields.Nested(ProgressScoreOut, allow_none=True, metadata={
        "description": "the IHI progress score the lead set last (null: not scored)"})
    progress_history = fields.List(fields.Nested(ProgressScoreOut))
    progress_suggestion = fields.Nested(ProgressSuggestionOut, metadata={
        "description": "derived from cycles, stage, team and signals; never applied"})
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class ProgressScoreIn(Strict):
    score = fields.Float(required=True, validate=validate.OneOf(
        SCORES, error="choose one of " + ", ".join(f"{s:.1f}" for s in SCORES)))
    note = free_text(500, load_default=None, allow_none=True)


class ProjectQuery(PageQuery):
    stage = fields.String(validate=validate.OneOf(PROJECT_STAGES))
    practice_id = ods_code()
    network_id = fields.String()


class StageIn(Strict):
    stage = fields.String(required=True, validate=validate.OneOf(PROJECT_STAGES))
    reason = free_text(500, load_default=None, allow_none=True)


class PracticeJoinIn(Strict):
    practice_id = ods_code(required=True)


# --- PDSA cycles --------------------------------------------------------------------------

class PdsaCycleIn(Strict):
    change_idea = free_text(500, required=True)
    plan = free_text(4000, required=True)
    prediction = free_text(2000, load_default=None, allow_none=True, metadata={
        "description": "what you expect to happen; a cycle without one is flagged"})
    practice_id = ods_code(load_default=None, allow_none=True, metadata={
        "description": "the practice running the cycle; defaults to the caller's practice"})
    do_notes = free_text(4000, load_default=None, allow_none=True)
    study_notes = free_text(4000, load_default=None, allow_none=True)
    started_on = bounded_date(load_default=None)


class PdsaCyclePatch(Strict):
    plan = free_text(4000)
    prediction = free_text(2000, allow_none=True)
    do_notes = free_text(4000, allow_none=True)
    study_notes = free_text(4000, allow_none=True)
    act = fields.String(validate=validate.OneOf(ACT_DECISIONS))
    completed_on = bounded_date()


class PdsaCycleOut(Schema):
    id = fields.String(attribute="_id")
    project_id = fields.String()
    network_id = fields.String()
    practice_id = fields.String(allow_none=True)
    change_idea = fields.String()
    plan = fields.String()
    prediction = fields.String(allow_none=True)
    do_notes = fields.String(allow_none=True)
    study_notes = fields.String(allow_none=True)
    act = fields.String(allow_none=True)
    status = fields.String()
    started_on = fields.String()
    completed_on = fields.String(allow_none=True)
    flags = fields.List(fields.String())
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
