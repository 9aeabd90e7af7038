"""Person tokens: the web service acting upstream for a signed-in person, with that person's
rights only.

The web service signs a short-lived token (a compact JWS, HS256) naming the person and the one
principal kind it acts as (``network_lead``, ``practice`` or ``person``, never ``admin`` or
``ops``), bound to the person's network (and practice). The owning service checks the
signature, the issuer, the audience and the lifetime, and answers with the same
``shared.access`` rules as for an API key of that kind, so a token of another network sees
nothing of this one, and a token signed with another deployment's secret is refused.

The secret is ``PCN_PERSON_TOKEN_SECRET`` when set, otherwise one derived from
``PCN_ADMIN_KEY`` (every service holds it, and its holder may do everything anyway, so the
derivation widens no one's rights).
"""
import base64
import hashlib
import hmac
import json
import secrets
import time

ISSUER = "pcn-web"
AUDIENCE = "pcn-services"
ALGORITHM = "HS256"
KINDS = ("network_lead", "practice", "person")
# A token lives for one page's upstream calls; the verifier refuses longer-lived ones.
LIFETIME_SECONDS = 120
MAX_LIFETIME_SECONDS = 300
CLOCK_SKEW_SECONDS = 30
_HEADER = {"alg": ALGORITHM, "typ": "JWT", "kid": "pcn-web-1"}


class InvalidPersonToken(Exception):
    """The token is forged, expired, malformed or not for us; the message says which."""


def _b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def secret_from(config):
    """The signing secret of a service's config: bytes, or None when it has neither
    ``PCN_PERSON_TOKEN_SECRET`` nor ``PCN_ADMIN_KEY``."""
    explicit = str(config.get("PCN_PERSON_TOKEN_SECRET") or "")
    if explicit:
        return explicit.encode("utf-8")
    admin_key = str(config.get("PCN_ADMIN_KEY") or "")
    if not admin_key:
        return None
    return hmac.new(admin_key.encode("utf-8"), b"pcn person token v1", hashlib.sha256).digest()


def looks_like(presented):
    """True for a compact JWS (API keys read ``pcn_...``)."""
    return presented.startswith("eyJ") and presented.count(".") == 2


class PersonTokens:
    """Signs (in the web service) and verifies (in every service) person tokens.
    ``clock`` answers seconds since the epoch."""

    def __init__(self, secret, clock=time.time):
        if not secret or len(secret) < 16:
            raise ValueError("a person token secret needs at least 16 bytes")
        self.secret = secret
        self.clock = clock

    def _signature(self, signing_input):
        return hmac.new(self.secret, signing_input, hashlib.sha256).digest()

    def sign(self, subject, kind, network_id, practice_id=None, staff_id=None,
             lifetime=LIFETIME_SECONDS, practice_lead=False):
        """A token for ``subject`` (the person's NHS identity uid) acting as ``kind``;
        ``practice_lead``: a practice token of the practice's lead (who manages its devices)."""
        if kind not in KINDS:
            raise ValueError(f"a person token acts as one of {', '.join(KINDS)}, not {kind}")
        now = int(self.clock())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": subject, "kind": kind,
                  "network_id": network_id, "practice_id": practice_id, "staff_id": staff_id,
                  "practice_lead": bool(practice_lead and kind == "practice"),
                  "iat": now, "exp": now + int(lifetime), "jti": secrets.token_hex(8)}
        signing_input = (_b64(json.dumps(_HEADER, separators=(",", ":")).encode()) + "."
                         + _b64(json.dumps(claims, separators=(",", ":")).encode()))
        return signing_input + "." + _b64(self._signature(signing_input.encode("ascii")))

    def verify(self, token):
        """The claims of a valid token; ``InvalidPersonToken`` otherwise."""
        try:
            header_part, claims_part, signature_part = token.split(".")
            header = json.loads(_unb64(header_part))
            signature = _unb64(signature_part)
        except (ValueError, TypeError):
            raise InvalidPersonToken("the token is malformed") from None
        # The algorithm is ours, never the token's choice ("none", RS/HS confusion).
        if not isinstance(header, dict) or header.get("alg") != ALGORITHM:
            raise InvalidPersonToken("the token's algorithm is not accepted")
        expected = self._signature(f"{header_part}.{claims_part}".encode("ascii"))
        if not hmac.compare_digest(expected, signature):
            raise InvalidPersonToken("the token's signature does not verify")
        try:
            claims = json.loads(_unb64(claims_part))
        except ValueError:
            raise InvalidPersonToken("the token is malformed") from None
        now = self.clock()
        if not isinstance(claims, dict) or claims.get("iss") != ISSUER \
                or claims.get("aud") != AUDIENCE:
            raise InvalidPersonToken("the token is not one the web service issued for us")
        issued, expires = claims.get("iat"), claims.get("exp")
        if not isinstance(issued, int) or not isinstance(expires, int):
            raise InvalidPersonToken("the token has no lifetime")
        if expires - issued > MAX_LIFETIME_SECONDS:
            raise InvalidPersonToken("the token lives longer than a person token may")
        if now >= expires + CLOCK_SKEW_SECONDS:
            raise InvalidPersonToken("the token has expired")
        if issued > now + CLOCK_SKEW_SECONDS:
            raise InvalidPersonToken("the token is issued in the future")
        if claims.get("kind") not in KINDS or not claims.get("network_id") \
                or not claims.get("sub"):
            raise InvalidPersonToken("the token names no principal we accept")
        if claims["kind"] == "practice" and not claims.get("practice_id"):
            raise InvalidPersonToken("a practice token names its practice")
        if claims["kind"] == "person" and not claims.get("staff_id"):
            raise InvalidPersonToken("a person token names its staff id")
        return claims


def principal_of(claims):
    """The ``shared.auth.Principal`` a verified token acts as: the same kinds as API keys."""
    from shared.auth import Principal  # shared.auth imports this module

    return Principal(f"person:{claims['sub']}", claims["kind"], claims["network_id"],
                     claims.get("practice_id"), claims.get("staff_id"),
                     practice_lead=claims.get("practice_lead") is True
                     and claims["kind"] == "practice")


def verified(authentication, token):
    """The claims of ``token`` checked by the verifier ``shared.auth.ApiKeyAuth`` gave
    ``authentication`` (none: this service accepts no person tokens)."""
    verifier = getattr(authentication, "person_tokens", None)
    if verifier is None:
        raise InvalidPersonToken("this service accepts no person tokens")
    return verifier.verify(token)
