"""Training in the browser, over HTTP on the whole network (tests/work_stack.py): the capability
pyramid with who needs what next, offerings and a cohort of one place, enrolment onto it and
onto its waiting list, a withdrawal moving the first waiting person up, a session's register
marked and imported as CSV (a bad row refuses the whole file, each row named by its line),
the leader's assessment refused then saved; every form refused without its CSRF token; a
practice member of F84002 reaching nothing of F84001's people. In Chromium:
tests/browser/test_training_in_chromium.py."""
import re
from datetime import datetime, timedelta, timezone

from nameko.testing.services import dummy  # noqa: F401 (nameko's test plugin is loaded)

from tests.web_stack import LEAD_UID, MEMBER_UID
from tests.work_stack import OTHER_MEMBER_UID, csrf_of, work  # noqa: F401

# F84001's people besides the signed-in practice member (nurse-01, a leader of the team).
PERSON_A, PERSON_B, OTHER_PRACTICE = "nurse-03", "nurse-05", "nurse-07"


class TrainingWorld:
    """What the journeys need in training, set up with the network lead's key: staff of
    F84001 (nurse-01 leads team pharmacy) and one of F84002, an offering awarding foundations
    and a cohort of one place, with one session a week ago and one a week ahead (the services
    run on the real clock, so the dates are counted from it)."""

    def __init__(self, work):  # noqa: F811 (the fixture's name)
        self.lead = work.lead["training"]
        today = datetime.now(timezone.utc).date()
        started = (today - timedelta(days=400)).isoformat()
        rows = [{"staff_id": staff_id, "network_id": "north-pcn", "practice_id": practice_id,
                 "team": "pharmacy", "role": "practice_nurse", "leader": leader,
                 "started_on": started}
                for staff_id, practice_id, leader in (
                    ("nurse-01", "F84001", True), (PERSON_A, "F84001", False),
                    (PERSON_B, "F84001", False), (OTHER_PRACTICE, "F84002", False))]
        answer = self.lead.post("/staff-imports", {"rows": rows})
        assert answer.status_code == 201, answer.text
        offering = self.lead.post("/offerings", {
            "network_id": "north-pcn", "kind": "course", "title": "Foundations of improvement",
            "awards_level": "foundations", "duration_hours": 6, "capacity": 12})
        assert offering.status_code == 201, offering.text
        self.offering_id = offering.json()["offering_id"]
        cohort = self.lead.post("/cohorts", {
            "offering_id": self.offering_id, "capacity": 1, "session_dates": [
                (today - timedelta(days=7)).isoformat(), (today + timedelta(days=7)).isoformat()]})
        assert cohort.status_code == 201, cohort.text
        self.cohort_id = cohort.json()["cohort_id"]
        self.cohort_path = f"/training/cohorts/{self.cohort_id}"
        self.register_path = f"{self.cohort_path}/sessions/s1/register"

    def cohort(self):
        return self.lead.get(f"/cohorts/{self.cohort_id}").json()

    def person(self, staff_id):
        return self.lead.get(f"/staff/{staff_id}").json()


def summary_links(page):
    """The error summary's (href, text) pairs."""
    summary = page.text.split('nhsuk-error-summary__list', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'<a href="([^"]+)"\s*>\s*([^<]+?)\s*</a>', summary)


def banner(page):
    found = re.search(r'nhsuk-notification-banner__heading">\s*([^<]+?)\s*<', page.text) or \
        re.search(r'nhsuk-notification-banner__content">\s*<p[^>]*>\s*([^<]+?)\s*<', page.text)
    return found and found.group(1)


def post(browser, work, path, data, **kwargs):  # noqa: F811
    return browser.post(work.stack.web + path, data=data, allow_redirects=False, **kwargs)


def test_enrol_wait_withdraw_and_the_register(work):  # noqa: F811
    world = TrainingWorld(work)
    browser, _ = work.sign_in(MEMBER_UID, world.cohort_path)
    cohort = browser.get(work.stack.web + world.cohort_path)
    assert cohort.status_code == 200 and "1 of 1 place left" in cohort.text
    assert "Foundations of improvement" in cohort.text
    csrf = csrf_of(cohort)

    enrolled = post(browser, work, f"{world.cohort_path}/enrolments",
                    {"csrf_token": csrf, "staff_id": PERSON_A})
    assert enrolled.status_code == 303
    shown = browser.get(work.stack.web + enrolled.headers["Location"])
    assert f"{PERSON_A} is enrolled." in shown.text and "Full: nobody waiting" in shown.text
    waiting = post(browser, work, f"{world.cohort_path}/enrolments",
                   {"csrf_token": csrf, "staff_id": PERSON_B})
    shown = browser.get(work.stack.web + waiting.headers["Location"])
    assert f"{PERSON_B} joined the waiting list at position 1." in shown.text
    assert f'id="waiting-{PERSON_B}"' in shown.text

    # Refused by training: already on the cohort, and another practice's person (absent).
    again = post(browser, work, f"{world.cohort_path}/enrolments",
                 {"csrf_token": csrf, "staff_id": PERSON_A})
    assert again.status_code == 422 and again.text.count("<title>Error: ") == 1
    assert summary_links(again) == [
        ("#staff_id", f"Person to enrol: {PERSON_A} is on this cohort already")]
    other = post(browser, work, f"{world.cohort_path}/enrolments",
                 {"csrf_token": csrf, "staff_id": OTHER_PRACTICE})
    assert other.status_code == 422
    assert summary_links(other) == [("#staff_id", f"Person to enrol: {OTHER_PRACTICE} not found")]
    assert f'<option value="{OTHER_PRACTICE}" selected' in other.text  # what was chosen, kept

    withdrawn = post(browser, work, f"{world.cohort_path}/withdrawals",
                     {"csrf_token": csrf, "staff_id": PERSON_A})
    shown = browser.get(work.stack.web + withdrawn.headers["Location"])
    assert f"{PERSON_A} withdrew; {PERSON_B} moved up from the waiting list." in shown.text
    state = world.cohort()
    assert [(e["staff_id"], e["state"]) for e in state["enrolments"]] == [
        (PERSON_A, "withdrawn"), (PERSON_B, "enrolled")] and state["waiting"] == []

    # The register of session 1 (a week ago): marked, then a file with a bad row refused whole.
    register = browser.get(work.stack.web + world.register_path)
    assert register.status_code == 200 and f'name="attendance.{PERSON_B}"' in register.text
    marked = post(browser, work, world.register_path,
                  {"csrf_token": csrf, f"attendance.{PERSON_B}": "late"})
    assert marked.status_code == 303 and marked.headers["Location"].endswith("?saved=marks")
    assert "The register is saved." in browser.get(
        work.stack.web + marked.headers["Location"]).text
    bad_file = f"staff_id,status\n{PERSON_B},present\n{PERSON_A},maybe\nnurse-99,present\n"
    refused = post(browser, work, world.register_path + "-file", {"csrf_token": csrf},
                   files={"register_file": ("register.csv", bad_file.encode(), "text/csv")})
    assert refused.status_code == 422
    links = summary_links(refused)
    assert [href for href, _ in links] == ["#register_file"] * len(links)
    assert any(text.startswith("Line 3: status: ") for _, text in links), links
    assert "Nothing was recorded: correct the rows listed" in refused.text
    assert world.cohort()["enrolments"][1]["attendance"] == {"s1": "late"}  # nothing recorded
    good = post(browser, work, world.register_path + "-file", {"csrf_token": csrf},
                files={"register_file": ("r.csv", f"staff_id,status\r\n{PERSON_B},present\r\n"
                                         .encode("utf-8-sig"), "text/csv")})
    assert good.status_code == 303, good.text
    assert world.cohort()["enrolments"][1]["attendance"] == {"s1": "present"}
    # Session 2 is a week ahead: the training service refuses its marks, named per person.
    ahead = post(browser, work, f"{world.cohort_path}/sessions/s2/register",
                 {"csrf_token": csrf, f"attendance.{PERSON_B}": "present"})
    assert ahead.status_code == 422
    assert summary_links(ahead)[0][0] == f"#attendance-{PERSON_B}"
    assert "still ahead" in summary_links(ahead)[0][1]
    missing = post(browser, work, world.register_path + "-file", {"csrf_token": csrf})
    assert missing.status_code == 422 and "Select a CSV file of the register" in missing.text

    # Without the CSRF token (or a forged one): 403, and nothing changes.
    before = world.cohort()
    for token in ({}, {"csrf_token": "forged"}):
        for path, data in ((f"{world.cohort_path}/enrolments", {"staff_id": PERSON_A}),
                           (f"{world.cohort_path}/withdrawals", {"staff_id": PERSON_B}),
                           (world.register_path, {f"attendance.{PERSON_B}": "absent"}),
                           (world.register_path + "-file", {}),
                           (f"/people/{PERSON_B}/assessment", {"assessed_level": "coach"})):
            assert post(browser, work, path, {**token, **data}).status_code == 403, path
    assert world.cohort() == before and world.person(PERSON_B)["assessments"] == []


def test_pyramid_assessment_and_nothing_of_another_practice(work):  # noqa: F811
    world = TrainingWorld(work)
    browser, _ = work.sign_in(MEMBER_UID, "/training")
    pyramid = browser.get(work.stack.web + "/training")
    assert pyramid.status_code == 200
    assert "<h1>Capability of practice F84001</h1>" in pyramid.text
    assert 'src="data:image/svg+xml;base64,' in pyramid.text
    assert 'alt="Capability pyramid of practice F84001, ' in pyramid.text
    assert "Who needs what next" in pyramid.text
    # gap-f1 of tests/web_with_training.py is overdue for the introduction since 2020.
    assert '<a href="/people/gap-f1/training">gap-f1</a>' in pyramid.text
    assert "gap-f2" not in pyramid.text
    offerings = browser.get(work.stack.web + "/training/offerings")
    assert f'href="{world.cohort_path}"' in offerings.text and "1 of 1 place left" in \
        offerings.text
    # The catalogue page's calls do not grow with the catalogue: a second offering with a
    # cohort shows under its own heading for the same number of upstream calls.
    calls = offerings.headers["X-Upstream-Calls"]
    webinar = world.lead.post("/offerings", {
        "network_id": "north-pcn", "kind": "webinar", "title": "SPC in an hour",
        "refresher_for": "foundations", "duration_hours": 1, "capacity": 40})
    assert webinar.status_code == 201, webinar.text
    webinar_cohort = world.lead.post("/cohorts", {
        "offering_id": webinar.json()["offering_id"],
        "session_dates": [(datetime.now(timezone.utc).date() + timedelta(days=14)).isoformat()]})
    assert webinar_cohort.status_code == 201, webinar_cohort.text
    offerings = browser.get(work.stack.web + "/training/offerings")
    webinar_section = offerings.text.split("SPC in an hour", 1)[1]
    assert f'href="/training/cohorts/{webinar_cohort.json()["cohort_id"]}"' in webinar_section
    assert "40 of 40 places left" in webinar_section
    assert world.cohort_path not in webinar_section  # the first cohort stays with its offering
    assert offerings.headers["X-Upstream-Calls"] == calls

    form = browser.get(work.stack.web + f"/people/{PERSON_A}/assessment")
    assert form.status_code == 200 and 'value="nurse-01"' in form.text  # the assessor: them
    csrf = csrf_of(form)
    refused = post(browser, work, f"/people/{PERSON_A}/assessment", {
        "csrf_token": csrf, "notes": "Leads the huddle well", "assessor_staff_id": "nurse-01",
        "need_offering_id": world.offering_id})
    assert refused.status_code == 422
    assert [href for href, _ in summary_links(refused)] == [
        "#assessed_level", "#training_need-by-day"]
    assert "Leads the huddle well</textarea>" in refused.text
    assert f'<option value="{world.offering_id}" selected' in refused.text
    not_a_leader = post(browser, work, f"/people/{PERSON_A}/assessment", {
        "csrf_token": csrf, "assessed_level": "foundations", "assessor_staff_id": PERSON_B})
    assert not_a_leader.status_code == 422
    assert summary_links(not_a_leader)[0][0] == "#assessor_staff_id"
    next_year = datetime.now(timezone.utc).year + 1
    saved = post(browser, work, f"/people/{PERSON_A}/assessment", {
        "csrf_token": csrf, "assessed_level": "foundations", "notes": "Leads the huddle well",
        "assessor_staff_id": "nurse-01", "need_offering_id": world.offering_id,
        "need_by_day": "31", "need_by_month": "3", "need_by_year": str(next_year)})
    assert saved.status_code == 303
    record = browser.get(work.stack.web + saved.headers["Location"])
    assert f"Your assessment of {PERSON_A} is saved." in record.text
    assert "Leads the huddle well" in record.text
    assert f"Foundations of improvement by 31 March {next_year}" in record.text
    assert world.person(PERSON_A)["assessments"][0]["assessed_by"] == "nurse-01"

    # A practice member of F84002: F84001's records, forms and pyramid are "Page not found".
    other, _ = work.sign_in(OTHER_MEMBER_UID, "/training")
    for path in (f"/people/{PERSON_A}/training", f"/people/{PERSON_A}/assessment",
                 "/training?practice_id=F84001"):
        page = other.get(work.stack.web + path)
        assert page.status_code == 404 and "Page not found" in page.text, path
    cohort = other.get(work.stack.web + world.cohort_path)
    assert cohort.status_code == 200 and PERSON_A not in cohort.text
    other_csrf = csrf_of(cohort)
    for path, data in ((f"/people/{PERSON_A}/assessment", {"assessed_level": "coach"}),
                       (f"{world.cohort_path}/withdrawals", {"staff_id": PERSON_A})):
        page = post(other, work, path, {"csrf_token": other_csrf, **data})
        assert page.status_code == 404, path
    assert len(world.person(PERSON_A)["assessments"]) == 1

    # The network lead sees the network, and each practice in turn.
    lead, _ = work.sign_in(LEAD_UID, "/training")
    network = lead.get(work.stack.web + "/training")
    assert "<h1>Capability of the network north-pcn</h1>" in network.text
    assert '<option value="F84002"' in network.text
    practice = lead.get(work.stack.web + "/training?practice_id=F84002")
    assert "<h1>Capability of practice F84002</h1>" in practice.text and "gap-f2" in practice.text
    assert lead.get(work.stack.web + "/training?practice_id=not-a-code").status_code == 404
