"""Storage of the measurement service."""
from shared.domain import ConflictError
from shared.idempotency import REMEMBER_SECONDS, REMEMBERED_ANSWERS, RememberedAnswers
from shared.outbox import new_document
from shared.repository import AggregateRepository, all_of
from shared.storage import BulkWriteError, DuplicateKeyError

PROJECTS = "projects"
PARTICIPATIONS = "participations"
ANNOTATIONS = "annotations"
MEASURES = "measures"
SUBMISSIONS = "submissions"
POOLED = "pooled_periods"
SERIES_STATE = "series_state"
OVERDUE_NOTICES = "overdue_notices"
# Answers to retried POSTs (shared.idempotency), under the names this service gave them.
IDEMPOTENCY = REMEMBERED_ANSWERS
IDEMPOTENCY_SECONDS = REMEMBER_SECONDS

EVENT_SOURCES = (SUBMISSIONS, SERIES_STATE, OVERDUE_NOTICES)
POOLED_SUMS = ("total", "weight", "numerator", "denominator", "practices")


def series_state_id(measure_id, series):
    return f"{measure_id}|{series}"


class ContributionOutOfOrder(Exception):
    """A later version of a practice's value arrived before an earlier one was applied; the
    event is retried (with backoff) until the earlier one has been."""


class MeasurementRepository(AggregateRepository):

    @staticmethod
    def ensure_indexes(database):
        database[MEASURES].create_index([("project_id", 1)])
        database[SUBMISSIONS].create_index([("measure_id", 1), ("practice_id", 1),
                                            ("period", 1)])
        database[SUBMISSIONS].create_index([("measure_id", 1), ("period", 1)])
        database[POOLED].create_index([("measure_id", 1), ("period", 1)])
        database[ANNOTATIONS].create_index([("project_id", 1)])
        database[PARTICIPATIONS].create_index([("project_id", 1)])
        database[PARTICIPATIONS].create_index([("practice_id", 1)])
        RememberedAnswers.ensure_indexes(database)

    # --- what the projects service told us ------------------------------------------------

    def track_project(self, project_id, network_id, fields, practice_ids):
        """Participation is one small document per practice, so that checking a submission
        never loads a list that grows with the network."""
        for practice_id in practice_ids:
            try:
                self.database[PARTICIPATIONS].insert_one(
                    {"_id": f"{project_id}|{practice_id}", "project_id": project_id,
                     "practice_id": practice_id})
            except DuplicateKeyError:
                pass  # a redelivered event
        count = self.database[PARTICIPATIONS].count_documents({"project_id": project_id})
        # $max: practices never leave, and a slower concurrent count must not win.
        self.database[PROJECTS].update_one(
            {"_id": project_id}, {"$set": {"network_id": network_id, **fields},
                                  "$max": {"practice_count": count}}, upsert=True)

    def participating(self, project_id, practice_ids):
        """Which of ``practice_ids`` take part in the project."""
        ids = [f"{project_id}|{p}" for p in set(practice_ids) if p]
        return {d["practice_id"] for d in self.database[PARTICIPATIONS].find(
            {"_id": {"$in": ids}}, {"practice_id": 1})}

    def participants(self, project_id):
        return sorted(d["practice_id"] for d in self.database[PARTICIPATIONS].find(
            {"project_id": project_id}, {"practice_id": 1}))

    def projects_of_practice(self, practice_id, scope):
        """The projects ``practice_id`` takes part in, of those ``scope`` may list."""
        ids = [d["project_id"] for d in self.database[PARTICIPATIONS].find(
            {"practice_id": practice_id}, {"project_id": 1})]
        return self.find_many(PROJECTS, self.scoped(scope, _id={"$in": ids}))

    def annotate(self, cycle_id, fields):
        self.database[ANNOTATIONS].update_one({"_id": cycle_id}, {"$set": fields}, upsert=True)

    def annotations(self, project_id):
        return self.find_many(ANNOTATIONS, {"project_id": project_id})

    # --- submissions ------------------------------------------------------------------------

    def submissions_by_id(self, ids):
        return {d["_id"]: d for d in self.find_many(SUBMISSIONS, {"_id": {"$in": list(ids)}})}

    def insert_submissions(self, documents_with_events):
        """One write for many new submissions, each with its events in its own outbox."""
        if not documents_with_events:
            return
        try:
            self.database[SUBMISSIONS].insert_many(
                [new_document(document, events) for document, events in documents_with_events],
                ordered=False)
        except BulkWriteError:
            # Only a concurrent request can collide (rows were checked new): a retry of this
            # request finds the stored rows unchanged and stores the rest.
            raise ConflictError("another request stored some of these values meanwhile; retry",
                                {"rows": ["submitted concurrently"]}) from None

    @staticmethod
    def submissions_of(measure_id, practice_id=None):
        """The selector of a measure's submissions (of one practice when named)."""
        return all_of({"measure_id": measure_id}, practice_id=practice_id)

    def feedback_of(self, project_id, practice_id=None):
        """The submissions of a project's feedback series (of one practice when named)."""
        return self.find_many(SUBMISSIONS, all_of({"project_id": project_id,
                                                   "feedback": {"$exists": True}},
                                                  practice_id=practice_id))

    def practice_series(self, measure_id, practice_id):
        cursor = (self.database[SUBMISSIONS]
                  .find({"measure_id": measure_id, "practice_id": practice_id},
                        {"period": 1, "contribution": 1}).sort("period", 1))
        return [(d["period"], d["contribution"]["value"]) for d in cursor]

    # --- the pooled network series ------------------------------------------------------------

    def apply_to_pooled(self, measure_id, period, practice_id, version, increments):
        """Add a practice's new contribution to its period's sums, exactly once and in version
        order. Returns "applied" or "duplicate"; raises ``ContributionOutOfOrder``."""
        pooled_id = f"{measure_id}|{period}"
        applied = f"versions.{practice_id}"
        selector = {"_id": pooled_id,
                    applied: version - 1 if version > 1 else {"$exists": False}}
        update = {"$inc": increments, "$set": {applied: version},
                  "$setOnInsert": {"measure_id": measure_id, "period": period}}
        try:
            result = self.database[POOLED].update_one(selector, update, upsert=version == 1)
        except DuplicateKeyError:
            return "duplicate"
        if result.matched_count or result.upserted_id is not None:
            return "applied"
        current = self.database[POOLED].find_one({"_id": pooled_id}, {applied: 1})
        seen = ((current or {}).get("versions") or {}).get(practice_id, 0)
        if seen >= version:
            return "duplicate"
        raise ContributionOutOfOrder(f"{pooled_id} of {practice_id}: v{version} before "
                                     f"v{version - 1}")

    def pooled_periods(self, measure_id):
        """The pooled sums of every period, in order (the per-practice versions left out)."""
        projection = {"period": 1, **{name: 1 for name in POOLED_SUMS}}
        return list(self.database[POOLED].find({"measure_id": measure_id}, projection)
                    .sort("period", 1))

    def period_submissions(self, measure_id, period):
        return self.find_many(SUBMISSIONS, {"measure_id": measure_id, "period": period})

    # --- signals --------------------------------------------------------------------------------

    def series_state(self, measure_id, series):
        return self.find(SERIES_STATE, series_state_id(measure_id, series))

    def record_overdue(self, document, events):
        """True when this notice is new (it is sent once)."""
        try:
            self.database[OVERDUE_NOTICES].insert_one(new_document(document, events))
            return True
        except DuplicateKeyError:
            return False

    # --- measures ---------------------------------------------------------------------------

    def add_measure_once(self, measure):
        """Store ``measure`` unless one with its id exists (a concurrent request made it first);
        returns the stored one."""
        try:
            self.database[MEASURES].insert_one(measure)
        except DuplicateKeyError:
            return self.find(MEASURES, measure["_id"])
        return measure
