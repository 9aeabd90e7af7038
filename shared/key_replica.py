"""Keeps a service's copy of the API key hashes in step with the registry's events.

``shared.service_base.Service`` gives these handlers to every service except projects (which
owns the registry). The writes are upserts
keyed on the key id, so applying an event twice changes nothing.
"""
from shared.messaging import event_handler


class ApiKeyReplica:
    """Needs ``auth`` (``shared.auth.ApiKeyAuth``) on the service."""

    @event_handler("projects", "apikey.issued")
    def apply_api_key_issued(self, envelope):
        self.auth.store.apply_issued(envelope["data"])

    @event_handler("projects", "apikey.revoked")
    def apply_api_key_revoked(self, envelope):
        self.auth.store.apply_revoked(envelope["data"])
