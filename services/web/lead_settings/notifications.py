"""The network's notification routes (which event types reach whom, how and when) and its
watchers (who follows which measure or project). A route's rules keep their names and
conditions here; the lead changes who hears each rule, how soon and on which channels, or
puts the event type back to the default rules."""
from services.web import forms
from services.web.lead_settings.common import DONE_WORDS, projects_and_measures, segment
from services.web.pages import html, page, redirect
from services.web.upstream import UpstreamRefused

# The notifications service's audiences and channels (tests/unit/web checks them against its
# domain), in our words.
AUDIENCES = {
    "network_lead": "Network leads", "project_lead": "The project's leads",
    "project_team": "Everyone on the project", "practice_lead": "The practice's leads",
    "named_leader": "The leader the event names", "team_leader": "The team's leaders",
    "watchers": "People who follow the measure or project",
}
CHANNELS = {"email": "Email", "webhook": "Webhook", "inbox": "Inbox"}
MODES = {"immediate": "At once", "digest": "In the daily digest"}
EVENT_WORDS = {
    "measurement.signal_detected": "A measure shows special-cause variation",
    "measurement.assurance_changed": "A measure's assurance against its target changes",
    "measurement.submission_overdue": "A practice's data are overdue",
    "huddle.item_escalated": "A huddle item is escalated",
    "training.capability_gap_identified": "Someone lacks the training their role needs",
    "training.target_at_risk": "A training target is at risk",
}
WATCHER_LABELS = {"watch.staff_id": "Person", "watch.subject": "What they follow"}


def event_words(event_type):
    return EVENT_WORDS.get(event_type, event_type)


def rule_field(index, part):
    return f"rules.{index}.{part}"


def route_labels(rules):
    """The change-a-route form's fields -> labels, rule by rule."""
    labels = {}
    for index, rule in enumerate(rules):
        for part, words in (("audience", "who hears it"), ("mode", "when"),
                            ("channels", "how")):
            labels[rule_field(index, part)] = f"Rule “{rule['name']}”, {words}"
    return labels


def route_values(rules, form=None):
    """What each field of the change-a-route form holds: the rules' own, or what was sent."""
    values = {}
    for index, rule in enumerate(rules):
        for part in ("audience", "channels"):
            name = rule_field(index, part)
            values[name] = form.getlist(name) if form is not None else list(rule[part])
        name = rule_field(index, "mode")
        values[name] = form.get(name, "") if form is not None else rule["mode"]
    return values


def route_body(event_type, rules, values):
    """The PUT body: each rule as it was, with the audience, mode and channels chosen."""
    return {"event_type": event_type, "rules": [
        {**rule, "audience": values[rule_field(i, "audience")],
         "mode": values[rule_field(i, "mode")] or None,
         "channels": values[rule_field(i, "channels")]} for i, rule in enumerate(rules)]}


def rule_summary(rule):
    """One rule in words: ``concern: Network leads, Watchers; at once; email, inbox``."""
    condition = "; ".join(f"{field} is {' or '.join(accepted)}"
                          for field, accepted in (rule.get("when") or {}).items())
    return {"name": rule["name"], "condition": condition,
            "audience": ", ".join(AUDIENCES.get(a, a) for a in rule["audience"]),
            "mode": MODES.get(rule["mode"], rule["mode"]),
            "channels": ", ".join(CHANNELS.get(c, c) for c in rule.get("channels") or ())}


def subjects(projects):
    """The watch form's choices: every project, then every measure, as kind:id."""
    items = [{"value": f"project:{p['id']}", "text": f"Project: {p['title']}"}
             for p in projects]
    items += [{"value": f"measure:{m['id']}", "text": f"Measure: {m['name']} ({p['title']})"}
              for p in projects for m in p["measures"] or ()]
    return items


class NotificationSettingsPages:
    """Mixed into ``WebService`` through ``LeadSettingsPages``."""

    @page("GET", "/settings/notifications")
    def settings_notifications(self, request, session):
        if not self._leads(session):
            return self._not_found(session)
        return "settings_notifications.jinja", self._notifications_context(
            session, {}, {}, DONE_WORDS.get(request.args.get("done")))

    @page("GET", "/settings/notifications/routes/<event_type>")
    def change_route(self, request, session, event_type):
        if not self._leads(session):
            return self._not_found(session)
        route = self._route(session, event_type)
        if route is None:
            return self._not_found(session)
        return "settings_route.jinja", self._route_context(route, route_values(route["rules"]),
                                                           {})

    @page("POST", "/settings/notifications/routes/<event_type>", form=True)
    def save_route(self, request, session, event_type):
        access = self._leads(session)
        if not access:
            return self._not_found(session)
        route = self._route(session, event_type)
        if route is None:
            return self._not_found(session)
        values = route_values(route["rules"], request.form)
        try:
            self.upstream(session).send(
                "notifications", "PUT", f"/networks/{segment(access.network_id)}/routes",
                route_body(event_type, route["rules"], values))
        except UpstreamRefused as refused:
            errors = forms.refused_fields(refused, route_labels(route["rules"]))
            return html("settings_route.jinja", status=422,
                        **self.common_context(session, request),
                        **self._route_context(route, values, errors))
        return redirect("/settings/notifications?done=route")

    @page("POST", "/settings/notifications/routes/<event_type>/reset", form=True)
    def reset_route(self, request, session, event_type):
        access = self._leads(session)
        if not access:
            return self._not_found(session)
        self.upstream(session).send(
            "notifications", "DELETE",
            f"/networks/{segment(access.network_id)}/routes/{segment(event_type)}")
        return redirect("/settings/notifications?done=route_reset")

    @page("POST", "/settings/notifications/watchers", form=True)
    def add_watcher(self, request, session):
        if not self._leads(session):
            return self._not_found(session)
        values = {name: request.form.get(name, "").strip() for name in WATCHER_LABELS}
        kind, _, subject_id = values["watch.subject"].partition(":")
        errors = {}
        if not values["watch.staff_id"]:
            errors["watch.staff_id"] = ["choose the person who will follow it"]
        if not subject_id:
            errors["watch.subject"] = ["choose a project or a measure to follow"]
        if not errors:
            try:
                self.upstream(session).send(
                    "notifications", "POST",
                    f"/recipients/{segment(values['watch.staff_id'])}/watching",
                    {"subject_kind": kind, "subject_id": subject_id})
                return redirect("/settings/notifications?done=watching")
            except UpstreamRefused as refused:
                errors = forms.refused_fields(refused, WATCHER_LABELS, aliases={
                    "staff_id": "watch.staff_id", "subject_kind": "watch.subject",
                    "subject_id": "watch.subject"})
        return html("settings_notifications.jinja", status=422,
                    **self.common_context(session, request),
                    **self._notifications_context(session, values, errors))

    @page("POST", "/settings/notifications/watchers/remove", form=True)
    def remove_watcher(self, request, session):
        if not self._leads(session):
            return self._not_found(session)
        staff_id, kind, subject_id = (request.form.get(name, "") for name in (
            "staff_id", "subject_kind", "subject_id"))
        self.upstream(session).send(
            "notifications", "DELETE", f"/recipients/{segment(staff_id)}/watching/"
                                       f"{segment(kind)}/{segment(subject_id)}")
        return redirect("/settings/notifications?done=unwatched")

    def _route(self, session, event_type):
        network = segment(self.access_of(session).network_id)
        routes = self.upstream(session).send("notifications", "GET",
                                             f"/networks/{network}/routes")["items"]
        return next((r for r in routes if r["event_type"] == event_type), None)

    def _route_context(self, route, values, errors):
        labels = route_labels(route["rules"])
        return {"title": f"Change the route: {event_words(route['event_type'])}",
                "nav": "settings", "route": route, "values": values,
                "rules": [rule_summary(rule) for rule in route["rules"]],
                "audiences": AUDIENCES, "channels": CHANNELS, "modes": MODES,
                "errors": forms.field_messages(errors),
                "error_list": forms.error_list(errors, labels)}

    def _notifications_context(self, session, values, errors, done=None):
        access = self.access_of(session)
        upstream = self.upstream(session)
        network = segment(access.network_id)
        routes = upstream.send("notifications", "GET", f"/networks/{network}/routes")["items"]
        recipients = upstream.send("notifications", "GET", f"/networks/{network}/recipients",
                                   params={"page_size": 200})["items"]
        projects = projects_and_measures(upstream, access.network_id)
        names = {item["value"].partition(":")[2]: item["text"] for item in subjects(projects)}
        watching = []
        for recipient in recipients:
            followed = upstream.send("notifications", "GET",
                                     f"/recipients/{segment(recipient['staff_id'])}/watching")
            watching += [{**w, "subject": names.get(w["subject_id"], w["subject_id"])}
                         for w in followed["items"]]
        return {"title": "Notification routes and watchers", "nav": "settings", "done": done,
                "routes": [{"event_type": r["event_type"], "words": event_words(r["event_type"]),
                            "default": r["default"],
                            "rules": [rule_summary(rule) for rule in r["rules"]]}
                           for r in routes],
                "recipients": recipients, "watching": watching, "subjects": subjects(projects),
                "values": values, "errors": forms.field_messages(errors),
                "error_list": forms.error_list(errors, WATCHER_LABELS)}
