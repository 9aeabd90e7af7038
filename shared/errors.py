"""One error shape for every API: ``{"error": code, "message": text, "fields": {field: [why]}}``.

Entrypoints raise these; ``shared.web`` turns them into JSON responses. Raising happens before
any write, so a refused request leaves nothing behind.
"""


class Refusal(Exception):
    """A refusal with a code, a message and the fields it names (each with why)."""
    code = "refused"

    def __init__(self, message, fields=None, code=None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code

    def to_body(self):
        return {"error": self.code, "message": self.message, "fields": self.fields}


class ApiError(Refusal):
    """A refusal answered over HTTP with ``status``."""
    status = 500
    code = "internal_error"


class BadRequest(ApiError):
    status, code = 400, "bad_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class Unprocessable(ApiError):
    status, code = 422, "validation_failed"


def field_messages(messages):
    """Flatten marshmallow's nested error dict into ``{"a.b": ["why", ...]}``."""
    flat = {}

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            flat.setdefault(prefix or "_schema", []).extend(value)
        elif isinstance(value, list):
            for inner in value:
                walk(prefix, inner)
        else:
            flat.setdefault(prefix or "_schema", []).append(str(value))

    walk("", messages)
    return flat
