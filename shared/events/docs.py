"""Generate ``docs/events.md`` from the catalogue: ``python -m shared.events.docs [--check]``."""
import argparse
import pathlib
import sys

from marshmallow import fields

from shared.events.catalogue import CATALOGUE
from shared.events.envelope import EnvelopeSchema

DOCUMENT = pathlib.Path(__file__).resolve().parents[2] / "docs" / "events.md"


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
        "Generated from `shared/events/catalogue.py` by `python -m shared.events.docs`; "
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if docs/events.md is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not DOCUMENT.exists() or DOCUMENT.read_text(encoding="utf-8") != text:
            print(f"{DOCUMENT} is stale: run python -m shared.events.docs", file=sys.stderr)
            return 1
        return 0
    DOCUMENT.parent.mkdir(exist_ok=True)
    DOCUMENT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
