"""Completing a person's enrolment on a cohort: the step that gives them the offering's
capability level. From the cohort page, each person still enrolled has "Record completion",
a confirmation page ("Record that nurse-03 completed Foundations of QI?") with their
attendance against the offering's criteria; its button posts to the training service's ``POST
/cohorts/<id>/completions`` with the signed-in person's own rights. The training service alone
decides (attendance share, sessions still ahead, a live project for the leaders' programme):
its refusal comes back on the confirmation page in the error summary, naming the field; a
person the caller may not see is "Page not found". A completion redirects to the cohort page
with a success banner naming the level awarded (post/redirect/get; sent twice, recorded once)."""
from datetime import datetime, timezone
from urllib.parse import quote, urlencode

from services.web import forms
from services.web.dates import long_date
from services.web.inbox import segment
from services.web.pages import html, page, redirect
from services.web.record import level_words
from services.web.upstream import UpstreamRefused

ATTENDANCE_WORDS = {"present": "Present", "late": "Late", "apologies": "Sent apologies",
                    "absent": "Absent"}
ATTENDED = ("present", "late")  # what the training service counts as attended
# The fields the training service names when it refuses a completion, and their labels.
COMPLETION_LABELS = {"staff_id": "Person", "cohort_id": "Sessions"}
FIELD_ANCHORS = {"staff_id": "#person", "cohort_id": "#sessions"}


def enrolment_of(cohort, staff_id):
    """The person's enrolment on the cohort (enrolled or completed), or None."""
    return next((e for e in cohort.get("enrolments") or ()
                 if e["staff_id"] == staff_id and e.get("state") != "withdrawn"), None)


def completion_href(cohort_id, staff_id):
    return f"/training/cohorts/{quote(cohort_id)}/completion?{urlencode({'staff_id': staff_id})}"


def enrolled_rows(cohort):
    """The cohort page's enrolled people (not the withdrawn): who, since when, their state;
    the day they completed, or the link to record their completion while still enrolled."""
    rows = []
    for entry in cohort.get("enrolments") or ():
        if entry.get("state") == "withdrawn":
            continue
        completed = entry.get("state") == "completed"
        rows.append({"staff_id": entry["staff_id"], "state": entry["state"],
                     "enrolled_on": long_date(entry.get("enrolled_on")),
                     "completed_on": long_date(entry.get("completed_on")) if completed else None,
                     "complete_href": None if completed or entry.get("state") != "enrolled"
                     else completion_href(cohort["cohort_id"], entry["staff_id"])})
    return rows


def awarded_words(offering):
    """What completing ``offering`` gives: ``Foundations``, or ``Renews Coach`` for a
    refresher."""
    if offering.get("awards_level"):
        return level_words(offering["awards_level"])
    return f"Renews {level_words(offering.get('refresher_for'))}"


def completion_words(args, offering, title):
    """The cohort page's success banner after a completion (the redirect's query):
    ``nurse-03 completed Foundations of QI and now holds Foundations.``; None otherwise."""
    staff_id = args.get("staff_id")
    if args.get("done") != "completed" or not staff_id:
        return None
    if offering and offering.get("awards_level"):
        return (f"{staff_id} completed {title} and now holds "
                f"{level_words(offering['awards_level'])}.")
    if offering and offering.get("refresher_for"):
        return f"{staff_id} completed {title} and renewed {level_words(offering['refresher_for'])}."
    return f"{staff_id} completed {title}."


def criteria_words(offering):
    """The offering's completion criteria in words, as the training service checks them."""
    completion = offering.get("completion") or {}
    if offering.get("kind") == "programme":
        criteria = ["Attend every session, or make up a missed one in a later cohort of the "
                    "programme"]
    else:
        share = round(completion.get("attendance_share", 0.8) * 100)
        criteria = [f"Attend at least {share}% of the sessions held since they enrolled"]
    if completion.get("requires_live_project"):
        criteria.append("Be a member of a live improvement project")
    criteria.append("The cohort's last session has been held")
    return criteria


def attendance_view(offering, cohort, entry, today):
    """Each session with the person's mark in words and whether it counts (a session ahead
    of ``today``, ISO ``YYYY-MM-DD``, does not yet; nor, except on a programme, one before
    they enrolled), and a summary: ``Attended 1 of 2 sessions held (50%)``."""
    programme = offering.get("kind") == "programme"
    rows, counted, attended = [], 0, 0
    for session in sorted(cohort.get("sessions") or (), key=lambda s: s["number"]):
        mark = (entry.get("attendance") or {}).get(session["session_id"])
        if session["on"] > today:
            note = "Not held yet"
        elif not programme and session["on"] < entry.get("enrolled_on", ""):
            note = "Before they enrolled: does not count"
        else:
            note = ""
            counted += 1
            attended += mark in ATTENDED
        rows.append({"number": session["number"], "on": long_date(session["on"]),
                     "mark": ATTENDANCE_WORDS.get(mark, "Not marked"), "note": note})
    if not counted:
        return rows, "No session that counts has been held yet"
    return rows, (f"Attended {attended} of {counted} session{'s' if counted != 1 else ''} held "
                  f"({round(attended / counted * 100)}%)")


def completion_error_list(errors):
    """The error summary's list: each reason the training service gave, linked to the part of
    the page it is about (the person, or the sessions)."""
    listed = forms.error_list(errors, COMPLETION_LABELS)
    return [{**item, "href": FIELD_ANCHORS.get(item["field"])} for item in listed]


class CompletionPages:
    """Mixed into ``WebService`` (its ``upstream`` and ``page`` machinery)."""

    @page("GET", "/training/cohorts/<cohort_id>/completion")
    def training_completion(self, request, session, cohort_id):
        return self._completion_page(session, request, cohort_id,
                                     request.args.get("staff_id", "").strip(), {})

    @page("POST", "/training/cohorts/<cohort_id>/completions", form=True, once=True)
    def training_complete(self, request, session, cohort_id):
        staff_id = request.form.get("staff_id", "").strip()
        try:
            self.upstream(session).send("training", "POST",
                                        f"/cohorts/{segment(cohort_id)}/completions",
                                        {"staff_id": staff_id})
        except UpstreamRefused as refused:
            # A 403 or 404 (a cohort or person the caller may not see) is raised again by
            # refused_fields and becomes "Page not found"; a 409 or 422 is the criteria's.
            errors = forms.refused_fields(refused, COMPLETION_LABELS)
            return self._completion_page(session, request, cohort_id, staff_id, errors,
                                         status=422)
        done = urlencode({"done": "completed", "staff_id": staff_id})
        return redirect(f"/training/cohorts/{quote(cohort_id)}?{done}")

    def _completion_page(self, session, request, cohort_id, staff_id, errors, status=200):
        upstream = self.upstream(session)
        cohort = upstream.training(f"/cohorts/{segment(cohort_id)}")
        entry = enrolment_of(cohort, staff_id)
        if entry is None and not errors:  # nobody of theirs enrolled under that id
            return self.error_page(404, "Page not found", "", session)
        offering = next((o for o in upstream.training("/offerings", params={
            "page_size": 200})["items"] if o["offering_id"] == cohort["offering_id"]),
            {"offering_id": cohort["offering_id"], "title": cohort["offering_id"]})
        today = datetime.fromtimestamp(self.site.clock(), timezone.utc).date().isoformat()
        sessions, attended = attendance_view(offering, cohort, entry, today) if entry \
            else ([], "Not enrolled on this cohort")
        completed = bool(entry) and entry.get("state") == "completed"
        title = (f"{staff_id} completed {offering['title']}" if completed
                 else f"Record that {staff_id or 'this person'} completed {offering['title']}?")
        return html("training_completion.jinja", status=status,
                    **self.common_context(session, request), **{
                        "title": title, "nav": "training", "staff_id": staff_id,
                        "offering": offering, "awards": awarded_words(offering),
                        "cohort_href": f"/training/cohorts/{quote(cohort_id)}",
                        "action": f"/training/cohorts/{quote(cohort_id)}/completions",
                        "record_href": f"/people/{quote(staff_id, safe='')}/training",
                        "enrolled_on": long_date(entry.get("enrolled_on")) if entry else None,
                        "completed_on": long_date(entry.get("completed_on"))
                        if completed else None,
                        "may_complete": bool(entry) and entry.get("state") == "enrolled",
                        "sessions": sessions, "attended": attended,
                        "criteria": criteria_words(offering),
                        "error_list": completion_error_list(errors)})
