"""docs/asyncapi.yaml: generated from the event catalogue, well-formed AsyncAPI 3.0, and its
payload schemas accept the envelopes the services publish and refuse broken ones."""
import re
from datetime import date

import jsonschema_rs
import pytest
import yaml

from tools import event_docs as docs
from services.registry import DEPLOYED_CATALOGUE
from shared.events.catalogue import CATALOGUE, consumer_queues, make_event
from shared.events.envelope import Trace
from shared.messaging import dead_letter_queue_name

# AsyncAPI 3.0: keys of the components maps.
COMPONENT_KEY = re.compile(r"^[a-zA-Z0-9.\-_]+$")


@pytest.fixture(scope="module")
def document():
    return yaml.safe_load(docs.ASYNCAPI_DOCUMENT.read_text(encoding="utf-8"))


def resolve(document, ref):
    assert ref.startswith("#/"), ref
    node = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def references(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def test_the_document_is_what_the_catalogue_generates():
    assert docs.ASYNCAPI_DOCUMENT.read_text(encoding="utf-8") == docs.render_asyncapi_yaml(), (
        "docs/asyncapi.yaml is stale: run make docs")
    assert docs.main(["--check"]) == 0


def test_the_document_is_well_formed(document):
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] and document["info"]["version"]
    assert document["servers"]["rabbitmq"]["protocol"] == "amqp"
    for ref in references(document):
        resolve(document, ref)
    for section in ("messages", "schemas"):
        for key in document["components"][section]:
            assert COMPONENT_KEY.match(key), f"components.{section}.{key}"
    for key, schema in document["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), f"components.schemas.{key}"
    for operation_id, operation in document["operations"].items():
        assert operation["action"] in ("send", "receive"), operation_id
        channel = resolve(document, operation["channel"]["$ref"])
        for message in operation["messages"]:
            # An operation's messages must be messages of its channel.
            assert message["$ref"].startswith(operation["channel"]["$ref"] + "/messages/"), (
                operation_id)
        assert channel["address"], operation_id


def test_every_event_producer_and_consumer_is_in_the_document(document):
    channels, operations = document["channels"], document["operations"]
    for event in CATALOGUE:
        channel = channels[event.name]
        assert channel["bindings"]["amqp"]["exchange"]["name"] == event.exchange
        assert channel["bindings"]["amqp"]["exchange"]["type"] == "topic"
        send = operations[f"{event.producer}.publish.{event.name}"]
        assert send["action"] == "send" and send["channel"]["$ref"] == f"#/channels/{event.name}"
    expected_receivers = {f"{consumer}.receive.{event.name}"
                          for event, consumer, _ in consumer_queues(DEPLOYED_CATALOGUE)}
    receivers = {key for key, operation in operations.items() if operation["action"] == "receive"}
    assert receivers == expected_receivers
    for event, consumer, queue in consumer_queues(DEPLOYED_CATALOGUE):
        receive = operations[f"{consumer}.receive.{event.name}"]
        channel = resolve(document, receive["channel"]["$ref"])
        assert channel["address"] == queue
        assert channel["bindings"]["amqp"]["queue"]["name"] == queue
        assert dead_letter_queue_name(queue) in channels
        assert list(channel["messages"]) == [f"{event.name}.v{event.version}"]


@pytest.mark.parametrize("name, data", [
    ("project.created", {"project_id": "prj_1", "title": "Standardise SMRs", "scope": "network",
                         "stage": "idea", "practice_ids": ["F84001", "F84002"],
                         "aim": {"what": "SMRs to the template", "how_much": "90%",
                                 "by_when": date(2027, 9, 30)}}),
    ("measurement.submission_overdue", {"measure_id": "msr_1", "project_id": "prj_1",
                                        "practice_id": "F84001", "period": date(2026, 11, 2),
                                        "due_by": date(2026, 11, 16)}),
])
def test_payload_schemas_accept_published_envelopes_and_refuse_broken_ones(document, name, data):
    event = next(e for e in CATALOGUE if e.name == name)
    envelope = make_event(name, data, source=event.producer, network_id="north-pcn",
                          trace=Trace(), practice_id=data.get("practice_id"))
    message = document["components"]["messages"][f"{name}.v{event.version}"]
    validator = jsonschema_rs.Draft202012Validator(
        {**document, "$ref": message["payload"]["$ref"]}, validate_formats=True)
    assert validator.is_valid(envelope), [e.message for e in validator.iter_errors(envelope)]
    first_field = next(iter(data))
    for broken in ({**envelope, "occurred_at": "yesterday"},
                   {**envelope, "source": "training"},
                   {**envelope, "event_type": "project.exploded"},
                   {**envelope, "data": {k: v for k, v in envelope["data"].items()
                                         if k != first_field}},
                   {k: v for k, v in envelope.items() if k != "correlation_id"}):
        assert not validator.is_valid(broken), broken
