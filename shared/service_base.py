"""The base of every service: what each one wires the same way, made from a few class
attributes, so a service class states only what differs.

    class ProjectsService(Service):
        name = "projects"
        repository = ProjectsRepository              # storage: MongoDatabase(repository)
        event_collections = (API_KEYS, PROJECTS)    # relay: OutboxRelayRunner(*collections)
        owns_api_keys = True                         # the registry; others keep a replica
        openapi_title = "PCN Improvement Network — projects"
        openapi_description = "Registry, QI projects, PDSA cycles and huddle boards."

        @route("GET", "/projects/<project_id>", "Read a project", answers={200: ProjectOut},
               roles=("network_lead", "practice"))
        def get_project(self, request, project_id, principal):
            ...

It gives: ``topology`` (exchanges and queues declared before anything runs), ``auth``,
``readiness``, ``entrypoint_metrics``, ``storage``, ``relay`` (when ``event_collections`` is
not empty), the ops endpoints (``/health``, ``/ready``, ``/metrics``, ``/openapi.json``), the
OpenAPI document built from the class's routes, the event handlers of its
``@catalogued_handler`` methods (their event types come from the catalogue), and, unless
``owns_api_keys``, the handlers that keep the service's copy of the API keys in step with the
registry.
"""
from shared.auth import ApiKeyAuth
from shared.events.catalogue import (
    CATALOGUE, KEY_REPLICA_HANDLERS, key_replica_subscriptions, with_subscriptions,
)
from shared.key_replica import ApiKeyReplica
from shared.messaging import BrokerTopology, handle_catalogued_events
from shared.metrics import EntrypointMetrics
from shared.openapi import document_of
from shared.ops import OpsEndpoints, Readiness
from shared.outbox import OutboxRelayRunner
from shared.repository import AggregateRepository
from shared.storage import MongoDatabase


class Service(OpsEndpoints):
    """Subclass it, set the class attributes below, and add routes and handlers."""

    name = None
    repository = AggregateRepository
    event_collections = ()
    owns_api_keys = False
    openapi_title = None
    openapi_version = "1.0.0"
    openapi_description = ""

    # The catalogue the service declares and consumes from; the key owner's adds every
    # registered service's key replica (see services/registry.py).
    catalogue = CATALOGUE
    auth = ApiKeyAuth()
    readiness = Readiness()
    entrypoint_metrics = EntrypointMetrics()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.name:
            raise TypeError(f"{cls.__name__} needs a name")
        if cls.openapi_title is None:
            cls.openapi_title = f"PCN Improvement Network — {cls.name}"
        cls.storage = MongoDatabase(cls.repository)
        if cls.event_collections:
            cls.relay = OutboxRelayRunner(*cls.event_collections)
        catalogue = cls.catalogue
        if not cls.owns_api_keys:
            for handler, _ in KEY_REPLICA_HANDLERS:
                setattr(cls, handler, getattr(ApiKeyReplica, handler))
            # Also for a service not (yet) in the registry, such as a test's.
            catalogue = with_subscriptions(catalogue, key_replica_subscriptions([cls.name]))
        handle_catalogued_events(cls, catalogue)
        cls.topology = BrokerTopology(catalogue)
        cls.openapi_document = document_of(cls)
