"""Generate ``docs/events.md`` and ``docs/asyncapi.yaml`` from the catalogue:
``python -m tools.event_docs [--check]``."""
import argparse
import pathlib
import sys

import yaml
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import fields

from services.registry import DEPLOYED_CATALOGUE as CATALOGUE
from shared.events.envelope import EnvelopeSchema
from shared.messaging import DEAD_LETTER_EXCHANGE, dead_letter_queue_name

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"
DOCUMENT = DOCS / "events.md"
ASYNCAPI_DOCUMENT = DOCS / "asyncapi.yaml"
AMQP_BINDING_VERSION = "0.3.0"


def describe_field(field):
    kind = type(field).__name__
    if isinstance(field, fields.Nested):
        inner = ", ".join(f"{name}: {describe_field(f)}" for name, f in field.schema.fields.items())
        kind = "{" + inner + "}"
    elif isinstance(field, fields.List):
        kind = f"List[{describe_field(field.inner)}]"
    choices = getattr(field.validate, "choices", None) if field.validate else None
    if choices:
        kind += " (" + " | ".join(choices) + ")"
    if field.required:
        kind += ", required"
    if field.allow_none:
        kind += ", nullable"
    return kind


def field_table(schema):
    rows = ["| field | type |", "|---|---|"]
    rows += [f"| `{name}` | {describe_field(field)} |" for name, field in schema.fields.items()]
    return rows


def render():
    lines = [
        "# Event catalogue",
        "",
        "Generated from `shared/events/catalogue.py` by `python -m tools.event_docs`; "
        "do not edit by hand (a test fails when the two differ).",
        "",
        "Every event is published to the topic exchange `<producer>.events` with the event type "
        "as routing key, as JSON in this envelope:",
        "",
        *field_table(EnvelopeSchema()),
        "",
        "| event type | version | producer | consumers | meaning |",
        "|---|---|---|---|---|",
    ]
    for event in CATALOGUE:
        consumers = ", ".join(f"`{c}`" for c in event.consumers) or "none yet"
        lines.append(f"| `{event.name}` | {event.version} | {event.producer} | {consumers} | "
                     f"{event.description} |")
    for event in CATALOGUE:
        lines += ["", f"## `{event.name}` v{event.version}", "", event.description, "",
                  *field_table(event.schema())]
    return "\n".join(lines) + "\n"


def json_schemas():
    """JSON Schemas (draft 2020-12, as OpenAPI 3.1 writes them) of the envelope and of every
    event's data, keyed by component name, with ``#/components/schemas/...`` references."""
    spec = APISpec(title="events", version="1", openapi_version="3.1.0",
                   plugins=[MarshmallowPlugin()])
    spec.components.schema("Envelope", schema=EnvelopeSchema)
    for event in CATALOGUE:
        if event.schema.__name__ not in spec.components.schemas:
            spec.components.schema(event.schema.__name__, schema=event.schema)
    return spec.to_dict()["components"]["schemas"]


def message_id(event):
    return f"{event.name}.v{event.version}"


def render_asyncapi():
    """The catalogue as an AsyncAPI 3.0 document (a dict): one channel per event type (the
    routing key on its producer's topic exchange) and one per consumer queue and its
    dead-letter queue; a send operation per producer, a receive operation per handler and
    event type."""
    schemas = json_schemas()
    messages, channels, operations = {}, {}, {}
    for event in CATALOGUE:
        key = message_id(event)
        schemas[key] = {"allOf": [
            {"$ref": "#/components/schemas/Envelope"},
            {"type": "object", "properties": {
                "event_type": {"const": event.name},
                "schema_version": {"const": event.version},
                "source": {"const": event.producer},
                "data": {"$ref": f"#/components/schemas/{event.schema.__name__}"}}}]}
        messages[key] = {
            "name": event.name, "title": f"{event.name} v{event.version}",
            "summary": event.description, "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{key}"},
            "bindings": {"amqp": {"messageType": event.name,
                                  "bindingVersion": AMQP_BINDING_VERSION}}}
        channels[event.name] = {
            "address": event.name,
            "title": f"{event.name} on {event.exchange}",
            "description": f"Published by {event.producer} to the topic exchange "
                           f"`{event.exchange}` with routing key `{event.name}`.",
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
            "bindings": {"amqp": {
                "is": "routingKey",
                "exchange": {"name": event.exchange, "type": "topic", "durable": True,
                             "autoDelete": False, "vhost": "/"},
                "bindingVersion": AMQP_BINDING_VERSION}}}
        operations[f"{event.producer}.publish.{event.name}"] = {
            "action": "send", "title": f"{event.producer} publishes {event.name}",
            "summary": "From the outbox, with publisher confirms, after the change is stored.",
            "channel": {"$ref": f"#/channels/{event.name}"},
            "messages": [{"$ref": f"#/channels/{event.name}/messages/{key}"}]}
        for consumer in event.consumers:
            queue = event.queue_for(consumer)
            for name, description in (
                    (queue, f"`{consumer}` consumes {event.name} here (bound to "
                            f"`{event.exchange}` with `{event.name}`); a handler that fails "
                            f"after its retries sends the event to "
                            f"`{dead_letter_queue_name(queue)}`."),
                    (dead_letter_queue_name(queue),
                     f"Events `{consumer}` gave up on, bound to `{DEAD_LETTER_EXCHANGE}`; "
                     f"inspect and replay with `python -m tools.dead_letters`.")):
                channels[name] = {
                    "address": name, "description": description,
                    "messages": {key: {"$ref": f"#/components/messages/{key}"}},
                    "bindings": {"amqp": {
                        "is": "queue",
                        "queue": {"name": name, "durable": True, "exclusive": False,
                                  "autoDelete": False, "vhost": "/"},
                        "bindingVersion": AMQP_BINDING_VERSION}}}
            # One per (handler, event type): a pattern handler reads several queues.
            operations[f"{consumer}.receive.{event.name}"] = {
                "action": "receive", "title": f"{consumer} handles {event.name}",
                "summary": "At least once; applied once per event id (redeliveries are "
                           "skipped).",
                "channel": {"$ref": f"#/channels/{queue}"},
                "messages": [{"$ref": f"#/channels/{queue}/messages/{key}"}]}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "PCN Improvement Network events",
            "version": "1.0.0",
            "description": "Generated from `shared/events/catalogue.py` by "
                           "`python -m tools.event_docs`; do not edit by hand (a test fails "
                           "when the two differ). Every event travels as JSON in the same "
                           "envelope; `data` follows the event type's schema."},
        "defaultContentType": "application/json",
        "servers": {"rabbitmq": {
            "host": "127.0.0.1:5672", "protocol": "amqp", "protocolVersion": "0.9.1",
            "description": "RabbitMQ (rabbitmq:5672 in docker-compose and Kubernetes)."}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def render_asyncapi_yaml():
    header = ("# AsyncAPI document of the event catalogue. Generated by "
              "`python -m tools.event_docs` (make docs); do not edit by hand.\n")
    return header + yaml.safe_dump(render_asyncapi(), sort_keys=False, allow_unicode=True,
                                   width=100)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true",
                        help="fail if docs/events.md or docs/asyncapi.yaml is stale")
    args = parser.parse_args(argv)
    documents = {DOCUMENT: render(), ASYNCAPI_DOCUMENT: render_asyncapi_yaml()}
    if args.check:
        stale = [path for path, text in documents.items()
                 if not path.exists() or path.read_text(encoding="utf-8") != text]
        for path in stale:
            print(f"{path} is stale: run python -m tools.event_docs", file=sys.stderr)
        return 1 if stale else 0
    DOCS.mkdir(exist_ok=True)
    for path, text in documents.items():
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
