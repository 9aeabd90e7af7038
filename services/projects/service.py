"""The projects service: registry (networks, practices, API keys), projects, PDSA cycles and
huddle boards. Entrypoints validate, authorise, call the domain and store the result with its
events in one write; the outbox relay publishes them to ``projects.events``."""
from shared.auth import API_KEYS, ApiKeyAuth, generate_key
from shared.errors import NotFound, Unprocessable
from shared.events.envelope import utc_now
from shared.messaging import BrokerTopology
from shared.metrics import EntrypointMetrics
from shared.ops import OpsEndpoints, Readiness
from shared.outbox import OutboxRelayRunner
from shared.storage import MongoDatabase
from shared.web import (
    PageQuery, http, json_response, load_body, load_query, page_body, trace_of,
)

from services.projects import domain, schemas
from services.projects.openapi import openapi_document
from services.projects.repository import (
    EVENT_SOURCES, HUDDLE_ITEMS, NETWORKS, PDSA_CYCLES, PRACTICES, PROJECTS, ProjectsRepository,
)

NETWORK_OUT = schemas.NetworkOut()
PRACTICE_OUT = schemas.PracticeOut()
KEY_OUT = schemas.ApiKeyOut()
ISSUED_KEY_OUT = schemas.IssuedApiKeyOut()
PROJECT_OUT = schemas.ProjectOut()
CYCLE_OUT = schemas.PdsaCycleOut()
ITEM_OUT = schemas.HuddleItemOut()


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


def listing(repository, collection, selector, query, schema, sort=(("_id", 1),)):
    items, total = repository.page(collection, selector, query["page"], query["page_size"], sort)
    return json_response(200, page_body(schema.dump(items, many=True), query["page"],
                                        query["page_size"], total))


class ProjectsService(OpsEndpoints):
    name = "projects"
    openapi_document = openapi_document()

    topology = BrokerTopology()
    storage = MongoDatabase(ProjectsRepository)
    relay = OutboxRelayRunner(*EVENT_SOURCES)
    auth = ApiKeyAuth()
    readiness = Readiness()
    entrypoint_metrics = EntrypointMetrics()

    # --- lookups that answer 404 the same way everywhere -----------------------------------

    def _get(self, collection, document_id, what):
        document = self.storage.find(collection, document_id)
        if document is None:
            raise NotFound(f"no such {what}", {"id": [f"{document_id} not found"]})
        return document

    def _project_for(self, principal, project_id):
        project = self._get(PROJECTS, project_id, "project")
        domain.check_project_visible(principal, project)
        return project

    def _acting_practice(self, principal, practice_id):
        """The practice a write is for: a practice key's own unless another is named."""
        return practice_id if practice_id is not None else principal.practice_id

    # --- registry --------------------------------------------------------------------------

    @http("POST", "/networks")
    def create_network(self, request):
        self.auth.require(request, "admin")
        command = load_body(request, schemas.NetworkIn())
        network = {"_id": command["id"], "name": command["name"], "created_at": utc_now()}
        self.storage.insert(NETWORKS, network, conflict_message="the network exists already")
        return json_response(201, NETWORK_OUT.dump(network))

    @http("GET", "/networks")
    def list_networks(self, request):
        principal = self.auth.require(request, "network_lead", "practice")
        query = load_query(request, PageQuery())
        selector = {} if principal.is_admin else {"_id": principal.network_id}
        return listing(self.storage, NETWORKS, selector, query, NETWORK_OUT)

    @http("POST", "/practices")
    def create_practice(self, request):
        principal = self.auth.require(request, "network_lead")
        command = load_body(request, schemas.PracticeIn())
        if self.storage.find(NETWORKS, command["network_id"]) is None:
            raise Unprocessable("no such network",
                                {"network_id": [f"{command['network_id']} is unknown"]})
        if not principal.may_act_for_network(command["network_id"]):
            raise NotFound("no such network", {"network_id": ["not found"]})
        practice = {"_id": command["ods_code"], "name": command["name"],
                    "network_id": command["network_id"], "created_at": utc_now()}
        self.storage.insert(PRACTICES, practice, conflict_message="the practice exists already")
        return json_response(201, PRACTICE_OUT.dump(practice))

    @http("GET", "/practices")
    def list_practices(self, request):
        principal = self.auth.require(request, "network_lead", "practice")
        query = load_query(request, schemas.PracticeQuery())
        # Every key of a network sees the network's practices.
        conditions = [] if principal.is_admin else [{"network_id": principal.network_id}]
        if query.get("network_id"):
            conditions.append({"network_id": query["network_id"]})
        selector = {"$and": conditions} if conditions else {}
        return listing(self.storage, PRACTICES, selector, query, PRACTICE_OUT)

    @http("POST", "/api-keys")
    def issue_api_key(self, request):
        principal = self.auth.require(request, "network_lead")
        command = load_body(request, schemas.ApiKeyIn())
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
        return json_response(201, ISSUED_KEY_OUT.dump({**document, "api_key": api_key}))

    @http("GET", "/api-keys")
    def list_api_keys(self, request):
        principal = self.auth.require(request, "network_lead")
        query = load_query(request, PageQuery())
        selector = {} if principal.is_admin else {"network_id": principal.network_id}
        return listing(self.storage, API_KEYS, selector, query, KEY_OUT)

    @http("POST", "/api-keys/<key_id>/revoke")
    def revoke_api_key(self, request, key_id):
        principal = self.auth.require(request, "network_lead")
        key = self._get(API_KEYS, key_id, "API key")
        if not principal.is_admin and not (key["role"] == "practice"
                                           and key["network_id"] == principal.network_id):
            raise NotFound("no such API key", {"id": [f"{key_id} not found"]})
        update, events = domain.revoke_key(key, utc_now(), trace_of(request))
        self.storage.update(API_KEYS, key_id, update, events, guard={"revoked_at": None})
        return json_response(200, KEY_OUT.dump(self.storage.find(API_KEYS, key_id)))

    # --- projects --------------------------------------------------------------------------

    @http("POST", "/projects")
    def create_project(self, request):
        principal = self.auth.require(request, "network_lead", "practice")
        command = load_body(request, schemas.ProjectIn())
        command["network_id"] = command["network_id"] or principal.network_id
        if not command["network_id"]:
            raise Unprocessable("say which network", {"network_id": ["required for admin keys"]})
        practices = self.storage.practices_by_code(command["practice_ids"])
        domain.check_project_creation(principal, command, practices)
        project, events = domain.create_project(command, utc_now(), trace_of(request))
        self.storage.insert(PROJECTS, project, events)
        return json_response(201, PROJECT_OUT.dump(project),
                             headers={"Location": f"/projects/{project['_id']}"})

    @http("GET", "/projects")
    def list_projects(self, request):
        principal = self.auth.require(request, "network_lead", "practice")
        query = load_query(request, schemas.ProjectQuery())
        filters = [{"stage": query.get("stage")}, {"network_id": query.get("network_id")},
                   {"practice_ids": query.get("practice_id")}]
        selector = visible_to(principal, "practice_ids", filters)
        return listing(self.storage, PROJECTS, selector, query, PROJECT_OUT,
                       sort=(("created_at", -1), ("_id", 1)))

    @http("GET", "/projects/<project_id>")
    def get_project(self, request, project_id):
        principal = self.auth.require(request, "network_lead", "practice")
        return json_response(200, PROJECT_OUT.dump(self._project_for(principal, project_id)))

    @http("POST", "/projects/<project_id>/stage")
    def change_stage(self, request, project_id):
        principal = self.auth.require(request, "network_lead", "practice")
        command = load_body(request, schemas.StageIn())
        project = self._project_for(principal, project_id)
        domain.check_project_write(principal, project)
        update, events = domain.change_stage(project, command["stage"], command["reason"],
                                             utc_now(), trace_of(request))
        self.storage.update(PROJECTS, project_id, update, events,
                            guard={"stage": project["stage"]})
        return json_response(200, PROJECT_OUT.dump(self.storage.find(PROJECTS, project_id)))

    @http("POST", "/projects/<project_id>/practices")
    def join_practice(self, request, project_id):
        principal = self.auth.require(request, "network_lead")
        command = load_body(request, schemas.PracticeJoinIn())
        project = self._project_for(principal, project_id)
        practice = self.storage.find(PRACTICES, command["practice_id"])
        if practice is None:
            raise Unprocessable("no such practice",
                                {"practice_id": [f"{command['practice_id']} is not registered"]})
        update, events = domain.join_practice(project, practice, utc_now(), trace_of(request))
        self.storage.update(PROJECTS, project_id, update, events,
                            guard={"practice_ids": {"$ne": practice["_id"]}})
        return json_response(200, PROJECT_OUT.dump(self.storage.find(PROJECTS, project_id)))

    @http("POST", "/projects/<project_id>/members")
    def add_member(self, request, project_id):
        principal = self.auth.require(request, "network_lead", "practice")
        member = load_body(request, schemas.MemberIn())
        project = self._project_for(principal, project_id)
        member["practice_id"] = self._acting_practice(principal, member["practice_id"])
        domain.check_project_write(principal, project, member["practice_id"])
        update, events = domain.add_member(project, project, member, utc_now(),
                                           trace_of(request))
        self.storage.update(PROJECTS, project_id, update, events, guard={
            "members": {"$not": {"$elemMatch": {"staff_id": member["staff_id"],
                                                "role": member["role"]}}}})
        return json_response(201, PROJECT_OUT.dump(self.storage.find(PROJECTS, project_id)))

    # --- PDSA cycles -----------------------------------------------------------------------

    @http("POST", "/projects/<project_id>/pdsa-cycles")
    def start_pdsa_cycle(self, request, project_id):
        principal = self.auth.require(request, "network_lead", "practice")
        command = load_body(request, schemas.PdsaCycleIn())
        project = self._project_for(principal, project_id)
        practice_id = self._acting_practice(principal, command["practice_id"])
        if project["scope"] == "practice":
            practice_id = practice_id or domain.project_owner_practice(project)
        domain.check_project_write(principal, project, practice_id)
        cycle, events = domain.start_cycle(project, command, practice_id, utc_now(),
                                           trace_of(request))
        self.storage.insert(PDSA_CYCLES, cycle, events)
        return json_response(201, CYCLE_OUT.dump(cycle),
                             headers={"Location": f"/pdsa-cycles/{cycle['_id']}"})

    @http("GET", "/projects/<project_id>/pdsa-cycles")
    def list_pdsa_cycles(self, request, project_id):
        principal = self.auth.require(request, "network_lead", "practice")
        query = load_query(request, PageQuery())
        self._project_for(principal, project_id)
        return listing(self.storage, PDSA_CYCLES, {"project_id": project_id}, query, CYCLE_OUT,
                       sort=(("started_on", 1), ("_id", 1)))

    @http("GET", "/pdsa-cycles/<cycle_id>")
    def get_pdsa_cycle(self, request, cycle_id):
        principal = self.auth.require(request, "network_lead", "practice")
        cycle = self._get(PDSA_CYCLES, cycle_id, "PDSA cycle")
        self._project_for(principal, cycle["project_id"])
        return json_response(200, CYCLE_OUT.dump(cycle))

    @http("PATCH", "/pdsa-cycles/<cycle_id>")
    def update_pdsa_cycle(self, request, cycle_id):
        principal = self.auth.require(request, "network_lead", "practice")
        changes = load_body(request, schemas.PdsaCyclePatch())
        if not changes:
            raise Unprocessable("nothing to change", {"_schema": ["give at least one field"]})
        cycle = self._get(PDSA_CYCLES, cycle_id, "PDSA cycle")
        project = self._project_for(principal, cycle["project_id"])
        domain.check_project_write(principal, project, cycle["practice_id"])
        update, events = domain.update_cycle(cycle, changes, utc_now(), trace_of(request))
        self.storage.update(PDSA_CYCLES, cycle_id, update, events, guard={"status": "running"})
        return json_response(200, CYCLE_OUT.dump(self.storage.find(PDSA_CYCLES, cycle_id)))

    # --- huddle board ----------------------------------------------------------------------

    def _item_for(self, principal, item_id):
        item = self._get(HUDDLE_ITEMS, item_id, "huddle item")
        principal.check_practice(item["practice_id"], item["network_id"], "huddle item")
        return item

    @http("POST", "/huddle-items")
    def raise_huddle_item(self, request):
        principal = self.auth.require(request, "network_lead", "practice")
        command = load_body(request, schemas.HuddleItemIn())
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
        return json_response(201, ITEM_OUT.dump(item),
                             headers={"Location": f"/huddle-items/{item['_id']}"})

    @http("GET", "/huddle-items")
    def list_huddle_items(self, request):
        principal = self.auth.require(request, "network_lead", "practice")
        query = load_query(request, schemas.HuddleQuery())
        filters = [{name: query.get(name)} for name in ("status", "practice_id", "team")]
        selector = visible_to(principal, "practice_id", filters)
        return listing(self.storage, HUDDLE_ITEMS, selector, query, ITEM_OUT,
                       sort=(("raised_at", -1), ("_id", 1)))

    @http("GET", "/huddle-items/<item_id>")
    def get_huddle_item(self, request, item_id):
        principal = self.auth.require(request, "network_lead", "practice")
        return json_response(200, ITEM_OUT.dump(self._item_for(principal, item_id)))

    @http("POST", "/huddle-items/<item_id>/escalate")
    def escalate_huddle_item(self, request, item_id):
        principal = self.auth.require(request, "network_lead", "practice")
        command = load_body(request, schemas.HuddleEscalationIn())
        item = self._item_for(principal, item_id)
        update, events = domain.escalate_item(item, command["escalated_to"], utc_now(),
                                              trace_of(request))
        self.storage.update(HUDDLE_ITEMS, item_id, update, events, guard={"status": item["status"]})
        return json_response(200, ITEM_OUT.dump(self.storage.find(HUDDLE_ITEMS, item_id)))

    @http("POST", "/huddle-items/<item_id>/resolve")
    def resolve_huddle_item(self, request, item_id):
        principal = self.auth.require(request, "network_lead", "practice")
        command = load_body(request, schemas.HuddleResolutionIn())
        item = self._item_for(principal, item_id)
        update, events = domain.resolve_item(item, command["resolution"], utc_now(),
                                             trace_of(request))
        self.storage.update(HUDDLE_ITEMS, item_id, update, events, guard={"status": item["status"]})
        return json_response(200, ITEM_OUT.dump(self.storage.find(HUDDLE_ITEMS, item_id)))
