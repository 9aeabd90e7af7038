"""Storage of the projects service: registry, projects, PDSA cycles, huddle items."""
from services.projects.domain import ANNOUNCED, network_registered, practice_registered
from shared.auth import API_KEYS
from shared.events.envelope import Trace
from shared.outbox import with_events
from shared.repository import AggregateRepository

NETWORKS = "networks"
PRACTICES = "practices"
PROJECTS = "projects"
PDSA_CYCLES = "pdsa_cycles"
HUDDLE_ITEMS = "huddle_items"

# Collections whose documents carry outbox events, for the relay.
EVENT_SOURCES = (NETWORKS, PRACTICES, API_KEYS, PROJECTS, PDSA_CYCLES, HUDDLE_ITEMS)


class ProjectsRepository(AggregateRepository):

    @staticmethod
    def ensure_indexes(database):
        # api_keys has its indexes from shared.auth.ApiKeyAuth, as in every service.
        database[PRACTICES].create_index([("network_id", 1)])
        database[PROJECTS].create_index([("network_id", 1), ("stage", 1)])
        database[PROJECTS].create_index([("practice_ids", 1)])
        database[PDSA_CYCLES].create_index([("project_id", 1), ("started_on", 1)])
        database[HUDDLE_ITEMS].create_index([("network_id", 1), ("practice_id", 1),
                                             ("status", 1)])
        ProjectsRepository.announce_earlier_registrations(database)

    @staticmethod
    def announce_earlier_registrations(database):
        """Networks and practices registered before their events existed get them once, so
        the services that keep a copy of the registry hear of every one (each update is
        guarded by the flag, so replicas starting together announce each once)."""
        for collection, announce in ((NETWORKS, network_registered),
                                     (PRACTICES, practice_registered)):
            for document in database[collection].find({ANNOUNCED: {"$exists": False}}):
                database[collection].update_one(
                    {"_id": document["_id"], ANNOUNCED: {"$exists": False}},
                    with_events({"$set": {ANNOUNCED: True}},
                                [announce(document, Trace())]))

    def practices_by_code(self, codes):
        return {p["_id"]: p for p in self.find_many(PRACTICES, {"_id": {"$in": list(codes)}})}
