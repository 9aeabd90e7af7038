"""WEB_OIDC_BROWSER_URL: the web talks to the provider at the issuer (discovery, token, keys)
and sends the browser to the provider's browser-facing pages at another base (compose: the
issuer http://oidc:9400 inside, http://127.0.0.1:9400 on the host)."""
from urllib.parse import parse_qs, urlsplit

import pytest

from services.web import oidc
from services.web.oidc import RelyingParty, SignInFailed, for_the_browser
from services.web.settings import WebSettings

ISSUER = "http://oidc:9400"
BROWSER = "http://127.0.0.1:9400"
NOW = 1_790_000_000  # a fixed clock: the discovery cache's age only


def settings(**overrides):
    return WebSettings.from_config({"WEB_OIDC_ISSUER": ISSUER,
                                    "WEB_BASE_URL": "http://127.0.0.1:8005", **overrides})


def discovery(issuer=ISSUER, endpoint_base=ISSUER):
    return {"issuer": issuer, "authorization_endpoint": f"{endpoint_base}/oauth2/authorize",
            "token_endpoint": f"{endpoint_base}/oauth2/token",
            "end_session_endpoint": f"{endpoint_base}/oauth2/end_session",
            "jwks_uri": f"{endpoint_base}/jwks"}


class FakeProvider:
    """requests.get of the relying party: the discovery document and the provider's keys."""

    def __init__(self, document):
        self.document = document
        self.keys = {"keys": [oidc.client_key("").as_dict(private=False)]}
        self.asked = []

    def get(self, url, timeout):
        self.asked.append(url)
        body = self.document if url.endswith("/.well-known/openid-configuration") else self.keys
        return type("Answer", (), {"json": lambda self: body})()


@pytest.fixture
def provider(monkeypatch):
    fake = FakeProvider(discovery())
    monkeypatch.setattr(oidc.requests, "get", fake.get)
    return fake


def relying_party(config_settings):
    return RelyingParty(config_settings, oidc.client_key(""), clock=lambda: NOW)


def test_the_browser_url_defaults_to_the_issuer():
    assert settings().oidc_browser_url == ISSUER
    assert settings(WEB_OIDC_BROWSER_URL="").oidc_browser_url == ISSUER
    assert settings(WEB_OIDC_BROWSER_URL="http://127.0.0.1:9400/").oidc_browser_url == BROWSER
    assert settings(WEB_OIDC_BROWSER_URL="https://sign-in.example.org").oidc_browser_url == \
        "https://sign-in.example.org"


@pytest.mark.parametrize("bad", [
    "127.0.0.1:9400", "ftp://127.0.0.1:9400", "http://127.0.0.1:9400/realms/nhs",
    "http://user:secret@127.0.0.1:9400", "http://127.0.0.1:9400?next=x", "http://",
    "http://127.0.0.1:port"])
def test_a_browser_url_that_is_not_a_base_url_is_refused_at_start_naming_the_setting(bad):
    with pytest.raises(ValueError, match="WEB_OIDC_BROWSER_URL must be http"):
        settings(WEB_OIDC_BROWSER_URL=bad)


def test_the_authorization_page_is_at_the_browser_url_and_the_rest_at_the_issuer(provider):
    party = relying_party(settings(WEB_OIDC_BROWSER_URL=BROWSER))
    url = party.authorization_url("the-state", "the-nonce", "v" * 48)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "127.0.0.1:9400",
                                                        "/oauth2/authorize")
    query = parse_qs(parts.query)
    assert query["state"] == ["the-state"] and query["nonce"] == ["the-nonce"]
    assert query["redirect_uri"] == ["http://127.0.0.1:8005/auth/callback"]
    # Discovery and keys were asked of the issuer; the token endpoint stays the issuer's.
    assert provider.asked == [f"{ISSUER}/.well-known/openid-configuration", f"{ISSUER}/jwks"]
    assert party.metadata()["token_endpoint"] == f"{ISSUER}/oauth2/token"


def test_the_end_of_session_page_is_at_the_browser_url(provider):
    party = relying_party(settings(WEB_OIDC_BROWSER_URL=BROWSER))
    url = party.end_session_url("the-id-token", "http://127.0.0.1:8005/signed-out")
    assert url.startswith(f"{BROWSER}/oauth2/end_session?")
    assert parse_qs(urlsplit(url).query)["id_token_hint"] == ["the-id-token"]


def test_without_a_browser_url_every_page_is_the_issuers(provider):
    party = relying_party(settings())
    assert party.authorization_url("s", "n", "v" * 48).startswith(f"{ISSUER}/oauth2/authorize?")
    assert party.end_session_url("t", "http://x/signed-out").startswith(
        f"{ISSUER}/oauth2/end_session?")


def test_the_issuer_is_checked_as_strictly_with_a_browser_url(monkeypatch):
    # A provider that names itself by the browser's address is not the configured issuer.
    monkeypatch.setattr(oidc.requests, "get", FakeProvider(discovery(issuer=BROWSER)).get)
    party = relying_party(settings(WEB_OIDC_BROWSER_URL=BROWSER))
    with pytest.raises(SignInFailed, match="issuer is 'http://127.0.0.1:9400'"):
        party.authorization_url("s", "n", "v" * 48)


def test_only_endpoints_on_the_issuers_host_are_rewritten():
    assert for_the_browser(f"{ISSUER}/oauth2/authorize?x=1", ISSUER, BROWSER) == \
        f"{BROWSER}/oauth2/authorize?x=1"
    # A provider whose pages live on another host (as CIS2's may) is left alone.
    assert for_the_browser("https://login.example.org/authorize", ISSUER, BROWSER) == \
        "https://login.example.org/authorize"
    # The issuer's scheme counts: https on the same host is another origin.
    assert for_the_browser("https://oidc:9400/oauth2/authorize", ISSUER, BROWSER) == \
        "https://oidc:9400/oauth2/authorize"
    # An issuer with a path: only its origin is swapped, the endpoint's path is kept.
    assert for_the_browser("https://id.example.org:443/realms/nhs/authorize",
                           "https://id.example.org:443/realms/nhs", "http://127.0.0.1:9400") \
        == "http://127.0.0.1:9400/realms/nhs/authorize"
