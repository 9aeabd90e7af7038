"""A whole network behind the web service, for the web's integration and browser tests:
projects, measurement and notifications containers on the test broker, the web service, and
the local OpenID provider (tools/oidc_provider, run from its own virtualenv .venv-oidc)."""
import contextlib
import pathlib
import subprocess
import time
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import quote

import pytest
import requests
from nameko.testing.utils import find_free_port

from tests.helpers import ServiceClient, services_config_yaml, started, with_own_address

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
PROVIDER_PYTHON = REPO_ROOT / ".venv-oidc" / "bin" / "python"
LEAD_UID, MEMBER_UID, NOBODY_UID = "555000000101", "555000000102", "555000000103"
# Monday 6 July 2026 onwards: fixed periods, so nothing depends on the day the tests run.
FIRST_WEEK = date(2026, 7, 6)
WEEKS = 20


def cis2_claims(uid, name, roles):
    return {"nhsid_useruid": uid, "name": name,
            "nhsid_nrbac_roles": [{"person_roleid": f"role-{uid}", "org_code": org,
                                   "role_code": code} for org, code in roles]}


def wait_until(check, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class WebStack:
    web: str
    provider: str
    keys: dict
    measure_id: str
    project_id: str
    item_id: str
    config: dict
    container: object

    def sign_in_with_requests(self, uid, path="/"):
        """Sign ``uid`` in as a browser would (cookies, redirects), without a browser."""
        browser = requests.Session()
        sign_in = path
        if not path.startswith("/sign-in"):
            to_sign_in = browser.get(self.web + path, allow_redirects=False)
            assert to_sign_in.status_code == 303, to_sign_in.text
            sign_in = to_sign_in.headers["Location"]
        to_provider = browser.get(self.web + sign_in, allow_redirects=False)
        assert to_provider.status_code == 302 and to_provider.headers["Location"].startswith(
            self.provider), to_provider.text
        back = browser.post(to_provider.headers["Location"], data={"sub": uid},
                            allow_redirects=False)
        assert back.status_code == 302, back.text
        landed = browser.get(back.headers["Location"], allow_redirects=False)
        return browser, landed


def start_provider(web_address):
    if not PROVIDER_PYTHON.exists():
        pytest.fail(".venv-oidc is missing: run `make .venv-oidc` (make test builds it)")
    port = find_free_port()
    process = subprocess.Popen(
        [str(PROVIDER_PYTHON), "-m", "tools.oidc_provider", "--port", str(port),
         "--client-jwks-url", f"http://{web_address}/oidc/jwks.json"],
        cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"

    def answers():
        try:
            return requests.get(base + "/.well-known/openid-configuration", timeout=1).ok
        except requests.RequestException:
            return False
    wait_until(answers, "the local OpenID provider", timeout=30)
    return process, base


@contextlib.contextmanager
def provider_stopped_after(built):
    """``(stack, provider)`` from a ``build_*stack``: the stack, its OpenID provider's process
    stopped at the end."""
    stack, provider = built
    try:
        yield stack
    finally:
        provider.terminate()
        provider.wait(timeout=10)


def build_stack(container_factory, service_config, with_notifications=False,
                split_provider=False):
    """The stack and the provider's process. ``split_provider``: the web knows the provider
    by two names of the one server, as in compose: ``localhost`` is the issuer it talks to
    (back channel), ``127.0.0.1`` its WEB_OIDC_BROWSER_URL (``stack.provider``)."""
    from services.measurement.service import MeasurementService
    from services.projects.service import ProjectsService
    from services.web.service import WebService

    projects_config = service_config
    started(container_factory, ProjectsService, projects_config)
    measurement_config = with_own_address(service_config)
    started(container_factory, MeasurementService, measurement_config)
    urls = {"WEB_PROJECTS_URL": f"http://{projects_config['WEB_SERVER_ADDRESS']}",
            "WEB_MEASUREMENT_URL": f"http://{measurement_config['WEB_SERVER_ADDRESS']}"}
    notifications_config = None
    if with_notifications:
        from services.notifications.service import NotificationsService
        # services/config.yaml's notifications settings (it refuses to start without them)
        notifications_config = {**services_config_yaml(), **with_own_address(service_config)}
        started(container_factory, NotificationsService, notifications_config)
        urls["WEB_NOTIFICATIONS_URL"] = f"http://{notifications_config['WEB_SERVER_ADDRESS']}"
    web_config = with_own_address(service_config)
    process, provider = start_provider(web_config["WEB_SERVER_ADDRESS"])
    web_config.update(urls, WEB_OIDC_ISSUER=provider,
                      WEB_BASE_URL=f"http://{web_config['WEB_SERVER_ADDRESS']}")
    if split_provider:
        web_config.update(WEB_OIDC_ISSUER=provider.replace("//127.0.0.1:", "//localhost:"),
                          WEB_OIDC_BROWSER_URL=provider)
    web_container = started(container_factory, WebService, web_config)
    admin = ServiceClient(projects_config["WEB_SERVER_ADDRESS"])
    keys = register_network(admin)
    project_id, measure_id = measure_network(admin, keys, ServiceClient(
        measurement_config["WEB_SERVER_ADDRESS"]))
    item_id = escalate_an_item(admin, keys)
    link_people(web_config, keys, provider)
    stack = WebStack(f"http://{web_config['WEB_SERVER_ADDRESS']}", provider, keys, measure_id,
                     project_id, item_id, web_config, web_container)
    stack.notifications_config = notifications_config
    return stack, process


def register_network(admin):
    for network_id in ("north-pcn", "south-pcn"):
        assert admin.post("/networks", {"id": network_id, "name": network_id}).status_code == 201
    for code, network_id in (("F84001", "north-pcn"), ("F84002", "north-pcn"),
                             ("Y00001", "south-pcn")):
        assert admin.post("/practices", {"ods_code": code, "name": f"Practice {code}",
                                         "network_id": network_id}).status_code == 201
    keys = {}
    response = admin.post("/api-keys", {"role": "network_lead", "network_id": "north-pcn"})
    keys["lead_key"] = response.json()["api_key"]
    response = admin.post("/api-keys", {"role": "practice", "practice_id": "F84001"})
    keys["F84001"] = response.json()["api_key"]
    response = admin.post("/api-keys", {"role": "network_lead", "network_id": "south-pcn"})
    keys["south_lead_key"] = response.json()["api_key"]
    return keys


def measure_network(admin, keys, measurement):
    lead = admin.as_key(keys["lead_key"])
    project = lead.post("/projects", {
        "title": "Standardise structured medication reviews", "scope": "network",
        "practice_ids": ["F84001", "F84002"],
        "aim": {"what": "SMRs to the template", "how_much": "90%", "by_when": "2027-09-30"}})
    assert project.status_code == 201, project.text
    project_id = project.json()["id"]
    lead_m = measurement.as_key(keys["lead_key"])
    wait_until(lambda: lead_m.get(f"/projects/{project_id}/measures").ok,
               "measurement to learn the project")
    measure = lead_m.post(f"/projects/{project_id}/measures", {
        "name": "SMRs completed to the standard template", "type": "process",
        "value_kind": "proportion", "unit": "share", "frequency": "week",
        "operational_definition": "complete SMRs over all SMRs", "improvement": "increase",
        "target": 0.8})
    assert measure.status_code == 201, measure.text
    measure_id = measure.json()["id"]
    rows = []
    for index in range(WEEKS):
        week = FIRST_WEEK + timedelta(weeks=index)
        rate = 0.88 if index >= 12 else 0.42
        for n, code in enumerate(("F84001", "F84002")):
            if code == "F84002" and index == WEEKS - 1:
                continue  # F84002 has not submitted the last week
            rows.append({"measure_id": measure_id, "practice_id": code,
                         "period": week.isoformat(), "denominator": 20,
                         "numerator": round(20 * (rate + ((index * 3 + n) % 5 - 2) / 100))})
    assert lead_m.post("/submissions/batch", {"rows": rows}).status_code == 200
    wait_until(lambda: len([s for m in lead_m.get("/networks/north-pcn/spc-summary").json()[
        "items"] for s in m["series"]]) == 3
        and all(s["points"] >= WEEKS - 1 for m in lead_m.get(
            "/networks/north-pcn/spc-summary").json()["items"] for s in m["series"]),
        "the summary of every series", timeout=60)
    return project_id, measure_id


def escalate_an_item(admin, keys):
    practice = admin.as_key(keys["F84001"])
    item = practice.post("/huddle-items", {"team": "pharmacy", "description":
                                           "template missing in EMIS", "raised_by": "nurse-12"})
    assert item.status_code == 201, item.text
    assert practice.post(f"/huddle-items/{item.json()['id']}/escalate",
                         {"escalated_to": "lead-01",
                          "reason": "the template needs the lead's sign-off"}).status_code == 200
    return item.json()["id"]


def link_people(web_config, keys, provider):
    """The web's people links and role mapping, set with the lead's key, and the provider's
    users: the lead, a practice member of F84001, someone with no usable role."""
    web_api = ServiceClient(web_config["WEB_SERVER_ADDRESS"], keys["lead_key"])
    for uid, staff in ((LEAD_UID, "lead-01"), (MEMBER_UID, "nurse-01"),
                       (NOBODY_UID, "clerk-01")):
        assert web_api.request("PUT", f"/people/{uid}", {
            "staff_id": staff, "network_id": "north-pcn"}).status_code == 200
    assert web_api.request("PUT", "/networks/north-pcn/role-mapping", {
        "org_codes": {"U00001": "network", "F84001": "practice", "F84002": "practice"},
        "role_codes": {"R8003": "network_lead", "R0001": "practice_member",
                       "R0002": "practice_lead"}}).status_code == 200
    for uid, claims in (
            (LEAD_UID, cis2_claims(LEAD_UID, "Priya Shah", [("U00001", "R8003")])),
            (MEMBER_UID, cis2_claims(MEMBER_UID, "Sam Okafor", [("F84001", "R0001")])),
            (NOBODY_UID, cis2_claims(NOBODY_UID, "Alex Chen", [("X99999", "R0001")]))):
        assert requests.put(f"{provider}/users/{quote(uid)}", json=claims,
                            timeout=5).status_code == 204
