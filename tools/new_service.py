"""Write the skeleton of a new service: ``python -m tools.new_service NAME PORT [--aggregate N]``.

It writes services/<name>/ (domain, schemas, repository, service layer ``commands``, entrypoints
on ``shared.service_base.Service``), its unit tests (tests/unit/<name>/) and integration test
(tests/integration/test_<name>_api.py), adds the service to services/registry.py, and writes
the deployment files from the registry (tools/deployment.py: compose, k8s, Prometheus). The
skeleton is one working aggregate (open, read, list, close a ``NOUN``, by default NAME without
its plural s) to be replaced by the service's own domain; README "Adding a service" says how.
"""
import argparse
import pathlib
import re
import string
import sys

from services import registry
from tools import deployment

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
TEMPLATES = pathlib.Path(__file__).resolve().parent / "service_template"

# template -> where it goes, relative to the repository root
FILES = {
    "__init__.py.tmpl": "services/{name}/__init__.py",
    "domain.py.tmpl": "services/{name}/domain.py",
    "schemas.py.tmpl": "services/{name}/schemas.py",
    "repository.py.tmpl": "services/{name}/repository.py",
    "commands.py.tmpl": "services/{name}/commands.py",
    "service.py.tmpl": "services/{name}/service.py",
    "test_domain.py.tmpl": "tests/unit/{name}/test_domain.py",
    "test_commands.py.tmpl": "tests/unit/{name}/test_commands.py",
    "test_api.py.tmpl": "tests/integration/test_{name}_api.py",
}
UNIT_TESTS_INIT = "tests/unit/{name}/__init__.py"

REGISTRY_END = "\n)\n"  # the closing line of registry.SERVICES


class Refused(Exception):
    """The name, port or aggregate cannot be used; the message says why."""


def placeholders(name, aggregate):
    """The values the templates are written with."""
    noun = aggregate
    nouns = noun + "s"
    return {
        "name": name,
        "Class": name.capitalize(),
        "noun": noun,
        "Noun": noun.capitalize(),
        "nouns": nouns,
        "Nouns": nouns.capitalize(),
        "NOUNS": nouns.upper(),
        "prefix": noun[:3],
    }


def check(name, port, aggregate, root):
    """Refuse what would clash or not work: every reason, in one message."""
    reasons = []
    if not registry.NAME.fullmatch(name):
        reasons.append(f"name {name!r}: 2-31 lower-case letters or digits, starting with a "
                       f"letter (it is a package, a queue prefix and a host name)")
    if not re.fullmatch(r"[a-z][a-z0-9]{1,30}", aggregate):
        reasons.append(f"aggregate {aggregate!r}: 2-31 lower-case letters or digits")
    if not 1024 < port < 65536:
        reasons.append(f"port {port}: between 1025 and 65535")
    for service in registry.SERVICES:
        if service.name == name:
            reasons.append(f"{name} is in services/registry.py already")
        if service.port == port:
            reasons.append(f"port {port} is {service.name}'s")
    if (root / "services" / name).exists():
        reasons.append(f"services/{name}/ exists already")
    if reasons:
        raise Refused("; ".join(reasons))


def registry_with(text, service):
    """services/registry.py's text with ``service`` appended to SERVICES."""
    if text.count(REGISTRY_END) != 1:
        raise Refused("services/registry.py: cannot find the end of SERVICES")
    entry = (f'    RegisteredService("{service.name}", {service.port}, '
             f'"{service.class_name}"),')
    return text.replace(REGISTRY_END, f"\n{entry}{REGISTRY_END}")


def write_skeleton(name, port, aggregate=None, root=REPO_ROOT):
    """Write the service's files and registry entry, then the deployment files; returns the
    paths written (relative to ``root``)."""
    aggregate = aggregate or (name[:-1] if name.endswith("s") else name)
    check(name, port, aggregate, root)
    values = placeholders(name, aggregate)
    service = registry.RegisteredService(name, port, f"{values['Class']}Service")
    written = {}
    for template, target in FILES.items():
        text = string.Template((TEMPLATES / template).read_text()).substitute(values)
        written[target.format(name=name)] = text
    written[UNIT_TESTS_INIT.format(name=name)] = ""
    registry_path = root / "services" / "registry.py"
    written["services/registry.py"] = registry_with(registry_path.read_text(), service)
    for path, text in written.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    services = [s for s in registry.SERVICES if (root / "services" / s.name / "service.py")
                .exists()] + [service]
    return sorted(written) + deployment.write(root=root, services=services)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="the service's name: lower-case letters and digits")
    parser.add_argument("port", type=int, help="its HTTP port")
    parser.add_argument("--aggregate", help="what the skeleton stores (default: NAME without "
                                            "its plural s)")
    args = parser.parse_args(argv)
    try:
        paths = write_skeleton(args.name, args.port, args.aggregate)
    except Refused as refused:
        sys.exit(f"not written: {refused}")
    for path in paths:
        print(f"wrote {path}")
    print(f"next: .venv/bin/python -m pytest tests/unit/{args.name} "
          f"tests/integration/test_{args.name}_api.py, then `make dev`; README 'Adding a "
          f"service' says what to write")
    return 0


if __name__ == "__main__":
    sys.exit(main())
