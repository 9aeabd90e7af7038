"""API keys: issued by the projects service, verified by every service from its own copy.

A key reads ``pcn_<key id>_<secret>``. Only its SHA-256 hash is stored or sent in events (the
secret is 256 random bits, so a fast hash is as safe as a slow one here and keeps every request
cheap). Each service keeps the hashes in its own ``api_keys`` collection, filled from
``apikey.issued``/``apikey.revoked`` events, so no service reads another's database and a
revocation reaches every service as fast as the event does.
"""
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from nameko.extensions import DependencyProvider

from shared import access, person_token
from shared.errors import Unauthorized
from shared.storage import open_database

API_KEYS = "api_keys"
ADMIN_KEY_ID = "admin"
OPS_KEY_ID = "ops"
MIN_CONFIGURED_KEY_LENGTH = 16


def hash_key(key):
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def generate_key():
    """(key id, the key to hand to its holder once, its hash)."""
    key_id = secrets.token_hex(8)
    key = f"pcn_{key_id}_{secrets.token_urlsafe(32)}"
    return key_id, key, hash_key(key)


def key_id_of(key):
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "pcn" or not parts[1]:
        return None
    return parts[1]


@dataclass(frozen=True)
class Principal:
    """Who is calling: the role and the network/practice the key is bound to."""

    key_id: str
    role: str
    network_id: str | None = None
    practice_id: str | None = None
    staff_id: str | None = None  # a person key's holder
    practice_lead: bool = False  # a practice's lead signed in to the web (person token)

    @property
    def actor(self):
        """Who did something, for an audit trail: the staff id of a person signed in to the
        web (or of a person key), else the key's id."""
        return self.staff_id or self.key_id


class ApiKeyStore:
    """The hashes of issued keys; written by the registry or by the key events."""

    def __init__(self, database):
        self.collection = database[API_KEYS]

    @staticmethod
    def ensure_indexes(database):
        database[API_KEYS].create_index([("network_id", 1), ("issued_at", -1)])

    def apply_issued(self, data):
        self.collection.update_one(
            {"_id": data["key_id"]},
            {"$setOnInsert": {"key_hash": data["key_hash"], "role": data["role"],
                              "network_id": data.get("network_id"),
                              "practice_id": data.get("practice_id"),
                              "staff_id": data.get("staff_id"),
                              "issued_at": data["issued_at"], "revoked_at": None}},
            upsert=True)

    def apply_revoked(self, data):
        # Upsert too: a revocation that overtakes its issue event must still win.
        self.collection.update_one({"_id": data["key_id"]},
                                   {"$set": {"revoked_at": data["revoked_at"]}}, upsert=True)

    def find(self, key_id):
        return self.collection.find_one({"_id": key_id})


class Authentication:
    """Per-request view: turns the request's key into a ``Principal`` or refuses it (401)."""

    def __init__(self, store, admin_key_hash, ops_key_hash=None):
        self.store = store
        self.admin_key_hash = admin_key_hash
        self.ops_key_hash = ops_key_hash

    @staticmethod
    def presented_key(request):
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            return header[7:].strip()
        return request.headers.get("X-API-Key", "").strip()

    def principal(self, request):
        key = self.presented_key(request)
        if not key:
            raise Unauthorized("send an API key as 'Authorization: Bearer <key>'")
        # --- person tokens (shared/person_token.py): the web service acting for a person ---
        if person_token.looks_like(key):
            try:
                return person_token.principal_of(person_token.verified(self, key))
            except person_token.InvalidPersonToken as refused:
                raise Unauthorized(f"the person token is refused: {refused}") from None
        # --- end of person tokens ---
        presented_hash = hash_key(key)
        if hmac.compare_digest(presented_hash, self.admin_key_hash):
            return Principal(ADMIN_KEY_ID, "admin")
        if self.ops_key_hash and hmac.compare_digest(presented_hash, self.ops_key_hash):
            return Principal(OPS_KEY_ID, "ops")
        key_id = key_id_of(key)
        record = self.store.find(key_id) if key_id else None
        if (record is None or record.get("revoked_at") is not None
                or not record.get("key_hash")
                or not hmac.compare_digest(record["key_hash"], hash_key(key))):
            raise Unauthorized("the API key is unknown or revoked")
        return Principal(key_id, record["role"], record.get("network_id"),
                         record.get("practice_id"), record.get("staff_id"))

    def require(self, request, *roles):
        """The caller's principal, which must have one of ``roles`` (admin always may)."""
        principal = self.principal(request)
        if roles:
            access.check_role(principal, roles)
        return principal


def configured_key_hash(config, name, required):
    key = str(config.get(name) or "")
    if not key and not required:
        return None
    if len(key) < MIN_CONFIGURED_KEY_LENGTH:
        raise ValueError(f"{name} must be set to a secret of at least "
                         f"{MIN_CONFIGURED_KEY_LENGTH} characters")
    return hash_key(key)


class ApiKeyAuth(DependencyProvider):
    """Injects ``Authentication``. Config: ``PCN_ADMIN_KEY`` (required) and ``PCN_OPS_KEY``
    (optional: a static ops key for Prometheus, which cannot be issued a key before it scrapes).
    """

    def setup(self):
        config = self.container.config
        self.admin_key_hash = configured_key_hash(config, "PCN_ADMIN_KEY", required=True)
        self.ops_key_hash = configured_key_hash(config, "PCN_OPS_KEY", required=False)
        database = open_database(config, self.container.service_name)
        ApiKeyStore.ensure_indexes(database)
        self.store = ApiKeyStore(database)
        secret = person_token.secret_from(config)  # person tokens (see principal)
        self.person_tokens = person_token.PersonTokens(secret) if secret else None

    def get_dependency(self, worker_ctx):
        authentication = Authentication(self.store, self.admin_key_hash, self.ops_key_hash)
        authentication.person_tokens = self.person_tokens  # person tokens (see principal)
        return authentication
