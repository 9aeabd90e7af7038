"""The network's training requirements (who needs which level, within how many days) and its
coverage targets, edited in one form. Shares are typed as percentages and sent as the
fractions the training service keeps; the coverage date is the NHS.UK date input; what the
training service refuses is shown next to its field."""
from services.web import forms
from services.web.lead_settings.common import (DONE_WORDS, fraction_to_percentage,
                                               percentage_to_fraction, segment,
                                               whole_number_or_text)
from services.web.pages import html, page, redirect
from services.web.upstream import UpstreamRefused

# The training service's levels and whom a requirement applies to (tests/unit/web checks them
# against its domain), in our words.
LEVELS = {"introduction": "Introduction", "foundations": "Foundations",
          "improvement_leader": "Improvement Leaders programme", "coach": "Coach",
          "board": "Board development"}
APPLIES_TO = {"everyone": "Everyone", "leaders": "Everyone in a management or leadership "
                                                "role",
              "project_leads": "Project leads", "role": "People whose job is"}
ANCHORS = {"start": "of starting", "project_leaves_planning": "of their project leaving "
                                                               "planning"}
SHARES = {"targets.introduction_share_per_year": "Introduction each year",
          "targets.foundations_share_per_year": "Foundations each year",
          "targets.leaders_on_programme_share": "Leaders on the Improvement Leaders programme",
          "targets.coverage.share": "Coverage target"}
COVERAGE_BY = "targets.coverage.by"
TARGET_LABELS = {**SHARES, "targets.coverage.level": "Coverage level",
                 COVERAGE_BY: "Coverage by"}


def requirement_labels(requirements):
    labels = {}
    for index, requirement in enumerate(requirements):
        who = requirement_words(requirement)
        labels[f"requirements.{index}.level"] = f"{who}: level"
        labels[f"requirements.{index}.within_days"] = f"{who}: within days"
    return labels


def form_labels(requirements):
    return {**requirement_labels(requirements), **TARGET_LABELS}


def requirement_words(requirement):
    who = APPLIES_TO.get(requirement["applies_to"], requirement["applies_to"])
    if requirement["applies_to"] == "role":
        who = f"{who} {(requirement.get('role') or '').replace('_', ' ')}"
    return who


def framework_values(framework):
    """What each field shows: the framework's own values, shares as percentages."""
    values = {}
    for index, requirement in enumerate(framework["requirements"]):
        values[f"requirements.{index}.level"] = requirement["level"]
        values[f"requirements.{index}.within_days"] = str(requirement["within_days"])
    targets = framework.get("targets") or {}
    coverage = targets.get("coverage") or {}
    for name in SHARES:
        part = name.split(".")[-1]
        source = coverage if name.startswith("targets.coverage.") else targets
        values[name] = fraction_to_percentage(source.get(part))
    values["targets.coverage.level"] = coverage.get("level") or ""
    year, month, day = (coverage.get("by") or "--").split("-")
    values.update(zip(forms.date_box_names(COVERAGE_BY),
                      (part.lstrip("0") for part in (day, month, year))))
    return values


def typed_values(form, labels):
    """What the form sent: each field of ``labels`` and the coverage date's boxes, trimmed."""
    names = [*labels, *forms.date_box_names(COVERAGE_BY)]
    return {name: form.get(name, "").strip() for name in names}


def framework_change(framework, values):
    """The PATCH body for the form's ``values`` -> (body, errors): each requirement keeps
    its id, whom it applies to and its anchor; its level and days are the form's."""
    errors = {}
    requirements = []
    for index, requirement in enumerate(framework["requirements"]):
        requirements.append({
            **{k: requirement.get(k) for k in ("requirement_id", "applies_to", "role",
                                               "anchor")},
            "level": values[f"requirements.{index}.level"] or None,
            "within_days": whole_number_or_text(values[f"requirements.{index}.within_days"])})
    shares = {}
    for name in SHARES:
        fraction, problem = percentage_to_fraction(values[name])
        if problem:
            errors[name] = [problem]
        elif fraction is None:
            errors[name] = ["enter a percentage from 0 to 100"]
        shares[name.split(".")[-1]] = fraction
    try:
        by = forms.typed_date(values, COVERAGE_BY)
    except ValueError as not_a_date:
        errors[COVERAGE_BY] = [str(not_a_date)]
        by = None
    coverage = {"level": values["targets.coverage.level"] or None,
                "share": shares.pop("share"), "by": by}
    return {"requirements": requirements, "targets": {**shares, "coverage": coverage}}, errors


class TrainingSettingsPages:
    """Mixed into ``WebService`` through ``LeadSettingsPages``."""

    @page("GET", "/settings/training")
    def settings_training(self, request, session):
        access = self._leads(session)
        if not access:
            return self._not_found(session)
        framework = self.upstream(session).training(f"/frameworks/{segment(access.network_id)}")
        return "settings_training.jinja", self._training_context(
            framework, framework_values(framework), {},
            DONE_WORDS.get(request.args.get("done")))

    @page("POST", "/settings/training", form=True)
    def save_training(self, request, session):
        access = self._leads(session)
        if not access:
            return self._not_found(session)
        upstream = self.upstream(session)
        path = f"/frameworks/{segment(access.network_id)}"
        framework = upstream.training(path)
        labels = form_labels(framework["requirements"])
        values = typed_values(request.form, labels)
        body, errors = framework_change(framework, values)
        if not errors:
            try:
                upstream.send("training", "PATCH", path, body)
                return redirect("/settings/training?done=training")
            except UpstreamRefused as refused:
                errors = forms.refused_fields(refused, labels)
        return html("settings_training.jinja", status=422,
                    **self.common_context(session, request),
                    **self._training_context(framework, values, errors))

    def _training_context(self, framework, values, errors, done=None):
        labels = form_labels(framework["requirements"])
        requirements = [{"index": index, "who": requirement_words(r),
                         "anchor": ANCHORS.get(r["anchor"], r["anchor"]),
                         "level_label": labels[f"requirements.{index}.level"],
                         "days_label": labels[f"requirements.{index}.within_days"]}
                        for index, r in enumerate(framework["requirements"])]
        return {"title": "Training requirements and targets", "nav": "settings",
                "done": done, "requirements": requirements, "values": values,
                "levels": [{"value": k, "text": v} for k, v in LEVELS.items()],
                "shares": SHARES, "errors": forms.field_messages(errors),
                "error_list": forms.link_dates_to_their_day(forms.error_list(errors, labels),
                                                            (COVERAGE_BY,))}
