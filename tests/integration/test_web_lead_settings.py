"""The lead's settings pages over HTTP, on the whole network (tests/work_stack.py): each page
as the network lead; "Page not found" for a practice member on every page and form (the
services and shared.access decide, not the web); 403 and nothing changed for every form sent
without its CSRF token; a key shown once that works, then stops working once revoked; a
refused measure shown with its error and nothing stored; routes, watchers and the training
framework changed through their forms."""
import re

import pytest

from tests.helpers import ServiceClient
from tests.web_stack import LEAD_UID, MEMBER_UID
from tests.work_stack import csrf_of, signed_in, work  # noqa: F401

pytestmark = pytest.mark.timeout(180)
PAGES = ("/settings", "/settings/practices", "/settings/measures", "/settings/notifications",
         "/settings/training", "/settings/notifications/routes/huddle.item_escalated")
FORMS = ("/settings/practices", "/settings/keys", "/settings/measures/new",
         "/settings/notifications/routes/huddle.item_escalated",
         "/settings/notifications/routes/huddle.item_escalated/reset",
         "/settings/notifications/watchers", "/settings/notifications/watchers/remove",
         "/settings/training")


def issued_key(page):
    return re.search(r'id="issued-key">([^<]+)<', page.text).group(1)


def key_count(work):
    return work.lead["projects"].get("/api-keys", params={"page_size": 200}).json()["total"]


def test_every_settings_page_is_the_leads_and_not_found_for_anyone_else(work):
    lead, landed = signed_in(work, LEAD_UID, "/settings")
    assert landed.status_code == 200 and "Practices and their keys" in landed.text
    assert 'href="/settings"' in landed.text  # the header's Settings
    for path in PAGES:
        page = lead.get(work.web + path)
        assert page.status_code == 200, (path, page.text[:300])
        assert page.headers["Cache-Control"] == "no-store"
    measure_form = lead.get(f"{work.web}/settings/measures/new",
                            params={"project_id": work.stack.project_id})
    assert measure_form.status_code == 200 and "Operational definition" in measure_form.text

    member, home = signed_in(work, MEMBER_UID, "/")
    assert 'href="/settings"' not in home.text
    token = csrf_of(home)
    for path in PAGES + ("/settings/keys/anything/revoke",
                         f"/settings/measures/new?project_id={work.stack.project_id}"):
        assert member.get(work.web + path).status_code == 404, path
    before = key_count(work)
    for path in FORMS:
        answer = member.post(work.web + path, data={
            "csrf_token": token, "role": "practice", "practice_key.practice_id": "F84001",
            "project_id": work.stack.project_id}, allow_redirects=False)
        assert answer.status_code == 404, path
        assert "Page not found" in answer.text
    assert key_count(work) == before

    # Without the token (or with another's) every form answers 403 and changes nothing.
    for path in FORMS + ("/settings/keys/anything/revoke",):
        for data in ({}, {"csrf_token": token}):
            answer = lead.post(work.web + path, data={
                **data, "role": "practice", "practice_key.practice_id": "F84002",
                "practice.ods_code": "F84009", "practice.name": "Nine"},
                allow_redirects=False)
            assert answer.status_code == 403, path
    assert key_count(work) == before
    practices = work.lead["projects"].get("/practices").json()["items"]
    assert "F84009" not in [p["ods_code"] for p in practices]


def test_a_key_is_shown_once_works_and_stops_working_once_revoked(work):
    lead, page = signed_in(work, LEAD_UID, "/settings/practices")
    refused = lead.post(f"{work.web}/settings/keys", data={
        "csrf_token": csrf_of(page), "role": "person", "person_key.staff_id": "",
        "person_key.practice_id": "F84002", "person_key.label": "Typed and kept"},
        allow_redirects=False)
    assert refused.status_code == 422
    assert "<title>Error: Practices and their keys" in refused.text
    assert 'href="#person_key-staff_id"' in refused.text and "Typed and kept" in refused.text

    key_form = {"csrf_token": csrf_of(page), "role": "practice",
                "practice_key.practice_id": "F84002", "practice_key.label": "F84002 uploads"}
    before = key_count(work)
    issued = lead.post(f"{work.web}/settings/keys", data=key_form, allow_redirects=False)
    assert issued.status_code == 200 and issued.headers["Cache-Control"] == "no-store"
    assert "It will not be shown again" in issued.text
    key = issued_key(issued)
    # A reload of that answer sends the form again: told so, nothing issued, no key shown.
    again = lead.post(f"{work.web}/settings/keys", data=key_form, allow_redirects=False)
    assert again.status_code == 409 and "This was sent already" in again.text
    assert "revoke it and issue another" in again.text and 'id="issued-key"' not in again.text
    assert key_count(work) == before + 1
    projects = ServiceClient(work.stack.config["WEB_PROJECTS_URL"][len("http://"):], key)
    assert projects.get("/practices").status_code == 200
    listing = lead.get(f"{work.web}/settings/practices")
    assert key not in listing.text and "F84002 uploads" in listing.text
    key_id = next(k["key_id"] for k in work.lead["projects"].get(
        "/api-keys", params={"page_size": 200}).json()["items"]
        if k.get("label") == "F84002 uploads")

    confirm = lead.get(f"{work.web}/settings/keys/{key_id}/revoke")
    assert confirm.status_code == 200
    assert "Are you sure you want to revoke the key “F84002 uploads”?" in confirm.text
    revoked = lead.post(f"{work.web}/settings/keys/{key_id}/revoke",
                        data={"csrf_token": csrf_of(confirm)}, allow_redirects=False)
    assert revoked.status_code == 303
    assert revoked.headers["Location"] == "/settings/practices?done=revoked"
    assert projects.get("/practices").status_code == 401
    assert lead.get(f"{work.web}/settings/keys/{key_id}/revoke").status_code == 404

    person = lead.post(f"{work.web}/settings/keys", data={
        "csrf_token": csrf_of(page), "role": "person", "person_key.staff_id": "nurse-02",
        "person_key.practice_id": "F84002", "person_key.label": "Kim's app"},
        allow_redirects=False)
    assert person.status_code == 200 and "nurse-02" in person.text
    network_person = lead.post(f"{work.web}/settings/keys", data={
        "csrf_token": csrf_of(page), "role": "person", "person_key.staff_id": "coach-01",
        "person_key.practice_id": "", "person_key.label": "QI coach"}, allow_redirects=False)
    assert network_person.status_code == 200 and "None (the network)" in network_person.text
    coach = ServiceClient(work.stack.config["WEB_NOTIFICATIONS_URL"][len("http://"):],
                          issued_key(network_person))
    # A person key the service knows (401 otherwise), of someone not on the list yet.
    assert coach.get("/preferences").status_code == 404

    registered = lead.post(f"{work.web}/settings/practices", data={
        "csrf_token": csrf_of(page), "practice.ods_code": "f84003",
        "practice.name": "Riverside Surgery"}, allow_redirects=False)
    assert registered.status_code == 303, registered.text[:500]
    assert "Riverside Surgery" in lead.get(work.web + registered.headers["Location"]).text


def test_measures_routes_watchers_and_training_through_their_forms(work):
    lead, page = signed_in(work, LEAD_UID, "/settings/measures")
    token = csrf_of(page)
    project_id = work.stack.project_id
    measures = f"/projects/{project_id}/measures"
    before = len(work.lead["measurement"].get(measures).json()["items"])
    typed = {"csrf_token": token, "project_id": project_id, "name": "SMRs to the template",
             "type": "process", "value_kind": "proportion", "unit": "reviews",
             "frequency": "week", "operational_definition": "Reviews on the SMR template, "
             "of all reviews completed in the week.", "improvement": "increase",
             "target": "80", "fix_after_n_points": "5"}
    form = f"{work.web}/settings/measures/new?project_id={project_id}"
    refused = lead.post(form, data=typed, allow_redirects=False)
    assert refused.status_code == 422
    assert 'href="#fix_after_n_points"' in refused.text and "SMRs to the template" in refused.text
    too_big = lead.post(form, data={**typed, "target": "150", "fix_after_n_points": ""},
                        allow_redirects=False)
    assert too_big.status_code == 422 and "from 0 to 100" in too_big.text
    assert len(work.lead["measurement"].get(measures).json()["items"]) == before
    defined = lead.post(form, data={**typed, "fix_after_n_points": "12"},
                        allow_redirects=False)
    assert defined.status_code == 303
    stored = [m for m in work.lead["measurement"].get(measures).json()["items"]
              if m["name"] == "SMRs to the template"]
    assert [(m["target"], m["fix_after_n_points"]) for m in stored] == [(0.8, 12)]
    assert "80%" in lead.get(work.web + defined.headers["Location"]).text

    route = f"{work.web}/settings/notifications/routes/huddle.item_escalated"
    nobody = lead.post(route, data={"csrf_token": token, "rules.0.mode": "digest",
                                    "rules.0.channels": ["inbox"]}, allow_redirects=False)
    assert nobody.status_code == 422 and 'href="#rules-0-audience"' in nobody.text
    changed = lead.post(route, data={
        "csrf_token": token, "rules.0.audience": ["named_leader", "network_lead"],
        "rules.0.mode": "digest", "rules.0.channels": ["inbox", "email"]},
        allow_redirects=False)
    assert changed.status_code == 303
    routes = work.lead["notifications"].get("/networks/north-pcn/routes").json()["items"]
    escalated = next(r for r in routes if r["event_type"] == "huddle.item_escalated")
    assert not escalated["default"]
    assert escalated["rules"][0]["audience"] == ["named_leader", "network_lead"]
    assert escalated["rules"][0]["mode"] == "digest"
    assert lead.post(route + "/reset", data={"csrf_token": token},
                     allow_redirects=False).status_code == 303
    routes = work.lead["notifications"].get("/networks/north-pcn/routes").json()["items"]
    assert next(r for r in routes if r["event_type"] == "huddle.item_escalated")["default"]

    assert work.lead["notifications"].post("/recipients", {
        "staff_id": "lead-01", "network_id": "north-pcn", "role": "network_lead",
        "scope": {"kind": "network", "id": "north-pcn"}}).status_code == 201
    watchers = f"{work.web}/settings/notifications/watchers"
    unchosen = lead.post(watchers, data={"csrf_token": token, "watch.staff_id": "lead-01"},
                         allow_redirects=False)
    assert unchosen.status_code == 422 and 'href="#watch-subject"' in unchosen.text
    added = lead.post(watchers, data={"csrf_token": token, "watch.staff_id": "lead-01",
                                      "watch.subject": f"project:{project_id}"},
                      allow_redirects=False)
    assert added.status_code == 303
    assert work.lead["notifications"].get("/recipients/lead-01/watching").json()["items"]
    removed = lead.post(watchers + "/remove", data={
        "csrf_token": token, "staff_id": "lead-01", "subject_kind": "project",
        "subject_id": project_id}, allow_redirects=False)
    assert removed.status_code == 303
    assert work.lead["notifications"].get("/recipients/lead-01/watching").json()["items"] == []

    training = lead.get(f"{work.web}/settings/training")
    values = dict(re.findall(r'name="((?:requirements|targets)\.[^"]+)"[^>]*value="([^"]*)"',
                             training.text))
    values.update({name: level for name, level in re.findall(
        r'name="((?:requirements|targets)\.[^"]+\.level)"[\s\S]*?<option value="([^"]+)" selected',
        training.text)})
    assert values["requirements.0.within_days"] == "90"
    assert values["targets.introduction_share_per_year"] == "10"
    days_refused = lead.post(f"{work.web}/settings/training", data={
        **values, "csrf_token": token, "requirements.0.within_days": "5000"},
        allow_redirects=False)
    assert days_refused.status_code == 422
    assert 'href="#requirements-0-within_days"' in days_refused.text
    assert 'value="5000"' in days_refused.text
    framework = work.lead["training"].get("/frameworks/north-pcn").json()
    assert framework["requirements"][0]["within_days"] == 90
    saved = lead.post(f"{work.web}/settings/training", data={
        **values, "csrf_token": token, "requirements.0.within_days": "60",
        "targets.introduction_share_per_year": "15"}, allow_redirects=False)
    assert saved.status_code == 303, saved.text[:2000]
    framework = work.lead["training"].get("/frameworks/north-pcn").json()
    assert framework["requirements"][0]["within_days"] == 60
    assert framework["targets"]["introduction_share_per_year"] == 0.15
    # The coverage date: the NHS.UK date input, a date that is not real refused with the link
    # to its day box, then a real one kept by the training service and shown back in the boxes.
    date_refused = lead.post(f"{work.web}/settings/training", data={
        **values, "csrf_token": token, "targets.coverage.by_day": "31",
        "targets.coverage.by_month": "2", "targets.coverage.by_year": "2027"},
        allow_redirects=False)
    assert date_refused.status_code == 422
    assert 'href="#targets-coverage-by-day"' in date_refused.text
    assert "Coverage by: Enter a real date" in date_refused.text
    assert work.lead["training"].get("/frameworks/north-pcn").json()["targets"][
        "coverage"]["by"] is None
    dated = lead.post(f"{work.web}/settings/training", data={
        **values, "csrf_token": token, "targets.coverage.by_day": "31",
        "targets.coverage.by_month": "3", "targets.coverage.by_year": "2027"},
        allow_redirects=False)
    assert dated.status_code == 303, dated.text[:2000]
    assert work.lead["training"].get("/frameworks/north-pcn").json()["targets"][
        "coverage"]["by"] == "2027-03-31"
    shown = lead.get(f"{work.web}/settings/training").text
    assert re.search(r'name="targets\.coverage\.by_month"[^>]*value="3"', shown)
