"""OpenAPI documents built from the marshmallow schemas (apispec)."""
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
                  "409": "conflicts with the current state", "422": "invalid fields"}


def build_document(title, version, description, operations):
    """``operations``: (method, werkzeug path, summary, request schema or None,
    response schema or None, success status, query schema or None)."""
    spec = APISpec(title=title, version=version, openapi_version="3.0.3",
                   info={"description": description}, plugins=[MarshmallowPlugin()])
    spec.components.schema("Error", schema=ErrorOut)
    spec.components.security_scheme("apiKey", {"type": "http", "scheme": "bearer"})
    paths = {}
    for method, path, summary, request_schema, response_schema, status, query in operations:
        openapi_path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", path)
        operation = {"summary": summary, "security": [{"apiKey": []}], "responses": {
            str(status): {"description": "success"},
            **{code: {"description": why,
                      "content": {"application/json": {"schema": "Error"}}}
               for code, why in ERROR_STATUSES.items()}}}
        if response_schema is not None:
            operation["responses"][str(status)]["content"] = {
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
