"""Keeps a service's copy of the API key hashes in step with the registry's events.

``shared.service_base.Service`` gives these handlers to every service except projects (which
owns the registry). The writes are upserts
keyed on the key id, so applying an event twice changes nothing.
"""
from shared.messaging import catalogued_handler


class ApiKeyReplica:
    """Needs ``auth`` (``shared.auth.ApiKeyAuth``) on the service. The catalogue's
    ``KEY_REPLICA_SUBSCRIPTIONS`` name these handlers for every service but the registry."""

    @catalogued_handler
    def apply_api_key_issued(self, envelope):
        self.auth.store.apply_issued(envelope["data"])

    @catalogued_handler
    def apply_api_key_revoked(self, envelope):
        self.auth.store.apply_revoked(envelope["data"])
