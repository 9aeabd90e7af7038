"""Bad input names its field: emails, webhook URLs, event types, roles, audiences, zones."""
from datetime import datetime, timezone

import pytest
from marshmallow import ValidationError

from services.notifications import schemas
from services.notifications.commands import recipient_view
from services.notifications.domain import new_recipient
from services.notifications.channels import (_seconds, check_endpoint_address,
                                             check_unsubscribe_token, is_public_address,
                                             new_webhook_secret, sign_webhook,
                                             unsubscribe_token)
from shared.domain import RuleBroken
from shared.errors import field_messages
from tests.unit.notifications.conftest import verify_standard_webhook

RECIPIENT = {"staff_id": "lead.a", "network_id": "net_east", "role": "network_lead",
             "scope": {"kind": "network", "id": "net_east"}, "email": "lead.a@example.org",
             "webhook_url": "https://hooks.example.org/pcn", "time_zone": "Europe/London",
             "digest_time": "08:00"}


def refused(schema, payload):
    with pytest.raises(ValidationError) as error:
        schema.load(payload)
    return field_messages(error.value.messages)


def test_a_valid_recipient_loads():
    assert schemas.RecipientCreate().load(RECIPIENT)["scope"]["kind"] == "network"


@pytest.mark.parametrize("field, value", [
    ("email", "lead.a-at-example.org"),
    ("webhook_url", "ftp://hooks.example.org/x"),
    ("webhook_url", "not a url"),
    ("role", "overlord"),
    ("time_zone", "Europe/Atlantis"),
    ("digest_time", "8am"),
    ("staff_id", "has spaces"),
])
def test_bad_recipient_fields_are_named(field, value):
    assert field in refused(schemas.RecipientCreate(), {**RECIPIENT, field: value})


def test_a_practice_lead_needs_a_practice_and_unknown_fields_are_refused():
    fields = refused(schemas.RecipientCreate(), {**RECIPIENT, "role": "practice_lead"})
    assert "practice_id" in fields
    assert "phone" in refused(schemas.RecipientCreate(), {**RECIPIENT, "phone": "0123"})


RULE = {"name": "concern", "when": {"kind": ["concern"]}, "audience": ["network_lead"],
        "mode": "immediate"}


def test_a_route_with_an_unknown_event_type_audience_or_condition_is_refused_by_field():
    route = schemas.RouteChange()
    loaded = route.load({"event_type": "measurement.signal_detected", "rules": [RULE]})
    assert loaded["rules"][0]["channels"] == ["email", "webhook", "inbox"]
    assert "event_type" in refused(route, {"event_type": "measurement.exploded",
                                           "rules": [RULE]})
    assert "rules.0.audience.0" in refused(route, {
        "event_type": "measurement.signal_detected",
        "rules": [{**RULE, "audience": ["the_king"]}]})
    assert "rules.0.when" in refused(route, {
        "event_type": "measurement.signal_detected",
        "rules": [{**RULE, "when": {"colour": ["red"]}}]})
    assert "rules.0.mode" in refused(route, {
        "event_type": "measurement.signal_detected", "rules": [{**RULE, "mode": "off"}]})


def test_preferences_name_bad_event_types_channels_and_modes():
    preferences = schemas.PreferencesChange()
    assert preferences.load({"by_event": {"huddle.item_escalated": {"email": "off"}},
                             "by_channel": {"webhook": "digest"}})
    assert list(refused(preferences, {"by_event": {"nope.nothing": {"email": "off"}}})) == [
        "by_event.nope.nothing.key"]
    assert list(refused(preferences, {"by_channel": {"pigeon": "off"}})) == [
        "by_channel.pigeon.key"]
    assert list(refused(preferences, {"by_channel": {"email": "sometimes"}})) == [
        "by_channel.email.value"]


def test_private_and_loopback_endpoints_are_refused_unless_allowed():
    for url in ("https://127.0.0.1/x", "https://10.1.2.3/x", "https://[::1]/x",
                "https://169.254.169.254/latest", "http://hooks.example.org/x"):
        with pytest.raises(RuleBroken) as error:
            check_endpoint_address(url, allow_private=False)
        assert "webhook_url" in error.value.fields
    check_endpoint_address("http://127.0.0.1:9/x", allow_private=True)
    assert is_public_address("93.184.216.34") and not is_public_address("192.168.0.1")


def test_webhook_signatures_follow_the_standard_webhooks_algorithm():
    secret = new_webhook_secret()
    assert secret.startswith("whsec_")
    body = b'{"data":{},"timestamp":"t","type":"x"}'
    headers = {"webhook-id": "ntf_1", "webhook-timestamp": "1764300000",
               "webhook-signature": sign_webhook(secret, "ntf_1", 1764300000, body)}
    assert verify_standard_webhook(secret, headers, body)
    assert not verify_standard_webhook(secret, {**headers, "webhook-id": "ntf_2"}, body)
    assert not verify_standard_webhook(new_webhook_secret(), headers, body)
    # The example of the spec's reference libraries (svix): a known secret, id, time, body.
    known = sign_webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                         1614265330, b'{"test": 2432232314}')
    assert known == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_unsubscribe_tokens_are_signed():
    token = unsubscribe_token("s3cret-s3cret-s3cret", "lead.a", "huddle.item_escalated")
    assert check_unsubscribe_token("s3cret-s3cret-s3cret", token) == (
        "lead.a", "huddle.item_escalated")
    for forged in (token.replace(token[3], "A" if token[3] != "A" else "B", 1), "abc", "a.b.c"):
        with pytest.raises(RuleBroken) as error:
            check_unsubscribe_token("s3cret-s3cret-s3cret", forged)
        assert "token" in error.value.fields
    with pytest.raises(RuleBroken):
        check_unsubscribe_token("another-secret-entirely", token)


def test_retry_after_reads_seconds_and_http_dates():
    now = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)
    assert _seconds("120") == 120.0
    assert _seconds("Fri, 27 Nov 2026 10:05:00 GMT", now) == 300.0
    assert _seconds("soon") is None and _seconds(None) is None


def test_a_recipient_view_shows_the_webhook_secret_only_when_just_made():
    recipient = new_recipient(schemas.RecipientCreate().load(RECIPIENT),
                              datetime(2026, 11, 27, tzinfo=timezone.utc))
    recipient["contacts"]["webhook"]["secret"] = "whsec_c2VjcmV0"
    shown = schemas.RecipientView().dump(recipient_view(recipient, "whsec_c2VjcmV0"))
    later = schemas.RecipientView().dump(recipient_view(recipient))
    assert shown["webhook_secret"] == "whsec_c2VjcmV0" and later["webhook_secret"] is None
    assert "whsec_" not in str(later) and later["webhook_url"] == RECIPIENT["webhook_url"]


def test_a_long_subject_and_unsubscribe_link_stay_whole_header_lines():
    from services.notifications.channels import build_email

    subject = "Huddle item hud_25d5d7e796a947fb of team pharmacy was escalated to you"
    link = "https://notify.example.org/unsubscribe?token=" + "a" * 300
    raw = build_email("PCN <pcn@notify.example.org>", "lead.a@practice.example.org", subject,
                      "text", lambda cid: "<p>html</p>", unsubscribe_url=link).as_bytes()
    lines = raw.split(b"\r\n")
    assert f"Subject: {subject}".encode() in lines
    assert f"List-Unsubscribe: <{link}>".encode() in lines
