"""The network's measures, per project, and a form to define one: every field of the
measurement service's definition, with a proportion's target typed as a percentage (sent as
the fraction the service keeps)."""
from services.web import forms
from services.web.lead_settings.common import (DONE_WORDS, fraction_to_percentage,
                                               percentage_to_fraction, projects_and_measures,
                                               segment, whole_number_or_text)
from services.web.pages import html, page, redirect
from services.web.upstream import UpstreamRefused

LABELS = {
    "name": "Name", "type": "Type of measure", "value_kind": "What is counted",
    "unit": "Unit", "frequency": "How often it is measured",
    "operational_definition": "Operational definition", "improvement": "Improvement direction",
    "target": "Target", "fix_after_n_points": "Fix the baseline after",
}
# The measurement service's words (tests/unit/web checks them against its domain), in ours.
TYPES = {"outcome": ("Outcome", "What matters to patients, such as fewer unplanned "
                                "admissions."),
         "process": ("Process", "Are the steps being done, such as reviews completed to the "
                                "template."),
         "balancing": ("Balancing", "What might get worse elsewhere, such as waiting times.")}
VALUE_KINDS = {"count": ("Count", "A whole number each period, such as appointments saved."),
               "proportion": ("Proportion", "A numerator out of a denominator, such as 45 of "
                                            "50 reviews: shown as a percentage."),
               "rate": ("Rate", "A numerator per denominator that may exceed 1, such as "
                                "attendances per patient."),
               "continuous": ("Continuous value", "Any number, such as a mean rating or "
                                                  "days waited.")}
FREQUENCIES = {"week": ("Weekly", None), "month": ("Monthly", None)}
DIRECTIONS = {"increase": ("Higher is better", "An increase is an improvement."),
              "decrease": ("Lower is better", "A decrease is an improvement."),
              "neutral": ("Neither", "Only a change worth knowing about, not better or "
                                     "worse.")}
CHOICES = {"type": TYPES, "value_kind": VALUE_KINDS, "frequency": FREQUENCIES,
           "improvement": DIRECTIONS}


def measure_body(values):
    """The measurement service's body for the form's ``values`` -> (body, errors). A
    proportion's target is a percentage here and a fraction there; any other target is sent
    as typed when it is a number."""
    errors = {}
    target = None
    typed_target = values["target"].strip()
    if values["value_kind"] == "proportion":
        target, problem = percentage_to_fraction(typed_target)
        if problem:
            errors["target"] = [problem]
    elif typed_target:
        try:
            target = float(typed_target)
        except ValueError:
            errors["target"] = ["enter a number, such as 3, or leave it empty"]
    body = {name: values[name] or None for name in (
        "name", "type", "value_kind", "unit", "frequency", "operational_definition",
        "improvement")}
    body["target"] = target
    body["fix_after_n_points"] = whole_number_or_text(values["fix_after_n_points"])
    return body, errors


def measure_row(measure):
    """A measure as the table shows it, in words."""
    kind = measure.get("value_kind")
    target = measure.get("target")
    if target is None:
        target_words = "None"
    elif kind == "proportion":
        target_words = f"{fraction_to_percentage(target)}%"
    else:
        target_words = f"{target:g}" + (f" {measure['unit']}" if measure.get("unit") else "")
    return {"id": measure.get("id"), "name": measure["name"],
            "type": TYPES.get(measure["type"], (measure["type"],))[0],
            "value_kind": VALUE_KINDS.get(kind, (kind,))[0],
            "frequency": FREQUENCIES.get(measure["frequency"], (measure["frequency"],))[0],
            "operational_definition": measure.get("operational_definition") or "",
            "improvement": DIRECTIONS.get(measure["improvement"],
                                          (measure["improvement"],))[0],
            "target": target_words}


def choice_items(name):
    return [{"value": value, "text": text, **({"hint": {"text": hint}} if hint else {})}
            for value, (text, hint) in CHOICES[name].items()]


class MeasureSettingsPages:
    """Mixed into ``WebService`` through ``LeadSettingsPages``."""

    @page("GET", "/settings/measures")
    def settings_measures(self, request, session):
        access = self._leads(session)
        if not access:
            return self._not_found(session)
        projects = projects_and_measures(self.upstream(session), access.network_id)
        for project in projects:
            project["rows"] = [measure_row(m) for m in project["measures"] or ()]
        return "settings_measures.jinja", {
            "title": "Measures", "nav": "settings", "projects": projects,
            "done": DONE_WORDS.get(request.args.get("done"))}

    @page("GET", "/settings/measures/new")
    def new_measure(self, request, session):
        if not self._leads(session):
            return self._not_found(session)
        project = self._measure_project(session, request.args.get("project_id"))
        if project is None:
            return self._not_found(session)
        values = {name: "" for name in LABELS}
        return "settings_measure_new.jinja", self._measure_context(project, values, {})

    @page("POST", "/settings/measures/new", form=True, once=True)
    def define_measure(self, request, session):
        if not self._leads(session):
            return self._not_found(session)
        project = self._measure_project(session, request.form.get("project_id"))
        if project is None:
            return self._not_found(session)
        values = {name: request.form.get(name, "").strip() for name in LABELS}
        body, errors = measure_body(values)
        if not errors:
            try:
                self.upstream(session).send(
                    "measurement", "POST", f"/projects/{segment(project['id'])}/measures", body)
                return redirect("/settings/measures?done=measure")
            except UpstreamRefused as refused:
                errors = forms.refused_fields(refused, LABELS)
        return html("settings_measure_new.jinja", status=422,
                    **self.common_context(session, request),
                    **self._measure_context(project, values, errors))

    def _measure_project(self, session, project_id):
        if not project_id:
            return None
        return self.upstream(session).projects(f"/projects/{segment(project_id)}")

    def _measure_context(self, project, values, errors):
        return {"title": f"Define a measure for {project['title']}", "nav": "settings",
                "project": project, "values": values,
                "choices": {name: choice_items(name) for name in CHOICES},
                "errors": forms.field_messages(errors),
                "error_list": forms.error_list(errors, LABELS)}
