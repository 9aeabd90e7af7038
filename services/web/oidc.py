"""The OpenID Connect relying party: authorization code flow with PKCE (S256), the client
authenticated at the token endpoint by ``private_key_jwt`` (as NHS CIS2 asks), the ID token
checked against the provider's JWKS (issuer, audience, expiry, nonce). Configured by issuer
URL, client id and key only (discovery gives the rest), so CIS2 or any provider works.

Split horizon (WEB_OIDC_BROWSER_URL): when people's browsers reach the provider at another
address than the web does (compose: http://127.0.0.1:9400 on the host, http://oidc:9400 inside),
the web still talks to the issuer (discovery, token, JWKS, userinfo) and checks the issuer as
strictly, and only the pages a browser is sent to (authorization, end of session) get the
browser's base.
"""
import secrets
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt as jose_jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

DISCOVERY_SECONDS = 3600
TIMEOUT_SECONDS = 10


class SignInFailed(Exception):
    """The provider's answer cannot sign anyone in; the message says why (for the log)."""


def for_the_browser(endpoint, issuer, browser_url):
    """``endpoint`` with the issuer's scheme, host and port replaced by ``browser_url``'s, when
    it is on the issuer's host; any other endpoint as it is."""
    issuer_base, browser_base = urlsplit(issuer), urlsplit(browser_url)
    parts = urlsplit(endpoint)
    if (parts.scheme, parts.netloc) != (issuer_base.scheme, issuer_base.netloc):
        return endpoint
    return urlunsplit((browser_base.scheme, browser_base.netloc, *parts[2:]))


def client_key(path):
    """The client's private key (PEM) from ``path``, or a new RSA key for this process."""
    if path:
        with open(path, "rb") as handle:
            pem = handle.read()
    else:
        pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())
    return RSAKey.import_key(pem, {"use": "sig", "alg": "RS256"})


class RelyingParty:
    def __init__(self, settings, key, clock=time.time):
        self.settings = settings
        self.key = key
        self.clock = clock
        self._metadata = None
        self._jwks = None
        self._fetched_at = 0
        self._lock = threading.Lock()

    @property
    def redirect_uri(self):
        return f"{self.settings.base_url}/auth/callback"

    def public_jwks(self):
        """What the provider is given (or fetches) to check our client assertions."""
        return {"keys": [self.key.as_dict(private=False)]}

    def metadata(self):
        with self._lock:
            if self._metadata is None or self.clock() - self._fetched_at > DISCOVERY_SECONDS:
                issuer = self.settings.oidc_issuer
                metadata = requests.get(f"{issuer}/.well-known/openid-configuration",
                                        timeout=TIMEOUT_SECONDS).json()
                if metadata.get("issuer", "").rstrip("/") != issuer:
                    raise SignInFailed(f"the provider says its issuer is "
                                       f"{metadata.get('issuer')!r}, not {issuer!r}")
                self._jwks = KeySet.import_key_set(
                    requests.get(metadata["jwks_uri"], timeout=TIMEOUT_SECONDS).json())
                self._metadata, self._fetched_at = metadata, self.clock()
            return self._metadata

    def _in_browser(self, endpoint):
        return for_the_browser(endpoint, self.settings.oidc_issuer,
                               self.settings.oidc_browser_url)

    def _session(self):
        return OAuth2Session(self.settings.oidc_client_id, scope=self.settings.oidc_scopes,
                             redirect_uri=self.redirect_uri, code_challenge_method="S256")

    def authorization_url(self, state, nonce, code_verifier):
        endpoint = self._in_browser(self.metadata()["authorization_endpoint"])
        url, _ = self._session().create_authorization_url(
            endpoint, state=state, nonce=nonce, code_verifier=code_verifier)
        return url

    def exchange(self, code, code_verifier, nonce):
        """The ID token's claims (with the userinfo's, when the provider has one) for an
        authorization ``code``; ``SignInFailed`` when anything does not check out."""
        metadata = self.metadata()
        token_endpoint = metadata["token_endpoint"]
        session = OAuth2Session(
            self.settings.oidc_client_id, self.key.as_pem(private=True),
            token_endpoint_auth_method="private_key_jwt", redirect_uri=self.redirect_uri)
        session.register_client_auth_method(PrivateKeyJWT(token_endpoint, alg="RS256"))
        try:
            token = session.fetch_token(token_endpoint, code=code, code_verifier=code_verifier,
                                        client_id=self.settings.oidc_client_id,
                                        timeout=TIMEOUT_SECONDS)
        except Exception as exc:  # the provider refused: the reason goes to the log
            raise SignInFailed(f"the token endpoint refused the code: {exc}") from None
        claims = self.verified_id_token(token.get("id_token"), nonce)
        userinfo_endpoint = metadata.get("userinfo_endpoint")
        if userinfo_endpoint and token.get("access_token"):
            info = requests.get(userinfo_endpoint, timeout=TIMEOUT_SECONDS, headers={
                "Authorization": f"Bearer {token['access_token']}"})
            if info.ok and info.json().get("sub") == claims["sub"]:
                claims = {**info.json(), **claims}
        claims["id_token"] = token.get("id_token")
        return claims

    def verified_id_token(self, id_token, nonce):
        if not id_token:
            raise SignInFailed("the provider sent no ID token")
        try:
            decoded = jose_jwt.decode(id_token, self._jwks, algorithms=["RS256", "ES256"])
            jose_jwt.JWTClaimsRegistry(
                now=int(self.clock()), leeway=60,
                iss={"essential": True, "value": self.settings.oidc_issuer},
                aud={"essential": True, "value": self.settings.oidc_client_id},
                exp={"essential": True}, sub={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise SignInFailed(f"the ID token does not check out: {exc}") from None
        return dict(decoded.claims)

    def end_session_url(self, id_token, post_logout_redirect_uri):
        """The provider's RP-initiated logout URL, or None when it has none."""
        endpoint = self.metadata().get("end_session_endpoint")
        if not endpoint:
            return None
        request = requests.Request("GET", self._in_browser(endpoint), params={
            "id_token_hint": id_token or "", "client_id": self.settings.oidc_client_id,
            "post_logout_redirect_uri": post_logout_redirect_uri}).prepare()
        return request.url


def new_sign_in_secrets():
    """(state, nonce, PKCE code verifier)."""
    return secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
