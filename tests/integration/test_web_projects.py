"""The projects pages over HTTP, on the whole network (tests/work_stack.py): the list grouped
by stage with each project's score and suggestion; a project's page; a PDSA cycle started
(refused first without a prediction) and completed; the lead's progress score; the
suggestion moving after a cycle completes and after a signal; 403 and nothing changed for
every form sent without its CSRF token; "Page not found" for another practice's project."""
import re
from datetime import timedelta

import pytest

from tests.web_stack import FIRST_WEEK, LEAD_UID, MEMBER_UID, WEEKS, wait_until
from tests.work_stack import OTHER_MEMBER_UID, csrf_of, signed_in, work  # noqa: F401

pytestmark = pytest.mark.timeout(240)
AIM = {"what": "Fewer repeat attenders", "how_much": "by half", "by_when": "2027-09-30"}


def suggestion_of(work, project_id):
    return work.lead["projects"].get(f"/projects/{project_id}").json()["progress_suggestion"]


def cycles_of(work, project_id):
    return work.lead["projects"].get(f"/projects/{project_id}/pdsa-cycles").json()["items"]


def improve_a_measure(work, project_id):
    """A process measure of ``project_id`` whose pooled series shifts up: a signal."""
    lead_m = work.lead["measurement"]
    wait_until(lambda: lead_m.get(f"/projects/{project_id}/measures").ok,
               "measurement to learn the project")
    measure = lead_m.post(f"/projects/{project_id}/measures", {
        "name": "Reviews to the template", "type": "process", "value_kind": "proportion",
        "unit": "share", "frequency": "week", "operational_definition": "done over all",
        "improvement": "increase"})
    assert measure.status_code == 201, measure.text
    rows = [{"measure_id": measure.json()["id"], "practice_id": "F84001",
             "period": (FIRST_WEEK + timedelta(weeks=index)).isoformat(), "denominator": 20,
             "numerator": (17 if index >= 12 else 8) + index % 3 - 1}
            for index in range(WEEKS)]
    assert lead_m.post("/submissions/batch", {"rows": rows}).status_code == 200


def test_a_lead_starts_and_completes_a_cycle_and_scores_the_project(work):
    project_id = work.stack.project_id
    other = work.lead["projects"].post("/projects", {
        "title": "Repeat attenders", "scope": "network", "practice_ids": ["F84001"],
        "aim": AIM, "change_ideas": ["Named clinician"],
        "members": [{"staff_id": "lead-01", "role": "lead"},
                    {"staff_id": "pat-01", "role": "lived_experience_partner"}]}).json()
    assert work.lead["projects"].post(f"/projects/{other['id']}/stage",
                                      {"stage": "planning"}).status_code == 200
    # The stack's measure is in special-cause improvement: projects hears of its signal.
    wait_until(lambda: any("1 of 1 measure with data is in special-cause improvement" in r
                           for r in suggestion_of(work, project_id)["reasons"]),
               "projects to learn the stack's signal")
    lead, listing = signed_in(work, LEAD_UID, "/projects")
    assert listing.status_code == 200 and 'aria-current="page"' in listing.text
    text = listing.text
    assert text.index("<h2>Idea</h2>") < text.index("<h2>Planning</h2>")
    assert "Standardise structured medication reviews" in text and "Not scored" in text
    assert "Suggested: 1.5, because the team has a lead and 1 other member" in text
    assert "Suggested: 0.5, because no team yet" in text
    # One call for every project with its score and suggestion (and one for the header).
    assert int(listing.headers["X-Upstream-Calls"]) <= 2

    team = lead.get(f"{work.web}/projects/{other['id']}").text
    assert "2 members, of whom 1 is a lived-experience partner." in team
    assert "<td>pat-01</td><td>Lived-experience partner</td>" in team

    page = lead.get(f"{work.web}/projects/{project_id}")
    assert page.status_code == 200 and "No team members yet." in page.text
    assert "30 September 2027" in page.text
    assert f'href="/measures/{work.stack.measure_id}"' in page.text
    assert f'src="/measures/{work.stack.measure_id}/chart.svg"' in page.text
    assert 'alt="Statistical process control chart of SMRs completed' in page.text
    assert "No PDSA cycles yet." in page.text

    new = f"{work.web}/projects/{project_id}/pdsa-cycles/new"
    form = lead.get(new)
    assert form.status_code == 200 and "A prediction turns a test into learning" in form.text
    token = csrf_of(form)
    typed = {"csrf_token": token, "change_idea": "other", "change_idea_other": "SMR template",
             "plan": "Use the template for a week", "prediction": "", "practice_id": "F84001",
             "started_on_day": "31", "started_on_month": "2", "started_on_year": "2026"}
    refused = lead.post(new, data=typed, allow_redirects=False)
    assert refused.status_code == 422
    assert "<title>Error: Start a PDSA cycle" in refused.text
    assert 'href="#prediction"' in refused.text and 'href="#started_on-day"' in refused.text
    assert "Use the template for a week" in refused.text and 'value="31"' in refused.text
    assert cycles_of(work, project_id) == []
    started = lead.post(new, data={**typed, "prediction": "Two in three to the template",
                                   "started_on_day": "", "started_on_month": "",
                                   "started_on_year": ""}, allow_redirects=False)
    assert started.status_code == 303
    assert started.headers["Location"] == f"/projects/{project_id}?done=started"
    [cycle] = cycles_of(work, project_id)
    assert cycle["prediction"] == "Two in three to the template" and cycle["flags"] == []
    assert suggestion_of(work, project_id)["score"] == 2.0

    complete = f"{work.web}/pdsa-cycles/{cycle['id']}/complete"
    assert "Your prediction: Two in three to the template" in lead.get(complete).text
    refused = lead.post(complete, data={"csrf_token": token, "study_notes": "Most did",
                                        "completed_on_day": "1", "completed_on_month": "1",
                                        "completed_on_year": "2001"}, allow_redirects=False)
    assert refused.status_code == 422 and 'href="#act"' in refused.text
    assert "Most did" in refused.text
    refused = lead.post(complete, data={"csrf_token": token, "study_notes": "Most did",
                                        "act": "adopt", "completed_on_day": "1",
                                        "completed_on_month": "1", "completed_on_year": "2001"},
                        allow_redirects=False)
    assert refused.status_code == 422 and 'href="#completed_on-day"' in refused.text
    assert "must be on or after" in refused.text
    done = lead.post(complete, data={"csrf_token": token, "study_notes": "Most did",
                                     "act": "adopt"}, allow_redirects=False)
    assert done.status_code == 303
    assert suggestion_of(work, project_id)["score"] == 3.0  # a cycle done, a measure improving
    again = lead.post(complete, data={"csrf_token": token, "study_notes": "x", "act": "abandon"},
                      allow_redirects=False)
    assert again.status_code == 422 and "a completed cycle is final" in again.text
    assert "This cycle is complete: Adopt" in again.text and 'href="#act"' not in again.text
    page = lead.get(work.web + done.headers["Location"])
    assert "The PDSA cycle is complete" in page.text and "Completed: Adopt" in page.text
    assert "Suggested: 3.0, because" in page.text

    score_path = f"{work.web}/projects/{project_id}/progress-score"
    refused = lead.post(score_path, data={"csrf_token": token, "note": "kept"},
                        allow_redirects=False)
    assert refused.status_code == 422 and 'href="#score"' in refused.text
    assert ">kept</textarea>" in refused.text
    scored = lead.post(score_path, data={"csrf_token": token, "score": "2.5",
                                         "note": "one cycle in"}, allow_redirects=False)
    assert scored.status_code == 303
    page = lead.get(work.web + scored.headers["Location"])
    assert "The progress score is saved." in page.text and "<strong>2.5</strong>" in page.text
    assert "<strong>2.5</strong>" in lead.get(f"{work.web}/projects").text

    # Without the CSRF token every form answers 403 and changes nothing.
    for path, data in ((new, {**typed, "prediction": "p"}),
                       (complete, {"study_notes": "x", "act": "abandon"}),
                       (score_path, {"score": "4.0"})):
        data = {k: v for k, v in data.items() if k != "csrf_token"}
        assert lead.post(path, data=data, allow_redirects=False).status_code == 403
    assert len(cycles_of(work, project_id)) == 1
    answered = work.lead["projects"].get(f"/projects/{project_id}").json()
    assert answered["progress_score"]["score"] == 2.5 and cycles_of(
        work, project_id)[0]["act"] == "adopt"

    # A signal moves the other project's suggestion, once a cycle of it is complete.
    other_cycle = work.lead["projects"].post(f"/projects/{other['id']}/pdsa-cycles", {
        "change_idea": "Named clinician", "plan": "p", "prediction": "q",
        "practice_id": "F84001"}).json()
    assert work.lead["projects"].patch(f"/pdsa-cycles/{other_cycle['id']}", {
        "study_notes": "s", "act": "adapt"}).status_code == 200
    assert suggestion_of(work, other["id"])["score"] == 2.5
    improve_a_measure(work, other["id"])
    wait_until(lambda: suggestion_of(work, other["id"])["score"] == 3.0,
               "the signal to move the suggestion", timeout=60)


def test_another_practice_finds_no_practice_project_of_f84001(work):
    own = work.practice["projects"].post("/projects", {
        "title": "Care home rounds", "scope": "practice", "practice_ids": ["F84001"],
        "aim": AIM}).json()
    cycle = work.practice["projects"].post(f"/projects/{own['id']}/pdsa-cycles", {
        "change_idea": "Weekly round", "plan": "p", "prediction": "q"}).json()
    work.practice["projects"].post(f"/projects/{own['id']}/pdsa-cycles", {
        "change_idea": "Pharmacist on the round", "plan": "p"})
    member, page = signed_in(work, MEMBER_UID, f"/projects/{own['id']}")
    assert page.status_code == 200 and "Save the progress score" in page.text
    assert "Weekly round" in page.text
    # PDSA in name only is flagged.
    assert len(re.findall(r'nhsuk-tag--orange"\s*>\s*No prediction\s*</strong>', page.text)) == 1

    outsider, listing = signed_in(work, OTHER_MEMBER_UID, "/projects")
    assert listing.status_code == 200 and "Care home rounds" not in listing.text
    token = csrf_of(listing)
    for path in (f"/projects/{own['id']}", f"/projects/{own['id']}/pdsa-cycles/new",
                 f"/pdsa-cycles/{cycle['id']}/complete"):
        answer = outsider.get(work.web + path)
        assert answer.status_code == 404 and "Page not found" in answer.text, path
    for path, data in ((f"/projects/{own['id']}/pdsa-cycles/new",
                        {"change_idea_other": "x", "plan": "p", "prediction": "q"}),
                       (f"/pdsa-cycles/{cycle['id']}/complete",
                        {"study_notes": "s", "act": "abandon"}),
                       (f"/projects/{own['id']}/progress-score", {"score": "1.0"})):
        answer = outsider.post(work.web + path, data={"csrf_token": token, **data},
                               allow_redirects=False)
        assert answer.status_code == 404, (path, answer.text[:300])
    stored = work.practice["projects"].get(f"/projects/{own['id']}").json()
    assert stored["progress_score"] is None
    assert [c["status"] for c in work.practice["projects"].get(
        f"/projects/{own['id']}/pdsa-cycles").json()["items"]] == ["running", "running"]
    # F84002 takes part in the network project: it sees it, but the lead alone scores it.
    network_project = f"/projects/{work.stack.project_id}"
    assert "Save the progress score" not in outsider.get(work.web + network_project).text
    assert outsider.post(work.web + network_project + "/progress-score",
                         data={"csrf_token": token, "score": "1.0"},
                         allow_redirects=False).status_code == 404


def test_a_start_form_sent_again_starts_one_cycle_at_the_projects_service(work):
    """The form's Idempotency-Key reaches projects: the same form sent from another session of
    the same person (which the web's own memory of forms does not match) is answered by
    projects' replay, and the same key with other values is refused with a way on."""
    own = work.practice["projects"].post("/projects", {
        "title": "Same-day call backs", "scope": "practice", "practice_ids": ["F84001"],
        "aim": AIM}).json()
    new = f"/projects/{own['id']}/pdsa-cycles/new"
    member, form = signed_in(work, MEMBER_UID, new)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form.text).group(1)
    typed = {"csrf_token": csrf_of(form), "idempotency_key": key,
             "change_idea_other": "Call back by noon", "plan": "For a week",
             "prediction": "Fewer second calls"}
    started = member.post(work.web + new, data=typed, allow_redirects=False)
    assert started.status_code == 303, started.text[:300]

    again, page = signed_in(work, MEMBER_UID, new)
    assert re.search(r'name="idempotency_key" value="([^"]+)"', page.text).group(1) != key
    replayed = again.post(work.web + new, data={**typed, "csrf_token": csrf_of(page)},
                          allow_redirects=False)
    assert replayed.status_code == 303 and replayed.headers["X-Upstream-Calls"] != "0"
    assert replayed.headers["Location"] == f"/projects/{own['id']}?done=started"
    cycles = cycles_of(work, own["id"])
    assert [c["change_idea"] for c in cycles] == ["Call back by noon"]

    other = again.post(work.web + new, data={**typed, "csrf_token": csrf_of(page),
                                             "plan": "For a month"}, allow_redirects=False)
    assert other.status_code == 422
    assert "This form was sent before with other values" in other.text
    assert 'value="For a month"' in other.text or ">For a month</textarea>" in other.text
    fresh = re.search(r'name="idempotency_key" value="([^"]+)"', other.text).group(1)
    assert fresh != key
    sent = again.post(work.web + new, data={**typed, "csrf_token": csrf_of(page),
                                            "idempotency_key": fresh, "plan": "For a month"},
                      allow_redirects=False)
    assert sent.status_code == 303
    assert sorted(c["plan"] for c in cycles_of(work, own["id"])) == ["For a month", "For a week"]
