"""OpenAPI documents built from the marshmallow schemas (apispec)."""
import functools
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields


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


def build_document(title, version, description, operations):
    """``operations``: (method, werkzeug path, summary, request schema (or ``one_of``) or
    None, response schema (or ``binary``) or None, success status or a tuple of them, query
    schema or None)."""
    spec = APISpec(title=title, version=version, openapi_version="3.0.3",
                   info={"description": description}, plugins=[MarshmallowPlugin()])
    spec.components.schema("Error", schema=ErrorOut)
    spec.components.security_scheme("apiKey", {"type": "http", "scheme": "bearer"})
    paths = {}
    for method, path, summary, request_schema, response_schema, status, query in operations:
        openapi_path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", path)
        statuses = status if isinstance(status, tuple) else (status,)
        operation = {"summary": summary, "security": [{"apiKey": []}], "responses": {
            **{str(code): {"description": "success"} for code in statuses},
            **{code: {"description": why,
                      "content": {"application/json": {"schema": "Error"}}}
               for code, why in ERROR_STATUSES.items()}}}
        for code in statuses:
            if isinstance(response_schema, dict):
                operation["responses"][str(code)].update(response_schema)
            elif response_schema is not None:
                operation["responses"][str(code)]["content"] = {
                    "application/json": {"schema": response_schema}}
        if request_schema is not None:
            operation["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": request_schema}}}
        parameters = [{"in": "path", "name": name, "required": True,
                       "schema": {"type": "string"}}
                      for name in re.findall(r"\{([a-z_]+)\}", openapi_path)]
        if query is not None:
            parameters.append({"in": "query", "schema": query})
        if parameters:
            operation["parameters"] = parameters
        paths.setdefault(openapi_path, {})[method.lower()] = operation
    for path, operations_of_path in paths.items():
        spec.path(path=path, operations=operations_of_path)
    return spec.to_dict()
