"""The week's submissions in the web service over HTTP, on the whole network
(tests/work_stack.py), as a browser would send them: the form of what F84001 is due, refused
with its errors next to the fields and what was typed kept, accepted with post/redirect/get and
a success banner, sent again with the same Idempotency-Key (a refresh, a double click) without
storing anything twice; a correction that asks for a reason and shows it in the measure's audit
trail; an earlier period corrected; a CSV file refused whole with each bad line named, then
accepted; every form refused without its CSRF token; F84002's member and F84001's pages: "Page
not found", because the measurement service answers 404. The measurement service's clock is the
test's (a Wednesday after the stack's 20 weeks), so nothing depends on the day it runs."""
import re
from datetime import datetime, timezone

import pytest

from tests.web_stack import LEAD_UID, MEMBER_UID
from tests.work_stack import OTHER_MEMBER_UID, csrf_of, signed_in, work  # noqa: F401

pytestmark = pytest.mark.timeout(180)
# Wednesday 2 December 2026: the week due is the one of 23 November, after the stack's last.
SERVICE_NOW = datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc)
WEEK_DUE = "2026-11-23"


@pytest.fixture
def measurement_clock(monkeypatch):
    monkeypatch.setattr("services.measurement.service.utc_now", lambda: SERVICE_NOW)


def hidden(page, name):
    return re.search(rf'name="{name}" value="([^"]*)"', page.text).group(1)


def stored(work, period):
    """F84001's submission of the stack's measure for ``period``, or None."""
    listed = work.practice["measurement"].get(
        f"/measures/{work.stack.measure_id}/submissions", params={"page_size": 200}).json()
    return next((s for s in listed["items"] if s["period"] == period), None)


def test_the_week_is_submitted_once_corrected_with_a_reason_and_shown_in_the_trail(
        work, measurement_clock):
    measure_id = work.stack.measure_id
    member, form = signed_in(work, MEMBER_UID, "/submissions")
    assert form.status_code == 200, form.text[:300]
    assert "SMRs completed to the standard template" in form.text
    assert "complete SMRs over all SMRs" in form.text  # the operational definition as hint
    assert "Week of 23 November 2026 to 29 November 2026" in form.text
    assert int(form.headers["X-Upstream-Calls"]) <= 3
    fields = {"csrf_token": csrf_of(form), "idempotency_key": hidden(form, "idempotency_key")}

    # Without its CSRF token: 403, nothing stored.
    refused = member.post(f"{work.web}/submissions", data={
        **fields, "csrf_token": "", f"{measure_id}.numerator": "15",
        f"{measure_id}.denominator": "20"}, allow_redirects=False)
    assert refused.status_code == 403 and stored(work, WEEK_DUE) is None

    # One error: shown in the summary, linked to its field, what was typed kept.
    wrong = member.post(f"{work.web}/submissions", data={
        **fields, f"{measure_id}.numerator": "fifteen", f"{measure_id}.denominator": "20"},
        allow_redirects=False)
    assert wrong.status_code == 422
    assert "<title>Error: This week&#39;s submissions" in wrong.text
    assert f'href="#{measure_id}-numerator"' in wrong.text
    assert 'value="fifteen"' in wrong.text and 'value="20"' in wrong.text
    assert stored(work, WEEK_DUE) is None
    more_than = member.post(f"{work.web}/submissions", data={
        **fields, f"{measure_id}.numerator": "25", f"{measure_id}.denominator": "20"},
        allow_redirects=False)
    assert more_than.status_code == 422 and "more than the denominator" in more_than.text
    nothing = member.post(f"{work.web}/submissions", data=fields, allow_redirects=False)
    assert nothing.status_code == 422 and "at least one" in nothing.text

    # Accepted: one batch, then a redirect to the banner; sent again (a refresh, a double
    # click) with the same key: the same outcome, nothing stored twice.
    good = {**fields, f"{measure_id}.numerator": "15", f"{measure_id}.denominator": "20"}
    sent = member.post(f"{work.web}/submissions", data=good, allow_redirects=False)
    assert sent.status_code == 303, sent.text[:300]
    assert sent.headers["Location"].startswith("/submissions?saved=yes&created=1&corrected=0")
    assert int(sent.headers["X-Upstream-Calls"]) == 2  # what is due, and the one batch
    again = member.post(f"{work.web}/submissions", data=good, allow_redirects=False)
    assert again.status_code == 303 and again.headers["Location"] == sent.headers["Location"]
    assert stored(work, WEEK_DUE)["version"] == 1
    # The same form sent back with other values (the back button): refused, a fresh key.
    back = member.post(f"{work.web}/submissions", data={
        **good, f"{measure_id}.numerator": "16", f"{measure_id}.reason": "miscounted"},
        allow_redirects=False)
    assert back.status_code == 422 and "this form was sent before" in back.text
    assert hidden(back, "idempotency_key") != good["idempotency_key"]
    assert stored(work, WEEK_DUE)["version"] == 1
    banner = member.get(work.web + sent.headers["Location"])
    assert "Your values are saved: 1 new, 0 corrected and 0 unchanged." in banner.text
    assert 'value="15"' in banner.text  # what is stored, ready to change

    # A change of a stored value needs a reason; with one, the trail shows it.
    fields = {"csrf_token": csrf_of(banner), "idempotency_key": hidden(banner,
                                                                        "idempotency_key")}
    change = {**fields, f"{measure_id}.numerator": "16", f"{measure_id}.denominator": "20"}
    no_reason = member.post(f"{work.web}/submissions", data=change, allow_redirects=False)
    assert no_reason.status_code == 422 and f'href="#{measure_id}-reason"' in no_reason.text
    assert stored(work, WEEK_DUE)["version"] == 1
    corrected = member.post(f"{work.web}/submissions", data={
        **change, f"{measure_id}.reason": "one review was filed late"}, allow_redirects=False)
    assert corrected.status_code == 303
    assert "corrected=1" in corrected.headers["Location"]
    trail = member.get(f"{work.web}/submissions/{measure_id}")
    assert trail.status_code == 200
    assert "15 of 20 (75%) to 16 of 20 (80%). Reason: one review was filed late</li>" \
        in trail.text
    # The trail names who changed it: their staff id (the member reads "You").
    assert stored(work, WEEK_DUE)["corrections"][-1]["by"] == "nurse-01"
    assert "<li>2 December 2026 at 10:00, You: 15 of 20 (75%) to 16 of 20 (80%)" in trail.text

    # An earlier period, from the trail's link: one measure, its stored value, a reason.
    earlier = member.get(f"{work.web}/submissions",
                         params={"period": "2026-11-16", "measure_id": measure_id})
    assert earlier.status_code == 200 and "Correct earlier submissions" in earlier.text
    before = stored(work, "2026-11-16")
    assert f'value="{before["numerator"]:g}"' in earlier.text
    fixed = member.post(f"{work.web}/submissions", data={
        "csrf_token": csrf_of(earlier), "idempotency_key": hidden(earlier, "idempotency_key"),
        "period": "2026-11-16", "measure_id": measure_id,
        f"{measure_id}.numerator": "19", f"{measure_id}.denominator": "20",
        f"{measure_id}.reason": "recounted"}, allow_redirects=False)
    assert fixed.status_code == 303 and "corrected=1" in fixed.headers["Location"]
    assert stored(work, "2026-11-16")["corrections"][-1]["reason"] == "recounted"
    future = member.get(f"{work.web}/submissions", params={"period": "2026-12-07"})
    assert future.status_code == 404


def test_a_csv_file_with_a_bad_row_is_refused_whole_then_a_good_one_is_stored(
        work, measurement_clock):
    measure_id = work.stack.measure_id
    member, page = signed_in(work, MEMBER_UID, "/submissions/upload")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    fields = {"csrf_token": csrf_of(page), "idempotency_key": hidden(page, "idempotency_key"),
              "measure_id": measure_id}
    bad = "period,numerator,denominator\n2026-11-23,15,20\n2026-11-30,twelve,20\n"
    no_token = member.post(f"{work.web}/submissions/upload",
                           data={**fields, "csrf_token": ""},
                           files={"file": ("week.csv", bad.encode())}, allow_redirects=False)
    assert no_token.status_code == 403
    refused = member.post(f"{work.web}/submissions/upload", data=fields,
                          files={"file": ("week.csv", bad.encode())}, allow_redirects=False)
    assert refused.status_code == 422
    assert "<title>Error: Upload a CSV file" in refused.text
    assert re.search(r"<td[^>]*>3</td>\s*<td[^>]*>numerator</td>", refused.text)
    assert 'href="#file"' in refused.text
    assert stored(work, WEEK_DUE) is None  # the good row was not stored either
    wrong_kind = member.post(f"{work.web}/submissions/upload", data=fields, files={
        "file": ("week.csv", b"period,value\n2026-11-23,3\n")}, allow_redirects=False)
    assert wrong_kind.status_code == 422 and "missing column" in wrong_kind.text
    good = "period,numerator,denominator\n2026-11-23,15,20\n"
    sent = member.post(f"{work.web}/submissions/upload", data=fields,
                       files={"file": ("week.csv", good.encode())}, allow_redirects=False)
    assert sent.status_code == 303 and "created=1" in sent.headers["Location"]
    assert stored(work, WEEK_DUE)["numerator"] == 15
    assert "The file is saved: 1 new" in member.get(work.web + sent.headers["Location"]).text


def test_another_practice_and_a_lead(work, measurement_clock):
    measure_id = work.stack.measure_id
    other, own = signed_in(work, OTHER_MEMBER_UID, "/submissions")
    assert own.status_code == 200 and "Practice F84002" in own.text
    token = csrf_of(own)
    for path in ("/submissions?practice_id=F84001", "/submissions/upload?practice_id=F84001",
                 f"/submissions/{measure_id}?practice_id=F84001"):
        page = other.get(work.web + path)
        assert page.status_code == 404 and "Page not found" in page.text, path
    sent = other.post(f"{work.web}/submissions", data={
        "csrf_token": token, "practice_id": "F84001", f"{measure_id}.numerator": "1",
        f"{measure_id}.denominator": "2"}, allow_redirects=False)
    assert sent.status_code == 404 and stored(work, WEEK_DUE) is None

    lead, choose = signed_in(work, LEAD_UID, "/submissions")
    assert choose.status_code == 200 and 'href="/submissions?practice_id=F84001"' in choose.text
    page = lead.get(f"{work.web}/submissions", params={"practice_id": "F84001"})
    assert page.status_code == 200 and 'name="practice_id" value="F84001"' in page.text
    sent = lead.post(f"{work.web}/submissions", data={
        "csrf_token": csrf_of(page), "idempotency_key": hidden(page, "idempotency_key"),
        "practice_id": "F84001", f"{measure_id}.numerator": "14",
        f"{measure_id}.denominator": "20"}, allow_redirects=False)
    assert sent.status_code == 303 and "practice_id=F84001" in sent.headers["Location"]
    assert stored(work, WEEK_DUE)["numerator"] == 14
    assert stored(work, WEEK_DUE)["submitted_by"] == "lead-01"
