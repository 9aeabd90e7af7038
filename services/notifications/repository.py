"""Storage of the notifications service: recipients (the only place contact details live),
watchers, routes, notifications, ladders and the events seen.

Uniqueness and claims are MongoDB's job, so that two replicas (or a restart) never send twice:
the dedupe key of a notification is a unique index, a send is claimed with a lease by
``find_one_and_update``, and a digest's items are claimed by an ``update_many`` that only
takes items no digest holds yet. The domain says whom it wants in plain terms (``People``,
``Watching``); only this module turns that into queries.
"""
from datetime import timedelta

from services.notifications.domain.planning import REASON_RESOLVED, EventContext
from services.notifications.domain.routing import Watching
from shared.domain import ConflictError
from shared.outbox import Outbox, new_document, without_outbox
from shared.repository import AggregateRepository
from shared.storage import BulkWriteError, DuplicateKeyError, ReturnDocument, as_utc

RECIPIENTS = "recipients"
WATCHERS = "watchers"
ROUTES = "routes"
NOTIFICATIONS = "notifications"
LADDERS = "ladders"
EVENTS_SEEN = "events_seen"
OUTBOX_COLLECTIONS = (NOTIFICATIONS,)
PENDING = ("queued", "held")
DUPLICATE_KEY = 11000
INBOX_ORDER = (("unread", -1), ("created_at", -1), ("_id", 1))
NEWEST_FIRST = (("created_at", -1), ("_id", 1))

DATETIME_FIELDS = ("occurred_at", "due_at", "claimed_until", "created_at", "sent_at",
                   "read_at", "archived_at", "failed_at", "next_due_at")


def _utc(document):
    """Some clients give naive datetimes back: they are UTC."""
    if document is None:
        return None
    for name in DATETIME_FIELDS:
        if document.get(name) is not None and hasattr(document[name], "tzinfo"):
            document[name] = as_utc(document[name])
    for step in document.get("steps") or ():
        for name in ("due_at", "done_at"):
            if step.get(name) is not None:
                step[name] = as_utc(step[name])
    return document


class NotificationsRepository(AggregateRepository):

    @staticmethod
    def ensure_indexes(database):
        Outbox.ensure_indexes(database, OUTBOX_COLLECTIONS)
        database[RECIPIENTS].create_index([("network_id", 1), ("role", 1)])
        database[RECIPIENTS].create_index([("network_id", 1), ("scope.kind", 1),
                                           ("scope.id", 1)])
        database[RECIPIENTS].create_index([("network_id", 1), ("practice_id", 1)])
        database[WATCHERS].create_index([("network_id", 1), ("subject_kind", 1),
                                         ("subject_id", 1)])
        database[WATCHERS].create_index([("staff_id", 1)])
        # Exactly one notification per (event, recipient, channel), however often it comes.
        database[NOTIFICATIONS].create_index([("dedupe_key", 1)], unique=True)
        database[NOTIFICATIONS].create_index([("state", 1), ("due_at", 1)])
        database[NOTIFICATIONS].create_index([("recipient_id", 1), ("channel", 1),
                                              ("archived_at", 1), ("unread", -1),
                                              ("created_at", -1)])
        database[NOTIFICATIONS].create_index([("recipient_id", 1), ("channel", 1),
                                              ("state", 1), ("digest_id", 1)])
        database[NOTIFICATIONS].create_index([("network_id", 1), ("state", 1),
                                              ("created_at", -1)])
        database[NOTIFICATIONS].create_index([("ladder_id", 1), ("state", 1)], sparse=True)
        database[LADDERS].create_index([("state", 1), ("next_due_at", 1)])
        database[EVENTS_SEEN].create_index([("network_id", 1), ("occurred_at", 1)])

    # --- recipients and watchers ---------------------------------------------------------------

    def recipient(self, staff_id):
        return _utc(self.find(RECIPIENTS, staff_id))

    def add_recipient(self, recipient):
        try:
            self.database[RECIPIENTS].insert_one(recipient)
        except DuplicateKeyError:
            raise ConflictError(f"recipient {recipient['_id']} exists already; change it with "
                                "PATCH instead", {"staff_id": ["exists already"]}) from None
        return recipient

    def recipient_listing(self, network_id, practice_id, query):
        """The page of a network's recipients (of one practice, when given) ``query`` asks."""
        selector = {"network_id": network_id}
        if practice_id is not None:
            selector["practice_id"] = practice_id
        return self.listing(RECIPIENTS, selector, query)

    def network_leads(self):
        """Every network's leads."""
        return [_utc(doc) for doc in self.find_many(RECIPIENTS, {"role": "network_lead"})]

    def add_watcher(self, watcher):
        self.database[WATCHERS].replace_one({"_id": watcher["_id"]}, watcher, upsert=True)
        return watcher

    def remove_watcher(self, watcher_id):
        return self.database[WATCHERS].delete_one({"_id": watcher_id}).deleted_count == 1

    def watched_by(self, staff_id):
        return list(self.database[WATCHERS].find({"staff_id": staff_id}).sort([("_id", 1)]))

    def _people(self, who):
        """The recipients ``who`` (``People`` or ``Watching``) names, by staff id."""
        if isinstance(who, Watching):
            watchers = self.database[WATCHERS].find({
                "network_id": who.network_id,
                "$or": [{"subject_kind": kind, "subject_id": subject_id}
                        for kind, subject_id in who.subjects]})
            staff_ids = sorted({watcher["staff_id"] for watcher in watchers})
            selector = {"_id": {"$in": staff_ids}} if staff_ids else None
        else:
            selector = {name: value for name, value in (
                ("network_id", who.network_id), ("role", who.role),
                ("scope.kind", who.scope_kind), ("scope.id", who.scope_id),
                ("practice_id", who.practice_id), ("_id", who.staff_id)) if value is not None}
        if selector is None:
            return []
        return [_utc(doc) for doc in self.find_many(RECIPIENTS, selector)]

    def people(self, audiences):
        """{audience name: its recipients} of ``audiences`` ({name: ``People`` or
        ``Watching``})."""
        return {name: self._people(who) for name, who in audiences.items()}

    def event_context(self, needs):
        """What deciding on one event needs (``domain.EventNeeds``): the recipients of each
        audience and the stored ladder."""
        ladder = self.ladder(needs.ladder_id) if needs.ladder_id else None
        return EventContext(self.people(needs.audiences), ladder)

    # --- routes --------------------------------------------------------------------------------

    def route_of(self, network_id, event_type):
        return self.database[ROUTES].find_one({"_id": f"{network_id}:{event_type}"})

    def routes_of(self, network_id):
        return list(self.database[ROUTES].find({"network_id": network_id}))

    def save_route(self, route):
        self.database[ROUTES].replace_one({"_id": route["_id"]}, route, upsert=True)
        return route

    def remove_route(self, network_id, event_type):
        self.database[ROUTES].delete_one({"_id": f"{network_id}:{event_type}"})

    # --- events seen (for the weekly summary) --------------------------------------------------

    def remember_event(self, seen):
        """Keep what the weekly summary counts; a redelivered event is kept once."""
        self.database[EVENTS_SEEN].update_one({"_id": seen["_id"]},
                                              {"$setOnInsert": _without_id(seen)}, upsert=True)

    def events_between(self, network_id, since, until):
        return list(self.database[EVENTS_SEEN].find(
            {"network_id": network_id, "occurred_at": {"$gte": since, "$lt": until}}))

    # --- notifications -------------------------------------------------------------------------

    def store_plan(self, plan):
        """Store everything one event changes (``domain.EventPlan``): the event kept for the
        weekly summary, the ladder it cancels or starts, its notifications. Returns, for each
        notification, True when stored and False when one with its dedupe key exists (the
        event came again): that one counts the duplicate and nothing else changes."""
        if plan.seen is not None:
            self.remember_event(plan.seen)
        if plan.cancel_ladder is not None:
            self.cancel_ladder(**plan.cancel_ladder)
        if plan.start_ladder is not None:
            self.start_ladder(plan.start_ladder)
        return self.add_notifications(plan.notifications)

    def add_notifications(self, planned):
        """Insert (notification, events) pairs in one write, in order; see ``store_plan``."""
        if not planned:
            return []
        try:
            self.database[NOTIFICATIONS].insert_many(
                [new_document(notification, events) for notification, events in planned],
                ordered=False)
            refused = set()
        except BulkWriteError as exc:
            errors = exc.details["writeErrors"]
            if any(error["code"] != DUPLICATE_KEY for error in errors):
                raise
            refused = {error["index"] for error in errors}  # the dedupe key (or the id) exists
        for index in sorted(refused):
            self.database[NOTIFICATIONS].update_one(
                {"dedupe_key": planned[index][0]["dedupe_key"]}, {"$inc": {"duplicates": 1}})
        return [index not in refused for index in range(len(planned))]

    def notification(self, notification_id):
        return _utc(self.find(NOTIFICATIONS, notification_id))

    def notifications(self, selector, sort=(("created_at", 1),)):
        cursor = self.database[NOTIFICATIONS].find(selector, {"outbox": 0}).sort(list(sort))
        return [_utc(without_outbox(doc)) for doc in cursor]

    def notifications_of(self, notification_ids):
        return self.notifications({"_id": {"$in": list(notification_ids)}})

    def inbox_listing(self, staff_id, archived, query):
        """A page of the person's inbox (archived items, or the others): unread first, newest
        first within each."""
        return self._listing(_inbox(staff_id, archived), query, INBOX_ORDER)

    def unread_count(self, staff_id):
        return self.count({**_inbox(staff_id, archived=False), "unread": True})

    def delivery_listing(self, network_id, state, query):
        """A page of notifications for the audit, newest first: of one network and in one
        state when given (None: all)."""
        selector = {name: value for name, value in (("network_id", network_id),
                                                    ("state", state)) if value is not None}
        return self._listing(selector, query, NEWEST_FIRST)

    def _listing(self, selector, query, sort):
        listing = self.listing(NOTIFICATIONS, selector, query, sort)
        return {**listing, "items": [_utc(item) for item in listing["items"]]}

    def count(self, selector):
        return self.database[NOTIFICATIONS].count_documents(selector)

    def failed_count(self):
        return self.count({"state": "failed"})

    def claim_for_sending(self, now, lease_seconds, ids=None):
        """Claim one due, queued notification (of ``ids`` when given) for sending: it is
        leased to the caller until ``now + lease``; a crashed sender's lease runs out and
        another takes the notification over. None when nothing is due."""
        selector = {"state": "queued", "due_at": {"$lte": now},
                    "$or": [{"claimed_until": None}, {"claimed_until": {"$lt": now}}]}
        if ids is not None:
            selector["_id"] = {"$in": list(ids)}
        claimed = self.database[NOTIFICATIONS].find_one_and_update(
            selector, {"$set": {"claimed_until": now + timedelta(seconds=lease_seconds)}},
            projection={"outbox": 0}, sort=[("due_at", 1)],
            return_document=ReturnDocument.AFTER)
        return _utc(claimed)

    def finish(self, notification, fields, events=()):
        """Record the outcome of a claimed send, only while the claim still holds."""
        self.update(NOTIFICATIONS, notification["_id"], {"$set": fields}, events,
                    guard={"claimed_until": notification["claimed_until"]})

    def set_fields(self, notification_id, fields, guard=None, events=()):
        self.update(NOTIFICATIONS, notification_id, {"$set": fields}, events, guard=guard)

    def release_held(self, now):
        """Held notices whose send window has opened become queued; returns how many."""
        return self.database[NOTIFICATIONS].update_many(
            {"state": "held", "digest_id": None, "kind": "notice", "mode": "immediate",
             "due_at": {"$lte": now}},
            {"$set": {"state": "queued", "reason": None}}).modified_count

    # --- digests -------------------------------------------------------------------------------

    def waiting_for_digests(self, now):
        """Digest items due by ``now`` that no digest holds yet."""
        return self.notifications({"state": "held", "mode": "digest", "digest_id": None,
                                   "due_at": {"$lte": now}})

    def open_digest(self, digest):
        """Insert the digest of a slot; False when another replica did (or it exists)."""
        try:
            self.database[NOTIFICATIONS].insert_one(digest)
            return True
        except DuplicateKeyError:
            return False

    def claim_digest_items(self, recipient_id, channel, digest_id, now):
        """Give every waiting digest item of the person and channel that is due and in no
        digest yet to ``digest_id``. One ``update_many`` whose filter requires
        ``digest_id: None``: each item is taken by exactly one digest, whoever races."""
        self.database[NOTIFICATIONS].update_many(
            {"recipient_id": recipient_id, "channel": channel, "state": "held",
             "mode": "digest", "digest_id": None, "due_at": {"$lte": now}},
            {"$set": {"digest_id": digest_id}})
        return self.notifications({"digest_id": digest_id, "state": "held"})

    def seal_digest(self, digest_id, item_ids, fields):
        """Fix the digest's items and queue it (or suppress it); only the first to seal wins.
        Items claimed for it but not sealed in (a racing claim) are freed for the next one."""
        sealed = self.database[NOTIFICATIONS].update_one(
            {"_id": digest_id, "state": "assembling"},
            {"$set": {**fields, "items": list(item_ids)}}).modified_count == 1
        digest = self.database[NOTIFICATIONS].find_one({"_id": digest_id}, {"items": 1})
        kept = (digest or {}).get("items") or []
        self.database[NOTIFICATIONS].update_many(
            {"digest_id": digest_id, "state": "held", "_id": {"$nin": kept}},
            {"$set": {"digest_id": None}})
        return sealed

    def assembling_digests(self):
        return self.notifications({"state": "assembling"})

    def mark_items_sent(self, digest_id, now):
        self.database[NOTIFICATIONS].update_many(
            {"digest_id": digest_id, "state": "held"},
            {"$set": {"state": "sent", "reason": None, "sent_at": now}})

    # --- ladders -------------------------------------------------------------------------------

    def start_ladder(self, ladder):
        """Store a ladder once; a redelivered starting event finds it there."""
        self.database[LADDERS].update_one({"_id": ladder["_id"]},
                                          {"$setOnInsert": _without_id(ladder)}, upsert=True)

    def ladder(self, ladder_id):
        return _utc(self.database[LADDERS].find_one({"_id": ladder_id}))

    def cancel_ladder(self, ladder_id, cancelled_by, cancelled_at):
        """Stop a ladder and suppress what it still had pending. A ladder not yet started
        (its starting event overtaken) is stored cancelled, so that it never starts."""
        self.database[LADDERS].update_one(
            {"_id": ladder_id},
            {"$set": {"state": "cancelled", "cancelled_by": cancelled_by,
                      "cancelled_at": cancelled_at}},
            upsert=True)
        return self.suppress_pending(ladder_id)

    def suppress_pending(self, ladder_id):
        """What a stopped ladder has not sent yet is suppressed; returns how many."""
        return self.database[NOTIFICATIONS].update_many(
            {"ladder_id": ladder_id, "state": {"$in": list(PENDING)}},
            {"$set": {"state": "suppressed", "reason": REASON_RESOLVED}}).modified_count

    def due_ladders(self, now):
        return [_utc(doc) for doc in self.database[LADDERS].find(
            {"state": "active", "next_due_at": {"$lte": now}})]

    def claim_ladder_step(self, ladder, index, now):
        """Mark step ``index`` done; True for the one caller that did it."""
        remaining = [step["due_at"] for i, step in enumerate(ladder["steps"])
                     if i != index and step["done_at"] is None]
        update = {"$set": {f"steps.{index}.done_at": now,
                           "next_due_at": min(remaining) if remaining else None,
                           "state": "active" if remaining else "completed"}}
        return self.database[LADDERS].update_one(
            {"_id": ladder["_id"], "state": "active", f"steps.{index}.done_at": None},
            update).modified_count == 1


def _inbox(staff_id, archived):
    return {"recipient_id": staff_id, "channel": "inbox", "state": "sent",
            "archived_at": {"$ne": None} if archived else None}


def _without_id(document):
    """An upsert takes ``_id`` from its filter: left out of ``$setOnInsert``, the update never
    names the immutable field."""
    return {key: value for key, value in document.items() if key != "_id"}
