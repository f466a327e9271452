"""Two scopes never share a worktree, even when their ids give one name (`foo` and `task-foo`, `T_1` and
`t-1`, sprints `3` and `sprint-3` of one name): the second gets the name plus a short hash, and no
record of another scope is reused or overwritten. Through the real hooks and CLI on real git repos."""

from __future__ import annotations

import json
from pathlib import Path

from tests.worktrees.conftest import cli, cli_json, git, seed, state
from tests.worktrees.test_hooks import delegate


def worktree_paths(repo: Path) -> list[str]:
    return [line[len("worktree "):] for line in git(repo, "worktree", "list", "--porcelain").splitlines()
            if line.startswith("worktree ")]


def test_delegations_of_tasks_whose_ids_give_one_name_get_two_worktrees_with_their_own_locks(repo: Path) -> None:
    seed(repo, **{"tasks.foo": {"title": "Foo"}, "tasks.task-foo": {"title": "Task foo"}})
    first = delegate(repo, "toolu_1", "fullstack-eng", "foo")
    second = delegate(repo, "toolu_2", "fullstack-eng", "task-foo")
    assert "permissionDecision" not in second
    mine = state(repo, "worktrees.task-foo")
    assert (mine["scope_id"], mine["tasks"], mine["lock"]["delegation"]) == ("foo", ["foo"], "toolu_1")
    theirs = [r for r in state(repo, "worktrees").values() if r["scope_id"] == "task-foo"]
    assert len(theirs) == 1 and theirs[0]["id"] == theirs[0]["branch"] != "task-foo"
    assert theirs[0]["id"].startswith("task-foo-") and theirs[0]["lock"]["delegation"] == "toolu_2"
    assert f"Worktree: {mine['path']} (" in first["updatedInput"]["prompt"]
    assert f"Worktree: {theirs[0]['path']} (" in second["updatedInput"]["prompt"]
    assert state(repo, "tasks.task-foo.worktree") == theirs[0]["path"] != state(repo, "tasks.foo.worktree")
    assert f"[{theirs[0]['branch']}]" in git(repo, "worktree", "list")


def test_created_scopes_whose_ids_give_one_name_get_worktrees_of_their_own(repo: Path) -> None:
    seed(repo, **{"sprints.3": {"id": "3", "name": "Payments", "status": "active"},
                  "sprints.sprint-3": {"id": "sprint-3", "name": "Payments", "status": "active"},
                  "tasks.T_1": {}, "tasks.t-1": {}})
    made = [cli_json(repo, "worktree", "create", *args) for args in
            (["3", "--strategy", "sprint"], ["sprint-3"], ["T_1", "--strategy", "task"], ["t-1", "--strategy", "task"])]
    assert [m["scope_id"] for m in made] == ["3", "sprint-3", "T_1", "t-1"]
    assert len({m["path"] for m in made}) == len({m["branch"] for m in made}) == 4
    assert (made[0]["id"], made[2]["id"]) == ("sprint-3-payments", "task-t-1")  # the first keeps the plain name
    assert made[1]["id"].startswith("sprint-3-payments-") and made[3]["id"].startswith("task-t-1-")
    stored = state(repo, "worktrees")
    assert {m["id"]: stored[m["id"]]["scope_id"] for m in made} == {m["id"]: m["scope_id"] for m in made}
    again = cli_json(repo, "worktree", "create", "t-1", "--strategy", "task")
    assert again["path"] == made[3]["path"] and len(worktree_paths(repo)) == 5


def test_a_sprint_start_gives_tasks_whose_ids_give_one_name_a_worktree_each(repo: Path) -> None:
    (repo / ".claude" / "sprints").mkdir()
    (repo / ".claude" / "sprints" / "sprint-8.yaml").write_text(
        "id: sprint-8\nname: Twins\ntasks:\n"
        "  - {id: foo, title: Foo, team: engineering, assignee: fullstack-eng, estimate: 1}\n"
        "  - {id: task-foo, title: Task foo, team: engineering, assignee: fullstack-eng, estimate: 1}\n")
    proc = cli(repo, "sprint", "start", "sprint-8", "--json")
    assert proc.returncode == 0, proc.stderr
    given = json.loads(proc.stdout)["worktrees"]
    assert given["foo"]["worktree"] == "task-foo" and given["task-foo"]["worktree"].startswith("task-foo-")
    assert state(repo, "worktrees.task-foo.tasks") == ["foo"]
    assert state(repo, "tasks.task-foo.worktree") == given["task-foo"]["path"] != given["foo"]["path"]
