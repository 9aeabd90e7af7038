"""Base for service repositories: aggregate writes that carry their events (the outbox), and
the one place where a caller's scope (``shared.access.Scope``) becomes a query."""
from shared.domain import VERSION, ConflictError, NotFoundError
from shared.idempotency import RememberedAnswers
from shared.outbox import new_document, with_events, without_outbox
from shared.storage import DuplicateKeyError


def scope_selector(scope, practice_field=None, network_field="network_id"):
    """The selector of what ``scope`` may list in a collection whose documents name their
    network in ``network_field`` and, when the listing is per practice, their practice in
    ``practice_field`` (a field or a list field)."""
    if scope.everything:
        return {}
    if scope.practice_id is not None and practice_field:
        return {practice_field: scope.practice_id}
    return {network_field: scope.network_id}


def all_of(*selectors, **field_values):
    """One selector matching every one of ``selectors`` and every given field value (a value
    of None is no condition: a filter the caller did not ask for)."""
    conditions = [s for s in selectors if s]
    conditions += [{name: value} for name, value in field_values.items() if value is not None]
    if len(conditions) <= 1:
        return conditions[0] if conditions else {}
    return {"$and": conditions}


class AggregateRepository:
    """Reads and writes of aggregate documents; every write may carry event envelopes."""

    def __init__(self, database):
        self.database = database

    @property
    def remembered_answers(self):
        """The answers to retried requests (``shared.idempotency``) in this service's
        database; a service that uses them declares their index in ``ensure_indexes``."""
        return RememberedAnswers(self.database)

    def insert(self, collection, document, events=(), conflict_message=None):
        try:
            self.database[collection].insert_one(new_document(document, events))
        except DuplicateKeyError:
            raise ConflictError(conflict_message or "it exists already",
                                {"id": [f"{document['_id']} exists already"]}) from None
        return document

    def update(self, collection, document_id, update, events=(), guard=None):
        """Apply ``update`` and append ``events`` in one write, only while ``guard`` (a filter
        on the state the change was decided on) still holds; ``ConflictError`` when it no
        longer does."""
        selector = {"_id": document_id, **(guard or {})}
        result = self.database[collection].update_one(selector, with_events(update, events))
        if result.matched_count == 0:
            raise ConflictError("it was changed by someone else meanwhile; read it again and "
                                "retry", {"id": [f"{document_id} changed concurrently"]})

    def apply(self, collection, change):
        """Store a :class:`shared.domain.Change` and its events in one write, only while the
        document is still the version the change was decided on; the version goes up by one.
        Returns the document as stored."""
        update = {"$inc": {VERSION: 1}}
        if change.set:
            update["$set"] = dict(change.set)
        if change.append:
            update["$push"] = {name: {"$each": list(items)}
                               for name, items in change.append.items()}
        # A document stored before versions existed has none: {"version": None} matches it.
        selector = {"_id": change.document_id, VERSION: change.version}
        result = self.database[collection].update_one(selector,
                                                      with_events(update, change.events))
        if result.matched_count == 0:
            raise ConflictError("it was changed by someone else meanwhile; read it again and "
                                "retry", {"id": [f"{change.document_id} changed concurrently"]})
        return change.applied()

    def find(self, collection, document_id):
        return without_outbox(self.database[collection].find_one({"_id": document_id},
                                                                 {"outbox": 0}))

    def get_or_404(self, collection, document_id, what):
        """The document ``document_id`` of ``collection``; ``NotFoundError`` (404) naming
        ``what`` when there is none."""
        document = self.find(collection, document_id)
        if document is None:
            raise NotFoundError(f"no such {what}", {"id": [f"{document_id} not found"]})
        return document

    def find_many(self, collection, selector):
        return [without_outbox(d) for d in self.database[collection].find(selector, {"outbox": 0})]

    def page(self, collection, selector, page, page_size, sort=(("_id", 1),)):
        """(documents of page ``page``, total count) for ``selector``."""
        cursor = (self.database[collection].find(selector, {"outbox": 0}).sort(list(sort))
                  .skip((page - 1) * page_size).limit(page_size))
        items = [without_outbox(d) for d in cursor]
        return items, self.database[collection].count_documents(selector)

    @staticmethod
    def scoped(scope, practice_field=None, network_field="network_id", **filters):
        """The selector of what ``scope`` may list (see :func:`scope_selector`), narrowed by
        ``filters`` (field=value; None: not asked for)."""
        return all_of(scope_selector(scope, practice_field, network_field), **filters)

    def listing(self, collection, selector, query, sort=(("_id", 1),)):
        """The page ``query["page"]`` (of ``query["page_size"]``) of ``selector``, as list
        endpoints answer it: ``{"items", "page", "page_size", "total"}``."""
        items, total = self.page(collection, selector, query["page"], query["page_size"], sort)
        return {"items": items, "page": query["page"], "page_size": query["page_size"],
                "total": total}
