"""A person's quiet hours: non-urgent email and webhooks wait until they end (on the person's
own clock, overnight when the end is before the start), alongside the send window; urgent
notices and the inbox never wait; a start without an end, or an end equal to the start, is
refused naming the field."""
from datetime import timezone

import pytest
from marshmallow import ValidationError

from services.notifications import schemas
from services.notifications.domain import REASON_OUTSIDE_WINDOW, REASON_QUIET_HOURS, Settings
from services.notifications.domain.planning import next_sending_time, plan_notification
from services.notifications.domain.settings import quiet_until
from shared.errors import field_messages
from tests.unit.notifications.conftest import london

SETTINGS = Settings()  # window Monday to Friday, 08:00 to 18:30, Europe/London
NIGHT = {"_id": "lead.a", "quiet_start": "22:00", "quiet_end": "07:00",
         "contacts": {"email": "lead.a@example.org"}}
LUNCH = {**NIGHT, "quiet_start": "12:00", "quiet_end": "13:30"}
RULE = {"name": "escalated", "mode": "immediate"}


def envelope(at):
    return {"event_id": "evt-1", "event_type": "huddle.item_escalated", "occurred_at": at,
            "network_id": "north-pcn", "data": {"item_id": "hdl_1"}}


def test_overnight_quiet_hours_end_the_next_morning_on_the_persons_clock():
    assert quiet_until(NIGHT, london(2026, 11, 25, 23, 0), SETTINGS) == london(2026, 11, 26, 7, 0)
    assert quiet_until(NIGHT, london(2026, 11, 26, 6, 59), SETTINGS) == london(2026, 11, 26, 7, 0)
    assert quiet_until(NIGHT, london(2026, 11, 26, 7, 0), SETTINGS) is None
    assert quiet_until(LUNCH, london(2026, 11, 26, 12, 30), SETTINGS) == \
        london(2026, 11, 26, 13, 30)
    assert quiet_until({**LUNCH, "time_zone": "America/New_York"},
                       london(2026, 11, 26, 17, 30), SETTINGS) == london(2026, 11, 26, 18, 30)
    assert quiet_until({"_id": "x"}, london(2026, 11, 26, 12, 30), SETTINGS) is None


def test_a_push_waits_for_the_window_and_the_quiet_hours_whichever_ends_last():
    # Wednesday 12:45, inside lunchtime quiet hours: 13:30.
    assert next_sending_time(LUNCH, london(2026, 11, 25, 12, 45), SETTINGS) == (
        london(2026, 11, 25, 13, 30), REASON_QUIET_HOURS)
    # Quiet until 09:00 on a window opening at 08:00: 09:00.
    early = {**NIGHT, "quiet_end": "09:00"}
    assert next_sending_time(early, london(2026, 11, 25, 20, 0), SETTINGS) == (
        london(2026, 11, 26, 9, 0), REASON_QUIET_HOURS)
    # Friday 23:00: quiet hours end on Saturday, the window opens on Monday at 08:00.
    assert next_sending_time(NIGHT, london(2026, 11, 27, 23, 0), SETTINGS) == (
        london(2026, 11, 30, 8, 0), REASON_OUTSIDE_WINDOW)
    assert next_sending_time(NIGHT, london(2026, 11, 25, 10, 0), SETTINGS) == (
        london(2026, 11, 25, 10, 0), None)


def test_only_non_urgent_pushes_are_held_in_quiet_hours():
    at = london(2026, 11, 25, 12, 45)
    email = plan_notification(LUNCH, envelope(at), RULE, "email", at, SETTINGS, "summary")
    assert (email["state"], email["reason"], email["due_at"]) == (
        "held", REASON_QUIET_HOURS, london(2026, 11, 25, 13, 30).astimezone(timezone.utc))
    urgent = plan_notification(LUNCH, envelope(at), RULE, "email", at, SETTINGS, "summary",
                               critical=True)
    inbox = plan_notification(LUNCH, envelope(at), RULE, "inbox", at, SETTINGS, "summary")
    assert urgent["state"] == "queued" and inbox["state"] == "queued"


@pytest.mark.parametrize("change, field", [
    ({"quiet_start": "22:00"}, "quiet_end"),
    ({"quiet_start": "22:00", "quiet_end": None}, "quiet_end"),
    ({"quiet_end": "07:00"}, "quiet_start"),
    ({"quiet_start": "22:00", "quiet_end": "22:00"}, "quiet_end"),
    ({"quiet_start": "22:00", "quiet_end": "7am"}, "quiet_end"),
])
def test_quiet_hours_need_a_start_and_a_different_end(change, field):
    with pytest.raises(ValidationError) as error:
        schemas.RecipientChange().load(change)
    assert field in field_messages(error.value.messages)


def test_overnight_and_cleared_quiet_hours_are_accepted():
    assert schemas.RecipientChange().load({"quiet_start": "22:00", "quiet_end": "07:00"})
    assert schemas.RecipientChange().load({"quiet_start": None, "quiet_end": None}) == {
        "quiet_start": None, "quiet_end": None}


def test_a_missing_end_is_named_beside_other_fields_errors_and_a_malformed_one_once():
    with pytest.raises(ValidationError) as error:
        schemas.RecipientChange().load({"digest_time": "25:00", "quiet_start": "22:00",
                                        "quiet_end": None})
    assert {"digest_time", "quiet_end"} <= set(field_messages(error.value.messages))
    with pytest.raises(ValidationError) as error:
        schemas.RecipientChange().load({"quiet_start": "22:00", "quiet_end": "7am"})
    assert field_messages(error.value.messages) == {
        "quiet_end": ["a time of day as HH:MM, such as 08:00"]}
