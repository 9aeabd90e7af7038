"""OpenAPI documents built from the marshmallow schemas (apispec)."""
import functools
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from shared.routes import routes_of


class ErrorOut(Schema):
    error = fields.String(required=True, metadata={"description": "a short code"})
    message = fields.String(required=True)
    fields = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "field name → why it was refused"})


ERROR_STATUSES = {"400": "malformed request", "401": "no valid API key",
                  "403": "not allowed for this key", "404": "not found (or not yours)",
                  "409": "conflicts with the current state (or a stored value out of range)",
                  "422": "invalid fields",
                  "503": "the service is stopping or not ready; send the request again"}
# The web server (eventlet's) refuses a request line over 8,192 bytes before any service code
# runs, with no body: an operation taking parameters in its URL may answer it.
URI_TOO_LONG = {"414": {"description": "the URL is over 8,192 bytes (refused by the web "
                                       "server, with no body)"}}


@functools.cache
def page_of(schema):
    """A page of ``schema`` items, as the paginated list endpoints answer."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(schema), required=True),
        "page": fields.Integer(required=True), "page_size": fields.Integer(required=True),
        "total": fields.Integer(required=True)}, name=f"{schema.__name__}Page")


@functools.cache
def items_of(schema):
    """``{"items": [...]}`` of ``schema``, as the short unpaginated lists answer."""
    return Schema.from_dict({"items": fields.List(fields.Nested(schema), required=True)},
                            name=f"{schema.__name__}List")


def one_of(*schemas):
    """A request body that is any one of ``schemas``."""
    return {"oneOf": list(schemas)}


def binary(media_type):
    """A response that is not JSON (an image)."""
    return {"content": {media_type: {"schema": {"type": "string", "format": "binary"}}}}


def document_of(service_class):
    """The OpenAPI document of ``service_class``, built from its documented routes and its
    ``openapi_title``, ``openapi_version`` and ``openapi_description``."""
    return build_document(service_class.openapi_title, service_class.openapi_version,
                          service_class.openapi_description,
                          [r for r in routes_of(service_class) if r.documented])


def build_document(title, version, description, operations):
    """The OpenAPI 3.0 document of ``operations`` (``shared.routes.Route``s), with the shared
    error answers and the API key scheme."""
    spec = APISpec(title=title, version=version, openapi_version="3.0.3",
                   info={"description": description}, plugins=[MarshmallowPlugin()])
    spec.components.schema("Error", schema=ErrorOut)
    spec.components.security_scheme("apiKey", {"type": "http", "scheme": "bearer"})
    paths = {}
    for operation_route in operations:
        paths.setdefault(openapi_path_of(operation_route.path), {})[
            operation_route.method.lower()] = operation_of(operation_route)
    for path, operations_of_path in paths.items():
        spec.path(path=path, operations=operations_of_path)
    return spec.to_dict()


def openapi_path_of(path):
    """``/projects/<project_id>`` as OpenAPI writes it: ``/projects/{project_id}``."""
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", path)


def operation_of(operation_route):
    """The OpenAPI operation object of one route: its answers, then every error answer."""
    # A route open to anyone (no roles: e.g. a signed link's endpoint) needs no key.
    security = [] if operation_route.roles is None else [{"apiKey": []}]
    operation = {"summary": operation_route.summary, "security": security,
                 "responses": {
                     **{str(code): {"description": "success"} for code in operation_route.answers},
                     **{code: {"description": why,
                               "content": {"application/json": {"schema": "Error"}}}
                        for code, why in ERROR_STATUSES.items()}}}
    for code, answer in operation_route.answers.items():
        if isinstance(answer, dict):
            operation["responses"][str(code)].update(answer)
        elif answer is not None:
            operation["responses"][str(code)]["content"] = {
                "application/json": {"schema": answer}}
    if operation_route.body is not None:
        operation["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": operation_route.body}}}
    parameters = [{"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
                  for name in re.findall(r"\{([a-z_]+)\}", openapi_path_of(operation_route.path))]
    if operation_route.query is not None:
        parameters.append({"in": "query", "schema": operation_route.query})
    if parameters:
        operation["parameters"] = parameters
        operation["responses"].update(URI_TOO_LONG)
    return operation
