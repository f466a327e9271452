"""Epic planning: splits worked out by hand, capacity sources, pinned features, progress."""

from __future__ import annotations

from pathlib import Path

import pytest
from orchestra import teams
from orchestra.store import open_store
from orchestra.workflow.capacity import SprintPoints, sprint_points
from orchestra.workflow.definitions import EpicDef, FeatureDef
from orchestra.workflow.epics import feature_progress, plan_view, split


def epic(*features: FeatureDef, **kw) -> EpicDef:
    return EpicDef(id="e", path=Path("e.yaml"), features=features, **kw)


def f(id: str, estimate: float, *deps: str, team: str | None = None, priority: str = "normal",
      sprint: str | None = None) -> FeatureDef:
    return FeatureDef(id=id, title=id, estimate=estimate, team=team, priority=priority, dependencies=deps,
                      sprint=sprint)


def features_per_sprint(sprints: list[dict]) -> list[list[str]]:
    return [[x["id"] for x in s["features"]] for s in sprints]


def test_split_by_hand() -> None:
    # 10 points a sprint. Sprint 1: A first (longest chain A-B-D = 18), B (8) no longer fits in the
    # 5 left, C (3) does. Sprint 2: B; D (5) does not fit beside it. Sprint 3: D.
    sprints, warnings = split(epic(f("A", 5), f("B", 8, "A"), f("C", 3), f("D", 5, "B")), SprintPoints(10, "epic"))
    assert features_per_sprint(sprints) == [["A", "C"], ["B"], ["D"]]
    assert [s["points"] for s in sprints] == [8, 8, 5] and warnings == []


def test_dependencies_may_share_a_sprint_but_never_come_later() -> None:
    sprints, _ = split(epic(f("A", 2), f("B", 2, "A"), f("C", 2, "B")), SprintPoints(10, "epic"))
    assert features_per_sprint(sprints) == [["A", "B", "C"]]


def test_priority_goes_first() -> None:
    sprints, _ = split(epic(f("low", 6, priority="low"), f("urgent", 6, priority="critical")), SprintPoints(8, "x"))
    assert features_per_sprint(sprints) == [["urgent"], ["low"]]


def test_feature_bigger_than_a_sprint_gets_its_own_and_a_warning() -> None:
    sprints, warnings = split(epic(f("big", 15), f("small", 2)), SprintPoints(10, "epic"))
    assert features_per_sprint(sprints) == [["small"], ["big"]]  # what fits first, then the big one alone
    assert warnings == ["big (15 points) is bigger than a sprint (10 points); split it into smaller features"]


def test_a_feature_of_no_points_joins_the_sprint_of_a_feature_bigger_than_a_sprint() -> None:
    # "launch" (0 points) waits on "big" (15 of 10): it fits beside it rather than taking a sprint of its own
    sprints, warnings = split(epic(f("big", 15, team="eng"), f("launch", 0, "big", team="eng")),
                              SprintPoints(10, "teams.yaml", {"eng": 10}))
    assert features_per_sprint(sprints) == [["big", "launch"]] and sprints[0]["points"] == 15
    assert len(warnings) == 1


def test_team_caps_from_teams_yaml_by_hand() -> None:
    # eng holds 6 points a sprint, qa 4: E1 (4) and Q1 (3) fit; E2 (4) would take eng to 8.
    capacity = SprintPoints(10, "teams.yaml", {"eng": 6, "qa": 4})
    sprints, _ = split(epic(f("E1", 4, team="eng"), f("E2", 4, team="eng"), f("Q1", 3, team="qa")), capacity)
    assert features_per_sprint(sprints) == [["E1", "Q1"], ["E2"]]
    assert sprints[0]["teams"] == {"eng": 4, "qa": 3}


def test_a_feature_bigger_than_its_teams_points_says_so() -> None:
    capacity = SprintPoints(10, "teams.yaml", {"eng": 6, "qa": 4})
    sprints, warnings = split(epic(f("E1", 4, team="eng"), f("Q1", 5, team="qa")), capacity)
    assert features_per_sprint(sprints) == [["E1"], ["Q1"]]
    assert warnings == ["Q1 (5 points) is bigger than its team's points per sprint (qa: 4 points in teams.yaml); "
                        "split it into smaller features"]


def test_pinned_features_are_planned_already(tmp_path: Path) -> None:
    e = epic(f("A", 5, sprint="sprint-3"), f("B", 5, "A"), f("C", 5, "B"), start="2026-12-01", sprint_days=14)
    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as store, store.snapshot() as tx:
        plan = plan_view(tx, e, teams.build({}), points=10)
    assert plan["existing"] == [{"sprint": "sprint-3", "points": 5, "features": [
        {"id": "A", "title": "A", "team": None, "estimate": 5, "priority": "normal", "dependencies": []}]}]
    assert features_per_sprint(plan["sprints"]) == [["B", "C"]]
    first = plan["sprints"][0]
    assert (first["id"], first["start"], first["end"]) == ("e-sprint-2", "2026-12-15", "2026-12-28")


def test_capacity_sources_in_order() -> None:
    org = teams.build({"teams": {
        "eng": {"orchestrator": "eng-director", "settings": {"points_per_sprint": 12}},
        "qa": {"orchestrator": "qa-director", "settings": {"points_per_sprint": 5}},
    }})
    history = [{"sprint": "s1", "points": 9}, {"sprint": "s2", "points": 12}, {"sprint": "s3", "points": 15},
               {"sprint": "s4", "points": 18}]
    assert sprint_points(option=7, epic_points=20, history=history, org=org, teams=["eng"]).source == "option"
    assert sprint_points(option=None, epic_points=20, history=history, org=org, teams=["eng"]).total == 20
    by_velocity = sprint_points(option=None, epic_points=None, history=history, org=org, teams=["eng"])
    assert (by_velocity.source, by_velocity.total) == ("velocity", 15)  # mean of the last three
    configured = sprint_points(option=None, epic_points=None, history=[], org=org, teams=["eng", "qa", None])
    assert (configured.source, configured.total, configured.per_team) == ("teams.yaml", 17, {"eng": 12, "qa": 5})
    with pytest.raises(ValueError, match="no sprint capacity known.*settings of design"):
        sprint_points(option=None, epic_points=None, history=[], org=org, teams=["eng", "design"])
    with pytest.raises(ValueError, match="--points 0"):
        sprint_points(option=0, epic_points=None, history=[], org=org, teams=[])
    for option in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="must be a finite number more than 0"):
            sprint_points(option=option, epic_points=None, history=[], org=org, teams=[])


def test_velocity_counts_a_sprint_that_completed_nothing() -> None:
    history = [{"sprint": "s1", "points": 12}, {"sprint": "s2", "points": 9}, {"sprint": "s3", "points": 0}]
    by_velocity = sprint_points(option=None, epic_points=None, history=history, org=teams.build({}), teams=[])
    assert (by_velocity.source, by_velocity.total) == ("velocity", 7)  # (12 + 9 + 0) / 3


def test_closed_sprints_that_completed_nothing_are_not_called_no_history() -> None:
    """Sprints were closed with nothing completed: the refusal said there was no velocity history yet."""
    history = [{"sprint": "s1", "points": 12}, {"sprint": "s2", "points": 0}, {"sprint": "s3", "points": 0},
               {"sprint": "s4", "points": 0}]
    with pytest.raises(ValueError, match=r"or pass --points \(the last 3 closed sprints completed no points, so "
                                         r"velocity gives none\)"):
        sprint_points(option=None, epic_points=None, history=history, org=teams.build({}), teams=[])
    with pytest.raises(ValueError, match=r"\(no velocity history yet\)"):
        sprint_points(option=None, epic_points=None, history=[], org=teams.build({}), teams=[])


def test_feature_progress_from_its_tasks() -> None:
    feature = f("login", 8)
    tasks = [{"id": "a", "feature": "login", "status": "completed", "estimate": 5, "sprint": "s1"},
             {"id": "b", "feature": "login", "status": "queued", "estimate": 3, "sprint": "s2"},
             {"id": "c", "feature": "other", "status": "queued"}]
    progress = feature_progress(feature, tasks)
    assert (progress["status"], progress["tasks"], progress["task_points_completed"]) == ("in_progress", ["a", "b"], 5)
    assert progress["sprints"] == ["s1", "s2"] and progress["sprint"] is None  # where its tasks are; `sprint:` unset
    assert feature_progress(feature, tasks[:1])["status"] == "complete"
    assert feature_progress(feature, tasks[1:2])["status"] == "planned"
    assert feature_progress(feature, [])["status"] == "unplanned"
    # its only task cancelled: nothing delivers it, and the plan of what is left plans it again
    assert feature_progress(feature, [{"id": "d", "feature": "login", "status": "cancelled"}])["status"] == "unplanned"
