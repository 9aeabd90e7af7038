"""CSV as spreadsheets write it: every common line ending (``\\r\\n``, ``\\n``, a bare ``\\r``
as older spreadsheet programs write), a byte-order mark, quoted fields holding line breaks;
a file that cannot be read is refused naming ``csv`` and the line, with nothing written."""
import pytest

from services.training.commands import cohorts, registry
from services.training.domain.csv_files import parse_register_csv
from shared.domain import RuleBroken
from shared.events.envelope import Trace
from tests.unit.training.conftest import (ADMIN, NETWORK, PRACTICES, at, cohort, offering,
                                          practice_key, register, staff_row)

NOW = at(2026, 3, 2, 9)
P1 = practice_key(PRACTICES[0])
LINE_ENDINGS = {"crlf": "\r\n", "lf": "\n", "cr": "\r"}
STAFF_HEADER = ("staff_id,network_id,practice_id,team,role,leader,lived_experience_partner,"
                "started_on")


def staff_csv(ending, *lines):
    return ending.join((STAFF_HEADER,) + lines) + ending


def staff_line(staff_id, team="front desk"):
    return f"{staff_id},{NETWORK},{PRACTICES[0]},{team},receptionist,false,false,2026-02-01"


def a_cohort_of_three(repository):
    register(repository, NOW, *[staff_row(f"e{n}", started_on="2026-01-05") for n in range(3)])
    group = cohort(repository, NOW, offering(repository, NOW, capacity=5), "2026-03-01")
    for n in range(3):
        cohorts.enrol(repository, ADMIN, group["_id"], {"staff_id": f"e{n}"}, NOW, Trace())
    return group


def marks(repository, group):
    return {e["staff_id"]: e["attendance"]
            for e in repository.cohort(group["_id"])["enrolments"] if e["attendance"]}


@pytest.mark.parametrize("ending", LINE_ENDINGS.values(), ids=LINE_ENDINGS.keys())
def test_a_register_reads_with_every_line_ending(repository, ending):
    group = a_cohort_of_three(repository)
    text = ending.join(["staff_id,status", "e0,present", "e1,apologies", "e2,late"]) + ending
    cohorts.import_register(repository, ADMIN, group["_id"], "s1", {"csv": text}, NOW, Trace())
    assert marks(repository, group) == {"e0": {"s1": "present"}, "e1": {"s1": "apologies"},
                                        "e2": {"s1": "late"}}


@pytest.mark.parametrize("ending", LINE_ENDINGS.values(), ids=LINE_ENDINGS.keys())
def test_a_staff_import_reads_with_every_line_ending(repository, ending):
    text = staff_csv(ending, staff_line("c1"), staff_line("c2"))
    documents = registry.import_staff(repository, P1, {"csv": text}, NOW, Trace())
    assert [(d["_id"], d["team"]) for d in documents] == [("c1", "front desk"),
                                                          ("c2", "front desk")]


def test_a_byte_order_mark_and_a_quoted_line_break_read_as_a_spreadsheet_wrote_them(
        repository):
    text = "\ufeff" + staff_csv("\r\n", staff_line("c1", team='"front\r\ndesk"'),
                                staff_line("c2"))
    documents = registry.import_staff(repository, P1, {"csv": text}, NOW, Trace())
    assert [(d["_id"], d["team"]) for d in documents] == [("c1", "front\r\ndesk"),
                                                          ("c2", "front desk")]
    group = a_cohort_of_three(repository)
    cohorts.import_register(repository, ADMIN, group["_id"], "s1", {
        "csv": "\ufeffstaff_id,status\re0,present\n\re1,absent\r\n"}, NOW, Trace())
    assert marks(repository, group) == {"e0": {"s1": "present"}, "e1": {"s1": "absent"}}


def test_lines_are_numbered_as_the_file_has_them(repository):
    """A quoted line break makes its record two lines long: the next record starts on 4."""
    text = 'staff_id,status\re0,"pres\rent"\re1,present,again\r'
    with pytest.raises(RuleBroken) as excinfo:
        parse_register_csv(text)
    assert excinfo.value.fields == {"csv": ["line 4: 3 values for 2 columns"]}


@pytest.mark.parametrize("ending", LINE_ENDINGS.values(), ids=LINE_ENDINGS.keys())
def test_a_csv_that_cannot_be_read_is_refused_naming_the_line(repository, ending):
    group = a_cohort_of_three(repository)
    before = repository.cohort(group["_id"])
    # The csv module reads no field over 131,072 characters.
    text = ending.join(["staff_id,status", "e0,present", "e1," + "x" * 140_000]) + ending
    with pytest.raises(RuleBroken) as excinfo:
        cohorts.import_register(repository, ADMIN, group["_id"], "s1", {"csv": text}, NOW,
                                Trace())
    assert list(excinfo.value.fields) == ["csv"]
    assert excinfo.value.fields["csv"][0].startswith("line 3: field larger than field limit")
    assert repository.cohort(group["_id"]) == before
    with pytest.raises(RuleBroken) as excinfo:
        registry.import_staff(repository, P1, {"csv": staff_csv(
            ending, staff_line("c1"), staff_line("x" * 140_000))}, NOW, Trace())
    assert excinfo.value.fields["csv"][0].startswith("line 3: ")
    assert repository.staff("c1") is None


def test_a_row_with_more_values_than_columns_is_refused_naming_its_line(repository):
    with pytest.raises(RuleBroken) as excinfo:
        registry.import_staff(repository, P1, {"csv": staff_csv(
            "\r", staff_line("c1"), staff_line("c2") + ",extra")}, NOW, Trace())
    assert excinfo.value.fields == {"csv": ["line 3: 9 values for 8 columns"]}
    assert repository.staff("c1") is None
