"""The lead's settings forms as the services see them: what each form sends (a share typed as a
percentage sent as a fraction), what the tables show, who may open the pages, and the words of
the web kept in step with each service's own vocabulary."""
import pytest
from werkzeug.datastructures import MultiDict

from analytics.spc.vocabulary import IMPROVEMENT_DIRECTIONS
from services.measurement import domain as measurement
from services.notifications.domain import routing
from services.training.domain import framework as training
from services.web.lead_settings import common, measures, notifications, practices
from services.web.lead_settings import training as training_form
from services.web.people import Access


@pytest.mark.parametrize("typed, answer", [
    ("80", (0.8, None)), ("12.5%", (0.125, None)), (" 0 ", (0.0, None)), ("100", (1.0, None)),
    ("", (None, None)), ("150", (None, "enter a percentage from 0 to 100")),
    ("-1", (None, "enter a percentage from 0 to 100")),
    ("eighty", (None, "enter a percentage as a number, such as 80"))])
def test_a_percentage_typed_becomes_the_fraction_the_services_keep(typed, answer):
    assert common.percentage_to_fraction(typed) == answer


def test_a_fraction_is_shown_as_the_percentage_it_was_typed_as():
    assert [common.fraction_to_percentage(f) for f in (0.8, 0.125, 1.0, 0, None)] == [
        "80", "12.5", "100", "0", ""]
    fraction, _ = common.percentage_to_fraction("33.3")
    assert common.fraction_to_percentage(fraction) == "33.3"


def test_only_the_network_lead_opens_the_settings():
    def person(role, practice_id=None):
        return Access("u", "n", "s", "north-pcn", role, practice_id)
    assert common.leads_the_network(person("network_lead"))
    assert common.leads_the_network(person("admin"))
    assert not common.leads_the_network(person("practice_lead", "F84001"))
    assert not common.leads_the_network(person("practice_member", "F84001"))


MEASURE = {"name": "SMRs", "type": "process", "value_kind": "proportion", "unit": "",
           "frequency": "week", "operational_definition": "Reviews on the template",
           "improvement": "increase", "target": "80", "fix_after_n_points": ""}


def test_a_proportions_target_is_a_percentage_here_and_a_fraction_there():
    body, errors = measures.measure_body(MEASURE)
    assert errors == {}
    assert body == {"name": "SMRs", "type": "process", "value_kind": "proportion",
                    "unit": None, "frequency": "week",
                    "operational_definition": "Reviews on the template",
                    "improvement": "increase", "target": 0.8, "fix_after_n_points": None}
    assert measures.measure_body({**MEASURE, "target": "150"})[1] == {
        "target": ["enter a percentage from 0 to 100"]}


def test_other_targets_are_numbers_as_typed_and_the_rest_is_the_services_to_refuse():
    body, errors = measures.measure_body({**MEASURE, "value_kind": "count", "target": "150",
                                          "fix_after_n_points": "5"})
    assert (body["target"], body["fix_after_n_points"], errors) == (150.0, 5, {})
    body, errors = measures.measure_body({**MEASURE, "value_kind": "rate", "target": "many",
                                          "fix_after_n_points": "twelve"})
    assert errors == {"target": ["enter a number, such as 3, or leave it empty"]}
    assert body["fix_after_n_points"] == "twelve"  # the service names the field


def test_a_measure_is_shown_in_words():
    row = measures.measure_row({"id": "msr_1", "name": "SMRs", "type": "process",
                                "value_kind": "proportion", "frequency": "week",
                                "operational_definition": "x", "improvement": "decrease",
                                "target": 0.85})
    assert (row["type"], row["value_kind"], row["frequency"], row["improvement"],
            row["target"]) == ("Process", "Proportion", "Weekly", "Lower is better", "85%")
    row = measures.measure_row({"name": "Waits", "type": "balancing", "unit": "days",
                                "value_kind": "continuous", "frequency": "month",
                                "improvement": "neutral", "target": None})
    assert row["target"] == "None"
    assert measures.measure_row({"name": "W", "type": "outcome", "unit": "days",
                                 "value_kind": "count", "frequency": "month",
                                 "improvement": "increase", "target": 3.0})["target"] == "3 days"


def test_the_webs_words_cover_each_services_vocabulary_exactly():
    assert tuple(measures.TYPES) == measurement.MEASURE_TYPES
    assert tuple(measures.VALUE_KINDS) == measurement.VALUE_KINDS
    assert tuple(measures.FREQUENCIES) == measurement.FREQUENCIES
    assert tuple(measures.DIRECTIONS) == IMPROVEMENT_DIRECTIONS
    assert set(notifications.AUDIENCES) == set(routing.AUDIENCES)
    assert tuple(notifications.CHANNELS) == routing.CHANNELS
    assert set(notifications.MODES) == {"immediate", "digest"}
    assert set(notifications.EVENT_WORDS) == set(routing.DEFAULT_ROUTES)
    assert tuple(training_form.LEVELS) == training.AWARDABLE_LEVELS
    assert tuple(training_form.APPLIES_TO) == training.APPLIES_TO
    assert tuple(training_form.ANCHORS) == training.ANCHORS


def test_a_key_form_sends_what_the_projects_service_takes():
    assert practices.key_body("practice", {"practice_key.practice_id": "F84002",
                                           "practice_key.label": ""}, "north-pcn") == {
        "role": "practice", "practice_id": "F84002", "label": None}
    assert practices.key_body("person", {"person_key.staff_id": "nurse-02",
                                         "person_key.practice_id": "",
                                         "person_key.label": "app"}, "north-pcn") == {
        "role": "person", "practice_id": None, "label": "app", "staff_id": "nurse-02",
        "network_id": "north-pcn"}
    assert "network_id" not in practices.key_body("person", {
        "person_key.staff_id": "nurse-02", "person_key.practice_id": "F84002",
        "person_key.label": ""}, "north-pcn")
    assert practices.practice_body({"practice.ods_code": "f84003", "practice.name": "R"},
                                   "north-pcn") == {"ods_code": "F84003", "name": "R",
                                                    "network_id": "north-pcn"}


def test_keys_live_first_newest_first_and_revocable_only_where_the_service_allows():
    lead = common.acting_principal(Access("u", "n", "s", "north-pcn", "network_lead"))
    keys = [
        {"key_id": "k1", "role": "network_lead", "network_id": "north-pcn",
         "issued_at": "2026-01-01T00:00:00+00:00", "revoked_at": None},
        {"key_id": "k2", "role": "practice", "network_id": "north-pcn", "practice_id": "F84001",
         "label": "uploads", "issued_at": "2026-02-01T00:00:00+00:00",
         "revoked_at": "2026-03-01T00:00:00+00:00"},
        {"key_id": "k3", "role": "person", "network_id": "north-pcn", "staff_id": "nurse-02",
         "issued_at": "2026-04-06T00:00:00+00:00", "revoked_at": None}]
    rows = practices.key_rows(keys, lead, [{"ods_code": "F84001", "name": "Riverside"}])
    assert [(r["id"], r["may_revoke"], r["revoked"]) for r in rows] == [
        ("k3", True, ""), ("k1", False, ""), ("k2", False, "1 March 2026")]
    assert rows[0]["for"] == "staff nurse-02" and rows[0]["issued"] == "6 April 2026"
    assert rows[2]["for"] == "Riverside (F84001)" and rows[1]["for"] == "the network"


RULES = [{"name": "escalated", "when": {}, "audience": ["named_leader"], "mode": "immediate",
          "channels": ["email", "webhook", "inbox"], "critical": False,
          "critical_measure_ids": []},
         {"name": "concern", "when": {"kind": ["concern"]}, "audience": ["network_lead"],
          "mode": "digest", "channels": ["inbox"], "critical": True,
          "critical_measure_ids": ["msr_1"]}]


def test_a_route_form_changes_who_when_and_how_and_keeps_the_rest_of_each_rule():
    shown = notifications.route_values(RULES)
    assert shown["rules.1.audience"] == ["network_lead"] and shown["rules.0.mode"] == "immediate"
    sent = MultiDict([("rules.0.audience", "network_lead"), ("rules.0.audience", "watchers"),
                      ("rules.0.mode", "digest"), ("rules.0.channels", "inbox")])
    body = notifications.route_body("huddle.item_escalated", RULES,
                                    notifications.route_values(RULES, sent))
    assert body["event_type"] == "huddle.item_escalated"
    assert body["rules"][0] == {**RULES[0], "audience": ["network_lead", "watchers"],
                                "mode": "digest", "channels": ["inbox"]}
    assert body["rules"][1] == {**RULES[1], "audience": [], "mode": None, "channels": []}
    assert notifications.route_labels(RULES)["rules.1.mode"] == "Rule “concern”, when"
    summary = notifications.rule_summary(RULES[1])
    assert (summary["condition"], summary["audience"], summary["mode"]) == (
        "kind is concern", "Network leads", "In the daily digest")


FRAMEWORK = {"network_id": "north-pcn", "requirements": [
    {"requirement_id": "starter_introduction", "applies_to": "everyone", "role": None,
     "level": "introduction", "anchor": "start", "within_days": 90,
     "effective_from": "2026-01-01"},
    {"requirement_id": "board_development", "applies_to": "role", "role": "board_member",
     "level": "board", "anchor": "start", "within_days": 365}],
    "targets": {"introduction_share_per_year": 0.1, "foundations_share_per_year": 0.2,
                "leaders_on_programme_share": 1.0,
                "coverage": {"level": "introduction", "share": 0.9, "by": None}}}


def test_the_training_form_shows_percentages_and_sends_fractions():
    values = training_form.framework_values(FRAMEWORK)
    assert values["requirements.1.within_days"] == "365"
    assert values["targets.coverage.share"] == "90"
    assert values["targets.leaders_on_programme_share"] == "100"
    body, errors = training_form.framework_change(FRAMEWORK, {
        **values, "requirements.0.within_days": "60", "targets.coverage.share": "95",
        "targets.coverage.by_day": "31", "targets.coverage.by_month": "3",
        "targets.coverage.by_year": "2027"})
    assert errors == {}
    assert body["requirements"][0] == {"requirement_id": "starter_introduction",
                                       "applies_to": "everyone", "role": None,
                                       "anchor": "start", "level": "introduction",
                                       "within_days": 60}
    assert body["targets"] == {"introduction_share_per_year": 0.1,
                               "foundations_share_per_year": 0.2,
                               "leaders_on_programme_share": 1.0,
                               "coverage": {"level": "introduction", "share": 0.95,
                                            "by": "2027-03-31"}}
    assert training_form.requirement_words(FRAMEWORK["requirements"][1]) == \
        "People whose job is board member"


def test_a_share_that_is_not_a_percentage_is_refused_here_and_days_are_the_services():
    values = training_form.framework_values(FRAMEWORK)
    body, errors = training_form.framework_change(FRAMEWORK, {
        **values, "targets.introduction_share_per_year": "150",
        "targets.coverage.share": "", "requirements.1.within_days": "a year"})
    assert errors == {"targets.introduction_share_per_year": ["enter a percentage from 0 to 100"],
                      "targets.coverage.share": ["enter a percentage from 0 to 100"]}
    assert body["requirements"][1]["within_days"] == "a year"


def test_the_coverage_date_is_the_nhs_date_input_and_a_date_that_is_not_real_is_refused_here():
    framework = {**FRAMEWORK, "targets": {**FRAMEWORK["targets"], "coverage": {
        "level": "introduction", "share": 0.9, "by": "2027-03-01"}}}
    values = training_form.framework_values(framework)
    assert [values[f"targets.coverage.by_{part}"] for part in ("day", "month", "year")] == \
        ["1", "3", "2027"]
    assert training_form.framework_values(FRAMEWORK)["targets.coverage.by_day"] == ""
    body, errors = training_form.framework_change(framework, {
        **values, "targets.coverage.by_day": "31", "targets.coverage.by_month": "2"})
    assert errors == {"targets.coverage.by": [
        "Enter a real date, such as 6 7 2026 (day, month, year)"]}
    body, errors = training_form.framework_change(framework, {
        **values, "targets.coverage.by_day": "", "targets.coverage.by_month": "",
        "targets.coverage.by_year": ""})
    assert errors == {} and body["targets"]["coverage"]["by"] is None
