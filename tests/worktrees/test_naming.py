"""Strategies, scopes and the branch and directory names derived from ids (pure functions)."""

from __future__ import annotations

import pytest
from orchestra.teams import build
from orchestra.worktrees.allocation import scope_of_task
from orchestra.worktrees.naming import Scope, scope_for, slug, strategy_for

TASK = {"id": "task-oauth", "sprint": "sprint-3", "team": "engineering"}
SPRINT = {"name": "Payments", "epic": "payments"}


@pytest.mark.parametrize(("scope", "branch", "name"), [
    (Scope("epic", "payments"), "feature/payments", "feature-payments"),
    (Scope("sprint", "sprint-3", "Payments"), "sprint-3-payments", "sprint-3-payments"),
    (Scope("sprint", "sprint_12", "Q4: Launch & Learn"), "sprint-12-q4-launch-learn", "sprint-12-q4-launch-learn"),
    (Scope("sprint", "autumn", ""), "sprint-autumn", "sprint-autumn"),
    (Scope("task", "task-oauth"), "task-oauth", "task-oauth"),
    (Scope("task", "oauth-implementation"), "task-oauth-implementation", "task-oauth-implementation"),
    (Scope("task", "T 7/β"), "task-t-7", "task-t-7"),
    (Scope("team", "frontend"), "team-frontend-work", "team-frontend-work"),
])
def test_branch_and_directory_names_come_from_ids(scope, branch, name):
    assert (scope.branch, scope.name) == (branch, name)
    assert "/" not in scope.name and " " not in scope.branch


def test_task_override_wins_over_team_and_unknown_or_missing_means_none():
    assert strategy_for({"worktree_strategy": "sprint"}, "task") == "sprint"
    assert strategy_for({}, "team") == "team"
    assert strategy_for({}, None) == "none"
    assert strategy_for({"worktree_strategy": "per-branch"}, "task") == "none"


def test_each_strategy_picks_its_scope_and_falls_back_when_the_task_lacks_one():
    assert scope_for(TASK, "task", SPRINT) == Scope("task", "task-oauth")
    assert scope_for(TASK, "sprint", SPRINT) == Scope("sprint", "sprint-3", "Payments")
    assert scope_for(TASK, "epic", SPRINT) == Scope("epic", "payments")
    assert scope_for(TASK, "team", SPRINT) == Scope("team", "engineering")
    assert scope_for(TASK, "none", SPRINT) is None
    loose = {"id": "t-9"}
    assert scope_for(loose, "epic") == Scope("task", "t-9")  # no epic, no sprint: its own
    assert scope_for({**loose, "sprint": "s1"}, "epic", {"name": "One"}) == Scope("sprint", "s1", "One")
    assert scope_for(loose, "team", team="qa") == Scope("team", "qa")


class _View:
    def __init__(self, records):
        self.records = records

    def get(self, collection, key):
        return self.records.get((collection, key))


def test_members_are_confined_orchestrators_and_reviewers_are_not():
    org = build({"teams": {"engineering": {
        "orchestrator": "engineering-director", "settings": {"worktree_strategy": "sprint"},
        "members": [{"name": "fullstack-eng"}, {"name": "tech-lead", "role": "reviewer"}]}}})
    view = _View({("sprints", "sprint-3"): SPRINT})
    assert scope_of_task(view, org, TASK, "fullstack-eng") == Scope("sprint", "sprint-3", "Payments")
    assert scope_of_task(view, org, TASK, "tech-lead") is None
    assert scope_of_task(view, org, TASK, "engineering-director") is None
    # a built-in agent on a team's task follows the team; an ad-hoc task without a team gets none
    assert scope_of_task(view, org, TASK, "general-purpose") == Scope("sprint", "sprint-3", "Payments")
    assert scope_of_task(view, org, {"id": "adhoc-1"}, "general-purpose") is None
    # its team renamed in teams.yaml since: the member doing it is still confined, by its own team's strategy
    stray = {**TASK, "team": "backend"}
    assert scope_of_task(view, org, stray, "fullstack-eng") == Scope("sprint", "sprint-3", "Payments")
    assert scope_of_task(view, org, stray, "general-purpose") is None  # no team to follow


def test_slug():
    assert slug("  Hello, World!  ") == "hello-world"
    assert slug(None) == ""


def test_a_name_too_long_for_the_file_system_is_cut_and_kept_apart():
    long_name = " ".join(["Ünïcode payments and more"] * 12)
    one, other = Scope("sprint", "sprint-3", long_name), Scope("sprint", "sprint-4", long_name)
    assert len(one.name) == 200 and one.name.startswith("sprint-3-n-code-payments-and-more-")
    assert one.name != other.name and one.branch == one.name and not one.name[:193].endswith("-")
    assert len(one.distinct().name) == 207 and len(Scope("team", "t" * 300).name) == 200
    assert Scope("task", "a" * 100).name == "task-" + "a" * 100  # ids the schema allows are not cut
