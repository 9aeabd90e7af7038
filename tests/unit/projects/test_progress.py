"""The IHI progress score's rules: the score the lead sets, and each boundary of the
suggestion derived from cycles, stage, team and measures in special-cause improvement."""
from dataclasses import replace
from datetime import date, datetime, timezone

import pytest

from services.projects import progress
from services.projects.progress import Evidence, suggest
from shared.domain import RuleBroken

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
BARE = Evidence(stage="idea", has_lead=False, team_size=0, cycles_running=0,
                cycles_completed=0, measures=0, improving=0, outcome_measures=0,
                outcome_improving=0)
TESTED = replace(BARE, stage="testing", has_lead=True, team_size=3, cycles_completed=1,
                 measures=3, improving=1)


@pytest.mark.parametrize("evidence, score", [
    (BARE, 0.5),
    (replace(BARE, has_lead=True, team_size=1), 0.5),  # a lead alone is not a team
    (replace(BARE, has_lead=False, team_size=4), 0.5),  # nor a team without a lead
    (replace(BARE, has_lead=True, team_size=2), 1.0),
    (replace(BARE, stage="planning"), 1.5),
    (replace(BARE, stage="closed", has_lead=True, team_size=2), 1.0),
    (replace(BARE, stage="planning", cycles_running=1), 2.0),
    (replace(BARE, cycles_completed=1), 2.5),
    # Improvement before any completed cycle is not linked to a tested change.
    (replace(BARE, cycles_running=1, measures=1, improving=1), 2.0),
    (replace(BARE, cycles_completed=1, measures=1, improving=1), 3.0),
    # Most measures: more than half, and at least two.
    (replace(TESTED, measures=4, improving=2), 3.0),
    (replace(TESTED, measures=3, improving=2), 3.5),
    (replace(TESTED, measures=2, improving=2), 3.5),
    # Every outcome measure improving (at least one known), with a completed cycle.
    (replace(TESTED, outcome_measures=2, outcome_improving=1), 3.0),
    (replace(TESTED, outcome_measures=1, outcome_improving=1), 4.0),
    (replace(TESTED, cycles_completed=0, cycles_running=1, outcome_measures=1,
             outcome_improving=1), 2.0),
    (replace(TESTED, stage="sustaining"), 3.0),
    (replace(TESTED, stage="sustaining", outcome_measures=1, outcome_improving=1), 4.5),
    (replace(TESTED, stage="sustaining", measures=1, improving=1, outcome_measures=1,
             outcome_improving=1), 4.5),
])
def test_each_boundary_of_the_suggestion(evidence, score):
    suggestion = suggest(evidence)
    assert suggestion["score"] == score
    assert suggestion["meaning"] == progress.MEANINGS[score]


def test_five_is_never_suggested_and_the_reasons_say_so():
    best = replace(TESTED, stage="sustaining", measures=5, improving=5, outcome_measures=2,
                   outcome_improving=2, cycles_completed=30)
    suggestion = suggest(best)
    assert suggestion["score"] == 4.5
    assert suggestion["reasons"][-1] == "5.0 is the lead's judgement alone, never suggested"


def test_the_reasons_give_each_step_in_plain_english():
    reasons = suggest(replace(TESTED, cycles_running=2))["reasons"]
    assert reasons == [
        "the team has a lead and 2 other members",
        "the project is at the testing stage",
        "1 PDSA cycle completed and 2 running",
        "1 of 3 measures with data is in special-cause improvement on the network's "
        "pooled series",
        "4.0 needs every outcome measure improving, and no outcome measure is known here yet",
    ]
    bare = suggest(BARE)["reasons"]
    assert bare[0] == "no team yet: a lead and at least one more member form one"
    assert "no PDSA cycle has started, so no change is being tested" in bare
    assert "no measure has data yet" in bare
    assert bare[-1] == "2.0 needs a PDSA cycle testing a change"
    early = suggest(replace(BARE, cycles_running=1, measures=1, improving=1))["reasons"]
    assert any(r.startswith("improvement counts once a PDSA cycle is completed") for r in early)
    assert suggest(replace(BARE, cycles_completed=1))["reasons"][-1] == (
        "3.0 needs a measure in special-cause improvement")


def test_the_evidence_of_a_project():
    project = {"stage": "testing", "members": [
        {"staff_id": "a", "role": "lead"}, {"staff_id": "a", "role": "member"},
        {"staff_id": "b", "role": "lived_experience_partner"}]}
    measures = [
        {"measure_type": "outcome", "series": {"pooled": {"kind": "improvement"}}},
        {"measure_type": None, "series": {"F84001": {"kind": "improvement"}}},
        {"measure_type": "process", "series": {"pooled": {"kind": "concern"}}},
    ]
    evidence = progress.evidence_of(project, {"running": 1, "completed": 2}, measures)
    assert evidence == Evidence(stage="testing", has_lead=True, team_size=2, cycles_running=1,
                                cycles_completed=2, measures=3, improving=1,
                                outcome_measures=1, outcome_improving=1)


@pytest.mark.parametrize("score", [0.5, 2.5, 5.0])
def test_the_lead_sets_a_score_kept_with_its_history(score):
    project = {"_id": "prj-1", "version": 3, "progress_history": []}
    change = progress.set_score(project, score, "a note", "lead-01", NOW)
    entry = {"score": score, "note": "a note", "by": "lead-01", "at": NOW}
    assert change.set == {"progress_score": entry, "updated_at": NOW}
    assert change.append == {"progress_history": [entry]}


@pytest.mark.parametrize("score", [0.0, 0.25, 5.5, 3.2])
def test_a_score_off_the_scale_is_refused_naming_the_field(score):
    with pytest.raises(RuleBroken) as refused:
        progress.set_score({"_id": "prj-1"}, score, None, "lead-01", NOW)
    assert "score" in refused.value.fields


SIGNAL = {"measure_id": "msr-1", "project_id": "prj-1", "series": "pooled", "rule": "shift",
          "kind": "improvement", "point_type": "special_cause_improvement",
          "period": date(2026, 9, 7), "value": 0.9}


def test_a_signal_is_kept_per_series_and_only_a_newer_one_replaces_it():
    first = progress.signal_update(None, SIGNAL)
    assert first["series"] == {"pooled": {"kind": "improvement", "rule": "shift",
                                          "period": "2026-09-07"}}
    assert progress.is_improving(first)
    assert progress.signal_update(first, SIGNAL) is None  # redelivered
    older = {**SIGNAL, "kind": "concern", "period": date(2026, 8, 31)}
    assert progress.signal_update(first, older) is None
    newer = progress.signal_update(first, {**older, "period": date(2026, 9, 14),
                                           "measure_type": "outcome"})
    assert not progress.is_improving(newer)
    assert newer["measure_type"] == "outcome"
    practice = progress.signal_update(first, {**SIGNAL, "series": "F84001"})
    assert set(practice["series"]) == {"pooled", "F84001"}


def test_a_measure_is_heard_of_once():
    heard = progress.measure_heard_of(None, "msr-1", "prj-1")
    assert heard == {"_id": "msr-1", "project_id": "prj-1", "measure_type": None, "series": {}}
    assert progress.measure_heard_of(heard, "msr-1", "prj-1") is None
