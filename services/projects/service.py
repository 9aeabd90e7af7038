"""The projects service: registry (networks, practices, API keys), projects, PDSA cycles and
huddle boards. Each route parses and authorises (``shared.routes``), calls the service layer
(``commands``), which stores a result with its events in one write, and answers; the outbox
relay publishes the events to ``projects.events``."""
from shared.events.envelope import utc_now
from shared.idempotency import ONCE, AnswersRetriesOnce, located
from shared.messaging import catalogued_handler
from shared.openapi import page_of
from shared.routes import route
from shared.service_base import Service
from shared.web import PageQuery, trace_of

from services import registry
from services.projects import commands, progress_commands
from services.projects.huddle_routes import HuddleRoutes
from services.projects.repository import EVENT_SOURCES, ProjectsRepository
from services.projects.schemas import (
    ApiKeyIn, ApiKeyOut, IssuedApiKeyOut, MemberIn, NetworkIn, NetworkOut, PdsaCycleIn,
    PdsaCycleOut, PdsaCyclePatch, PracticeIn, PracticeJoinIn, PracticeOut, PracticeQuery,
    ProgressScoreIn, ProjectIn, ProjectOut, ProjectQuery, StageIn,
)

MEMBERS = ("network_lead", "practice")  # every key of a network


class ProjectsService(AnswersRetriesOnce, HuddleRoutes, Service):
    name = "projects"
    repository = ProjectsRepository
    event_collections = EVENT_SOURCES
    owns_api_keys = True
    # It issues the keys: it declares every registered service's key replica queue first.
    catalogue = registry.DEPLOYED_CATALOGUE
    openapi_description = "Registry, QI projects, PDSA cycles and huddle boards."

    # --- registry --------------------------------------------------------------------------

    @route("POST", "/networks", "Register a network (admin)", body=NetworkIn,
           answers={201: NetworkOut}, roles=("admin",))
    def create_network(self, request, principal, command):
        return commands.create_network(self.storage, principal, command, utc_now(),
                                       trace_of(request))

    @route("GET", "/networks", "List networks", query=PageQuery,
           answers={200: page_of(NetworkOut)}, roles=MEMBERS)
    def list_networks(self, request, principal, query):
        return commands.list_networks(self.storage, principal, query)

    @route("POST", "/practices", "Register a practice", body=PracticeIn,
           answers={201: PracticeOut}, roles=("network_lead",))
    def create_practice(self, request, principal, command):
        return commands.create_practice(self.storage, principal, command, utc_now(),
                                        trace_of(request))

    @route("GET", "/practices", "List practices", query=PracticeQuery,
           answers={200: page_of(PracticeOut)}, roles=MEMBERS)
    def list_practices(self, request, principal, query):
        return commands.list_practices(self.storage, principal, query)

    @route("POST", "/api-keys", "Issue an API key (shown once)", body=ApiKeyIn,
           answers={201: IssuedApiKeyOut}, roles=("network_lead",))
    def issue_api_key(self, request, principal, command):
        return commands.issue_api_key(self.storage, principal, command, utc_now(),
                                      trace_of(request))

    @route("GET", "/api-keys", "List API keys (no secrets)", query=PageQuery,
           answers={200: page_of(ApiKeyOut)}, roles=("network_lead",))
    def list_api_keys(self, request, principal, query):
        return commands.list_api_keys(self.storage, principal, query)

    @route("POST", "/api-keys/<key_id>/revoke", "Revoke an API key everywhere",
           answers={200: ApiKeyOut}, roles=("network_lead",))
    def revoke_api_key(self, request, key_id, principal):
        return commands.revoke_api_key(self.storage, principal, key_id, utc_now(),
                                       trace_of(request))

    # --- projects --------------------------------------------------------------------------

    @route("POST", "/projects", "Create a QI project" + ONCE, body=ProjectIn,
           answers={201: ProjectOut}, roles=MEMBERS)
    def create_project(self, request, principal, command):
        def answer():
            return 201, ProjectOut().dump(commands.create_project(
                self.storage, principal, command, utc_now(), trace_of(request)))
        return self.answered_once(request, principal, answer, located("/projects"))

    @route("GET", "/projects", "List projects", query=ProjectQuery,
           answers={200: page_of(ProjectOut)}, roles=MEMBERS)
    def list_projects(self, request, principal, query):
        return progress_commands.list_projects(self.storage, principal, query)

    @route("GET", "/projects/<project_id>", "Read a project", answers={200: ProjectOut},
           roles=MEMBERS)
    def get_project(self, request, project_id, principal):
        return progress_commands.get_project(self.storage, principal, project_id)

    @route("POST", "/projects/<project_id>/progress-score",
           "Set the project's IHI progress score (0.5 to 5.0), kept with its history",
           body=ProgressScoreIn, answers={200: ProjectOut}, roles=MEMBERS)
    def set_progress_score(self, request, project_id, principal, command):
        return progress_commands.set_progress_score(self.storage, principal, project_id,
                                                    command, utc_now())

    # What the measurement service tells of a project's measures, for the suggested score.

    @catalogued_handler
    def learn_measure(self, envelope):
        progress_commands.learn_measure(self.storage, envelope["data"])

    @catalogued_handler
    def learn_signal(self, envelope):
        progress_commands.learn_signal(self.storage, envelope["data"])

    @route("POST", "/projects/<project_id>/stage", "Move a project to another stage",
           body=StageIn, answers={200: ProjectOut}, roles=MEMBERS)
    def change_stage(self, request, project_id, principal, command):
        return commands.change_stage(self.storage, principal, project_id, command, utc_now(),
                                     trace_of(request))

    @route("POST", "/projects/<project_id>/practices", "Add a practice to a network project",
           body=PracticeJoinIn, answers={200: ProjectOut}, roles=("network_lead",))
    def join_practice(self, request, project_id, principal, command):
        return commands.join_practice(self.storage, principal, project_id, command, utc_now(),
                                      trace_of(request))

    @route("POST", "/projects/<project_id>/members", "Add a team member", body=MemberIn,
           answers={201: ProjectOut}, roles=MEMBERS)
    def add_member(self, request, project_id, principal, command):
        return commands.add_member(self.storage, principal, project_id, command, utc_now(),
                                   trace_of(request))

    # --- PDSA cycles -----------------------------------------------------------------------

    @route("POST", "/projects/<project_id>/pdsa-cycles", "Start a PDSA cycle" + ONCE,
           body=PdsaCycleIn, answers={201: PdsaCycleOut}, roles=MEMBERS)
    def start_pdsa_cycle(self, request, project_id, principal, command):
        def answer():
            return 201, PdsaCycleOut().dump(commands.start_pdsa_cycle(
                self.storage, principal, project_id, command, utc_now(), trace_of(request)))
        return self.answered_once(request, principal, answer, located("/pdsa-cycles"))

    @route("GET", "/projects/<project_id>/pdsa-cycles", "List a project's PDSA cycles",
           query=PageQuery, answers={200: page_of(PdsaCycleOut)}, roles=MEMBERS)
    def list_pdsa_cycles(self, request, project_id, principal, query):
        return commands.list_pdsa_cycles(self.storage, principal, project_id, query)

    @route("GET", "/pdsa-cycles/<cycle_id>", "Read a PDSA cycle", answers={200: PdsaCycleOut},
           roles=MEMBERS)
    def get_pdsa_cycle(self, request, cycle_id, principal):
        return commands.get_pdsa_cycle(self.storage, principal, cycle_id)

    @route("PATCH", "/pdsa-cycles/<cycle_id>", "Record notes; an act decision completes the cycle",
           body=PdsaCyclePatch, answers={200: PdsaCycleOut}, roles=MEMBERS)
    def update_pdsa_cycle(self, request, cycle_id, principal, command):
        return commands.update_pdsa_cycle(self.storage, principal, cycle_id, command, utc_now(),
                                          trace_of(request))
