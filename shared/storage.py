"""MongoDB access for services: one database per service, one client per process and URI.

``mongodb://`` URIs use pymongo; ``mongomock://`` URIs use mongomock's in-memory server, for
machines without MongoDB (tests, ``make dev``). Both go through the same code below: only the
client differs.
"""
import logging
import threading
from datetime import timezone

import pymongo
from nameko.extensions import DependencyProvider

log = logging.getLogger(__name__)

MOCK_SCHEME = "mongomock://"
_clients = {}
_clients_lock = threading.Lock()


def client_for(uri):
    """The process's client for ``uri`` (made once). mongomock clients of one URI share data."""
    with _clients_lock:
        client = _clients.get(uri)
        if client is None:
            if uri.startswith(MOCK_SCHEME):
                import mongomock  # only needed where no real MongoDB is used

                log.warning(
                    "MONGO_URI is %s: data is held IN MEMORY and lost when the process stops; "
                    "point MONGO_URI at a real MongoDB for anything but tests and demos", uri)
                client = mongomock.MongoClient(tz_aware=True)
            else:
                client = pymongo.MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=5000)
            _clients[uri] = client
        return client


def forget_client(uri):
    """Drop the cached client (tests use it to start from an empty in-memory server)."""
    with _clients_lock:
        client = _clients.pop(uri, None)
    if client is not None and not uri.startswith(MOCK_SCHEME):
        client.close()


def database_name(config, service_name):
    """``pcn_<service>``: one database per service (tests change the prefix to isolate)."""
    return f"{config.get('MONGO_DATABASE_PREFIX', 'pcn')}_{service_name}"


def open_database(config, service_name):
    return client_for(config["MONGO_URI"])[database_name(config, service_name)]


def as_utc(moment):
    """Stored datetimes come back naive from some clients: they are UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


def is_reachable(database):
    try:
        database.command("ping")
        return True
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log
        log.warning("storage is not reachable: %r", exc)
        return False


class MongoDatabase(DependencyProvider):
    """Injects ``repository_class(database)``: the few methods a service needs, not the client.

    ``repository_class.ensure_indexes(database)`` runs once at start.
    """

    def __init__(self, repository_class):
        self.repository_class = repository_class
        self.database = None

    def setup(self):
        self.database = open_database(self.container.config, self.container.service_name)
        self.repository_class.ensure_indexes(self.database)

    def get_dependency(self, worker_ctx):
        return self.repository_class(self.database)


DuplicateKeyError = pymongo.errors.DuplicateKeyError
BulkWriteError = pymongo.errors.BulkWriteError
ReturnDocument = pymongo.ReturnDocument
