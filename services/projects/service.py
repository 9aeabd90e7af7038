"""The projects service: registry (networks, practices, API keys), projects, PDSA cycles and
huddle boards. Entrypoints validate, authorise, call the domain and store the result with its
events in one write; the outbox relay publishes them to ``projects.events``."""
from shared.auth import API_KEYS, generate_key
from shared.errors import NotFound, Unprocessable
from shared.events.envelope import utc_now
from shared.openapi import page_of
from shared.routes import route
from shared.service_base import Service
from shared.web import PageQuery, trace_of

from services.projects import domain
from services.projects.repository import (
    EVENT_SOURCES, HUDDLE_ITEMS, NETWORKS, PDSA_CYCLES, PRACTICES, PROJECTS, ProjectsRepository,
)
from services.projects.schemas import (
    ApiKeyIn, ApiKeyOut, HuddleEscalationIn, HuddleItemIn, HuddleItemOut, HuddleQuery,
    HuddleResolutionIn, IssuedApiKeyOut, MemberIn, NetworkIn, NetworkOut, PdsaCycleIn,
    PdsaCycleOut, PdsaCyclePatch, PracticeIn, PracticeJoinIn, PracticeOut, PracticeQuery,
    ProjectIn, ProjectOut, ProjectQuery, StageIn,
)

MEMBERS = ("network_lead", "practice")  # every key of a network


def visible_to(principal, practice_field, filters=()):
    """A selector of what ``principal`` may list (its practice's, its network's, or all for
    admin), narrowed by the ``filters`` whose value is given."""
    if principal.role == "practice":
        conditions = [{practice_field: principal.practice_id}]
    elif principal.is_admin:
        conditions = []
    else:
        conditions = [{"network_id": principal.network_id}]
    conditions += [f for f in filters if next(iter(f.values())) is not None]
    return {"$and": conditions} if conditions else {}


class ProjectsService(Service):
    name = "projects"
    repository = ProjectsRepository
    event_collections = EVENT_SOURCES
    owns_api_keys = True
    openapi_description = "Registry, QI projects, PDSA cycles and huddle boards."

    # --- lookups that answer 404 the same way everywhere -----------------------------------

    def _project_for(self, principal, project_id):
        project = self.storage.get_or_404(PROJECTS, project_id, "project")
        domain.check_project_visible(principal, project)
        return project

    def _acting_practice(self, principal, practice_id):
        """The practice a write is for: a practice key's own unless another is named."""
        return practice_id if practice_id is not None else principal.practice_id

    # --- registry --------------------------------------------------------------------------

    @route("POST", "/networks", "Register a network (admin)", body=NetworkIn,
           answers={201: NetworkOut}, roles=("admin",))
    def create_network(self, request, principal, command):
        network = {"_id": command["id"], "name": command["name"], "created_at": utc_now()}
        self.storage.insert(NETWORKS, network, conflict_message="the network exists already")
        return network

    @route("GET", "/networks", "List networks", query=PageQuery,
           answers={200: page_of(NetworkOut)}, roles=MEMBERS)
    def list_networks(self, request, principal, query):
        selector = {} if principal.is_admin else {"_id": principal.network_id}
        return self.storage.listing(NETWORKS, selector, query)

    @route("POST", "/practices", "Register a practice", body=PracticeIn,
           answers={201: PracticeOut}, roles=("network_lead",))
    def create_practice(self, request, principal, command):
        if self.storage.find(NETWORKS, command["network_id"]) is None:
            raise Unprocessable("no such network",
                                {"network_id": [f"{command['network_id']} is unknown"]})
        if not principal.may_act_for_network(command["network_id"]):
            raise NotFound("no such network", {"network_id": ["not found"]})
        practice = {"_id": command["ods_code"], "name": command["name"],
                    "network_id": command["network_id"], "created_at": utc_now()}
        self.storage.insert(PRACTICES, practice, conflict_message="the practice exists already")
        return practice

    @route("GET", "/practices", "List practices", query=PracticeQuery,
           answers={200: page_of(PracticeOut)}, roles=MEMBERS)
    def list_practices(self, request, principal, query):
        # Every key of a network sees the network's practices.
        conditions = [] if principal.is_admin else [{"network_id": principal.network_id}]
        if query.get("network_id"):
            conditions.append({"network_id": query["network_id"]})
        selector = {"$and": conditions} if conditions else {}
        return self.storage.listing(PRACTICES, selector, query)

    @route("POST", "/api-keys", "Issue an API key (shown once)", body=ApiKeyIn,
           answers={201: IssuedApiKeyOut}, roles=("network_lead",))
    def issue_api_key(self, request, principal, command):
        practice = (self.storage.find(PRACTICES, command["practice_id"])
                    if command["practice_id"] else None)
        network_exists = bool(command["network_id"]) and (
            self.storage.find(NETWORKS, command["network_id"]) is not None)
        network_id, practice_id = domain.key_scope(
            principal, command["role"], command["network_id"], practice, network_exists)
        key_id, api_key, key_hash = generate_key()
        document, events = domain.issue_key(key_id, key_hash, command["role"], network_id,
                                            practice_id, command["label"], utc_now(),
                                            trace_of(request))
        self.storage.insert(API_KEYS, document, events)
        return {**document, "api_key": api_key}

    @route("GET", "/api-keys", "List API keys (no secrets)", query=PageQuery,
           answers={200: page_of(ApiKeyOut)}, roles=("network_lead",))
    def list_api_keys(self, request, principal, query):
        selector = {} if principal.is_admin else {"network_id": principal.network_id}
        return self.storage.listing(API_KEYS, selector, query)

    @route("POST", "/api-keys/<key_id>/revoke", "Revoke an API key everywhere",
           answers={200: ApiKeyOut}, roles=("network_lead",))
    def revoke_api_key(self, request, key_id, principal):
        key = self.storage.get_or_404(API_KEYS, key_id, "API key")
        if not principal.is_admin and not (key["role"] == "practice"
                                           and key["network_id"] == principal.network_id):
            raise NotFound("no such API key", {"id": [f"{key_id} not found"]})
        update, events = domain.revoke_key(key, utc_now(), trace_of(request))
        self.storage.update(API_KEYS, key_id, update, events, guard={"revoked_at": None})
        return self.storage.find(API_KEYS, key_id)

    # --- projects --------------------------------------------------------------------------

    @route("POST", "/projects", "Create a QI project", body=ProjectIn,
           answers={201: ProjectOut}, roles=MEMBERS)
    def create_project(self, request, principal, command):
        command["network_id"] = command["network_id"] or principal.network_id
        if not command["network_id"]:
            raise Unprocessable("say which network", {"network_id": ["required for admin keys"]})
        practices = self.storage.practices_by_code(command["practice_ids"])
        domain.check_project_creation(principal, command, practices)
        project, events = domain.create_project(command, utc_now(), trace_of(request))
        self.storage.insert(PROJECTS, project, events)
        return project, 201, {"Location": f"/projects/{project['_id']}"}

    @route("GET", "/projects", "List projects", query=ProjectQuery,
           answers={200: page_of(ProjectOut)}, roles=MEMBERS)
    def list_projects(self, request, principal, query):
        filters = [{"stage": query.get("stage")}, {"network_id": query.get("network_id")},
                   {"practice_ids": query.get("practice_id")}]
        selector = visible_to(principal, "practice_ids", filters)
        return self.storage.listing(PROJECTS, selector, query,
                                    sort=(("created_at", -1), ("_id", 1)))

    @route("GET", "/projects/<project_id>", "Read a project", answers={200: ProjectOut},
           roles=MEMBERS)
    def get_project(self, request, project_id, principal):
        return self._project_for(principal, project_id)

    @route("POST", "/projects/<project_id>/stage", "Move a project to another stage",
           body=StageIn, answers={200: ProjectOut}, roles=MEMBERS)
    def change_stage(self, request, project_id, principal, command):
        project = self._project_for(principal, project_id)
        domain.check_project_write(principal, project)
        update, events = domain.change_stage(project, command["stage"], command["reason"],
                                             utc_now(), trace_of(request))
        self.storage.update(PROJECTS, project_id, update, events,
                            guard={"stage": project["stage"]})
        return self.storage.find(PROJECTS, project_id)

    @route("POST", "/projects/<project_id>/practices", "Add a practice to a network project",
           body=PracticeJoinIn, answers={200: ProjectOut}, roles=("network_lead",))
    def join_practice(self, request, project_id, principal, command):
        project = self._project_for(principal, project_id)
        practice = self.storage.find(PRACTICES, command["practice_id"])
        if practice is None:
            raise Unprocessable("no such practice",
                                {"practice_id": [f"{command['practice_id']} is not registered"]})
        update, events = domain.join_practice(project, practice, utc_now(), trace_of(request))
        self.storage.update(PROJECTS, project_id, update, events,
                            guard={"practice_ids": {"$ne": practice["_id"]}})
        return self.storage.find(PROJECTS, project_id)

    @route("POST", "/projects/<project_id>/members", "Add a team member", body=MemberIn,
           answers={201: ProjectOut}, roles=MEMBERS)
    def add_member(self, request, project_id, principal, command):
        member = command
        project = self._project_for(principal, project_id)
        member["practice_id"] = self._acting_practice(principal, member["practice_id"])
        domain.check_project_write(principal, project, member["practice_id"])
        update, events = domain.add_member(project, project, member, utc_now(),
                                           trace_of(request))
        self.storage.update(PROJECTS, project_id, update, events, guard={
            "members": {"$not": {"$elemMatch": {"staff_id": member["staff_id"],
                                                "role": member["role"]}}}})
        return self.storage.find(PROJECTS, project_id)

    # --- PDSA cycles -----------------------------------------------------------------------

    @route("POST", "/projects/<project_id>/pdsa-cycles", "Start a PDSA cycle",
           body=PdsaCycleIn, answers={201: PdsaCycleOut}, roles=MEMBERS)
    def start_pdsa_cycle(self, request, project_id, principal, command):
        project = self._project_for(principal, project_id)
        practice_id = self._acting_practice(principal, command["practice_id"])
        if project["scope"] == "practice":
            practice_id = practice_id or domain.project_owner_practice(project)
        domain.check_project_write(principal, project, practice_id)
        cycle, events = domain.start_cycle(project, command, practice_id, utc_now(),
                                           trace_of(request))
        self.storage.insert(PDSA_CYCLES, cycle, events)
        return cycle, 201, {"Location": f"/pdsa-cycles/{cycle['_id']}"}

    @route("GET", "/projects/<project_id>/pdsa-cycles", "List a project's PDSA cycles",
           query=PageQuery, answers={200: page_of(PdsaCycleOut)}, roles=MEMBERS)
    def list_pdsa_cycles(self, request, project_id, principal, query):
        self._project_for(principal, project_id)
        return self.storage.listing(PDSA_CYCLES, {"project_id": project_id}, query,
                                    sort=(("started_on", 1), ("_id", 1)))

    @route("GET", "/pdsa-cycles/<cycle_id>", "Read a PDSA cycle", answers={200: PdsaCycleOut},
           roles=MEMBERS)
    def get_pdsa_cycle(self, request, cycle_id, principal):
        cycle = self.storage.get_or_404(PDSA_CYCLES, cycle_id, "PDSA cycle")
        self._project_for(principal, cycle["project_id"])
        return cycle

    @route("PATCH", "/pdsa-cycles/<cycle_id>", "Record notes; an act decision completes the cycle",
           body=PdsaCyclePatch, answers={200: PdsaCycleOut}, roles=MEMBERS)
    def update_pdsa_cycle(self, request, cycle_id, principal, command):
        changes = command
        if not changes:
            raise Unprocessable("nothing to change", {"_schema": ["give at least one field"]})
        cycle = self.storage.get_or_404(PDSA_CYCLES, cycle_id, "PDSA cycle")
        project = self._project_for(principal, cycle["project_id"])
        domain.check_project_write(principal, project, cycle["practice_id"])
        update, events = domain.update_cycle(cycle, changes, utc_now(), trace_of(request))
        self.storage.update(PDSA_CYCLES, cycle_id, update, events, guard={"status": "running"})
        return self.storage.find(PDSA_CYCLES, cycle_id)

    # --- huddle board ----------------------------------------------------------------------

    def _item_for(self, principal, item_id):
        item = self.storage.get_or_404(HUDDLE_ITEMS, item_id, "huddle item")
        principal.check_practice(item["practice_id"], item["network_id"], "huddle item")
        return item

    @route("POST", "/huddle-items", "Raise a huddle board item", body=HuddleItemIn,
           answers={201: HuddleItemOut}, roles=MEMBERS)
    def raise_huddle_item(self, request, principal, command):
        command["practice_id"] = self._acting_practice(principal, command["practice_id"])
        practice = (self.storage.find(PRACTICES, command["practice_id"])
                    if command["practice_id"] else None)
        if practice is None:
            raise Unprocessable("say which registered practice the board belongs to",
                                {"practice_id": ["required and must be registered"]})
        principal.check_practice(practice["_id"], practice["network_id"], "practice")
        item, events = domain.raise_item(command, practice["network_id"], utc_now(),
                                         trace_of(request))
        self.storage.insert(HUDDLE_ITEMS, item, events)
        return item, 201, {"Location": f"/huddle-items/{item['_id']}"}

    @route("GET", "/huddle-items", "List huddle board items", query=HuddleQuery,
           answers={200: page_of(HuddleItemOut)}, roles=MEMBERS)
    def list_huddle_items(self, request, principal, query):
        filters = [{name: query.get(name)} for name in ("status", "practice_id", "team")]
        selector = visible_to(principal, "practice_id", filters)
        return self.storage.listing(HUDDLE_ITEMS, selector, query,
                                    sort=(("raised_at", -1), ("_id", 1)))

    @route("GET", "/huddle-items/<item_id>", "Read a huddle item", answers={200: HuddleItemOut},
           roles=MEMBERS)
    def get_huddle_item(self, request, item_id, principal):
        return self._item_for(principal, item_id)

    @route("POST", "/huddle-items/<item_id>/escalate", "Escalate to a named leader",
           body=HuddleEscalationIn, answers={200: HuddleItemOut}, roles=MEMBERS)
    def escalate_huddle_item(self, request, item_id, principal, command):
        item = self._item_for(principal, item_id)
        update, events = domain.escalate_item(item, command["escalated_to"], utc_now(),
                                              trace_of(request))
        self.storage.update(HUDDLE_ITEMS, item_id, update, events, guard={"status": item["status"]})
        return self.storage.find(HUDDLE_ITEMS, item_id)

    @route("POST", "/huddle-items/<item_id>/resolve", "Resolve (unblock) an item",
           body=HuddleResolutionIn, answers={200: HuddleItemOut}, roles=MEMBERS)
    def resolve_huddle_item(self, request, item_id, principal, command):
        item = self._item_for(principal, item_id)
        update, events = domain.resolve_item(item, command["resolution"], utc_now(),
                                             trace_of(request))
        self.storage.update(HUDDLE_ITEMS, item_id, update, events, guard={"status": item["status"]})
        return self.storage.find(HUDDLE_ITEMS, item_id)
