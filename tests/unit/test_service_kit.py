"""The service kit: a service class made from a few attributes, routes that carry their
contract and feed the OpenAPI document, and the shared listing/get_or_404."""
import pytest
from marshmallow import Schema, fields
from nameko.web.handlers import HttpRequestHandler

from services.projects.service import ProjectsService
from shared.domain import NotFoundError
from shared.messaging import ReliableEventHandler
from shared.openapi import openapi_path_of, page_of
from shared.outbox import OutboxRelayRunner
from shared.repository import AggregateRepository
from shared.routes import route, routes_of
from shared.events.catalogue import KEY_REPLICA_HANDLERS
from shared.service_base import Service
from shared.storage import MongoDatabase, open_database
from shared.web import PageQuery


class ThingOut(Schema):
    id = fields.String(attribute="_id")


class ThingsService(Service):
    name = "things"
    event_collections = ("things",)
    openapi_description = "Things."

    @route("GET", "/things", "List things", query=PageQuery, answers={200: page_of(ThingOut)},
           roles=("network_lead",))
    def list_things(self, request, principal, query):
        return self.storage.listing("things", {}, query)


def http_entrypoints(service_class):
    return {name for name, member in vars(service_class).items()
            if any(isinstance(e, HttpRequestHandler)
                   for e in getattr(member, "nameko_entrypoints", ()))}


@pytest.mark.parametrize("service_class", [ProjectsService, ThingsService])
def test_every_http_entrypoint_is_a_route_and_every_documented_route_is_in_the_document(
        service_class):
    assert all(hasattr(getattr(service_class, name), "route")
               for name in http_entrypoints(service_class))
    documented = {(r.method.lower(), openapi_path_of(r.path))
                  for r in routes_of(service_class) if r.documented}
    in_document = {(method, path) for path, operations in
                   service_class.openapi_document["paths"].items() for method in operations}
    assert documented == in_document
    assert not {"/health", "/ready", "/metrics", "/openapi.json"} & set(
        service_class.openapi_document["paths"])


def test_a_service_is_made_from_its_class_attributes():
    assert isinstance(ThingsService.storage, MongoDatabase)
    assert ThingsService.storage.repository_class is AggregateRepository
    assert isinstance(ThingsService.relay, OutboxRelayRunner)
    assert ThingsService.relay.collections == ("things",)
    assert ThingsService.openapi_document["info"]["title"] == "PCN Improvement Network — things"
    for handler, _ in KEY_REPLICA_HANDLERS:  # every service but the registry keeps a key replica
        assert any(isinstance(e, ReliableEventHandler)
                   for e in getattr(ThingsService, handler).nameko_entrypoints)
        assert not hasattr(ProjectsService, handler)
    with pytest.raises(TypeError):
        type("Nameless", (Service,), {})


def test_listing_pages_and_get_or_404(storage_config):
    repository = AggregateRepository(open_database(storage_config, "unit"))
    for number in range(5):
        repository.insert("things", {"_id": f"t{number}"})
    page = repository.listing("things", {}, {"page": 2, "page_size": 2})
    assert page == {"items": [{"_id": "t2"}, {"_id": "t3"}], "page": 2, "page_size": 2,
                    "total": 5}
    assert repository.get_or_404("things", "t1", "thing") == {"_id": "t1"}
    with pytest.raises(NotFoundError) as missing:
        repository.get_or_404("things", "t9", "thing")
    assert missing.value.message == "no such thing" and "id" in missing.value.fields
