"""A retried POST answered once: the ``Idempotency-Key`` header.

A client that sends a request again after a timeout (it cannot tell whether the first one was
stored) sends it with the same ``Idempotency-Key``. The first request's answer is remembered
per caller and key; a retry with the same key and the same body gets that answer again, marked
``Idempotent-Replayed: true``, and nothing is done twice (no second document, no second event).
The same key with another body is refused (409 naming ``Idempotency-Key``): a client reused a
key for a new request. Without the header, every request is answered afresh.

Three parts, so that a service opts in with a few lines:

* ``RememberedAnswers``: the storage, one collection of the service's own database
  (``{_id: "<caller key id>:<key>", fingerprint, status, body, created_at, expires_at}``),
  answers kept ``REMEMBER_SECONDS`` by the clock passed in (no TTL index: its expiry would
  follow the storage's clock instead of the service's).
* ``answer_once``: the decision, plain Python over that storage.
* ``AnswersRetriesOnce``: mixed into a service class, ``answered_once(request, principal,
  answer)`` for its routes and the hourly purge timer ``forget_expired_responses``. The
  service's repository gives ``remembered_answers`` and declares the index in its
  ``ensure_indexes`` with ``RememberedAnswers.ensure_indexes(database)``.
"""
import hashlib
from datetime import timedelta

from shared.domain import ConflictError
from shared.events.envelope import utc_now
from shared.lease import leased_timer
from shared.storage import DuplicateKeyError
from shared.web import json_response

IDEMPOTENCY_KEY = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
REMEMBERED_ANSWERS = "idempotent_requests"
REMEMBER_SECONDS = 7 * 24 * 3600
FORGET_EVERY_SECONDS = 3600
# What a route that answers retries once adds to its summary (the OpenAPI documents say it).
ONCE = (" (Idempotency-Key makes retries safe: the same key and body again get the first "
        "answer, marked Idempotent-Replayed: true, and nothing is done twice; the same key "
        "with another body: 409 naming Idempotency-Key)")


class RememberedAnswers:
    """The answers remembered in one collection of ``database``, each for ``seconds``."""

    def __init__(self, database, collection=REMEMBERED_ANSWERS, seconds=REMEMBER_SECONDS):
        self.collection = database[collection]
        self.seconds = seconds

    @staticmethod
    def ensure_indexes(database, collection=REMEMBERED_ANSWERS):
        # The purge finds expired answers by it; a plain index, not a TTL one (see the module).
        database[collection].create_index([("expires_at", 1)])

    def remembered(self, key, now):
        """The answer remembered for ``key`` that has not expired at ``now``, or None."""
        return self.collection.find_one({"_id": key, "expires_at": {"$gt": now}})

    def remember(self, key, fingerprint, status, body, now):
        """Remember an answer for ``seconds`` from ``now``, taking the place of an expired one
        for the same key."""
        document = {"fingerprint": fingerprint, "status": status, "body": body,
                    "created_at": now, "expires_at": now + timedelta(seconds=self.seconds)}
        try:
            self.collection.replace_one({"_id": key, "expires_at": {"$lte": now}}, document,
                                        upsert=True)
        except DuplicateKeyError:
            pass  # the same retried request finished first

    def purge(self, now):
        """Drop the answers expired at ``now``; returns how many."""
        return self.collection.delete_many({"expires_at": {"$lte": now}}).deleted_count


def answer_once(answers, principal, idempotency_key, request_body, now, answer):
    """(status, body, replayed): ``answer()`` (which returns (status, body)) run once per
    ``idempotency_key`` of ``principal`` (its key id: two callers' keys never meet) within
    ``answers`` (a ``RememberedAnswers``). A retry with the same key and the same
    ``request_body`` (bytes) gets the stored answer again; another body with that key is a
    ``ConflictError`` naming ``Idempotency-Key``. No key: ``answer()`` each time. A refusal
    raised by ``answer()`` is not remembered, so the corrected request may use the key."""
    if not idempotency_key:
        return (*answer(), False)
    key = f"{principal.key_id}:{idempotency_key}"
    fingerprint = hashlib.sha256(request_body).hexdigest()
    remembered = answers.remembered(key, now)
    if remembered is not None:
        if remembered["fingerprint"] != fingerprint:
            raise ConflictError(f"this {IDEMPOTENCY_KEY} was used for a different request",
                                {IDEMPOTENCY_KEY: ["use a new key for a new request"]})
        return remembered["status"], remembered["body"], True
    status, body = answer()
    answers.remember(key, fingerprint, status, body, now)
    return status, body, False


def located(prefix):
    """``headers_of`` for ``answered_once``: the ``Location`` ``prefix/<the answer's id>``."""
    return lambda body: {"Location": f"{prefix}/{body['id']}"}


class AnswersRetriesOnce:
    """Mixed into a ``shared.service_base.Service`` whose repository has
    ``remembered_answers``: routes answer through ``answered_once``, and one replica forgets
    expired answers every hour."""

    def answered_once(self, request, principal, answer, headers_of=None):
        """The JSON response of ``answer()`` (a JSON-ready ``(status, body)``), replayed for a
        retried request with the same ``Idempotency-Key``. ``headers_of(body)``: headers of
        the answer (a ``Location``), the same on a replay."""
        status, body, replayed = answer_once(
            self.storage.remembered_answers, principal, request.headers.get(IDEMPOTENCY_KEY),
            request.get_data(), utc_now(), answer)
        headers = {**(headers_of(body) if headers_of else {}),
                   **({REPLAYED: "true"} if replayed else {})}
        return json_response(status, body, headers=headers or None)

    @leased_timer(interval=FORGET_EVERY_SECONDS)
    def forget_expired_responses(self):
        """Forget the answers to retried requests once their time is over; returns how many."""
        return self.storage.remembered_answers.purge(utc_now())
