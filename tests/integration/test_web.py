"""The web service on a real network (projects, measurement, the local OpenID provider), driven
over HTTP as a browser would: sign-in with PKCE and private_key_jwt, the dashboard from a
bounded number of upstream calls, the person's own rights upstream, the security headers,
CSRF, session expiry and off-site return URLs. The same in Chromium: tests/browser/."""
import pytest
import requests
from nameko.testing.services import dummy  # noqa: F401 (nameko's test plugin is loaded)
from nameko.testing.utils import get_extension

from services.web.site import WebSite
from tests.web_stack import (LEAD_UID, MEMBER_UID, NOBODY_UID, build_stack,
                              provider_stopped_after)


@pytest.fixture
def stack(container_factory, service_config):
    with provider_stopped_after(build_stack(container_factory, service_config)) as stack:
        yield stack


def test_the_lead_signs_in_and_sees_the_network(stack):
    browser, landed = stack.sign_in_with_requests(LEAD_UID)
    assert landed.status_code == 303 and landed.headers["Location"] == "/"
    cookie = landed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = browser.get(stack.web + "/")
    assert page.status_code == 200
    assert "SMRs completed to the standard template" in page.text
    assert "F84001" in page.text and "F84002" in page.text
    assert "Variation: special-cause improvement" in page.text
    assert "F84002: SMRs completed to the standard template" in page.text  # not submitted
    assert "template missing in EMIS" in page.text
    # Bounded, whatever the size of the network: the summary table, the escalated items, the
    # training gaps (training is not running here: the panel says so) and the header's unread
    # count, one call each.
    assert page.headers["X-Upstream-Calls"] == "4"
    measure = browser.get(f"{stack.web}/measures/{stack.measure_id}")
    assert measure.status_code == 200 and "special-cause improvement since" in measure.text
    chart = browser.get(f"{stack.web}/measures/{stack.measure_id}/chart.svg?practice_id=F84002")
    assert chart.status_code == 200 and chart.headers["Content-Type"].startswith("image/svg")


def test_a_practice_member_sees_only_their_practice(stack):
    browser, landed = stack.sign_in_with_requests(MEMBER_UID)
    page = browser.get(stack.web + "/")
    assert page.status_code == 200
    assert "F84001" in page.text and "F84002" not in page.text
    other = browser.get(f"{stack.web}/measures/{stack.measure_id}/chart.svg"
                        f"?practice_id=F84002")
    assert other.status_code == 404


def test_someone_without_a_usable_role_is_told_so(stack):
    browser, landed = stack.sign_in_with_requests(NOBODY_UID)
    assert landed.status_code == 200
    assert "You have no access to this service" in landed.text
    assert "pcn_session=" not in landed.headers.get("Set-Cookie", "")


def test_every_page_has_the_security_headers(stack):
    browser, _ = stack.sign_in_with_requests(LEAD_UID)
    for path in ("/", f"/measures/{stack.measure_id}", "/signed-out", "/accessibility"):
        response = browser.get(stack.web + path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert browser.get(stack.web + "/").headers["Cache-Control"] == "no-store"
    assert "public" in browser.get(stack.web + "/assets/nhsuk-frontend.min.css").headers[
        "Cache-Control"]


def test_a_form_without_its_csrf_token_is_refused_and_sign_out_ends_the_session(stack):
    browser, _ = stack.sign_in_with_requests(LEAD_UID)
    refused = browser.post(stack.web + "/sign-out", data={"csrf_token": "forged"},
                           allow_redirects=False)
    assert refused.status_code == 403
    assert browser.get(stack.web + "/", allow_redirects=False).status_code == 200
    csrf = browser.get(stack.web + "/").text.split("csrf_token=")[1].split('"')[0]
    out = browser.post(f"{stack.web}/sign-out?csrf_token={csrf}", allow_redirects=False)
    assert out.status_code == 303 and out.headers["Location"].startswith(stack.provider)
    assert browser.get(stack.web + "/", allow_redirects=False).status_code == 303


def test_an_idle_session_expires(stack):
    browser, _ = stack.sign_in_with_requests(LEAD_UID)
    site = get_extension(stack.container, WebSite).site
    real_clock = site.sessions.clock
    site.sessions.clock = lambda: real_clock() + 31 * 60
    try:
        assert browser.get(stack.web + "/", allow_redirects=False).status_code == 303
    finally:
        site.sessions.clock = real_clock


def test_return_to_stays_within_the_site(stack):
    for target in ("https://evil.example/x", "//evil.example/x", "/\\evil.example",
                   "javascript:alert(1)"):
        browser, landed = stack.sign_in_with_requests(
            LEAD_UID, path="/sign-in?return_to=" + requests.utils.quote(target, safe=""))
        assert landed.headers["Location"] == "/", target
    browser, landed = stack.sign_in_with_requests(LEAD_UID,
                                                  path=f"/measures/{stack.measure_id}?period=x")
    assert landed.headers["Location"] == f"/measures/{stack.measure_id}?period=x"


def test_upstream_services_refuse_other_networks_person_tokens(stack):
    site = get_extension(stack.container, WebSite).site
    south = site.tokens.sign("uid-south", "network_lead", "south-pcn")
    measurement = stack.config["WEB_MEASUREMENT_URL"]
    answer = requests.get(f"{measurement}/measures/{stack.measure_id}", timeout=5,
                          headers={"Authorization": f"Bearer {south}"})
    assert answer.status_code == 404
    north = site.tokens.sign("uid-north", "network_lead", "north-pcn")
    answer = requests.get(f"{measurement}/measures/{stack.measure_id}", timeout=5,
                          headers={"Authorization": f"Bearer {north}"})
    assert answer.status_code == 200
    forged = north[:-4] + ("AAAA" if not north.endswith("AAAA") else "BBBB")
    answer = requests.get(f"{measurement}/measures/{stack.measure_id}", timeout=5,
                          headers={"Authorization": f"Bearer {forged}"})
    assert answer.status_code == 401
