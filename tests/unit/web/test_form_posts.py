"""Forms sent twice (services/web/form_posts.py) with a clock passed in: the first claims the
form, a repeat is told where the first went, a released or old claim lets it go through."""
import mongomock
from werkzeug.datastructures import MultiDict

from services.web.form_posts import (REPEAT_SECONDS, SHOWN_ONCE, SHOWN_ONCE_SECONDS, FormPosts,
                                     fingerprint)

NOW = 1_800_000_000.0


def posts(clock):
    return FormPosts(mongomock.MongoClient().db, lambda: clock[0])


def test_a_repeat_gets_the_first_ones_redirect_until_the_claim_is_old():
    clock = [NOW]
    store = posts(clock)
    assert store.claim("k") and not store.claim("k")
    assert store.first_answer("k", wait_seconds=0) is None  # still being answered
    store.answer("k", "/huddle/F84001/reception?done=added")
    assert store.first_answer("k", wait_seconds=0) == "/huddle/F84001/reception?done=added"
    clock[0] = NOW + REPEAT_SECONDS - 1
    assert not store.claim("k")
    clock[0] = NOW + REPEAT_SECONDS
    assert store.claim("k")  # half a minute on, the same values are a new form


def test_a_released_claim_lets_the_same_form_through_again():
    store = posts([NOW])
    assert store.claim("k")
    store.release("k")
    assert store.first_answer("k", wait_seconds=0) is None and store.claim("k")


def test_the_fingerprint_is_the_session_path_and_values_not_the_csrf_token():
    form = MultiDict([("csrf_token", "a"), ("description", "door"), ("raised_by", "n1")])
    same = MultiDict([("raised_by", "n1"), ("description", "door"), ("csrf_token", "b")])
    key = fingerprint("session-1", "/huddle/F84001/reception", form, MultiDict())
    assert key == fingerprint("session-1", "/huddle/F84001/reception", same, MultiDict())
    assert key != fingerprint("session-2", "/huddle/F84001/reception", form, MultiDict())
    assert key != fingerprint("session-1", "/huddle/F84001/pharmacy", form, MultiDict())
    other = MultiDict([("description", "door!"), ("raised_by", "n1")])
    assert key != fingerprint("session-1", "/huddle/F84001/reception", other, MultiDict())


def test_a_form_whose_answer_showed_a_secret_is_told_so_for_an_hour_not_half_a_minute():
    clock = [NOW]
    store = posts(clock)
    assert store.claim("k")
    store.shown_once("k")
    assert store.first_answer("k", wait_seconds=0) == SHOWN_ONCE
    clock[0] = NOW + SHOWN_ONCE_SECONDS - 1
    assert not store.claim("k") and store.first_answer("k", wait_seconds=0) == SHOWN_ONCE
    clock[0] = NOW + SHOWN_ONCE_SECONDS
    assert store.claim("k")  # an hour on, the same details issue a new one
