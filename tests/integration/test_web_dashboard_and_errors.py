"""The web dashboard's open training gaps (one capability report per page, with the person's
own rights: a lead sees the network's, a practice member their practice's) and the web
service's own error pages: unknown paths answer the NHS.UK "Page not found" page (HTML, 404,
with the security headers), not the kit's JSON; a page that fails or whose upstream does not
answer gets an NHS.UK error page too. The same pages in Chromium with axe:
tests/browser/test_web_errors_in_chromium.py."""
import dataclasses

import pytest
import requests
from nameko.testing.services import dummy  # noqa: F401 (nameko's test plugin is loaded)
from nameko.testing.utils import find_free_port, get_extension

from services.web import dashboard
from services.web.site import WebSite
from tests.web_stack import LEAD_UID, MEMBER_UID, provider_stopped_after
from tests.web_with_training import build_stack_with_training


@pytest.fixture
def stack(container_factory, service_config):
    with provider_stopped_after(build_stack_with_training(container_factory, service_config)) as stack:
        yield stack


def assert_secure_html(response, status):
    assert response.status_code == status, response.text[:300]
    assert response.headers["Content-Type"].startswith("text/html")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_the_lead_sees_the_network_s_open_training_gaps_from_one_call(stack):
    browser, _ = stack.sign_in_with_requests(LEAD_UID)
    page = browser.get(stack.web + "/")
    assert page.status_code == 200
    gaps = page.text.split('id="training-gaps"')[1]
    assert "2 overdue training requirements" in gaps
    assert '<a href="/people/gap-f1/training">Staff gap-f1</a>: Introduction, due 5 April 2020' \
        in gaps
    assert '<a href="/people/gap-f2/training">Staff gap-f2</a>: Introduction, due 3 May 2020' \
        in gaps
    # The summary table, the escalated items, the training report and the unread count: one
    # call each, however many people or practices.
    assert page.headers["X-Upstream-Calls"] == "4"


def test_a_practice_member_sees_only_their_practice_s_training_gaps(stack):
    browser, _ = stack.sign_in_with_requests(MEMBER_UID)
    page = browser.get(stack.web + "/")
    gaps = page.text.split('id="training-gaps"')[1]
    assert "1 overdue training requirement." in gaps
    assert "gap-f1" in gaps and "gap-f2" not in gaps


def test_the_table_still_shows_when_training_does_not_answer(stack):
    site = get_extension(stack.container, WebSite).site
    settings = site.settings
    site.settings = dataclasses.replace(settings,
                                        training_url=f"http://127.0.0.1:{find_free_port()}")
    try:
        browser, _ = stack.sign_in_with_requests(LEAD_UID)
        page = browser.get(stack.web + "/")
    finally:
        site.settings = settings
    assert page.status_code == 200
    assert "SMRs completed to the standard template" in page.text
    assert "Training gaps cannot be shown just now" in page.text


def test_unknown_paths_answer_the_page_not_found_page(stack):
    signed_out = requests.get(stack.web + "/no/such/page", timeout=10)
    assert_secure_html(signed_out, 404)
    assert "<h1>Page not found</h1>" in signed_out.text
    assert "If you typed the web address, check it was correct." in signed_out.text
    assert "Page not found – PCN Improvement Network</title>" in signed_out.text
    browser, _ = stack.sign_in_with_requests(LEAD_UID)
    for method, path in (("GET", "/no/such/page"), ("GET", "/measures/x/y/z"),
                         ("POST", "/nothing-here"), ("GET", "/inbox/"), ("POST", "/"),
                         ("GET", "/measures/no-such-measure")):
        answer = browser.request(method, stack.web + path, allow_redirects=False)
        assert_secure_html(answer, 404)
        assert "<h1>Page not found</h1>" in answer.text, (method, path)
        assert "Priya Shah" in answer.text  # the signed-in header, as on every page
    assert requests.head(stack.web + "/no/such/page", timeout=10).status_code == 404
    for missing_asset in ("/static/no-such.css", "/assets/no-such.js"):
        answer = requests.get(stack.web + missing_asset, timeout=10)
        assert_secure_html(answer, 404)
        assert "<h1>Page not found</h1>" in answer.text


def test_the_json_api_and_the_ops_endpoints_keep_their_json(stack):
    assert requests.get(stack.web + "/health", timeout=10).headers[
        "Content-Type"].startswith("application/json")
    refused = requests.put(stack.web + "/people/555", json={}, timeout=10)
    assert refused.status_code == 401
    assert refused.headers["Content-Type"].startswith("application/json")


def test_a_page_that_fails_answers_an_nhs_error_page(stack, monkeypatch):
    browser, _ = stack.sign_in_with_requests(LEAD_UID)

    def broken(summary):
        raise RuntimeError("a bug")
    monkeypatch.setattr(dashboard, "table", broken)
    failed = browser.get(stack.web + "/")
    assert_secure_html(failed, 500)
    assert "<h1>Sorry, there is a problem with the service</h1>" in failed.text
    assert "a bug" not in failed.text and "Traceback" not in failed.text


def test_an_upstream_that_does_not_answer_gets_an_nhs_error_page(stack):
    site = get_extension(stack.container, WebSite).site
    settings = site.settings
    browser, _ = stack.sign_in_with_requests(LEAD_UID)
    site.settings = dataclasses.replace(settings,
                                        measurement_url=f"http://127.0.0.1:{find_free_port()}")
    try:
        page = browser.get(stack.web + "/")
    finally:
        site.settings = settings
    assert_secure_html(page, 503)
    assert "<h1>Sorry, there is a problem with the service</h1>" in page.text
    assert "Try again later." in page.text
