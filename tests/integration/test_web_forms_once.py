"""A form that creates something, sent twice, creates it once (services/web/form_posts.py): a
huddle item added with a double click (two POSTs at the same moment) or a refresh of the POST
is stored once, and every repeat lands where the first went; a refused form is not remembered,
so sending it again corrected goes through; the same form from another session is its own."""
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.web_stack import MEMBER_UID
from tests.work_stack import csrf_of, signed_in, work  # noqa: F401

pytestmark = pytest.mark.timeout(180)
BOARD = "/huddle/F84001/reception"


def items_of(work):
    return work.practice["projects"].get("/huddle-boards/F84001",
                                         params={"team": "reception"}).json()["items"]


def test_a_huddle_item_sent_twice_is_added_once(work):
    member, board = signed_in(work, MEMBER_UID, BOARD)
    form = {"csrf_token": csrf_of(board), "description": "door code changed",
            "raised_by": "nurse-01"}

    def send():
        return member.post(work.web + BOARD, data=form, allow_redirects=False)
    with ThreadPoolExecutor(2) as pool:  # a double click: both on their way at once
        answers = list(pool.map(lambda _: send(), range(2)))
    assert [a.status_code for a in answers] == [303, 303]
    assert {a.headers["Location"] for a in answers} == {BOARD + "?done=added"}
    assert [a.headers["X-Upstream-Calls"] for a in answers].count("0") >= 1
    refreshed = send()  # the browser's "send the form again?" after the redirect
    assert refreshed.status_code == 303 and refreshed.headers["X-Upstream-Calls"] == "0"
    assert [i["description"] for i in items_of(work)] == ["door code changed"]

    # Refused (no description): not remembered; corrected, it is a new form and goes through.
    refused = member.post(work.web + BOARD, data={**form, "description": ""})
    assert refused.status_code == 422
    again = member.post(work.web + BOARD, data={**form, "description": ""})
    assert again.status_code == 422 and again.headers["X-Upstream-Calls"] != "0"
    other = member.post(work.web + BOARD, data={**form, "description": "kettle broken"},
                        allow_redirects=False)
    assert other.status_code == 303
    # Another session sending the same values is another person's form.
    second, page = signed_in(work, MEMBER_UID, BOARD)
    theirs = second.post(work.web + BOARD, data={**form, "csrf_token": csrf_of(page)},
                         allow_redirects=False)
    assert theirs.status_code == 303 and theirs.headers["X-Upstream-Calls"] != "0"
    assert sorted(i["description"] for i in items_of(work)) == [
        "door code changed", "door code changed", "kettle broken"]
