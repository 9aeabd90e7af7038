"""Storage of the training service: each network's framework, the staff registry (with each
person's levels and obligations), the catalogue (offerings, cohorts with their enrolments and
waiting lists), what it knows of projects, and its periodic passes.

The overdue check must cost what changes, not the registry: every staff document keeps
``next_due_on``, the earliest due date of its pending obligations, under an index, so a pass
reads only the people with something falling due. ``documents_read`` counts what the passes
read, for the benchmark and the tests.
"""
from services.training.domain.framework import default_framework
from shared.outbox import Outbox, new_document
from shared.repository import AggregateRepository
from shared.storage import DuplicateKeyError

FRAMEWORKS = "frameworks"
STAFF = "staff"
OFFERINGS = "offerings"
COHORTS = "cohorts"
PROJECTS = "projects"
# The registry as the projects service announces it: networks and practices (ODS codes).
NETWORKS = "networks"
PRACTICES = "practices"
PRACTICE_TARGETS = "practice_targets"
PASSES = "passes"
OUTBOX_COLLECTIONS = (STAFF, COHORTS, PRACTICE_TARGETS)
OVERDUE_PASS = "overdue"


class TrainingRepository(AggregateRepository):

    def __init__(self, database):
        super().__init__(database)
        self.documents_read = 0

    @staticmethod
    def ensure_indexes(database):
        Outbox.ensure_indexes(database, OUTBOX_COLLECTIONS)
        # People with nothing pending have next_due_on None, which "$lte a day" never matches.
        database[STAFF].create_index([("next_due_on", 1)])
        database[STAFF].create_index([("network_id", 1), ("practice_id", 1), ("team", 1)])
        database[STAFF].create_index([("practice_id", 1), ("team", 1), ("leader", 1)])
        database[OFFERINGS].create_index([("network_id", 1), ("kind", 1)])
        database[COHORTS].create_index([("offering_id", 1)])
        database[COHORTS].create_index([("network_id", 1), ("offering_id", 1)])
        database[COHORTS].create_index([("enrolments.staff_id", 1)])
        database[PROJECTS].create_index([("members.staff_id", 1)])

    # --- frameworks ----------------------------------------------------------------------

    def framework(self, network_id):
        """The network's stored framework, or the default one (unstored until first
        changed)."""
        return self.find(FRAMEWORKS, network_id) or default_framework(network_id)

    def save_framework(self, framework, change):
        if self.database[FRAMEWORKS].find_one({"_id": framework["_id"]}, {"_id": 1}) is None:
            try:
                self.database[FRAMEWORKS].insert_one(framework)
            except DuplicateKeyError:
                pass  # a concurrent first change: the version guard below decides
        return self.apply(FRAMEWORKS, change)

    # --- staff ---------------------------------------------------------------------------

    def staff(self, staff_id):
        return self.find(STAFF, staff_id)

    def existing_staff_ids(self, staff_ids):
        return {d["_id"] for d in self.database[STAFF].find({"_id": {"$in": list(staff_ids)}},
                                                            {"_id": 1})}

    def add_staff(self, staff_documents, events_of=None):
        """Insert the checked rows of an import in one batch (ids checked new), each with
        its events (``events_of``: staff id to envelopes)."""
        if staff_documents:
            self.database[STAFF].insert_many([
                new_document(d, (events_of or {}).get(d["_id"], ())) for d in staff_documents])

    def staff_in(self, network_id, practice_id=None, team=None):
        selector = {"network_id": network_id}
        if practice_id:
            selector["practice_id"] = practice_id
        if team:
            selector["team"] = team
        return self.find_many(STAFF, selector)

    def team_leaders(self, staff):
        return sorted(d["_id"] for d in self.database[STAFF].find(
            {"practice_id": staff["practice_id"], "team": staff["team"], "leader": True,
             "left_on": None, "_id": {"$ne": staff["_id"]}}, {"_id": 1}))

    def falling_due(self, on_day, limit):
        """People with a pending obligation due on or before ``on_day``: the index on
        ``next_due_on`` is the whole query, so a pass reads only them (counted)."""
        cursor = (self.database[STAFF].find({"next_due_on": {"$lte": on_day}}, {"outbox": 0})
                  .sort([("next_due_on", 1)]).limit(limit))
        found = list(cursor)
        self.documents_read += len(found)
        return found

    def record_pass(self, name, now, counts):
        self.database[PASSES].update_one({"_id": name}, {"$set": {"at": now, **counts}},
                                         upsert=True)

    def last_pass(self, name):
        return self.database[PASSES].find_one({"_id": name})

    # --- catalogue -----------------------------------------------------------------------

    def add_offering(self, offering):
        return self.insert(OFFERINGS, offering)

    def offering(self, offering_id):
        return self.find(OFFERINGS, offering_id)

    def offerings_in(self, network_id):
        return self.find_many(OFFERINGS, {"network_id": network_id})

    def add_cohort(self, cohort):
        return self.insert(COHORTS, cohort)

    def cohort(self, cohort_id):
        return self.find(COHORTS, cohort_id)

    def other_cohorts_of(self, offering_id, staff_id, cohort_id):
        return self.find_many(COHORTS, {"offering_id": offering_id, "_id": {"$ne": cohort_id},
                                        "enrolments.staff_id": staff_id})

    # --- the registry as the projects service announced it ---------------------------------

    def record_network(self, network_id, name):
        self.database[NETWORKS].update_one({"_id": network_id}, {"$set": {"name": name}},
                                           upsert=True)

    def record_practice(self, practice_id, network_id, name):
        self.database[PRACTICES].update_one(
            {"_id": practice_id}, {"$set": {"network_id": network_id, "name": name}},
            upsert=True)

    def registered(self, network_ids, practice_ids):
        """(the networks among ``network_ids`` that are registered, {practice: its network}
        of the registered practices among ``practice_ids``)."""
        networks = {d["_id"] for d in self.database[NETWORKS].find(
            {"_id": {"$in": sorted(set(network_ids))}}, {"_id": 1})}
        practices = {d["_id"]: d["network_id"] for d in self.database[PRACTICES].find(
            {"_id": {"$in": sorted(set(practice_ids))}}, {"network_id": 1})}
        return networks, practices

    # --- projects as the training service knows them ------------------------------------

    def project(self, project_id, network_id):
        """The project's record, made empty on first sight (events may come in any order)."""
        self.database[PROJECTS].update_one(
            {"_id": project_id},
            {"$setOnInsert": {"network_id": network_id, "stage": None, "members": [],
                              "cycles": [], "version": 0}}, upsert=True)
        return self.find(PROJECTS, project_id)

    def projects(self, project_ids):
        return {d["_id"]: d for d in self.find_many(PROJECTS, {"_id": {"$in": list(project_ids)}})}

    def projects_with_members(self, staff_ids):
        return self.find_many(PROJECTS, {"members.staff_id": {"$in": list(staff_ids)}})

    def move_stage(self, project_id, from_stage, to_stage):
        """The project's stage moves on only from the stage the event left (or from none
        yet), so a late or redelivered event never moves it back."""
        self.database[PROJECTS].update_one(
            {"_id": project_id, "stage": {"$in": [from_stage, None]}},
            {"$set": {"stage": to_stage}})

    # --- targets -------------------------------------------------------------------------

    def practice_target(self, practice_id, network_id):
        self.database[PRACTICE_TARGETS].update_one(
            {"_id": practice_id}, {"$setOnInsert": {"network_id": network_id, "raised_for": [],
                                                    "version": 0}}, upsert=True)
        return self.find(PRACTICE_TARGETS, practice_id)

    def practices_in(self, network_id=None):
        selector = {"network_id": network_id} if network_id else {}
        return sorted({(d["network_id"], d["practice_id"])
                       for d in self.database[STAFF].find(selector, {"network_id": 1,
                                                                     "practice_id": 1})})
