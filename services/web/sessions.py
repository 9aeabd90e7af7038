"""Sessions of signed-in people: a random id in an HttpOnly, SameSite=Lax cookie, only its hash
stored; an idle timeout and an absolute lifetime; a CSRF token per session.

Also the short-lived state of a sign-in in progress (state, nonce, PKCE verifier, where to go
after), bound to the browser by its own cookie so that a callback from another browser fails.
"""
import hashlib
import hmac
import secrets

SESSIONS = "sessions"
SIGN_INS = "sign_ins"
SESSION_COOKIE = "pcn_session"
SIGN_IN_COOKIE = "pcn_sign_in"
SIGN_IN_SECONDS = 600


def _hash(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SessionStore:
    """Sessions in the web service's own database. ``clock`` answers epoch seconds."""

    def __init__(self, database, idle_seconds, absolute_seconds, clock):
        self.database = database
        self.idle_seconds = idle_seconds
        self.absolute_seconds = absolute_seconds
        self.clock = clock

    def start(self, person):
        """A new session for ``person`` (a dict); returns its cookie value."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        self.database[SESSIONS].insert_one({
            "_id": _hash(token), "person": person, "csrf": secrets.token_urlsafe(24),
            "started_at": now, "seen_at": now})
        return token

    def find(self, token):
        """The live session of cookie value ``token`` (its idle clock restarted), or None:
        unknown, idle too long or past its lifetime (then it is removed)."""
        if not token:
            return None
        session = self.database[SESSIONS].find_one({"_id": _hash(token)})
        if session is None:
            return None
        now = self.clock()
        if (now - session["seen_at"] > self.idle_seconds
                or now - session["started_at"] > self.absolute_seconds):
            self.database[SESSIONS].delete_one({"_id": session["_id"]})
            return None
        self.database[SESSIONS].update_one({"_id": session["_id"]}, {"$set": {"seen_at": now}})
        return session

    def end(self, token):
        if token:
            self.database[SESSIONS].delete_one({"_id": _hash(token)})

    def begin_sign_in(self, state, nonce, code_verifier, return_to):
        """Remember a sign-in in progress; returns the browser's cookie value for it."""
        browser = secrets.token_urlsafe(24)
        self.database[SIGN_INS].insert_one({
            "_id": state, "browser": _hash(browser), "nonce": nonce,
            "code_verifier": code_verifier, "return_to": return_to,
            "started_at": self.clock()})
        return browser

    def finish_sign_in(self, state, browser):
        """The sign-in of ``state``, once, if this browser began it and it is recent."""
        if not state or not browser:
            return None
        sign_in = self.database[SIGN_INS].find_one_and_delete({"_id": state})
        if sign_in is None or not hmac.compare_digest(sign_in["browser"], _hash(browser)):
            return None
        if self.clock() - sign_in["started_at"] > SIGN_IN_SECONDS:
            return None
        return sign_in


def csrf_matches(session, presented):
    return bool(session and presented) and hmac.compare_digest(session["csrf"], presented)


def cookie_header(name, value, secure, max_age=None):
    """A Set-Cookie value: HttpOnly, SameSite=Lax, Path=/ (Secure behind https)."""
    parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Lax"]
    if secure:
        parts.append("Secure")
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    return "; ".join(parts)
