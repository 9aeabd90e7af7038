"""Sign-in when the web and the browser reach the OpenID provider by different names, as in
the compose stack (the web: http://oidc:9400, the browser: http://127.0.0.1:9400). Here, with
no Docker, the one provider is asked as ``localhost`` by the web (WEB_OIDC_ISSUER: discovery,
token, keys) and as ``127.0.0.1`` by the browser (WEB_OIDC_BROWSER_URL: the sign-in page)."""
from urllib.parse import urlsplit

import pytest
import requests
from nameko.testing.services import dummy  # noqa: F401 (nameko's test plugin is loaded)

from tests.web_stack import LEAD_UID, build_stack, provider_stopped_after


@pytest.fixture
def stack(container_factory, service_config):
    with provider_stopped_after(build_stack(container_factory, service_config, split_provider=True)) as stack:
        yield stack


def test_a_browser_signs_in_through_the_browser_url_while_the_web_talks_to_the_issuer(stack):
    issuer, browser_url = stack.config["WEB_OIDC_ISSUER"], stack.config["WEB_OIDC_BROWSER_URL"]
    assert urlsplit(issuer).hostname == "localhost"
    assert urlsplit(browser_url).hostname == "127.0.0.1"
    assert urlsplit(issuer).port == urlsplit(browser_url).port  # one server, two names

    browser = requests.Session()
    login = browser.get(stack.web + "/")  # follows: the site, /sign-in, the provider's page
    assert login.status_code == 200 and 'name="sub"' in login.text, login.text
    [to_provider] = [r for r in login.history if r.url.startswith(stack.web + "/sign-in")]
    authorization = to_provider.headers["Location"]
    assert authorization.startswith(f"{browser_url}/oauth2/authorize?"), authorization
    assert "localhost" not in urlsplit(authorization).netloc
    assert login.url.startswith(f"{browser_url}/oauth2/authorize?")

    # The provider's login form, sent as a browser would, back to the site and its dashboard.
    # The ID token names its issuer by the host the token request was sent to: the web takes it
    # only because that request went to the issuer (localhost), not to the browser's name.
    dashboard = browser.post(login.url, data={"sub": LEAD_UID})
    assert dashboard.status_code == 200, dashboard.text
    assert dashboard.url == stack.web + "/"
    assert any(r.url.startswith(stack.web + "/auth/callback") for r in dashboard.history)
    assert "Priya Shah" in dashboard.text
    assert "SMRs completed to the standard template" in dashboard.text
    assert "/sign-out" in dashboard.text

    # Signing out sends the browser to the provider's end of session at the browser's name too.
    csrf = dashboard.text.split("csrf_token=")[1].split('"')[0]
    out = browser.post(f"{stack.web}/sign-out?csrf_token={csrf}", allow_redirects=False)
    assert out.status_code == 303
    assert out.headers["Location"].startswith(f"{browser_url}/oauth2/end_session?")
    assert browser.get(stack.web + "/", allow_redirects=False).status_code == 303
