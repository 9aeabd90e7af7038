"""Storage of the projects service: registry, projects, PDSA cycles, huddle items."""
from services.projects.domain import ANNOUNCED, network_registered, practice_registered
from shared.auth import API_KEYS
from shared.events.envelope import Trace
from shared.idempotency import RememberedAnswers
from shared.outbox import with_events
from shared.repository import AggregateRepository

NETWORKS = "networks"
PRACTICES = "practices"
PROJECTS = "projects"
PDSA_CYCLES = "pdsa_cycles"
HUDDLE_ITEMS = "huddle_items"
WALLBOARDS = "wallboards"
# The measures of each project as the measurement service's events tell of them.
PROJECT_MEASURES = "project_measures"

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
        database[PROJECT_MEASURES].create_index([("project_id", 1)])
        database[HUDDLE_ITEMS].create_index([("network_id", 1), ("practice_id", 1),
                                             ("status", 1)])
        # A team's board: its items not done, and its latest done.
        database[HUDDLE_ITEMS].create_index([("practice_id", 1), ("team", 1), ("status", 1),
                                             ("resolved_at", -1)])
        # The unblocking summary of a network's boards: its items resolved in the window.
        database[HUDDLE_ITEMS].create_index([("network_id", 1), ("status", 1),
                                             ("resolved_at", -1)])
        database[WALLBOARDS].create_index([("practice_id", 1), ("issued_at", -1)])
        RememberedAnswers.ensure_indexes(database)  # answers to retried POSTs
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

    def cycle_counts(self, project_ids):
        """{project id: {status: number of its PDSA cycles}} of ``project_ids``, in one query."""
        counts = {project_id: {} for project_id in project_ids}
        for row in self.database[PDSA_CYCLES].aggregate([
                {"$match": {"project_id": {"$in": list(project_ids)}}},
                {"$group": {"_id": {"project_id": "$project_id", "status": "$status"},
                            "count": {"$sum": 1}}}]):
            counts[row["_id"]["project_id"]][row["_id"]["status"]] = row["count"]
        return counts

    def measures_of(self, project_ids):
        """{project id: [its measures heard of]} of ``project_ids``, in one query."""
        measures = {project_id: [] for project_id in project_ids}
        for measure in self.find_many(PROJECT_MEASURES,
                                      {"project_id": {"$in": list(project_ids)}}):
            measures[measure["project_id"]].append(measure)
        return measures

    def add_measure(self, measure):
        """Store ``measure`` unless it is stored already (a signal may have come first)."""
        self.database[PROJECT_MEASURES].update_one({"_id": measure["_id"]},
                                                   {"$setOnInsert": measure}, upsert=True)

    def store_signal(self, measure, series):
        """Store the latest signal of one ``series`` of ``measure`` (and what it says of the
        measure), leaving its other series as they are."""
        self.database[PROJECT_MEASURES].update_one({"_id": measure["_id"]}, {"$set": {
            "project_id": measure["project_id"], "measure_type": measure["measure_type"],
            f"series.{series}": measure["series"][series]}}, upsert=True)
