"""The local OpenID provider for development, the demo and the browser tests, shaped like NHS
CIS2: ``.venv-oidc/bin/python -m tools.oidc_provider [--host 127.0.0.1] [--port 9400]
[--client-jwks-url URL]``.

It is oidc-provider-mock (its own virtualenv, .venv-oidc: it needs Flask >= 3.1, which the
services' Werkzeug 3.0.6 pin rules out) with what a CIS2 relying party must do enforced on
top, so the web service is tested the way CIS2 will treat it:

- PKCE: an authorization request without an S256 ``code_challenge`` is refused, and the token
  request must carry the matching ``code_verifier``;
- ``private_key_jwt``: the token request of the client (``--client-id``) must carry a client
  assertion signed by a key of the client's JWKS (``--client-jwks-url``, the web service's
  /oidc/jwks.json), for the token endpoint, unexpired, used once;
- CIS2-shaped claims (``nhsid_useruid``, ``nhsid_nrbac_roles[]`` with ``org_code`` and
  ``role_code``) for the people of demo_users.json, and ``PUT /users/<sub>`` for others.

Runs offline; binds 127.0.0.1 only unless ``--host`` says otherwise (docker-compose.yml gives
0.0.0.0 inside the provider's own container, published on the host's loopback only). Its
issuer is the address it is asked at (oidc-provider-mock takes it from the request's host).
"""
import argparse
import base64
import hashlib
import json
import pathlib
import sys
import threading
import time
from urllib.parse import parse_qs, urlparse

import flask
import httpx
import oidc_provider_mock
import oidc_provider_mock._app
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from oidc_provider_mock._storage import User
from werkzeug.serving import make_server

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEMO_USERS = pathlib.Path(__file__).with_name("demo_users.json")


def demo_users(path=DEMO_USERS):
    people = json.loads(pathlib.Path(path).read_text())["users"]
    return [User(sub=p["sub"], claims={k: v for k, v in p.items() if k != "sub"})
            for p in people]


def s256(verifier):
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(
        b"=").decode()


def refused(error, description, status=400):
    return flask.jsonify({"error": error, "error_description": description}), status


class Cis2Rules:
    """PKCE and private_key_jwt for ``client_id``, checked around oidc-provider-mock."""

    def __init__(self, client_id, client_jwks_url):
        self.client_id = client_id
        self.client_jwks_url = client_jwks_url
        self.challenges = {}  # authorization code -> its code_challenge
        self.used_assertions = set()
        self.lock = threading.Lock()

    def install(self, app):
        # The mock's grants know client_secret_basic/post only: add private_key_jwt, whose
        # assertion ``before`` has checked by the time the grant authenticates the client.
        grant = oidc_provider_mock._app.AuthorizationCodeGrant
        grant.TOKEN_ENDPOINT_AUTH_METHODS = [*grant.TOKEN_ENDPOINT_AUTH_METHODS,
                                             "private_key_jwt"]
        app.before_request(self.before)
        app.after_request(self.after)

    @staticmethod
    def checked_assertion_client(query_client, request):
        if request.form.get("client_assertion_type") != JWT_BEARER:
            return None
        return query_client(flask.g.cis2_client_id)

    def before(self):
        request = flask.request
        server = flask.g._authlib_authorization_server
        if not getattr(server, "_cis2_rules", False):
            server.register_client_auth_method("private_key_jwt",
                                               self.checked_assertion_client)
            server._cis2_rules = True
        if request.path == "/oauth2/authorize":
            if request.args.get("code_challenge_method") != "S256" or not request.args.get(
                    "code_challenge"):
                return refused("invalid_request", "PKCE is required: send an S256 "
                               "code_challenge")
        if request.path == "/oauth2/token" and request.form.get("grant_type") == \
                "authorization_code":
            with self.lock:
                challenge = self.challenges.pop(request.form.get("code", ""), None)
            verifier = request.form.get("code_verifier", "")
            if challenge is None or s256(verifier) != challenge:
                return refused("invalid_grant", "the code_verifier does not match the "
                               "code_challenge")
            if request.form.get("client_id", self.client_id) == self.client_id:
                problem = self.assertion_problem(request.form, request.base_url)
                if problem:
                    return refused("invalid_client", problem, 401)
                flask.g.cis2_client_id = self.client_id
        return None

    def assertion_problem(self, form, token_url):
        if form.get("client_assertion_type") != JWT_BEARER or not form.get("client_assertion"):
            return "this client authenticates with private_key_jwt"
        try:
            keys = KeySet.import_key_set(httpx.get(self.client_jwks_url, timeout=5).json())
            token = jwt.decode(form["client_assertion"], keys, algorithms=["RS256", "ES256"])
            jwt.JWTClaimsRegistry(
                leeway=30, iss={"essential": True, "value": self.client_id},
                sub={"essential": True, "value": self.client_id},
                aud={"essential": True, "value": token_url},
                exp={"essential": True}, jti={"essential": True},
            ).validate(token.claims)
        except (JoseError, ValueError, httpx.HTTPError) as exc:
            return f"the client assertion does not check out: {exc}"
        with self.lock:
            if token.claims["jti"] in self.used_assertions:
                return "the client assertion was used before"
            self.used_assertions.add(token.claims["jti"])
        return None

    def after(self, response):
        request = flask.request
        if request.path == "/oauth2/authorize" and request.method == "POST" \
                and response.status_code in (302, 303):
            code = parse_qs(urlparse(response.headers.get("Location", "")).query).get("code")
            if code:
                with self.lock:
                    self.challenges[code[0]] = request.args.get("code_challenge")
        return response


def make_app(client_id, client_jwks_url, users_path=DEMO_USERS):
    app = oidc_provider_mock.app(user_claims=demo_users(users_path), require_nonce=True,
                                 access_token_max_age=__import__("datetime").timedelta(
                                     minutes=10))
    # oidc-provider-mock turns on Werkzeug's interactive debugger: not here.
    app.debug = False
    app.wsgi_app = getattr(app.wsgi_app, "app", app.wsgi_app)
    Cis2Rules(client_id, client_jwks_url).install(app)
    return app


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to listen on (default: loopback only)")
    parser.add_argument("--port", type=int, default=9400)
    parser.add_argument("--client-id", default="pcn-web")
    parser.add_argument("--client-jwks-url", default="http://127.0.0.1:8005/oidc/jwks.json")
    parser.add_argument("--users", default=str(DEMO_USERS))
    args = parser.parse_args(argv)
    server = make_server(args.host, args.port,
                         make_app(args.client_id, args.client_jwks_url, args.users),
                         threaded=True)
    print(f"local OpenID provider on http://{args.host}:{args.port} (client {args.client_id}, "
          f"keys from {args.client_jwks_url})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    time.tzset()
    sys.exit(main())
