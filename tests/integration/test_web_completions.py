"""Completing a person's enrolment from the cohort page, over HTTP on the whole network
(tests/work_stack.py): the practice member of F84001 opens the confirmation page of a person on
a programme (their attendance against the criteria); a completion short of the attendance is
refused with the training service's reason in the error summary and nothing awarded, as are
one of someone not on the cohort, the leaders' programme without a live project and a cohort
with a session still ahead; without the CSRF token it is 403, and a practice member
of F84002 finds "Page not found"; once the attendance is made up it is recorded, once, and the
person holds the level. In Chromium: tests/browser/test_training_in_chromium.py."""
from datetime import datetime, timedelta, timezone

from nameko.testing.services import dummy  # noqa: F401 (nameko's test plugin is loaded)

from tests.integration.test_web_training import (PERSON_A, PERSON_B, TrainingWorld, banner,
                                                 post, summary_links)
from tests.web_stack import MEMBER_UID
from tests.work_stack import OTHER_MEMBER_UID, csrf_of, work  # noqa: F401

PROGRAMME_TITLE = "Improvement leaders' programme"


def held_programme(world, staff_id=PERSON_A, title=PROGRAMME_TITLE, live_project=False):
    """A programme awarding improvement_leader whose two sessions were held (the day before
    yesterday and yesterday, so the check does not hang on the day turning), ``staff_id``
    enrolled with session 1 attended and session 2 missed. Answers the cohort's id."""
    offering = world.lead.post("/offerings", {
        "network_id": "north-pcn", "kind": "programme", "title": title,
        "awards_level": "improvement_leader", "duration_hours": 12, "capacity": 10,
        "completion": {"requires_live_project": live_project}})
    assert offering.status_code == 201, offering.text
    today = datetime.now(timezone.utc).date()
    cohort = world.lead.post("/cohorts", {
        "offering_id": offering.json()["offering_id"], "session_dates": [
            (today - timedelta(days=2)).isoformat(), (today - timedelta(days=1)).isoformat()]})
    assert cohort.status_code == 201, cohort.text
    cohort_id = cohort.json()["cohort_id"]
    assert world.lead.post(f"/cohorts/{cohort_id}/enrolments",
                           {"staff_id": staff_id}).status_code == 201
    mark(world, cohort_id, "s1", "present", staff_id)
    mark(world, cohort_id, "s2", "absent", staff_id)
    return cohort_id


def mark(world, cohort_id, session_id, status, staff_id=PERSON_A):
    answer = world.lead.post(f"/cohorts/{cohort_id}/sessions/{session_id}/attendance",
                             {"staff_id": staff_id, "status": status})
    assert answer.status_code == 200, answer.text


def test_complete_a_person_refused_then_recorded_once(work):  # noqa: F811
    world = TrainingWorld(work)
    cohort_id = held_programme(world)
    cohort_path = f"/training/cohorts/{cohort_id}"
    confirm_path = f"{cohort_path}/completion?staff_id={PERSON_A}"
    browser, _ = work.sign_in(MEMBER_UID, cohort_path)

    cohort = browser.get(work.stack.web + cohort_path)
    assert cohort.status_code == 200 and f'href="{confirm_path}"' in cohort.text
    assert f"Record completion<span class=\"nhsuk-u-visually-hidden\"> of {PERSON_A}" in \
        cohort.text
    confirm = browser.get(work.stack.web + confirm_path)
    assert confirm.status_code == 200
    assert f"<h1>Record that {PERSON_A} completed {PROGRAMME_TITLE.replace(chr(39), '&#39;')}?" \
        "</h1>" in confirm.text
    assert "Attended 1 of 2 sessions held (50%)" in confirm.text
    assert "Attend every session, or make up a missed one" in confirm.text
    assert f'<input type="hidden" name="staff_id" value="{PERSON_A}">' in confirm.text
    csrf = csrf_of(confirm)

    # Without the CSRF token (or a forged one): 403, and nothing changes.
    path = f"{cohort_path}/completions"
    for token in ({}, {"csrf_token": "forged"}):
        assert post(browser, work, path, {**token, "staff_id": PERSON_A}).status_code == 403

    # Short of the programme's attendance: the training service's reason, nothing awarded.
    refused = post(browser, work, path, {"csrf_token": csrf, "staff_id": PERSON_A})
    assert refused.status_code == 422 and refused.text.count("<title>Error: Record that") == 1
    assert summary_links(refused) == [
        ("#person", "Person: attended 1 of 2 sessions; needs 100% (missing s2)")]
    assert "Nothing was recorded." in refused.text and 'id="person"' in refused.text
    assert "improvement_leader" not in world.person(PERSON_A)["levels"]
    assert world.lead.get(f"/cohorts/{cohort_id}").json()["enrolments"][0]["state"] == \
        "enrolled"
    # Someone not on the cohort: refused, named by the training service.
    absent = post(browser, work, path, {"csrf_token": csrf, "staff_id": PERSON_B})
    assert absent.status_code == 422 and "Not enrolled on this cohort" in absent.text
    assert summary_links(absent) == [
        ("#person", f"Person: {PERSON_B} is not enrolled on {cohort_id}")]

    # The leaders' programme, every session attended but no live project: refused.
    leaders_id = held_programme(world, PERSON_B, "Leaders' programme", live_project=True)
    mark(world, leaders_id, "s2", "present", PERSON_B)
    no_project = post(browser, work, f"/training/cohorts/{leaders_id}/completions",
                      {"csrf_token": csrf, "staff_id": PERSON_B})
    assert no_project.status_code == 422
    assert "Be a member of a live improvement project" in no_project.text
    assert summary_links(no_project) == [
        ("#person", f"Person: {PERSON_B} is in no live project")]

    # A cohort with a session still ahead (the world's, a week on): refused, about its sessions.
    assert world.lead.post(f"/cohorts/{world.cohort_id}/enrolments",
                           {"staff_id": PERSON_B}).status_code == 201
    ahead = post(browser, work, f"{world.cohort_path}/completions",
                 {"csrf_token": csrf, "staff_id": PERSON_B})
    assert ahead.status_code == 422
    assert summary_links(ahead) == [
        ("#sessions", "Sessions: complete after its last session (s2 to come)")]
    assert 'id="sessions"' in ahead.text and "foundations" not in world.person(PERSON_B)["levels"]

    # A practice member of F84002: F84001's person is "Page not found", and nothing changes.
    other, _ = work.sign_in(OTHER_MEMBER_UID, cohort_path)
    assert other.get(work.stack.web + confirm_path).status_code == 404
    other_cohort = other.get(work.stack.web + cohort_path)
    assert other_cohort.status_code == 200 and PERSON_A not in other_cohort.text
    theirs = post(other, work, path, {"csrf_token": csrf_of(other_cohort), "staff_id": PERSON_A})
    assert theirs.status_code == 404 and "Page not found" in theirs.text
    assert "improvement_leader" not in world.person(PERSON_A)["levels"]

    # Session 2 made up: recorded, and the same form sent again lands on the same page.
    mark(world, cohort_id, "s2", "late")
    done = post(browser, work, path, {"csrf_token": csrf, "staff_id": PERSON_A})
    assert done.status_code == 303, done.text
    assert done.headers["Location"] == f"{cohort_path}?done=completed&staff_id={PERSON_A}"
    again = post(browser, work, path, {"csrf_token": csrf, "staff_id": PERSON_A})
    assert again.status_code == 303 and again.headers["Location"] == done.headers["Location"]
    shown = browser.get(work.stack.web + done.headers["Location"])
    assert banner(shown) is not None
    assert (f"{PERSON_A} completed {PROGRAMME_TITLE.replace(chr(39), '&#39;')} and now holds "
            "Improvement leader.") in shown.text
    assert "nhsuk-tag--green" in shown.text and "Completed " in shown.text
    assert f'href="{confirm_path}"' not in shown.text
    level = world.person(PERSON_A)["levels"]["improvement_leader"]
    assert level["cohort_id"] == cohort_id and level["evidence"] == "attendance 100%"
    completed = world.lead.get(f"/cohorts/{cohort_id}").json()["enrolments"][0]
    assert completed["state"] == "completed"
    after = browser.get(work.stack.web + confirm_path)  # the confirmation, once completed
    assert after.status_code == 200 and 'name="staff_id"' not in after.text  # no form
    assert f"<h1>{PERSON_A} completed " in after.text and "nhsuk-tag--green" in after.text
    record = browser.get(work.stack.web + f"/people/{PERSON_A}/training")
    assert "Improvement leader" in record.text
