"""Storage of the projects service: registry, projects, PDSA cycles, huddle items."""
from shared.auth import API_KEYS
from shared.repository import AggregateRepository

NETWORKS = "networks"
PRACTICES = "practices"
PROJECTS = "projects"
PDSA_CYCLES = "pdsa_cycles"
HUDDLE_ITEMS = "huddle_items"

# Collections whose documents carry outbox events, for the relay.
EVENT_SOURCES = (API_KEYS, PROJECTS, PDSA_CYCLES, HUDDLE_ITEMS)


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

    def practices_by_code(self, codes):
        return {p["_id"]: p for p in self.find_many(PRACTICES, {"_id": {"$in": list(codes)}})}
