"""Fixtures shared by every test layer. eventlet must patch the standard library first."""
import warnings

# nameko 2.14 runs on eventlet, which announces its maintenance mode on import; that is known.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import os  # noqa: E402
import uuid  # noqa: E402

import pytest  # noqa: E402

from shared import storage  # noqa: E402

ADMIN_KEY = "test-admin-key-0123456789abcdef"
OPS_KEY = "test-ops-key-0123456789abcdef"


def pytest_configure(config):
    config.addinivalue_line("markers", "deploy: validates docker-compose, k8s and Prometheus files")


@pytest.fixture
def storage_config():
    """The ONE storage fixture: a real MongoDB when MONGO_URI points at one, else mongomock,
    through the same code path. Each test gets databases of its own, dropped afterwards."""
    uri = os.environ.get("MONGO_URI") or f"mongomock://test-{uuid.uuid4().hex}"
    prefix = f"t{uuid.uuid4().hex[:10]}"
    yield {"MONGO_URI": uri, "MONGO_DATABASE_PREFIX": prefix}
    client = storage.client_for(uri)
    for name in client.list_database_names():
        if name.startswith(prefix + "_"):
            client.drop_database(name)
    if uri.startswith(storage.MOCK_SCHEME):
        storage.forget_client(uri)


@pytest.fixture
def service_config(rabbit_config, web_config, storage_config):
    """A service config on a fresh RabbitMQ vhost, a free HTTP port and fresh storage."""
    return {
        **rabbit_config, **web_config, **storage_config,
        "PCN_ADMIN_KEY": ADMIN_KEY,
        "PCN_OPS_KEY": OPS_KEY,
        "serializer": "json",
        "DECLARE_EVENT_EXCHANGES": False,
        "EVENT_RETRY_DELAYS_MS": [100, 200, 300],
        "OUTBOX_POLL_SECONDS": 0.2,
        "OUTBOX_LEASE_SECONDS": 2,
    }
