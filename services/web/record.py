"""A person's training record: the capability levels they hold (and those lapsed), each level
required of them with its due date, their gaps (overdue or lapsed), practical evidence from
projects (memberships and completed PDSA cycles), their leaders' assessments and training
needs; and the leader's assessment form. Read from the training service's ``GET
/staff/<staff_id>`` with the signed-in person's own rights: a network lead sees the network's
staff, a practice member or lead their own practice's; anyone else's record answers "Page not
found". A capability-gap mail links here."""
from urllib.parse import quote

from services.web import forms
from services.web.dates import long_date
from services.web.pages import html, page, redirect
from services.web.upstream import UpstreamRefused

LEVEL_WORDS = {"none": "None", "introduction": "Introduction", "foundations": "Foundations",
               "improvement_leader": "Improvement leader", "coach": "Coach", "board": "Board"}


def level_words(level):
    return LEVEL_WORDS.get(level, str(level or "None").replace("_", " ").capitalize())


def requirement_status(requirement):
    """(words, tag colour) of one open requirement."""
    if requirement.get("lapsed"):
        return "Lapsed", "nhsuk-tag--orange"
    if requirement.get("overdue"):
        return "Overdue", "nhsuk-tag--red"
    return "Due", "nhsuk-tag--grey"


def record_view(record, offering_titles=None):
    """What the page shows of training's answer for one person (``PersonOut``)."""
    levels = sorted((record.get("levels") or {}).items(),
                    key=lambda item: tuple(LEVEL_WORDS).index(item[0])
                    if item[0] in LEVEL_WORDS else len(LEVEL_WORDS))
    lapsed = set(record.get("lapsed_levels") or ())
    requirements = []
    for row in sorted(record.get("requirements") or (), key=lambda r: str(r.get("due_on"))):
        words, colour = requirement_status(row)
        requirements.append({"level": level_words(row.get("required_level")),
                             "due_on": long_date(row.get("due_on")),
                             "status": words, "colour": colour,
                             "gap": words != "Due"})
    return {
        "staff_id": record.get("staff_id"),
        "held_level": level_words(record.get("held_level")),
        "lapsed_levels": ", ".join(level_words(level) for level in sorted(lapsed)) or "None",
        "levels": [{"level": level_words(level),
                    "awarded_on": long_date((award or {}).get("awarded_on")),
                    "refreshed_on": long_date((award or {}).get("refreshed_on"))
                    if (award or {}).get("refreshed_on") else "Not yet",
                    "lapsed": level in lapsed} for level, award in levels],
        "requirements": requirements,
        "gaps": sum(1 for row in requirements if row["gap"]),
        **evidence_view(record, offering_titles or {})}


def evidence_view(record, offering_titles):
    """Practical evidence from projects, assessments and training needs, in words."""
    evidence = record.get("practical_evidence") or {}
    cycles = sorted(evidence.get("pdsa_cycles") or (), key=lambda c: str(c.get("completed_on")))
    return {
        "projects": [{"project_id": p.get("project_id"),
                      "role": str(p.get("role") or "member").replace("_", " ").capitalize(),
                      "joined_on": long_date(p.get("joined_on"))}
                     for p in evidence.get("projects") or ()],
        "cycles": [{"change_idea": c.get("change_idea"), "project_id": c.get("project_id"),
                    "completed_on": long_date(c.get("completed_on")),
                    "act": str(c.get("act") or "").capitalize()} for c in cycles],
        "assessments": [{"level": level_words(a.get("assessed_level")),
                         "by": a.get("assessed_by"), "on": long_date(a.get("assessed_at")),
                         "notes": a.get("notes") or ""}
                        for a in reversed(record.get("assessments") or ())],
        "needs": [{"offering": offering_titles.get(n.get("offering_id"), n.get("offering_id")),
                   "by": long_date(n.get("by")), "set_by": n.get("set_by")}
                  for n in record.get("training_needs") or ()]}


# The levels a leader may assess (the training service's own list; it refuses any other).
ASSESSED_LEVELS = ("none", "introduction", "foundations", "improvement_leader", "coach")
# Each field of the assessment form, named as the training service names it, and its label.
ASSESSMENT_LABELS = {"assessed_level": "Level assessed", "notes": "Notes",
                     "assessor_staff_id": "Assessor", "training_need.offering_id":
                     "Training needed", "training_need.by": "Needed by"}


def form_errors(refused, labels, aliases=None):
    """A refusal as errors next to a form's fields (the training pages share this). A 403 or
    404 naming only the form's fields (a person the caller may not see, an assessor who is
    not a leader) is an answer about what was typed; any other 403 or 404 (the cohort or the
    person the page is about) is raised again and becomes "Page not found"."""
    aliases = aliases or {}
    named = [aliases.get(name, name) for name in (refused.body or {}).get("fields") or {}]
    if refused.status in (403, 404) and named and all(
            any(name == f or name.startswith(f + ".") for f in labels) for name in named):
        refused = UpstreamRefused(422, refused.body)
    return forms.refused_fields(refused, labels, aliases)


def assessment_body(values):
    """What ``POST /staff/<id>/assessments`` is sent from the form's ``values``: what was left
    empty is left out, so that the training service names what it needs."""
    body = {"notes": values["notes"] or None,
            "assessor_staff_id": values["assessor_staff_id"] or None}
    if values["assessed_level"]:
        body["assessed_level"] = values["assessed_level"]
    need = {}
    if values["need_offering_id"]:
        need["offering_id"] = values["need_offering_id"]
    by = forms.typed_date(values, "need_by")  # ValueError: not a real date
    if by:
        need["by"] = by
    if need:
        body["training_need"] = need
    return body


def assessment_error_list(errors):
    """The error summary's list; the date's link goes to its first box (the day)."""
    return forms.link_dates_to_their_day(forms.error_list(errors, ASSESSMENT_LABELS),
                                         ("training_need.by",))


class TrainingRecordPages:
    """Mixed into ``WebService`` (its ``upstream`` and ``page`` machinery)."""

    @page("GET", "/people/<staff_id>/training")
    def training_record(self, request, session, staff_id):
        upstream = self.upstream(session)
        record = upstream.training(f"/staff/{quote(staff_id, safe='')}")
        titles = {o["offering_id"]: o["title"] for o in upstream.training(
            "/offerings", params={"page_size": 200})["items"]} if record.get(
            "training_needs") else {}
        view = record_view(record, titles)
        return "training_record.jinja", {"title": f"Training record of {view['staff_id']}",
                                         "nav": "training", "record": view,
                                         "assessed": request.args.get("assessed") == "yes",
                                         "assess_href": f"/people/{quote(staff_id)}/assessment"}

    @page("GET", "/people/<staff_id>/assessment")
    def training_assessment(self, request, session, staff_id):
        values = {name: "" for name in ("assessed_level", "notes", "need_offering_id",
                                        *forms.date_box_names("need_by"))}
        values["assessor_staff_id"] = self.access_of(session).staff_id or ""
        return self._assessment_page(session, request, staff_id, values, {})

    @page("POST", "/people/<staff_id>/assessment", form=True, once=True)
    def training_assess(self, request, session, staff_id):
        values = {name: request.form.get(name, "").strip() for name in (
            "assessed_level", "notes", "assessor_staff_id", "need_offering_id",
            *forms.date_box_names("need_by"))}
        try:
            body = assessment_body(values)
        except ValueError as not_a_date:
            return self._assessment_page(session, request, staff_id, values,
                                         {"training_need.by": [str(not_a_date)]}, status=422)
        try:
            self.upstream(session).send("training", "POST",
                                        f"/staff/{quote(staff_id, safe='')}/assessments", body)
        except UpstreamRefused as refused:
            return self._assessment_page(session, request, staff_id, values,
                                         form_errors(refused, ASSESSMENT_LABELS), status=422)
        return redirect(f"/people/{quote(staff_id)}/training?assessed=yes")

    def _assessment_page(self, session, request, staff_id, values, errors, status=200):
        upstream = self.upstream(session)
        record = upstream.training(f"/staff/{quote(staff_id, safe='')}")  # 404: not theirs
        offerings = upstream.training("/offerings", params={"page_size": 200})["items"]
        return html("training_assessment.jinja", status=status,
                    **self.common_context(session, request), **{
                        "title": f"Assess {record['staff_id']}", "nav": "training",
                        "staff_id": record["staff_id"],
                        "held_level": level_words(record.get("held_level")),
                        "record_href": f"/people/{quote(staff_id)}/training",
                        "action": f"/people/{quote(staff_id)}/assessment",
                        "levels": [{"value": level, "text": level_words(level),
                                    "checked": values["assessed_level"] == level}
                                   for level in ASSESSED_LEVELS],
                        "offerings": [{"value": "", "text": "No training needed"}] + [
                            {"value": o["offering_id"], "text": o["title"],
                             "selected": values["need_offering_id"] == o["offering_id"]}
                            for o in offerings],
                        "values": values, "errors": forms.field_messages(errors),
                        "error_list": assessment_error_list(errors)})
