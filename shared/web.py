"""HTTP plumbing shared by every service: JSON in and out, one error shape, pagination."""
import json
import logging

from marshmallow import Schema, ValidationError
from nameko.exceptions import ContainerBeingKilled
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from shared import metrics
from shared.domain import ConflictError, DomainError, NotFoundError, NotPermitted, RuleBroken
from shared.events.envelope import Trace
from shared.errors import (
    ApiError, BadRequest, Conflict, Forbidden, NotFound, Unprocessable, field_messages,
)
from shared.validation import MAX_PAGE, bounded_integer

log = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/json"
MAX_PAGE_SIZE = 200


def json_response(status, body, headers=None):
    """``body`` as strict JSON: a NaN or an infinity (which JSON cannot carry) is refused with
    409 rather than sent as ``Infinity``; services check their stored values before this."""
    try:
        text = json.dumps(body, default=str, allow_nan=False)
    except ValueError:
        log.error("refused to answer a non-finite number (status %s)", status)
        raise Conflict("the answer would hold a number that is not finite; a stored value is "
                       "out of range", {"_schema": ["a stored value is not finite"]},
                       code="value_out_of_range") from None
    return Response(text, status=status, mimetype=JSON_CONTENT_TYPE, headers=headers)


def error_response(error, headers=None):
    return json_response(error.status, error.to_body(), headers)


# Domain code knows nothing of HTTP: each kind of refusal has its status here.
HTTP_ERROR_OF = ((NotFoundError, NotFound), (NotPermitted, Forbidden),
                 (ConflictError, Conflict), (RuleBroken, Unprocessable))


def api_error_of(error):
    """The HTTP error that answers a domain refusal (same message, fields and code)."""
    for domain_kind, http_kind in HTTP_ERROR_OF:
        if isinstance(error, domain_kind):
            return http_kind(error.message, error.fields, code=error.code)
    return Unprocessable(error.message, error.fields, code=error.code)


class JsonWsgiApp(WsgiApp):
    """nameko's WSGI app, answering unknown paths and methods in the shared JSON shape."""

    def __call__(self, environ, start_response):
        try:
            self.url_map.bind_to_environ(environ).match()
        except HTTPException as exc:
            error = ApiError(exc.description or exc.name,
                             code=exc.name.lower().replace(" ", "_"))
            error.status = exc.code
            # A 405 says which methods the path does take (RFC 9110, 15.5.6).
            allowed = getattr(exc, "valid_methods", None)
            headers = {"Allow": ", ".join(sorted(allowed))} if allowed else None
            return error_response(error, headers)(environ, start_response)
        return super().__call__(environ, start_response)


class JsonWebServer(WebServer):
    def get_wsgi_app(self):
        return JsonWsgiApp(self)


class JsonHttpHandler(HttpRequestHandler):
    """nameko's ``http`` entrypoint, answering errors in the shared JSON shape.

    ``ApiError`` subclasses become their status, domain errors theirs (``HTTP_ERROR_OF``); anything else is a 500 whose body
    names no internals (the traceback goes to the log).
    """

    server = JsonWebServer()

    def __init__(self, method, url, **kwargs):
        kwargs.setdefault("expected_exceptions", (ApiError, DomainError))
        super().__init__(method, url, **kwargs)

    def handle_request(self, request):
        response = super().handle_request(request)
        metrics.HTTP_REQUESTS.labels(
            self.container.service_name, request.method, str(response.status_code)).inc()
        return response

    def response_from_exception(self, exc):
        if isinstance(exc, ApiError):
            return error_response(exc)
        if isinstance(exc, DomainError):
            return error_response(api_error_of(exc))
        if isinstance(exc, HTTPException) and exc.code and exc.code < 500:
            return error_response(BadRequest(exc.description or str(exc)))
        if isinstance(exc, ContainerBeingKilled):  # refused before any worker ran: send again
            error = ApiError("the service is stopping; send the request again",
                             code="service_unavailable")
            error.status = 503
            return error_response(error, {"Retry-After": "1"})
        log.error("unhandled error in %s %s: %r", self.method, self.url, exc)
        return error_response(ApiError("the service failed to handle this request"))


http = JsonHttpHandler.decorator


def trace_of(request):
    """The trace of a request: its ``X-Correlation-ID``, or a new one."""
    correlation_id = request.headers.get("X-Correlation-ID")
    return Trace(correlation_id) if correlation_id else Trace()


def read_json(request):
    """Parse the request body as JSON, or raise 400 saying why."""
    if not request.data:
        raise BadRequest("the request body must be a JSON document", {"body": ["missing"]})
    try:
        return json.loads(request.get_data(as_text=True))
    except ValueError as exc:
        raise BadRequest("the request body is not valid JSON", {"body": [str(exc)]}) from None


def load(schema, payload, partial=False):
    """Validate ``payload`` with a marshmallow schema; 422 naming every bad field."""
    try:
        return schema.load(payload, partial=partial)
    except ValidationError as exc:
        raise Unprocessable(
            "the request has invalid fields", field_messages(exc.messages)
        ) from None


def load_body(request, schema, partial=False):
    payload = read_json(request)
    if not isinstance(payload, (dict, list)):
        raise BadRequest("the request body must be a JSON object", {"body": ["not an object"]})
    return load(schema, payload, partial=partial)


class PageQuery(Schema):
    page = bounded_integer(1, MAX_PAGE, strict=False, load_default=1)
    page_size = bounded_integer(1, MAX_PAGE_SIZE, strict=False, load_default=50)


def load_query(request, schema):
    """Validate query-string arguments (only those the schema knows) with ``schema``."""
    known = {name: request.args.get(name) for name in schema.fields if name in request.args}
    return load(schema, known)
