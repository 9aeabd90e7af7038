"""Projects grouped by stage with their IHI progress score, a project's page (aim, team,
measures with their charts, the PDSA log, the lead's progress score form), and its PDSA cycles
started and completed. Everything is read and changed through the projects and measurement
services with the signed-in person's own rights: a project they may not see answers "Page not
found" because the service answered 404.

Forms post, then redirect to the project's page with a banner (post/redirect/get). What the
service refuses comes back on the same form next to the field it named, with what was typed.
The "Start a PDSA cycle" form carries a fresh Idempotency-Key, sent to the projects service, so
a form sent again (a refresh, from another tab or after a timeout) starts one cycle whatever
the web remembers of it.
"""

from analytics.spc import SpcAnalysis
from analytics.spc import verdict as spc_words
from services.web import forms
from services.web.dates import long_date
from services.web.forms import typed_date
from services.web.inbox import segment
from services.web.pages import html, page, redirect
from services.web.upstream import UpstreamRefused
from shared.idempotency import IDEMPOTENCY_KEY

STAGES = ("idea", "planning", "testing", "implementing", "sustaining", "closed")
SCORES = ("0.5", "1.0", "1.5", "2.0", "2.5", "3.0", "3.5", "4.0", "4.5", "5.0")
ROLE_WORDS = {"lead": "Lead", "sponsor": "Sponsor", "member": "Member", "coach": "QI coach",
              "lived_experience_partner": "Lived-experience partner"}
ACTS = {"adopt": "Adopt: keep the change and make it how we work",
        "adapt": "Adapt: change it and test it again in a new cycle",
        "abandon": "Abandon: stop; it did not bring the improvement predicted"}
FLAG_WORDS = {"no_prediction": "No prediction"}
OTHER_IDEA = "other"
LIST_PAGE_SIZE = 200
DONE = {"started": "The PDSA cycle has started. It is in the PDSA log below.",
        "completed": "The PDSA cycle is complete. It is in the PDSA log below.",
        "scored": "The progress score is saved."}
SCORE_LABELS = {"score": "Progress score", "note": "Note"}
START_LABELS = {"change_idea": "Change idea", "plan": "Plan", "prediction": "Prediction",
                "practice_id": "Practice", "started_on": "Start date"}
SENT_BEFORE = ("This form was sent before with other values, so no cycle was started now. "
               "Check the values below and start the cycle again.")
COMPLETE_LABELS = {"do_notes": "What was done", "study_notes": "What you learned",
                   "act": "Decision", "completed_on": "Completion date"}


def score_words(score):
    return f"{float(score):.1f}"


def suggestion_words(suggestion):
    """"Suggested: 2.5, because ..." (always a suggestion: the lead sets the score)."""
    return (f"Suggested: {score_words(suggestion['score'])}, because "
            + "; ".join(suggestion["reasons"]) + ".")


def scope_words(project):
    if project["scope"] == "practice":
        return f"Practice project of {project['practice_ids'][0]}"
    return f"Network project, {len(project['practice_ids'])} practices"


def error_list(errors, labels, date_field):
    """The error summary's list; a date's link goes to its first box (the day)."""
    return forms.link_dates_to_their_day(forms.error_list(errors, labels), (date_field,))


def once_headers(request):
    """The rendered form's Idempotency-Key as the header the service reads (none: no key)."""
    key = request.form.get("idempotency_key", "").strip()
    return {IDEMPOTENCY_KEY: key} if key else None


def cycle_row(cycle):
    return {"id": cycle["id"], "change_idea": cycle["change_idea"],
            "practice": cycle.get("practice_id") or "The network",
            "started": long_date(cycle["started_on"]),
            "completed": long_date(cycle["completed_on"]) if cycle.get("completed_on") else "",
            "prediction": cycle.get("prediction") or "", "plan": cycle.get("plan") or "",
            "do_notes": cycle.get("do_notes") or "", "learned": cycle.get("study_notes") or "",
            "decision": (cycle.get("act") or "").capitalize(),
            "running": cycle["status"] == "running",
            "flags": [FLAG_WORDS.get(f, f) for f in cycle.get("flags", [])]}


class ProjectPages:
    """Mixed into ``WebService`` (its ``upstream`` and ``page`` machinery)."""

    @page("GET", "/projects")
    def projects(self, request, session):
        listed = self.upstream(session).projects("/projects",
                                                 params={"page_size": LIST_PAGE_SIZE})
        groups = []
        for stage in STAGES:
            rows = [{"id": p["id"], "title": p["title"], "scope": scope_words(p),
                     "practices": ", ".join(p["practice_ids"]),
                     "score": score_words(p["progress_score"]["score"])
                     if p.get("progress_score") else "Not scored",
                     "suggestion": suggestion_words(p["progress_suggestion"])}
                    for p in listed["items"] if p["stage"] == stage]
            if rows:
                groups.append({"stage": stage.capitalize(), "projects": rows})
        return "projects.jinja", {"title": "Projects", "nav": "projects", "groups": groups,
                                  "total": listed["total"], "shown": len(listed["items"])}

    @page("GET", "/projects/<project_id>")
    def project(self, request, session, project_id):
        return "project.jinja", self._project_context(
            session, project_id, {"score": "", "note": ""}, {},
            DONE.get(request.args.get("done")))

    @page("POST", "/projects/<project_id>/progress-score", form=True, once=True)
    def set_progress_score(self, request, session, project_id):
        values = {name: request.form.get(name, "").strip() for name in SCORE_LABELS}
        errors = {}
        if values["score"] not in SCORES:
            errors["score"] = ["Choose a progress score from 0.5 to 5.0"]
        else:
            try:
                self.upstream(session).send(
                    "projects", "POST", f"/projects/{segment(project_id)}/progress-score",
                    {"score": float(values["score"]), "note": values["note"] or None})
                return redirect(f"/projects/{segment(project_id)}?done=scored")
            except UpstreamRefused as refused:
                errors = forms.refused_fields(refused, SCORE_LABELS)
        return html("project.jinja", status=422, **self.common_context(session, request),
                    **self._project_context(session, project_id, values, errors, None))

    def _project_context(self, session, project_id, values, errors, done):
        access = self.access_of(session)
        upstream = self.upstream(session)
        project = upstream.projects(f"/projects/{segment(project_id)}")
        cycles = upstream.projects(f"/projects/{segment(project_id)}/pdsa-cycles",
                                   params={"page_size": LIST_PAGE_SIZE})["items"]
        measures = upstream.measurement(f"/projects/{segment(project_id)}/measures")["items"]
        members = [{"staff_id": m["staff_id"], "role": ROLE_WORDS.get(m["role"], m["role"]),
                    "practice": m.get("practice_id") or "The network"}
                   for m in project["members"]]
        current = project.get("progress_score")
        return {
            "title": project["title"], "nav": "projects", "project": project,
            "stage": project["stage"].capitalize(), "scope": scope_words(project),
            "by_when": long_date(project["aim"]["by_when"]), "members": members,
            "partners": project.get("lived_experience_partners", 0),
            "measures": [self._measure_chart(upstream, m) for m in measures],
            "cycles": [cycle_row(c) for c in reversed(cycles)],
            "score": ({"score": score_words(current["score"]), "note": current.get("note"),
                       "by": current["by"], "on": long_date(current["at"]),
                       "meaning": SCORE_MEANINGS[score_words(current["score"])]}
                      if current else None),
            "history": [{"score": score_words(h["score"]), "on": long_date(h["at"]),
                         "by": h["by"], "note": h.get("note") or ""}
                        for h in reversed(project.get("progress_history", []))],
            "suggestion": suggestion_words(project["progress_suggestion"]),
            # The form is offered to who may change the project; the service decides.
            "may_score": access.is_lead or project["scope"] == "practice",
            "may_start": project["stage"] != "closed",
            "score_items": [{"value": s, "text": s, "hint": SCORE_MEANINGS[s],
                             "checked": values["score"] == s} for s in SCORES],
            "values": values, "errors": forms.field_messages(errors),
            "error_list": forms.error_list(errors, SCORE_LABELS), "done": done}

    def _measure_chart(self, upstream, measure):
        """A measure with its pooled chart (the site's own chart route) and an alt text that
        says what the chart shows."""
        href = f"/measures/{segment(measure['id'])}"
        try:
            analysis = SpcAnalysis.from_dict(upstream.measurement(f"{href}/spc"))
            verdict = spc_words.verdict(analysis, measure.get("target"))
        except UpstreamRefused:
            verdict = None
        return {"name": measure["name"], "type": measure["type"].capitalize(), "href": href,
                "chart": f"{href}/chart.svg" if verdict and analysis.points else None,
                "verdict": (verdict[:1].upper() + verdict[1:]) if verdict else "No data yet.",
                "alt": f"Statistical process control chart of {measure['name']}, the "
                       f"network's pooled series: {verdict} The values are on the measure's "
                       "page."}

    # --- PDSA cycles -----------------------------------------------------------------------

    @page("GET", "/projects/<project_id>/pdsa-cycles/new")
    def new_pdsa_cycle(self, request, session, project_id):
        values = {name: "" for name in (*START_LABELS, "change_idea_other",
                                        *forms.date_box_names("started_on"))}
        values["practice_id"] = None  # no radio chosen for the person
        return "pdsa_new.jinja", self._start_context(session, project_id, values, {})

    @page("POST", "/projects/<project_id>/pdsa-cycles/new", form=True, once=True)
    def start_pdsa_cycle(self, request, session, project_id):
        names = (*START_LABELS, "change_idea_other", *forms.date_box_names("started_on"))
        values = {name: request.form.get(name, "").strip() for name in names}
        values["practice_id"] = request.form.get("practice_id")  # None: none chosen
        context = self._start_context(session, project_id, values, {})
        errors = {}
        idea = values["change_idea_other"] if values["change_idea"] in ("", OTHER_IDEA) \
            else values["change_idea"]
        if not idea:
            errors["change_idea"] = ["Choose a change idea or describe one"]
        if not values["plan"]:
            errors["plan"] = ["Enter the plan: what you will do, who, where and when"]
        if not values["prediction"]:
            errors["prediction"] = ["Enter a prediction: what you expect to happen"]
        try:
            started_on = typed_date(values, "started_on")
        except ValueError as wrong:
            errors["started_on"] = [str(wrong)]
        # "" is a choice here (the network as a whole); no choice at all is not.
        if context["practices"] and values["practice_id"] not in [
                p["value"] for p in context["practices"]]:
            errors["practice_id"] = ["Choose the practice running the cycle"]
        if not errors:
            body = {"change_idea": idea, "plan": values["plan"],
                    "prediction": values["prediction"],
                    "practice_id": values["practice_id"] or None}
            if started_on:
                body["started_on"] = started_on
            try:
                self.upstream(session).send(
                    "projects", "POST", f"/projects/{segment(project_id)}/pdsa-cycles", body,
                    headers=once_headers(request))
                return redirect(f"/projects/{segment(project_id)}?done=started")
            except UpstreamRefused as refused:
                errors = forms.refused_fields(refused, START_LABELS)
                if IDEMPOTENCY_KEY in (refused.body or {}).get("fields", {}):
                    errors = {forms.FORM_ERROR: [SENT_BEFORE]}  # a fresh key comes with it
        return html("pdsa_new.jinja", status=422, **self.common_context(session, request),
                    **self._start_context(session, project_id, values, errors))

    def _start_context(self, session, project_id, values, errors):
        access = self.access_of(session)
        project = self.upstream(session).projects(f"/projects/{segment(project_id)}")
        ideas = [i["description"] for i in project["change_ideas"]]
        # A practice member runs cycles for their own practice; the lead chooses one taking
        # part (or the network as a whole) in a network project.
        practices = []
        if project["scope"] == "network" and not access.practice_id:
            practices = [{"value": "", "text": "The network as a whole"}] + [
                {"value": p, "text": p} for p in project["practice_ids"]]
        return {"title": f"Start a PDSA cycle: {project['title']}", "nav": "projects",
                "project": project, "ideas": ideas, "other_idea": OTHER_IDEA,
                "practices": practices, "own_practice": access.practice_id,
                "values": values, "errors": forms.field_messages(errors),
                "error_list": error_list(errors, START_LABELS, "started_on"),
                "idempotency_key": forms.new_idempotency_key()}

    @page("GET", "/pdsa-cycles/<cycle_id>/complete")
    def complete_pdsa_cycle_form(self, request, session, cycle_id):
        values = {name: "" for name in (*COMPLETE_LABELS,
                                        *forms.date_box_names("completed_on"))}
        return "pdsa_complete.jinja", self._complete_context(session, cycle_id, values, {})

    @page("POST", "/pdsa-cycles/<cycle_id>/complete", form=True)
    def complete_pdsa_cycle(self, request, session, cycle_id):
        names = (*COMPLETE_LABELS, *forms.date_box_names("completed_on"))
        values = {name: request.form.get(name, "").strip() for name in names}
        errors = {}
        if not values["study_notes"]:
            errors["study_notes"] = ["Enter what you learned, against the prediction"]
        if values["act"] not in ACTS:
            errors["act"] = ["Choose adopt, adapt or abandon"]
        try:
            completed_on = typed_date(values, "completed_on")
        except ValueError as wrong:
            errors["completed_on"] = [str(wrong)]
        if not errors:
            body = {"study_notes": values["study_notes"], "act": values["act"]}
            if values["do_notes"]:
                body["do_notes"] = values["do_notes"]
            if completed_on:
                body["completed_on"] = completed_on
            upstream = self.upstream(session)
            try:
                cycle = upstream.send("projects", "PATCH",
                                      f"/pdsa-cycles/{segment(cycle_id)}", body)
                return redirect(f"/projects/{segment(cycle['project_id'])}?done=completed")
            except UpstreamRefused as refused:
                errors = forms.refused_fields(refused, COMPLETE_LABELS)
        return html("pdsa_complete.jinja", status=422, **self.common_context(session, request),
                    **self._complete_context(session, cycle_id, values, errors))

    def _complete_context(self, session, cycle_id, values, errors):
        upstream = self.upstream(session)
        cycle = upstream.projects(f"/pdsa-cycles/{segment(cycle_id)}")
        project = upstream.projects(f"/projects/{segment(cycle['project_id'])}")
        listed = error_list(errors, COMPLETE_LABELS, "completed_on")
        if cycle["status"] != "running":  # no form to link to: completed meanwhile
            listed = [{**item, "href": None} for item in listed]
        return {"title": f"Complete a PDSA cycle: {cycle['change_idea']}", "nav": "projects",
                "project": project, "cycle": cycle_row(cycle),
                "acts": [{"value": act, "text": act.capitalize(), "hint": words.split(": ")[1],
                          "checked": values["act"] == act} for act, words in ACTS.items()],
                "values": values, "errors": forms.field_messages(errors),
                "error_list": listed}


# The IHI meaning of each score, as the radios' hints say it.
SCORE_MEANINGS = {
    "0.5": "Intent to take part: the project is registered with its aim",
    "1.0": "Team formed: a lead and a team, the aim as their charter",
    "1.5": "Planning has begun",
    "2.0": "Changes are being tested",
    "2.5": "Cycles completed, no improvement yet",
    "3.0": "Modest improvement: a measure in special-cause improvement",
    "3.5": "Improvement in most measures",
    "4.0": "Significant improvement: every outcome measure improving",
    "4.5": "Sustainable improvement: sustaining, with the improvement held",
    "5.0": "Outstanding sustainable results (the lead's judgement)",
}
