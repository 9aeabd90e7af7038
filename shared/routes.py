"""HTTP routes that carry their own contract: method, path, summary, who may call, the request
body, query and answer schemas. The entrypoint is ``shared.web.http`` underneath, and the
service's OpenAPI document is built from these routes (``shared.openapi.document_of``), so the
document cannot drift from what the routes do.

A route authenticates (when it names ``roles``), loads the body and the query through their
schemas (401/403 before 400/422, as before), calls the method with ``principal``, ``command``
and ``query`` as keyword arguments, and dumps what the method returns through the schema of
the answer's status::

    @route("POST", "/projects", "Create a QI project", body=ProjectIn, answers={201: ProjectOut},
           roles=("network_lead", "practice"))
    def create_project(self, request, principal, command):
        project = commands.create_project(self.storage, principal, command, utc_now(), trace)
        return project, 201, {"Location": f"/projects/{project['_id']}"}

A method returns the value to dump (answered with the first status of ``answers``), or
``(value, status)``, or ``(value, status, headers)``, or a ready ``Response`` (images).
"""
import functools
from dataclasses import dataclass, field

from marshmallow import Schema
from werkzeug.wrappers import Response

from shared.web import http, json_response, load_body, load_query


@dataclass(frozen=True)
class Route:
    """One HTTP operation as a service offers it. ``body``: a schema class the route loads,
    or a document-only schema (``shared.openapi.one_of``) the method reads itself.
    ``answers``: success status → schema class, ``shared.openapi.binary(...)`` or None (no
    body). ``roles``: who may call (admin always may); None for routes open to anyone."""
    method: str
    path: str
    summary: str | None
    body: object = None
    answers: dict = field(default_factory=dict)
    query: type | None = None
    roles: tuple | None = None
    documented: bool = True


def _instance(schema):
    return schema() if isinstance(schema, type) and issubclass(schema, Schema) else None


def route(method, path, summary=None, *, body=None, answers=None, query=None, roles=None,
          documented=True):
    """Decorate a service method as the HTTP operation ``method path`` (see the module)."""
    contract = Route(method, path, summary, body, dict(answers or {200: None}), query,
                     tuple(roles) if roles is not None else None, documented)
    body_schema, query_schema = _instance(body), _instance(query)
    answer_schemas = {status: _instance(schema) for status, schema in contract.answers.items()}
    default_status = next(iter(contract.answers))

    def decorate(method_function):
        @functools.wraps(method_function)
        def entrypoint(self, request, **path_arguments):
            arguments = {}
            if contract.roles is not None:
                arguments["principal"] = self.auth.require(request, *contract.roles)
            if body_schema is not None:
                arguments["command"] = load_body(request, body_schema)
            if query_schema is not None:
                arguments["query"] = load_query(request, query_schema)
            answer = method_function(self, request, **path_arguments, **arguments)
            if isinstance(answer, Response):
                return answer
            if not isinstance(answer, tuple):
                answer = (answer, default_status)
            value, status, headers = (*answer, None)[:3]
            schema = answer_schemas.get(status)
            return json_response(status, schema.dump(value) if schema else value, headers)

        entrypoint.route = contract
        return http(contract.method, contract.path)(entrypoint)
    return decorate


def routes_of(service_class):
    """The routes of ``service_class`` in the order they are defined (bases first)."""
    found = {}
    for klass in reversed(service_class.__mro__):
        for name, member in vars(klass).items():
            if hasattr(member, "route"):
                found.pop(name, None)
                found[name] = member.route
            elif name in found:
                del found[name]  # overridden by something that is not a route
    return list(found.values())
