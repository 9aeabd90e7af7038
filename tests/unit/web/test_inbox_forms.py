"""The web's forms without a network (services/web/forms.py, as the preferences form uses it):
which form field a refusal of a service belongs to, the error summary's order and links; and
the page an inbox item links to."""
import pytest

from services.web.forms import error_list, field_id, new_idempotency_key, refused_fields
from services.web.inbox import FIELD_LABELS, link_of, segment
from services.web.upstream import UpstreamRefused


def refusal(fields, status=422):
    return UpstreamRefused(status, {"error": "validation_failed", "message": "refused",
                                    "fields": fields})


def test_each_refused_field_is_the_form_field_the_service_named():
    errors = refused_fields(refusal({
        "by_channel.webhook.value": ["Must be one of: immediate, digest, off."],
        "digest_time": ["a time of day as HH:MM, such as 08:00"]}), FIELD_LABELS)
    assert errors == {"by_channel.webhook": ["Must be one of: immediate, digest, off."],
                      "digest_time": ["a time of day as HH:MM, such as 08:00"]}


def test_a_refusal_naming_no_field_is_still_shown_and_other_statuses_are_raised():
    assert refused_fields(refusal({}), FIELD_LABELS) == {"_form": ["refused"]}
    with pytest.raises(UpstreamRefused):
        refused_fields(refusal({"staff_id": ["not found"]}, status=404), FIELD_LABELS)


def test_the_summary_lists_errors_in_the_forms_order_linked_to_their_fields():
    listed = error_list({"time_zone": ["no such zone"], "digest_time": ["HH:MM"],
                         "by_channel.email": ["bad mode"], "_form": ["refused"]},
                        FIELD_LABELS)
    assert [(item["href"], item["text"]) for item in listed] == [
        ("#by_channel-email", "Email: bad mode"), ("#digest_time", "Digest time: HH:MM"),
        ("#time_zone", "Time zone: no such zone"), (None, "refused")]
    assert field_id("by_channel.inbox") == "by_channel-inbox"


def test_a_field_the_form_lacks_is_shown_with_the_services_name_and_aliases_are_followed():
    errors = refused_fields(refusal({"rows.0.numerator": ["required"],
                                     "by_event": ["unknown event"]}, status=409),
                            {"numerator": "Numerator"}, aliases={"rows.0.numerator": "numerator"})
    assert errors == {"numerator": ["required"], "_form": ["by_event: unknown event"]}


def test_each_rendered_form_gets_its_own_idempotency_key():
    keys = {new_idempotency_key() for _ in range(100)}
    assert len(keys) == 100 and all(len(key) >= 20 for key in keys)


def test_an_item_links_to_the_page_notifications_names_when_it_is_on_this_site():
    assert link_of({"page": "/measures/msr_1?period=2026-07-06"}) == \
        "/measures/msr_1?period=2026-07-06"
    assert link_of({"page": None}) is None and link_of({}) is None
    for elsewhere in ("https://evil.example/x", "//evil.example/x", "javascript:alert(1)"):
        assert link_of({"page": elsewhere}) is None


def test_an_id_is_one_path_segment_upstream():
    assert segment("ntf_1") == "ntf_1"
    assert segment("../preferences") == "%2E%2E%2Fpreferences"
    assert segment("lead.a b") == "lead%2Ea%20b"
