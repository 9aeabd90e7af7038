"""The notifications domain without storage or network: routes against the catalogue, send
windows and working time, preferences, backoff, what may leave the service."""
import random
from datetime import date, timedelta, timezone

import pytest

from services.notifications import domain
from services.notifications.config import settings_from_config
from services.notifications.domain import Settings, WorkingCalendar
from shared.domain import RuleBroken
from shared.events.catalogue import CATALOGUE
from tests.unit.notifications.conftest import london


def test_every_catalogue_event_type_is_routed_or_unrouted_on_purpose():
    names = {event.name for event in CATALOGUE}
    routed, unrouted = set(domain.DEFAULT_ROUTES), set(domain.UNROUTED)
    assert not routed & unrouted
    assert names - routed - unrouted == set(), "give these a route or a reason in UNROUTED"
    # Only the training events may be routed before their producer is in the catalogue.
    assert (routed | unrouted) - names <= {"training.capability_gap_identified",
                                           "training.target_at_risk"}


def test_default_routes_name_known_audiences_modes_and_channels():
    for event_type, rules in domain.DEFAULT_ROUTES.items():
        for rule in rules:
            assert set(rule["audience"]) <= set(domain.AUDIENCES), event_type
            assert rule["mode"] in ("immediate", "digest")
            assert set(rule["channels"]) <= set(domain.CHANNELS)


def test_a_named_persons_capability_gap_goes_only_to_their_team_leader_in_the_digest():
    (rule,) = domain.DEFAULT_ROUTES["training.capability_gap_identified"]
    assert rule["audience"] == ["team_leader"] and rule["mode"] == "digest"


def test_friday_21_00_is_held_until_monday_08_00():
    calendar = WorkingCalendar(Settings())
    assert calendar.next_opening(london(2026, 11, 27, 21, 0)) == london(2026, 11, 30, 8, 0)
    assert calendar.is_open(london(2026, 11, 27, 18, 29))
    assert not calendar.is_open(london(2026, 11, 27, 18, 30))
    assert calendar.next_opening(london(2026, 11, 27, 10, 0)) == london(2026, 11, 27, 10, 0)


def test_bank_holidays_and_the_recipients_own_zone_move_the_opening():
    settings = Settings(bank_holidays=frozenset({date(2026, 12, 28)}))
    calendar = WorkingCalendar(settings)
    assert calendar.next_opening(london(2026, 12, 25, 20, 0)) == london(2026, 12, 29, 8, 0)
    # 08:00 in Lisbon in summer is 08:00 in London too; in New York it is 13:00 London.
    new_york = WorkingCalendar(Settings(), "America/New_York")
    assert new_york.next_opening(london(2026, 6, 1, 9, 0)) == london(2026, 6, 1, 13, 0)


def test_working_hours_count_only_inside_the_window():
    calendar = WorkingCalendar(Settings())
    # Fri 17:00-18:30 (1.5 h), Mon 10.5 h, Tue 10.5 h: 22.5 h; 1.5 h more on Wednesday.
    assert calendar.add_working_hours(london(2026, 11, 27, 17, 0), 24) == \
        london(2026, 12, 2, 9, 30)
    assert calendar.add_working_days(london(2026, 11, 30, 9, 0), 2) == \
        london(2026, 12, 2, 9, 0)


def test_summer_time_is_respected():
    calendar = WorkingCalendar(Settings())
    opening = calendar.next_opening(london(2026, 7, 4, 12, 0))  # Saturday
    assert opening == london(2026, 7, 6, 8, 0)
    assert opening.astimezone(timezone.utc).hour == 7


def test_the_most_specific_preference_wins_and_unsubscribe_is_told_apart():
    person = {"preferences": {"by_event": {"measurement.signal_detected": {"email": "digest"}},
                              "by_channel": {"email": "off", "webhook": "off"}},
              "unsubscribed": []}
    assert domain.preferred_mode(person, "measurement.signal_detected", "email",
                                 "immediate") == ("digest", None)
    assert domain.preferred_mode(person, "measurement.assurance_changed", "email",
                                 "immediate") == ("off", domain.REASON_PREFERENCE_OFF)
    assert domain.preferred_mode(person, "measurement.signal_detected", "inbox",
                                 "immediate") == ("immediate", None)
    person["unsubscribed"] = ["measurement.signal_detected"]
    assert domain.preferred_mode(person, "measurement.signal_detected", "email",
                                 "immediate") == ("off", domain.REASON_UNSUBSCRIBED)


def test_backoff_grows_is_jittered_and_bounded():
    settings = Settings(backoff_base_seconds=10, backoff_cap_seconds=100)
    rng = random.Random(7)
    waits = [[domain.backoff_seconds(n, settings, rng) for _ in range(50)] for n in (1, 3, 8)]
    assert all(5 <= wait <= 15 for wait in waits[0])
    assert max(waits[1]) > 15 and all(wait <= 45 for wait in waits[1])
    assert all(wait <= 105 for wait in waits[2]) and len(set(waits[2])) > 40


def test_only_ids_and_a_few_words_leave_the_service():
    data = {"measure_id": "m1", "kind": "concern", "period": "2026-11-01", "value": 3.5,
            "escalated_to": "dr.who", "email": "x@example.org", "note": "free text"}
    assert domain.thin_data(data) == {"measure_id": "m1", "kind": "concern",
                                      "period": "2026-11-01"}


def test_an_unknown_time_zone_or_clock_is_refused_naming_the_field():
    with pytest.raises(RuleBroken) as refused:
        domain.zone("Europe/Atlantis")
    assert "time_zone" in refused.value.fields
    with pytest.raises(RuleBroken) as refused:
        domain.parse_clock("25:99", "digest_time")
    assert "digest_time" in refused.value.fields


def test_settings_from_config_read_holidays_and_refuse_unknown_keys():
    settings = settings_from_config({
        "NOTIFICATIONS_BANK_HOLIDAYS": ["2026-12-25", "2026-12-28"],
        "NOTIFICATIONS_WINDOW_START": "09:00", "AMQP_URI": "ignored"})
    assert date(2026, 12, 28) in settings.bank_holidays
    assert settings.window_start.hour == 9
    with pytest.raises(ValueError, match="NOTIFICATIONS_QUIET"):
        settings_from_config({"NOTIFICATIONS_QUIET": True})


def test_the_digest_slot_is_the_latest_digest_time_at_or_before_now():
    person = {"_id": "p1", "digest_time": "08:00", "time_zone": "Europe/London"}
    slot, due = domain.digest_slot(person, "email", london(2026, 11, 30, 9, 15), Settings())
    assert due == london(2026, 11, 30, 8, 0) and slot.endswith("2026-11-30")
    slot, due = domain.digest_slot(person, "email", london(2026, 11, 30, 7, 59), Settings())
    assert due == london(2026, 11, 29, 8, 0)
    assert domain.next_digest_at(person, london(2026, 11, 30, 8, 0), Settings()) == \
        london(2026, 12, 1, 8, 0)
    assert domain.next_digest_at(person, london(2026, 11, 30, 7, 0), Settings()) - \
        london(2026, 11, 30, 7, 0) == timedelta(hours=1)


def test_a_loaded_events_dates_are_kept_and_matched_as_the_json_it_travelled_in():
    data = {"measure_id": "m1", "period": date(2026, 11, 2), "value": 41.5,
            "escalated_at": london(2026, 11, 2, 9, 0), "kind": "concern"}
    assert domain.thin_data(data) == {"measure_id": "m1", "period": "2026-11-02",
                                      "kind": "concern"}
    assert domain.rule_matches({"when": {"period": ["2026-11-02"]}}, data)
    assert not domain.rule_matches({"when": {"period": ["2026-11-09"]}}, data)
