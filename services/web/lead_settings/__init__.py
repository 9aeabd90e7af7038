"""The lead's settings: practices and their keys, measures, notification routes and watchers,
the network's training requirements and targets. Every page reads and changes them through
the owning service with the lead's own rights; to anyone else each page is "Page not found"
(shared.access says so before any call, and each service refuses them anyway)."""
from services.web.lead_settings.common import leads_the_network, projects_and_measures
from services.web.lead_settings.measures import MeasureSettingsPages
from services.web.lead_settings.notifications import NotificationSettingsPages
from services.web.lead_settings.practices import PracticeSettingsPages
from services.web.lead_settings.training import TrainingSettingsPages
from services.web.pages import page


def plural(count, one, many=None):
    return f"{count} {one if count == 1 else (many or one + 's')}"


class LeadSettingsPages(PracticeSettingsPages, MeasureSettingsPages, NotificationSettingsPages,
                        TrainingSettingsPages):
    """Mixed into ``WebService`` (its ``upstream``, ``access_of`` and ``error_page``)."""

    def _leads(self, session):
        """The signed-in person's ``Access`` when they lead the network, else None."""
        access = self.access_of(session)
        return access if leads_the_network(access) else None

    def _not_found(self, session):
        return self.error_page(404, "", "", session)

    @page("GET", "/settings")
    def settings_hub(self, request, session):
        access = self._leads(session)
        if not access:
            return self._not_found(session)
        upstream = self.upstream(session)
        network = access.network_id
        practices = upstream.projects("/practices", params={"network_id": network,
                                                            "page_size": 1})["total"]
        keys = upstream.projects("/api-keys", params={"page_size": 200})["items"]
        live = sum(1 for key in keys if not key.get("revoked_at"))
        projects = projects_and_measures(upstream, network)
        measures = sum(len(p["measures"] or ()) for p in projects)
        routes = upstream.send("notifications", "GET", f"/networks/{network}/routes")["items"]
        changed = sum(1 for route in routes if not route.get("default"))
        framework = upstream.training(f"/frameworks/{network}")
        sections = [
            {"href": "/settings/practices", "title": "Practices and their keys",
             "summary": f"{plural(practices, 'practice')}, {plural(live, 'live key')}."},
            {"href": "/settings/measures", "title": "Measures",
             "summary": f"{plural(measures, 'measure')} in {plural(len(projects), 'project')}."},
            {"href": "/settings/notifications", "title": "Notification routes and watchers",
             "summary": f"{plural(len(routes), 'event type')} routed, "
                        f"{changed} changed from the default."},
            {"href": "/settings/training", "title": "Training requirements and targets",
             "summary": f"{plural(len(framework['requirements']), 'requirement')}, "
                        f"{plural(len(framework.get('changes') or ()), 'change')} so far."},
        ]
        return "settings.jinja", {"title": "Settings", "nav": "settings", "sections": sections}
