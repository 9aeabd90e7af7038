"""The training pages' words, from answers shaped as the training service gives them
(services/training/domain/coverage.py, cohort views): the pyramid table and its text
alternative, who needs what next with the offering that awards it, places left, the outcome
banners, and a refused register file's rows named by their line in the file."""
from services.web.catalogue import catalogue_view, cohort_dates, places_words
from services.web.training import (data_row_lines, moved_up, next_needs_rows, outcome_words,
                                   pyramid_alt, pyramid_rows, register_file_errors,
                                   waiting_list)
from services.web.upstream import UpstreamRefused

REPORT = {"scope": {"network_id": "north-pcn", "practice_id": "F84001", "team": None},
          "staff": 10, "gaps": {"open": 1, "due": 1},
          "pyramid": [{"level": "introduction", "holding": 4, "required": 10,
                       "required_holding": 4, "share": 0.4},
                      {"level": "improvement_leader", "holding": 1, "required": 2,
                       "required_holding": 0, "share": 0.1}],
          "next_needs": [{"staff_id": "nurse-03", "level": "introduction",
                          "due_on": "2026-04-05", "overdue": True, "requirement_id": "r1"},
                         {"staff_id": "nurse/04", "level": "coach", "due_on": "2027-01-31",
                          "overdue": False, "requirement_id": "r2"}]}


def test_the_pyramid_table_in_words():
    assert pyramid_rows(REPORT) == [
        {"level": "Introduction", "holding": 4, "required": 10, "required_holding": 4,
         "share": "40%"},
        {"level": "Improvement leader", "holding": 1, "required": 2, "required_holding": 0,
         "share": "10%"}]


def test_the_charts_text_alternative_names_the_scope_and_the_table():
    assert pyramid_alt(REPORT) == (
        "Capability pyramid of practice F84001, 10 staff: 4 hold Introduction; 1 hold "
        "Improvement leader. The same figures are in the table below.")
    network = {**REPORT, "scope": {"network_id": "north-pcn"}, "pyramid": []}
    assert pyramid_alt(network).startswith("Capability pyramid of the network north-pcn, "
                                           "10 staff: no levels held.")


def test_who_needs_what_next_links_the_person_and_an_offering_that_awards_it():
    offerings = [{"offering_id": "off_w", "title": "Refresher", "awards_level": None,
                  "refresher_for": "introduction"},
                 {"offering_id": "off_1", "title": "Introduction to QI",
                  "awards_level": "introduction"},
                 {"offering_id": "off_2", "title": "Second introduction",
                  "awards_level": "introduction"}]
    first, second = next_needs_rows(REPORT, offerings)
    assert first == {"staff_id": "nurse-03", "href": "/people/nurse-03/training",
                     "level": "Introduction", "due": "5 April 2026", "overdue": True,
                     "offering": {"title": "Introduction to QI",
                                  "href": "/training/offerings#offering-off_1"}}
    assert second["href"] == "/people/nurse%2F04/training"
    assert (second["level"], second["due"], second["offering"]) == (
        "Coach", "31 January 2027", None)


def test_places_left_or_full_with_the_waiting_list():
    assert places_words({"capacity": 12, "places_left": 3, "waiting": []}) == \
        "3 of 12 places left"
    assert places_words({"capacity": 1, "places_left": 1, "waiting": []}) == \
        "1 of 1 place left"
    assert places_words({"capacity": 12, "places_left": 0,
                         "waiting": [{"staff_id": "a"}, {"staff_id": "b"}]}) == \
        "Full: 2 waiting"
    assert places_words({"capacity": 1, "places_left": 0, "waiting": []}) == \
        "Full: nobody waiting"


def test_cohort_dates():
    sessions = [{"on": "2026-07-20"}, {"on": "2026-07-06"}, {"on": "2026-07-13"}]
    assert cohort_dates({"sessions": sessions}) == "6 July 2026 to 20 July 2026 (3 sessions)"
    assert cohort_dates({"sessions": sessions[:1]}) == "20 July 2026"


def test_the_waiting_list_keeps_the_services_positions():
    # A practice sees its own people only, each with their place in the whole list.
    cohort = {"waiting": [{"staff_id": "b", "joined_on": "2026-07-01", "position": 2},
                          {"staff_id": "d", "joined_on": "2026-07-02", "position": 4}]}
    assert [(w["position"], w["staff_id"]) for w in waiting_list(cohort)] == [(2, "b"), (4, "d")]
    network_view = {"waiting": [{"staff_id": "a", "joined_on": "2026-07-01"},
                                {"staff_id": "b", "joined_on": "2026-07-01"}]}
    assert [w["position"] for w in waiting_list(network_view)] == [1, 2]


def test_who_moved_up_on_a_withdrawal():
    before = {"enrolments": [{"staff_id": "a", "state": "enrolled"}],
              "waiting": [{"staff_id": "b"}, {"staff_id": "c"}]}
    after = {"enrolments": [{"staff_id": "a", "state": "withdrawn"},
                            {"staff_id": "b", "state": "enrolled"}],
             "waiting": [{"staff_id": "c"}]}
    assert moved_up(before, after) == "b"
    assert moved_up({**before, "waiting": []}, {**after, "enrolments": after[
        "enrolments"][:1]}) is None


def test_outcome_banners():
    assert outcome_words({"done": "enrolled", "staff_id": "nurse-04"}) == "nurse-04 is enrolled."
    assert outcome_words({"done": "waiting", "staff_id": "nurse-05", "position": "2"}) == \
        "nurse-05 joined the waiting list at position 2."
    assert outcome_words({"done": "withdrawn", "staff_id": "nurse-03",
                          "moved_up": "nurse-05"}) == \
        "nurse-03 withdrew; nurse-05 moved up from the waiting list."
    assert outcome_words({"done": "withdrawn", "staff_id": "nurse-03"}) == "nurse-03 withdrew."
    assert outcome_words({"done": "left_waiting", "staff_id": "n"}) == \
        "n left the waiting list."
    assert outcome_words({}) is None and outcome_words({"done": "x", "staff_id": "n"}) is None


def test_data_rows_are_counted_from_their_line_in_the_file():
    text = "\ufeffstaff_id,status\r\nnurse-01,present\r\n\r\nnurse-02,\"late\nreally\"\r\nn3,x\r\n"
    assert data_row_lines(text) == [2, 4, 6]


def test_a_refused_register_names_each_row_by_its_line():
    text = "staff_id,status\nnurse-01,present\n\nnurse-02,maybe\nnurse-09,late\n"
    refused = UpstreamRefused(422, {"message": "register refused; nothing was recorded",
                                    "fields": {"rows.1.status": ["Must be one of: present."],
                                               "rows.2.staff_id": ["nurse-09 is not enrolled"]}})
    assert register_file_errors(refused, text) == [
        "Line 4: status: Must be one of: present.",
        "Line 5: staff_id: nurse-09 is not enrolled"]


def test_a_refused_register_of_one_row_or_of_the_whole_file():
    one_row = UpstreamRefused(422, {"fields": {"status": ["one of present, late"]}})
    assert register_file_errors(one_row, "staff_id,status\nnurse-01,maybe\n") == [
        "Line 2: status: one of present, late"]
    header = UpstreamRefused(422, {"fields": {"csv": ["header is ['who', 'status']"]}})
    assert register_file_errors(header, "who,status\n") == ["Header is ['who', 'status']"]


def test_the_catalogue_lists_offerings_by_title_and_their_cohorts_by_first_session():
    offerings = [{"offering_id": "off_b", "title": "SPC in an hour",
                  "refresher_for": "foundations"},
                 {"offering_id": "off_a", "title": "foundations of improvement",
                  "awards_level": "foundations"}]
    cohorts = [
        {"cohort_id": "coh_late", "offering_id": "off_a", "capacity": 12, "places_left": 3,
         "sessions": [{"on": "2027-02-01"}]},
        {"cohort_id": "coh_webinar", "offering_id": "off_b", "capacity": 40, "places_left": 40,
         "sessions": [{"on": "2027-01-20"}]},
        {"cohort_id": "coh_early", "offering_id": "off_a", "capacity": 12, "places_left": 0,
         "waiting": [{"staff_id": "x"}], "sessions": [{"on": "2027-01-10"}, {"on": "2027-01-17"}]}]
    view = catalogue_view(offerings, cohorts)
    assert [o["offering_id"] for o in view] == ["off_a", "off_b"]  # by title, whatever the case
    assert [c["href"] for c in view[0]["cohorts"]] == ["/training/cohorts/coh_early",
                                                       "/training/cohorts/coh_late"]
    assert view[0]["cohorts"][0] == {
        "href": "/training/cohorts/coh_early", "places": "Full: 1 waiting",
        "dates": "10 January 2027 to 17 January 2027 (2 sessions)"}
    assert (view[0]["awards"], view[0]["refreshes"]) == ("Foundations", None)
    assert (view[1]["awards"], view[1]["refreshes"]) == (None, "Foundations")
    assert view[1]["anchor"] == "offering-off_b"
    assert catalogue_view([{"offering_id": "off_c", "title": "Coaching"}], [])[0]["cohorts"] == []
