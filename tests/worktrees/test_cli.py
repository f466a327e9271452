"""`orchestra worktree create|list|remove|conflicts` through the real command on real git repositories."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.store.conftest import BACKENDS
from tests.worktrees.conftest import cli, cli_json, commit_all, events, git, seed, state


def worktree_paths(repo: Path) -> list[str]:
    return [line[len("worktree "):] for line in git(repo, "worktree", "list", "--porcelain").splitlines()
            if line.startswith("worktree ")]


def test_create_by_task_sprint_epic_and_team_id(repo: Path) -> None:
    seed(repo, **{"sprints.sprint-3": {"id": "sprint-3", "name": "Payments", "epic": "payments", "status": "active"},
                  "epics.payments": {"id": "payments", "status": "active"},
                  "tasks.task-oauth": {"title": "OAuth", "sprint": "sprint-3"}})
    made = {ident: cli_json(repo, "worktree", "create", ident) for ident in ("task-oauth", "sprint-3", "payments",
                                                                             "engineering")}

    assert {k: (v["branch"], v["scope"]) for k, v in made.items()} == {
        "task-oauth": ("task-oauth", "task"), "sprint-3": ("sprint-3-payments", "sprint"),
        "payments": ("feature/payments", "epic"), "engineering": ("team-engineering-work", "team")}
    root = repo / ".worktrees"
    assert made["payments"]["path"] == str(root / "feature-payments")
    assert sorted(worktree_paths(repo)[1:]) == sorted(str(root / n) for n in
                                                      ("task-oauth", "sprint-3-payments", "feature-payments",
                                                       "team-engineering-work"))
    assert git(repo, "rev-parse", "feature/payments") == git(repo, "rev-parse", "main")
    # the worktree root ignores itself: the main checkout stays clean, no user file was touched
    assert (root / ".gitignore").read_text() == "*\n"
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert not (repo / ".gitignore").exists() and "worktrees" not in (repo / ".git/info/exclude").read_text()
    assert made["task-oauth"]["tasks"] == ["task-oauth"] and made["task-oauth"]["base"] == "main"
    assert len(events(repo, "worktree_created")) == 4

    listed = cli_json(repo, "worktree", "list")
    assert [r["id"] for r in listed] == ["feature-payments", "sprint-3-payments", "task-oauth", "team-engineering-work"]
    assert all(r["exists"] and r["lock"] is None for r in listed)
    text = cli(repo, "worktree", "list").stdout
    assert "task:task-oauth" in text and "feature/payments" in text


def test_create_twice_is_one_worktree(repo: Path) -> None:
    seed(repo, **{"tasks.t-1": {}})
    first = cli_json(repo, "worktree", "create", "t-1", "--strategy", "task")
    second = cli_json(repo, "worktree", "create", "t-1", "--strategy", "task")
    assert first["path"] == second["path"] and len(worktree_paths(repo)) == 2
    assert len(events(repo, "worktree_created")) == 1


def test_unknown_id_is_refused_with_one_line_and_writes_nothing(repo: Path) -> None:
    proc = cli(repo, "worktree", "create", "nothing-here")
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert "no task, sprint or epic" in proc.stderr and "--strategy" in proc.stderr
    assert not (repo / ".worktrees").exists() and state(repo, "worktrees") == {}


@pytest.mark.parametrize("argv", [("create", "t-1.title"), ("create", "t-1.acceptance", "--strategy", "task"),
                                  ("assign", "t-1.title"), ("assign", "t-1.acceptance")])
def test_an_id_naming_a_part_of_a_task_is_no_task(repo: Path, argv: tuple[str, ...]) -> None:
    seed(repo, **{"tasks.t-1": {"title": "Cart", "acceptance": {"criteria": ["works"]}}})
    proc = cli(repo, "worktree", *argv)
    assert proc.returncode == 1 and proc.stdout == "" and proc.stderr.count("\n") == 1, proc.stderr
    assert f"{argv[1]!r} is no" in proc.stderr or f"task {argv[1]!r} is not in state" in proc.stderr, proc.stderr
    assert not (repo / ".worktrees").exists() and state(repo, "worktrees") == {}


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_an_id_that_is_no_path_segment_names_no_run_task_or_worktree(repo: Path, tmp_path: Path, backend: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRA_STATE_URL", BACKENDS[backend](tmp_path))
    seed(repo, **{"tasks.t-1": {"title": "Cart"}, "agents.a1": {"id": "a1", "agent_type": "fullstack-eng",
                                                              "status": "active", "report": {}, "stops": {}}})
    from orchestra.store import open_store

    with open_store() as store:
        before = store.export()
    for bad in ("a1.report", "a1.stops", "a1.", " ", "a 1"):  # `a1.report` would get the path written into it
        proc = cli(repo, "worktree", "assign", "t-1", "--agent", bad)
        assert proc.returncode == 1 and proc.stdout == "" and proc.stderr.count("\n") == 1, (bad, proc.stderr)
        assert f"--agent {bad!r} is no agent run id" in proc.stderr, proc.stderr
    for bad in (" t-1", "t 1", "ünï"):
        proc = cli(repo, "worktree", "create", bad, "--strategy", "task")
        assert proc.returncode == 1 and f"{bad!r} is no task" in proc.stderr, proc.stderr
        proc = cli(repo, "worktree", "assign", bad)
        assert proc.returncode == 1 and f"task {bad!r} is not in state" in proc.stderr, proc.stderr
    for bad in ("t 1", "ünï", "x" * 300):
        for op in ("release", "remove"):
            proc = cli(repo, "worktree", op, bad)
            assert proc.returncode == 1 and proc.stdout == "" and proc.stderr.count("\n") == 1, proc.stderr
            assert f"no worktree {bad!r} in state" in proc.stderr, proc.stderr
    with open_store() as store:
        assert store.export() == before
    assert not (repo / ".worktrees").exists()


@pytest.mark.parametrize(("ident", "strategy", "error"), [
    ("made-up", "team", "--strategy team: 'made-up' is no team in teams.yaml and no task in state "
                        "(known teams: engineering, product, qa)"),
    ("made-up2", "epic", "--strategy epic: 'made-up2' is no epic in state and no task"),
    ("sprint-9", "sprint", "--strategy sprint: 'sprint-9' is no sprint in state and no task"),
    ("t-404", "task", "--strategy task: 't-404' is no task in state"),
])
def test_a_strategy_takes_only_an_id_of_its_kind_or_a_task(repo: Path, ident: str, strategy: str, error: str) -> None:
    seed(repo, **{"sprints.sprint-3": {"id": "sprint-3", "name": "Payments", "status": "active"}})
    proc = cli(repo, "worktree", "create", ident, "--strategy", strategy)
    assert proc.returncode == 1 and proc.stdout == "" and proc.stderr.count("\n") == 1
    assert error in proc.stderr, proc.stderr
    assert not (repo / ".worktrees").exists() and state(repo, "worktrees") == {}
    assert git(repo, "branch", "--list").split() == ["*", "main"]


def test_a_task_id_with_a_strategy_gets_the_worktree_of_its_sprint_epic_or_team(repo: Path) -> None:
    seed(repo, **{"sprints.sprint-3": {"id": "sprint-3", "name": "Payments", "epic": "payments", "status": "active"},
                  "epics.payments": {"id": "payments", "status": "active"},
                  "tasks.task-oauth": {"title": "OAuth", "sprint": "sprint-3"},
                  "tasks.task-loose": {"title": "no sprint, no epic", "team": "qa", "assignee": "qa-engineer"}})
    made = {strategy: cli_json(repo, "worktree", "create", "task-oauth", "--strategy", strategy)
            for strategy in ("sprint", "epic", "team", "task")}
    assert {k: (v["branch"], v["scope"], v["tasks"]) for k, v in made.items()} == {
        "sprint": ("sprint-3-payments", "sprint", ["task-oauth"]), "epic": ("feature/payments", "epic", ["task-oauth"]),
        "team": ("team-engineering-work", "team", ["task-oauth"]), "task": ("task-oauth", "task", ["task-oauth"])}
    # a task without an epic falls back to its sprint, one without a sprint to itself
    assert cli_json(repo, "worktree", "create", "task-loose", "--strategy", "epic")["branch"] == "task-loose"
    assert cli_json(repo, "worktree", "create", "task-loose", "--strategy", "team")["branch"] == "team-qa-work"
    # an id that names a scope of the strategy's kind is that scope, also when a task has the same id
    seed(repo, **{"tasks.qa": {"title": "a task named like a team", "sprint": "sprint-3"}})
    assert cli_json(repo, "worktree", "create", "qa", "--strategy", "team")["branch"] == "team-qa-work"
    assert cli_json(repo, "worktree", "create", "qa", "--strategy", "sprint")["branch"] == "sprint-3-payments"


def test_a_project_without_a_commit_gets_no_worktree(project: Path) -> None:
    seed(project, **{"tasks.t-1": {}})
    proc = cli(project, "worktree", "create", "t-1", "--strategy", "task")
    assert proc.returncode == 1 and "not a git repository with a commit" in proc.stderr


def test_base_and_root_are_configurable(repo: Path) -> None:
    git(repo, "branch", "develop")
    (repo / "later.txt").write_text("after develop\n")
    commit_all(repo, "main moves on")
    elsewhere = repo.parent / "trees elsewhere"
    (repo / ".claude" / "worktrees.yaml").write_text(f"root: {elsewhere}\nbase: develop\n")
    seed(repo, **{"tasks.t-2": {}})
    made = cli_json(repo, "worktree", "create", "t-2", "--strategy", "task")
    assert made["path"] == str(elsewhere / "task-t-2") and made["base"] == "develop"
    assert not (Path(made["path"]) / "later.txt").exists()
    assert not (elsewhere / ".gitignore").exists()  # outside the project nothing needs ignoring


def test_a_project_that_is_a_linked_worktree_bases_new_branches_on_its_own_branch(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    linked = repo.parent / "linked checkout"
    git(repo, "worktree", "add", "-q", "-b", "feat", str(linked))
    (linked / "feature.txt").write_text("only on feat\n")
    commit_all(linked, "feat moves on")
    monkeypatch.setenv("CLAUDE_PROJECT_DIR", str(linked))
    seed(linked, **{"tasks.t-12": {}})
    made = cli_json(linked, "worktree", "create", "t-12", "--strategy", "task")
    assert made["path"] == str(linked / ".worktrees" / "task-t-12")
    assert made["base"] == "feat" and made["base_commit"] == git(linked, "rev-parse", "feat").strip()
    assert (Path(made["path"]) / "feature.txt").is_file()


def test_a_tag_named_like_the_base_branch_does_not_become_the_base(repo: Path) -> None:
    git(repo, "tag", "release")  # at the first commit; the branch of that name moves on
    git(repo, "branch", "release")
    (repo / "NEWS.md").write_text("later\n")
    commit_all(repo, "later")
    git(repo, "branch", "-f", "release", "HEAD")
    (repo / ".claude" / "worktrees.yaml").write_text("base: release\n")
    seed(repo, **{"tasks.t-16": {}})

    made = cli_json(repo, "worktree", "create", "t-16", "--strategy", "task")
    assert made["base"] == "release" and made["base_commit"] == git(repo, "rev-parse", "refs/heads/release").strip()
    assert (Path(made["path"]) / "NEWS.md").is_file()


def test_a_detached_head_is_based_on_the_branch_holding_it_so_merged_work_can_be_removed(repo: Path) -> None:
    (repo / "later.txt").write_text("after the detached commit\n")
    commit_all(repo, "main moves on")
    git(repo, "checkout", "-q", "--detach", "HEAD~1")
    seed(repo, **{"tasks.t-13": {}})
    made = cli_json(repo, "worktree", "create", "t-13", "--strategy", "task")
    tree = Path(made["path"])
    assert made["base"] == "main" and made["base_commit"] == git(repo, "rev-parse", "HEAD").strip()
    assert not (tree / "later.txt").exists()  # it starts at the detached commit, not at main's tip
    (tree / "work.py").write_text("x = 1\n")
    commit_all(tree, "work")
    refused = cli(repo, "worktree", "remove", "task-t-13")
    assert refused.returncode == 1 and "not in main" in refused.stderr
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-edit", "task-t-13")
    assert cli_json(repo, "worktree", "remove", "task-t-13")["branch_kept"] is False


def test_a_directory_in_the_way_is_refused_with_a_hint_that_works(repo: Path) -> None:
    in_the_way = repo / ".worktrees" / "task-t-14"
    in_the_way.mkdir(parents=True)
    (in_the_way / "notes.txt").write_text("mine\n")
    seed(repo, **{"tasks.t-14": {}})
    proc = cli(repo, "worktree", "create", "t-14", "--strategy", "task")
    assert proc.returncode == 1 and f"{in_the_way} exists and is not a git worktree" in proc.stderr
    assert "move it away or delete it" in proc.stderr and "run `orchestra worktree prune`" not in proc.stderr
    assert cli(repo, "worktree", "prune").returncode == 0 and (in_the_way / "notes.txt").is_file()


def test_copies_configured_files_but_not_secrets_and_runs_setup(repo: Path) -> None:
    (repo / ".env").write_text("API_KEY=live\n")
    (repo / ".env.example").write_text("API_KEY=\n")
    (repo / "config").mkdir()
    (repo / "config" / "local.toml").write_text("debug = true\n")
    (repo / ".claude" / "worktrees.yaml").write_text(
        "copy: ['.env*', 'config']\nsetup: 'echo \"$ORCHESTRA_WORKTREE\" > setup-ran.txt && echo built'\n")
    seed(repo, **{"tasks.t-3": {}})
    made = cli_json(repo, "worktree", "create", "t-3", "--strategy", "task")
    tree = Path(made["path"])
    assert sorted(made["copied"]) == [".env.example", "config"] and made["skipped_secrets"] == [".env"]
    assert (tree / "config" / "local.toml").read_text() == "debug = true\n" and not (tree / ".env").exists()
    assert (tree / "setup-ran.txt").read_text().strip() == str(tree)
    assert made["setup"]["status"] == "passed" and made["setup"]["exit"] == 0
    log = Path(made["setup"]["log"]).read_text()
    assert "built" in log and log.rstrip().endswith("orchestra: setup exited 0")
    seed(repo, **{"tasks.t-4": {}})
    text = cli(repo, "worktree", "create", "t-4", "--strategy", "task").stdout
    assert "not copied (secrets; copy_secrets: true to allow): .env" in text


def test_a_copied_directory_leaves_the_secrets_inside_it_behind_and_says_so(repo: Path) -> None:
    config = repo / "config"
    (config / "certs").mkdir(parents=True)
    (config / "app.toml").write_text("debug = true\n")
    (config / ".env").write_text("API_KEY=live\n")
    (config / "certs" / "server.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    (repo / ".claude" / "worktrees.yaml").write_text("copy: [config, 'config/*']\n")
    seed(repo, **{"tasks.t-9": {}, "tasks.t-10": {}})
    made = cli_json(repo, "worktree", "create", "t-9", "--strategy", "task")
    copy = Path(made["path"]) / "config"
    assert (copy / "app.toml").read_text() == "debug = true\n" and (copy / "certs").is_dir()
    assert not (copy / ".env").exists() and not (copy / "certs" / "server.pem").exists()
    assert made["copied"] == ["config"]
    assert sorted(made["skipped_secrets"]) == ["config/.env", "config/certs/server.pem"]
    text = cli(repo, "worktree", "create", "t-10", "--strategy", "task").stdout
    assert "not copied (secrets; copy_secrets: true to allow): config/.env, config/certs/server.pem" in text


def test_setup_runs_with_the_projects_python_not_the_packs(repo: Path, tmp_path: Path) -> None:
    """The CLI and hooks run under `uv run`, which puts the pack's environment first on PATH: `pip install -e .`
    in a setup must install into the project's Python, not the pack's."""
    pack_env = tmp_path / "pack-venv"
    (pack_env / "bin").mkdir(parents=True)
    (repo / ".claude" / "worktrees.yaml").write_text(
        "setup: 'echo \"venv=[$VIRTUAL_ENV] python=$(command -v python)\" > setup-env.txt'\n")
    seed(repo, **{"tasks.t-6": {}})
    uv_run = {"VIRTUAL_ENV": str(pack_env), "UV_RUN_RECURSION_DEPTH": "1",
              "PATH": f"{pack_env / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    (pack_env / "bin" / "python").write_text("#!/bin/sh\n")
    (pack_env / "bin" / "python").chmod(0o755)
    proc = cli(repo, "worktree", "create", "t-6", "--strategy", "task", "--json", env=uv_run)
    assert proc.returncode == 0, proc.stderr
    seen = (Path(json.loads(proc.stdout)["path"]) / "setup-env.txt").read_text().strip()
    assert seen == f"venv=[] python={shutil.which('python') or ''}"


def test_copy_secrets_when_asked_and_a_failing_setup_fails_the_command(repo: Path) -> None:
    (repo / ".env").write_text("API_KEY=live\n")
    (repo / ".claude" / "worktrees.yaml").write_text("copy: ['.env']\ncopy_secrets: true\nsetup: 'exit 3'\n")
    seed(repo, **{"tasks.t-5": {}})
    proc = cli(repo, "worktree", "create", "t-5", "--strategy", "task", "--json")
    assert proc.returncode == 1
    # /worktree:create aborts on the exit 1, and Claude Code shows the user only the stderr.
    log = repo / ".claude" / "state" / "worktrees" / "task-t-5.setup.log"
    assert proc.stderr == (f"orchestra worktree create: task-t-5: setup `exit 3` failed (exit 3), log {log}; "
                           "the worktree is made all the same\n")
    assert (repo / ".worktrees" / "task-t-5" / ".env").read_text() == "API_KEY=live\n"
    assert state(repo, "worktrees.task-t-5.setup.exit") == 3  # the worktree is kept, the failure recorded


def test_a_setup_past_its_timeout_is_stopped_with_everything_it_started(repo: Path) -> None:
    (repo / ".claude" / "worktrees.yaml").write_text(
        "setup: '(sleep 1.5; echo late) & echo early; sleep 5'\nsetup_timeout_seconds: 0.5\n")
    seed(repo, **{"tasks.t-11": {}})
    proc = cli(repo, "worktree", "create", "t-11", "--strategy", "task", "--json")
    assert proc.returncode == 1
    setup = json.loads(proc.stdout)["setup"]
    assert (setup["status"], setup["exit"]) == ("failed", 124)
    time.sleep(2)  # past the moment the background child would have written
    log = Path(setup["log"]).read_text().splitlines()
    assert log[1:] == ["early", "orchestra: setup stopped after 0.5s (setup_timeout_seconds)",
                       "orchestra: setup exited 124"]


def test_a_bad_config_file_names_file_line_and_writes_nothing(repo: Path) -> None:
    (repo / ".claude" / "worktrees.yaml").write_text("root: .trees\nsetup_timeout_seconds: soon\n")
    seed(repo, **{"tasks.t-6": {}})
    proc = cli(repo, "worktree", "create", "t-6", "--strategy", "task")
    assert proc.returncode == 1
    assert "worktrees.yaml:2: setup_timeout_seconds" in proc.stderr
    assert not (repo / ".trees").exists() and len(worktree_paths(repo)) == 1


def test_remove_refuses_uncommitted_work_and_unmerged_commits_unless_forced(repo: Path) -> None:
    seed(repo, **{"tasks.t-7": {}})
    tree = Path(cli_json(repo, "worktree", "create", "t-7", "--strategy", "task")["path"])
    (tree / "wip.py").write_text("x = 1\n")
    refused = cli(repo, "worktree", "remove", "task-t-7")
    assert refused.returncode == 1 and "1 uncommitted change(s) (wip.py)" in refused.stderr
    commit_all(tree, "work")
    refused = cli(repo, "worktree", "remove", "task-t-7")
    assert refused.returncode == 1 and "1 commit(s) not in main" in refused.stderr and tree.is_dir()

    forced = cli_json(repo, "worktree", "remove", "task-t-7", "--force")
    assert forced["status"] == "removed" and forced["branch_kept"] is True
    assert not tree.exists() and git(repo, "branch", "--list", "task-t-7").strip()  # the commits stay reachable
    assert len(worktree_paths(repo)) == 1


def test_remove_of_a_clean_merged_worktree_takes_its_branch_too(repo: Path) -> None:
    seed(repo, **{"tasks.t-8": {}})
    cli_json(repo, "worktree", "create", "t-8", "--strategy", "task")
    removed = cli_json(repo, "worktree", "remove", str(repo / ".worktrees" / "task-t-8"))  # by path
    assert removed["id"] == "task-t-8" and removed["branch_kept"] is False
    assert git(repo, "branch", "--list", "task-t-8").strip() == ""
    again = cli(repo, "worktree", "remove", "task-t-8")
    assert again.returncode == 1 and "already removed" in again.stderr
    assert [e["data"]["worktree"] for e in events(repo, "worktree_removed")] == ["task-t-8"]


def test_conflicts_lists_files_changed_on_more_than_one_branch_of_the_sprint(repo: Path) -> None:
    (repo / "shared.py").write_text("A = 0\n")
    commit_all(repo, "shared")
    seed(repo, **{"sprints.s1": {"id": "s1", "name": "One", "status": "active"},
                  "sprints.s2": {"id": "s2", "name": "Two", "status": "active"},
                  **{f"tasks.{t}": {"sprint": s} for t, s in (("a", "s1"), ("b", "s1"), ("c", "s1"), ("d", "s2"))}})
    trees = {t: Path(cli_json(repo, "worktree", "create", t)["path"]) for t in "abcd"}
    (trees["a"] / "shared.py").write_text("A = 1\n")
    (trees["a"] / "only_a.py").write_text("")
    commit_all(trees["a"], "a changes shared")
    (trees["b"] / "shared.py").write_text("A = 2\n")  # uncommitted still counts
    (trees["c"] / "only_c.py").write_text("")
    commit_all(trees["c"], "c")
    (trees["d"] / "shared.py").write_text("A = 4\n")  # another sprint's worktree does not count
    (repo / "only_c.py").write_text("base moved\n")
    commit_all(repo, "the base changes only_c.py later; c's branch did not")

    found = cli_json(repo, "worktree", "conflicts", "s1")
    assert found["conflicts"] == [{"file": "shared.py", "worktrees": ["task-a", "task-b"]}]
    assert {w["id"]: w["changed"] + w["uncommitted"] for w in found["worktrees"]} == {
        "task-a": ["only_a.py", "shared.py"], "task-b": ["shared.py"], "task-c": ["only_c.py"]}
    assert "shared.py  task-a, task-b" in cli(repo, "worktree", "conflicts", "s1").stdout
    assert "no file is changed in more than one" in cli(repo, "worktree", "conflicts", "s2").stdout
    assert cli(repo, "worktree", "conflicts", "nope").returncode == 1


def test_conflicts_of_an_id_naming_a_part_of_a_sprint_is_no_sprint(repo: Path) -> None:
    seed(repo, **{"sprints.s1": {"id": "s1", "name": "One", "status": "active", "capacity": {}}})
    for bad in ("s1.name", "s1.capacity", "s1.", "", " ", "s 1", "ünï"):
        proc = cli(repo, "worktree", "conflicts", bad)
        assert proc.returncode == 1 and proc.stdout == "" and proc.stderr.count("\n") == 1, (bad, proc.stderr)
        assert f"sprint {bad!r} is not in state" in proc.stderr, (bad, proc.stderr)


def test_conflicts_count_a_renamed_file_under_both_its_names(repo: Path) -> None:
    seed(repo, **{"sprints.s1": {"id": "s1", "name": "One", "status": "active"},
                  **{f"tasks.{t}": {"sprint": "s1"} for t in ("moved", "edited", "moving")}})
    trees = {t: Path(cli_json(repo, "worktree", "create", t)["path"]) for t in ("moved", "edited", "moving")}
    git(trees["moved"], "mv", "README.md", "R2.md")
    commit_all(trees["moved"], "rename README")
    (trees["edited"] / "README.md").write_text("# shop, edited\n")
    git(trees["moving"], "mv", "README.md", "R3.md")  # staged, not committed

    found = cli_json(repo, "worktree", "conflicts", "s1")
    assert found["conflicts"] == [{"file": "README.md", "worktrees": ["task-edited", "task-moved", "task-moving"]}]


def test_conflicts_follow_a_worktree_whose_branch_was_renamed(repo: Path) -> None:
    seed(repo, **{"sprints.s1": {"id": "s1", "name": "One", "status": "active"},
                  **{f"tasks.{t}": {"sprint": "s1"} for t in ("kept", "renamed")}})
    trees = {t: Path(cli_json(repo, "worktree", "create", t)["path"]) for t in ("kept", "renamed")}
    git(trees["renamed"], "branch", "-m", "my-name")
    for tree in trees.values():
        (tree / "README.md").write_text(f"# {tree.name}\n")
        commit_all(tree, "edit README")

    found = cli_json(repo, "worktree", "conflicts", "s1")
    assert found["conflicts"] == [{"file": "README.md", "worktrees": ["task-kept", "task-renamed"]}]
    git(repo, "worktree", "remove", "--force", str(trees["renamed"]))  # git forgets it; a directory comes back
    trees["renamed"].mkdir()
    (repo / "README.md").write_text("# edited in the main checkout\n")
    assert cli_json(repo, "worktree", "conflicts", "s1")["conflicts"] == []


def test_conflicts_still_count_committed_changes_once_the_base_branch_is_deleted(repo: Path) -> None:
    git(repo, "switch", "-q", "-c", "release")
    seed(repo, **{"sprints.s1": {"id": "s1", "name": "One", "status": "active"},
                  **{f"tasks.{t}": {"sprint": "s1"} for t in ("a", "b")}})
    trees = [Path(cli_json(repo, "worktree", "create", t)["path"]) for t in ("a", "b")]
    git(repo, "switch", "-q", "-")
    git(repo, "branch", "-D", "release")  # the base the worktrees left from
    for tree in trees:
        (tree / "README.md").write_text(f"# {tree.name}\n")
        commit_all(tree, "edit README")

    found = cli_json(repo, "worktree", "conflicts", "s1")
    assert found["conflicts"] == [{"file": "README.md", "worktrees": ["task-a", "task-b"]}]


def test_remove_takes_the_worktree_you_are_in_as_dot_and_refuses_an_empty_name(repo: Path) -> None:
    seed(repo, **{"tasks.t-9": {}})
    tree = Path(cli_json(repo, "worktree", "create", "t-9", "--strategy", "task")["path"])
    empty = cli(repo, "worktree", "remove", "")
    assert empty.returncode == 1 and empty.stderr.strip() == (
        "orchestra worktree: name a worktree: its id, branch or path (`orchestra worktree list` shows them)")
    here = subprocess.run([sys.executable, "-c", "from orchestra.cli import run; run()", "worktree", "remove", "."],
                          cwd=tree, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "CLAUDE_PROJECT_DIR": str(repo)})
    assert here.returncode == 0 and here.stdout.strip() == "task-t-9: removed", here.stderr
    assert not tree.exists() and len(worktree_paths(repo)) == 1


@pytest.mark.parametrize("pattern", ["/etc/hostname", "../secrets.txt", "docs/../../x"])
def test_a_copy_pattern_outside_the_project_is_refused_before_anything_is_made(repo: Path, pattern: str) -> None:
    (repo / ".claude" / "worktrees.yaml").write_text(f"copy: ['{pattern}']\n")
    seed(repo, **{"tasks.t-8": {}})
    proc = cli(repo, "worktree", "create", "t-8", "--strategy", "task")
    assert proc.returncode == 1 and "worktrees.yaml:1: copy.0" in proc.stderr and "Traceback" not in proc.stderr
    assert len(worktree_paths(repo)) == 1 and state(repo, "worktrees", {}) == {}


@pytest.mark.parametrize("root", [".", "..", "src/.."])
def test_a_root_that_is_the_project_or_above_it_is_refused(repo: Path, root: str) -> None:
    (repo / ".claude" / "worktrees.yaml").write_text(f"setup: 'true'\nroot: '{root}'\n")
    seed(repo, **{"tasks.t-10": {}})
    proc = cli(repo, "worktree", "create", "t-10", "--strategy", "task")
    assert proc.returncode == 1 and f"worktrees.yaml:2: root: {root} is the project itself or a directory above it" \
        in proc.stderr, proc.stderr
    assert not (repo / ".gitignore").exists() and len(worktree_paths(repo)) == 1


def test_a_root_holding_files_of_the_project_is_refused_and_not_ignored(repo: Path) -> None:
    (repo / "src").mkdir()
    (repo / "src" / "app.py").write_text("x = 1\n")
    commit_all(repo, "src")
    (repo / ".claude" / "worktrees.yaml").write_text("root: src\n")
    seed(repo, **{"tasks.t-11": {}})
    proc = cli(repo, "worktree", "create", "t-11", "--strategy", "task")
    assert proc.returncode == 1 and "holds files of the project; worktrees need a directory of their own" in proc.stderr
    assert not (repo / "src" / ".gitignore").exists() and len(worktree_paths(repo)) == 1
    (repo / "src" / "new.py").write_text("y = 2\n")
    assert "src/new.py" in git(repo, "status", "--porcelain")  # new files there are still seen by git


def test_remove_of_a_directory_git_no_longer_lists_closes_the_record_and_leaves_the_directory(repo: Path) -> None:
    seed(repo, **{"tasks.t-12": {}})
    tree = Path(cli_json(repo, "worktree", "create", "t-12", "--strategy", "task")["path"])
    git(repo, "worktree", "remove", str(tree))
    tree.mkdir()
    (tree / "late.txt").write_text("written after git removed it\n")
    (repo / "README.md").write_text("# shop, edited in the main checkout\n")

    removed = cli(repo, "worktree", "remove", "task-t-12")
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.strip() == f"task-t-12: removed; {tree} is not a git worktree any more and is left as it is"
    assert (tree / "late.txt").exists() and "edited in the main checkout" in (repo / "README.md").read_text()
    assert state(repo, "worktrees.task-t-12.status") == "removed"


def test_list_marks_worktrees_whose_directory_is_gone_or_no_longer_a_git_worktree(repo: Path) -> None:
    seed(repo, **{f"tasks.{t}": {} for t in ("ok", "gone", "unlisted")})
    trees = {t: Path(cli_json(repo, "worktree", "create", t, "--strategy", "task")["path"]) for t in ("ok", "gone", "unlisted")}
    shutil.rmtree(trees["gone"])
    git(repo, "worktree", "remove", str(trees["unlisted"]))
    trees["unlisted"].mkdir()

    rows = {r["id"]: (r["exists"], r["in_git"]) for r in cli_json(repo, "worktree", "list")}
    assert rows == {"task-ok": (True, True), "task-gone": (False, False), "task-unlisted": (True, False)}
    text = cli(repo, "worktree", "list").stdout
    assert f"{trees['gone']} (missing)" in text and f"{trees['unlisted']} (not a git worktree any more)" in text
    assert f"{trees['ok']}\n" in text + "\n" and f"{trees['ok']} (" not in text



def test_a_worktree_add_killed_while_git_wrote_its_records_does_not_stop_every_other_worktree(repo: Path) -> None:
    """SIGKILL inside `git worktree add` (a killed `sprint start` or delegation) can leave git's record of the
    new worktree locked "initializing" with an empty commondir: git then lists no worktree at all, and every
    delegation that needed one was blocked with git's 'failed to read .../commondir: Success'."""
    admin = repo / ".git" / "worktrees" / "task-killed"
    admin.mkdir(parents=True)
    (admin / "locked").write_text("initializing\n")
    (admin / "gitdir").write_text(f"{repo / '.worktrees' / 'task-killed' / '.git'}\n")
    (admin / "HEAD").write_text(git(repo, "rev-parse", "HEAD"))
    (admin / "commondir").write_text("")
    assert subprocess.run(["git", "-C", str(repo), "worktree", "list"], capture_output=True).returncode != 0
    seed(repo, **{"tasks.t-13": {}})
    assert cli(repo, "worktree", "create", "t-13", "--strategy", "task").returncode == 1
    assert admin.exists()  # just written: it may be a `git worktree add` still at work, and is left alone
    old = time.time() - 60
    os.utime(admin / "commondir", (old, old))

    made = cli(repo, "worktree", "create", "t-13", "--strategy", "task")
    assert made.returncode == 0, made.stderr
    assert worktree_paths(repo) == [str(repo), str(repo / ".worktrees" / "task-t-13")]
    assert not admin.exists()


def test_a_worktree_root_gitignore_left_empty_by_a_cut_short_write_is_written_again(repo: Path) -> None:
    """Left empty (a kill or a full disk between making and writing it), it hid nothing: git showed every
    worktree as an untracked directory of the main checkout, and `git add -A` took them in as gitlinks."""
    (repo / ".worktrees").mkdir()
    (repo / ".worktrees" / ".gitignore").write_text("")
    seed(repo, **{"tasks.t-14": {}})
    made = cli(repo, "worktree", "create", "t-14", "--strategy", "task")
    assert made.returncode == 0, made.stderr
    assert (repo / ".worktrees" / ".gitignore").read_text() == "*\n"
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""

def test_a_fifo_matched_by_copy_is_left_out_and_listed_instead_of_hanging_the_copy(repo: Path) -> None:
    os.mkfifo(repo / "events.pipe")
    (repo / "run").mkdir()
    os.mkfifo(repo / "run" / "control.pipe")
    (repo / "run" / "app.toml").write_text("debug = true\n")
    (repo / ".claude" / "worktrees.yaml").write_text("copy: ['*.pipe', run]\n")
    seed(repo, **{"tasks.t-12": {}})
    proc = subprocess.run([sys.executable, "-c", "from orchestra.cli import run; run()", "worktree", "create", "t-12",
                           "--strategy", "task"], cwd=repo, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "CLAUDE_PROJECT_DIR": str(repo)})
    assert proc.returncode == 0, proc.stderr
    assert ("  not copied (FIFOs, sockets or devices: only files, directories and symlinks are): events.pipe, "
            "run/control.pipe") in proc.stdout
    tree = repo / ".worktrees" / "task-t-12"
    assert (tree / "run" / "app.toml").read_text() == "debug = true\n"
    assert not (tree / "events.pipe").exists() and not (tree / "run" / "control.pipe").exists()
    assert state(repo, "worktrees.task-t-12.skipped_special") == ["events.pipe", "run/control.pipe"]


def test_a_copied_directory_holding_the_worktree_root_is_copied_without_the_worktrees(repo: Path) -> None:
    (repo / "build").mkdir()
    (repo / "build" / "cache.bin").write_text("built\n")  # untracked; the worktrees live under it too
    (repo / ".claude" / "worktrees.yaml").write_text("root: build/wt\ncopy: [build]\n")
    seed(repo, **{"tasks.t-15": {}})
    tree = repo / "build" / "wt" / "task-t-15"

    made = cli(repo, "worktree", "create", "t-15", "--strategy", "task", "--json")
    assert made.returncode == 0 and "Traceback" not in made.stderr, made.stderr[-2000:]
    assert json.loads(made.stdout)["copied"] == ["build"] and (tree / "build" / "cache.bin").read_text() == "built\n"
    assert not (tree / "build" / "wt").exists()  # not the worktree root, nor the new worktree inside itself


def test_a_copy_that_fails_rolls_the_new_worktree_back_and_the_next_create_makes_it_ready(repo: Path) -> None:
    (repo / "settings").write_text("committed as a file\n")
    commit_all(repo, "settings")
    (repo / "settings").unlink()  # here it is a directory now (not committed): the copy cannot go there
    (repo / "settings").mkdir()
    (repo / "settings" / "local.toml").write_text("debug = true\n")
    (repo / ".claude" / "worktrees.yaml").write_text("copy: ['settings/local.toml']\nsetup: 'touch set-up'\n")
    seed(repo, **{"tasks.t-13": {}})
    tree = repo / ".worktrees" / "task-t-13"

    failed = cli(repo, "worktree", "create", "t-13", "--strategy", "task")
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert f"{tree}: preparing it failed: cannot copy settings/local.toml (`copy:` of .claude/worktrees.yaml): " \
        in failed.stderr and "the new worktree was removed again" in failed.stderr
    assert not tree.exists() and len(worktree_paths(repo)) == 1
    assert git(repo, "branch", "--list", "task-t-13").strip() == ""  # the branch it made went too
    assert state(repo, "worktrees.task-t-13.status") == "removed"
    again = cli(repo, "worktree", "create", "t-13", "--strategy", "task")
    assert again.returncode == 1 and "preparing it failed" in again.stderr  # not reused as if it were ready

    (repo / ".claude" / "worktrees.yaml").write_text("setup: 'touch set-up'\n")
    made = cli_json(repo, "worktree", "create", "t-13", "--strategy", "task")
    assert made["status"] == "active" and (tree / "set-up").is_file()
    assert (repo / "settings" / "local.toml").read_text() == "debug = true\n"  # the user's files untouched


def test_a_failing_post_checkout_hook_leaves_no_worktree_that_is_later_handed_out_unprepared(repo: Path) -> None:
    hooks = repo / "git hooks"
    hooks.mkdir()
    (hooks / "post-checkout").write_text("#!/bin/sh\necho 'lfs: smudge failed' >&2\nexit 1\n")
    (hooks / "post-checkout").chmod(0o755)
    git(repo, "config", "core.hooksPath", str(hooks))
    (repo / ".env.example").write_text("PORT=1\n")
    (repo / ".claude" / "worktrees.yaml").write_text("copy: [.env.example]\n")
    seed(repo, **{"tasks.t-14": {}})
    tree = repo / ".worktrees" / "task-t-14"

    failed = cli(repo, "worktree", "create", "t-14", "--strategy", "task")
    assert failed.returncode == 1 and "lfs: smudge failed" in failed.stderr and "Traceback" not in failed.stderr
    assert f"the new worktree {tree} was removed again" in failed.stderr
    assert not tree.exists() and len(worktree_paths(repo)) == 1  # git and state agree: no worktree
    assert git(repo, "branch", "--list", "task-t-14").strip() == ""
    again = cli(repo, "worktree", "create", "t-14", "--strategy", "task")
    assert again.returncode == 1 and not tree.exists()  # not reused without its copy: files

    git(repo, "config", "--unset", "core.hooksPath")
    made = cli_json(repo, "worktree", "create", "t-14", "--strategy", "task")
    assert made["copied"] == [".env.example"] and (tree / ".env.example").is_file()


def test_a_worktree_whose_setup_was_cut_short_is_made_afresh_by_assign(repo: Path) -> None:
    """Recorded in state but never locked, its creator gone, no commits on its branch: `worktree assign` makes it
    again (setup and all), says so on stderr and records it; once it was handed out, a cut-short preparation is
    refused, saying why it was not repaired."""
    (repo / ".claude" / "worktrees.yaml").write_text("setup: 'sleep 3 && touch set-up'\n")
    seed(repo, **{"tasks.t-14": {}})
    tree = repo / ".worktrees" / "task-t-14"
    creator = subprocess.Popen([sys.executable, "-c", "from orchestra.cli import run; run()", "worktree", "create",
                                "t-14", "--strategy", "task"], cwd=repo, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env={**os.environ, "CLAUDE_PROJECT_DIR": str(repo)})
    log = repo / ".claude" / "state" / "worktrees" / "task-t-14.setup.log"
    deadline = time.monotonic() + 60
    while not log.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    creator.kill()  # the terminal closed while setup ran
    creator.wait()
    assert (tree / ".git").is_file()

    assert state(repo, "worktrees.task-t-14.lock") is None and not (tree / "set-up").exists()
    (tree / "half-built").write_text("what the cut-short setup left\n")

    assigned = cli(repo, "worktree", "assign", "t-14", "--json")
    assert assigned.returncode == 0, assigned.stderr
    assert ("orchestra worktree assign: task-t-14 had been cut short (the process preparing it stopped before it "
            "was done); nothing of anyone's work could be in it, so it and its branch task-t-14 were removed and made "
            "afresh") in assigned.stderr, assigned.stderr
    record = json.loads(assigned.stdout)
    assert record["repaired"]["worktree"] == "task-t-14" and record["lock"]["by"] == "cli"
    assert record["setup"]["status"] == "passed" and (tree / "set-up").is_file() and not (tree / "half-built").exists()
    assert [e["data"]["worktree"] for e in events(repo, "worktree_repaired")] == ["task-t-14"]
    assert state(repo, "worktrees.task-t-14.tasks") == ["t-14"]

    # handed out, then (by a creator long gone) marked as being prepared again: someone's work may be in it
    marker = repo / ".claude" / "state" / "worktrees" / "task-t-14.preparing"
    subprocess.run([sys.executable, "-c", "import json, sys\nfrom orchestra.liveness import this_process\n"
                    "open(sys.argv[1], 'w').write(json.dumps(this_process()))", str(marker)], check=True, timeout=60)
    for args in (("worktree", "create", "t-14", "--strategy", "task"), ("worktree", "assign", "t-14")):
        refused = cli(repo, *args)
        assert refused.returncode == 1, refused.stdout
        assert f"{tree} was made but never prepared" in refused.stderr
        assert ("it is not repaired by itself because it was handed out before (locked by a human via `orchestra "
                "worktree assign`)") in refused.stderr, refused.stderr
        assert "`orchestra worktree remove task-t-14 --force`" in refused.stderr
    assert (tree / "set-up").is_file() and len(events(repo, "worktree_repaired")) == 1
    assert cli(repo, "worktree", "release", "task-t-14").returncode == 0
    assert cli(repo, "worktree", "remove", "task-t-14", "--force").returncode == 0
    made = cli_json(repo, "worktree", "create", "t-14", "--strategy", "task")
    assert made["setup"]["status"] == "passed" and (tree / "set-up").is_file()
