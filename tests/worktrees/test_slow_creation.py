"""A delegation whose worktree takes long to make (a big checkout, slow `copy:`, a setup still running)
through the real hook scripts, real git (slowed by a wrapper on PATH) and real concurrent processes:
other hooks keep the store meanwhile, the worktree is prepared once, and one cut short is made afresh when nothing of anyone's work can be in it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import HOOKS, hook_output, run_hook
from tests.worktrees.conftest import cli, delegation, events, git, payload, seed, state

SLOW = 10.0  # seconds the wrapped `git worktree add` takes: longer than a hook's 6 s store wait


def slow_git(tmp_path: Path, *, before: float = 0, after: float = 0) -> dict[str, str]:
    """Env whose `git` is the real one, except that `worktree add` waits `before` it runs and `after` it is
    done, touching `<tmp>/in-git` once it is under way."""
    real, bindir, flag = shutil.which("git"), tmp_path / "slow-bin", tmp_path / "in-git"
    bindir.mkdir()
    script = bindir / "git"
    script.write_text(f"""#!/bin/sh
case " $* " in
  *" worktree add "*) touch '{flag}'; sleep {before}; '{real}' "$@"; code=$?; touch '{flag}.done'; sleep {after}; exit $code;;
esac
exec '{real}' "$@"
""")
    script.chmod(0o755)
    return {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}


def start_hook(script: str, event: dict, project: Path, env: dict[str, str]) -> subprocess.Popen:
    proc = subprocess.Popen(["uv", "run", "--quiet", "--script", str(HOOKS / script)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=project, start_new_session=True,
                            env={**os.environ, "CLAUDE_PROJECT_DIR": str(project), **env})
    proc.stdin.write(json.dumps(event).encode())
    proc.stdin.close()
    proc.stdin = None  # written and closed: communicate() only reads
    return proc


def wait_for(path: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def answer(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    return json.loads(out) if out.strip() else {}


@pytest.fixture
def tasks(repo: Path) -> Path:
    seed(repo, **{"tasks.t-1": {"title": "Cart"},
                  "tasks.r-1": {"title": "Review", "assignee": "tech-lead", "type": "review"},
                  "tasks.q-1": {"title": "Smoke", "team": "qa", "assignee": "qa-engineer", "type": "test"},
                  "tasks.q-2": {"title": "Load", "team": "qa", "assignee": "qa-engineer", "type": "test"}})
    return repo


def test_other_hooks_keep_the_store_while_a_delegation_makes_its_worktree(tasks: Path, tmp_path: Path) -> None:
    repo, tree = tasks, tasks / ".worktrees" / "task-t-1"
    maker = start_hook("pre_agent.py", delegation(repo, "toolu_big", "fullstack-eng", "t-1"), repo,
                       slow_git(tmp_path, before=SLOW))
    wait_for(tmp_path / "in-git")

    review = run_hook("pre_agent.py", delegation(repo, "toolu_rev", "tech-lead", "r-1"), repo)
    write = run_hook("post_write.py", payload(repo, "PostToolUse", "Write", agent=("a-other", "api-engineer"),
                                              tool_name="Write", tool_input={"file_path": str(repo / "x.py")}), repo)
    assert maker.poll() is None, "the worktree was made before the other hooks ran: the test proves nothing"
    assert review.returncode == 0, review.stderr.decode()
    assert "--- Orchestra task brief ---" in hook_output(review)["hookSpecificOutput"]["updatedInput"]["prompt"]
    assert write.returncode == 0 and "BusyError" not in write.stdout.decode(), write.stdout
    assert state(repo, "agents.a-other.artifacts") == ["x.py"]

    out = answer(maker)["hookSpecificOutput"]
    assert f"Worktree: {tree} (work and commit only inside it)" in out["updatedInput"]["prompt"]
    assert (tree / ".git").is_file() and state(repo, "worktrees.task-t-1.lock.delegation") == "toolu_big"
    assert state(repo, "delegations.toolu_big.worktree") == str(tree)
    assert [e["data"]["worktree"] for e in events(repo, "worktree_created")] == ["task-t-1"]


def test_two_delegations_racing_for_one_team_worktree_make_it_once(tasks: Path, tmp_path: Path) -> None:
    repo, tree = tasks, tasks / ".worktrees" / "team-qa-work"
    first = start_hook("pre_agent.py", delegation(repo, "toolu_q1", "qa-engineer", "q-1"), repo,
                       slow_git(tmp_path, before=SLOW))
    wait_for(tmp_path / "in-git")
    second = run_hook("pre_agent.py", delegation(repo, "toolu_q2", "qa-engineer", "q-2"), repo)
    assert second.returncode == 0, second.stderr.decode()
    denied = hook_output(second)["hookSpecificOutput"]
    assert denied["permissionDecision"] == "deny"
    reason = denied["permissionDecisionReason"]
    assert reason.startswith("Orchestra: task q-2 is not delegated yet: another worktree of "), reason
    assert reason.endswith(" was being added or removed for longer than 6s; try again in a moment."), reason
    assert state(repo, "delegations.toolu_q2") is None

    out = answer(first)["hookSpecificOutput"]
    assert f"Worktree: {tree} (" in out["updatedInput"]["prompt"]
    assert state(repo, "worktrees.team-qa-work.lock.delegation") == "toolu_q1"
    assert [e["data"]["worktree"] for e in events(repo, "worktree_created")] == ["team-qa-work"]


def test_a_gate_that_closes_while_the_worktree_is_made_denies_and_keeps_the_worktree(tasks: Path,
                                                                                    tmp_path: Path) -> None:
    """The gates are decided again, atomically, once the worktree is there: the task was cancelled meanwhile."""
    repo, tree = tasks, tasks / ".worktrees" / "task-t-1"
    maker = start_hook("pre_agent.py", delegation(repo, "toolu_late", "fullstack-eng", "t-1"), repo,
                       slow_git(tmp_path, before=3))
    wait_for(tmp_path / "in-git")
    cancelled = cli(repo, "task", "set-status", "t-1", "cancelled")
    assert cancelled.returncode == 0, cancelled.stderr
    assert maker.poll() is None, "the worktree was made before the task was cancelled: the test proves nothing"

    denied = answer(maker)["hookSpecificOutput"]
    assert denied["permissionDecision"] == "deny" and "task t-1 is cancelled" in denied["permissionDecisionReason"]
    assert state(repo, "delegations.toolu_late") is None and state(repo, "tasks.t-1.status") == "cancelled"
    record = state(repo, "worktrees.task-t-1")  # made, so kept in state for the next delegation or prune
    assert record["path"] == str(tree) and record["lock"] is None and (tree / ".git").is_file()
    assert [e["data"]["worktree"] for e in events(repo, "worktree_created")] == ["task-t-1"]


def test_a_worktree_still_being_prepared_is_not_handed_to_a_delegation(tasks: Path) -> None:
    repo, tree = tasks, tasks / ".worktrees" / "task-t-1"
    (repo / ".claude" / "worktrees.yaml").write_text("setup: 'sleep 6 && touch ready'\n")
    creator = subprocess.Popen([sys.executable, "-c", "from orchestra.cli import run; run()", "worktree", "create",
                                "t-1"], cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "CLAUDE_PROJECT_DIR": str(repo)})
    wait_for(repo / ".claude" / "state" / "worktrees" / "task-t-1.setup.log")

    early = run_hook("pre_agent.py", delegation(repo, "toolu_early", "fullstack-eng", "t-1"), repo)
    assert early.returncode == 0, early.stderr.decode()
    denied = hook_output(early)["hookSpecificOutput"]
    assert denied["permissionDecision"] == "deny", denied
    assert f"its worktree {tree} is still being prepared by process {creator.pid}" in denied["permissionDecisionReason"]
    assert state(repo, "worktrees.task-t-1.lock") is None and state(repo, "delegations.toolu_early") is None

    assert creator.wait(timeout=60) == 0
    again = run_hook("pre_agent.py", delegation(repo, "toolu_later", "fullstack-eng", "t-1"), repo)
    assert f"Worktree: {tree} (" in hook_output(again)["hookSpecificOutput"]["updatedInput"]["prompt"]
    assert (tree / "ready").exists()


def test_a_delegation_killed_while_git_adds_its_worktree_leaves_it_for_the_next_one_to_make_afresh(
        tasks: Path, tmp_path: Path) -> None:
    """Claude Code stops a hook past its timeout; the checkout it left behind never had its `copy:` files. Its
    creator is gone and it was never handed out, so the next delegation makes it afresh and is handed it."""
    repo, tree = tasks, tasks / ".worktrees" / "task-t-1"
    (repo / ".env.example").write_text("KEY=\n")
    (repo / ".claude" / "worktrees.yaml").write_text("copy: [.env.example]\n")
    maker = start_hook("pre_agent.py", delegation(repo, "toolu_cut", "fullstack-eng", "t-1"), repo,
                       slow_git(tmp_path, after=60))
    wait_for(tmp_path / "in-git.done")
    os.killpg(maker.pid, signal.SIGKILL)
    maker.wait()
    assert (tree / ".git").is_file() and not (tree / ".env.example").exists()
    assert state(repo, "worktrees.task-t-1") is None  # stopped before recording it

    again = run_hook("pre_agent.py", delegation(repo, "toolu_again", "fullstack-eng", "t-1"), repo)
    assert again.returncode == 0, again.stderr.decode()
    made = hook_output(again)["hookSpecificOutput"]
    assert f"Worktree: {tree} (" in made["updatedInput"]["prompt"], made
    assert (tree / ".env.example").read_text() == "KEY=\n"
    assert state(repo, "worktrees.task-t-1.lock.delegation") == "toolu_again"
    repaired = events(repo, "worktree_repaired")
    assert [(e["data"]["worktree"], e["task_id"]) for e in repaired] == [("task-t-1", "t-1")], repaired
    assert "the process preparing it stopped before it was done" in repaired[0]["data"]["why"]


def test_prune_leaves_alone_a_worktree_a_delegation_is_still_preparing(tasks: Path) -> None:
    """Made, not recorded yet (the delegation records it once its `copy:` files are in): no orphan."""
    repo, tree = tasks, tasks / ".worktrees" / "task-t-1"
    (repo / ".worktrees").mkdir()
    (repo / ".worktrees" / ".gitignore").write_text("*\n")
    (repo / ".claude" / "state" / "worktrees").mkdir(parents=True, exist_ok=True)
    git(repo, "worktree", "add", "-q", "-b", "task-t-1", str(tree))  # as the delegation's `git worktree add` left it
    preparer = subprocess.Popen([sys.executable, "-c", "import json, sys, time\nfrom orchestra.liveness import "
                                 "this_process\nopen(sys.argv[1], 'w').write(json.dumps(this_process()))\n"
                                 "time.sleep(120)", str(repo / ".claude/state/worktrees/task-t-1.preparing")])
    try:
        wait_for(repo / ".claude/state/worktrees/task-t-1.preparing")
        time.sleep(0.5)
        pruned = cli(repo, "worktree", "prune", "--json")
        assert pruned.returncode == 0, pruned.stderr
        kept = json.loads(pruned.stdout)["kept"]
        assert [k["path"] for k in kept] == [str(tree)] and f"process {preparer.pid}" in kept[0]["why"], kept
        assert (tree / ".git").is_file()
    finally:
        preparer.kill()
        preparer.wait()
    pruned = cli(repo, "worktree", "prune", "--json")  # its preparer is gone: an orphan like any other
    assert [r["path"] for r in json.loads(pruned.stdout)["removed"]] == [str(tree)] and not tree.exists()



def test_hooks_keep_the_store_while_worktree_create_checks_a_worktree_out(tasks: Path, tmp_path: Path) -> None:
    """`orchestra worktree create` (and `assign`, `sprint start`) make worktrees ahead of delegations; on a
    big project the checkout takes seconds, and agents' hooks go on meanwhile."""
    repo, tree = tasks, tasks / ".worktrees" / "task-t-1"
    creator = subprocess.Popen([sys.executable, "-c", "from orchestra.cli import run; run()", "worktree", "create",
                                "t-1"], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "CLAUDE_PROJECT_DIR": str(repo), **slow_git(tmp_path, before=SLOW)})
    wait_for(tmp_path / "in-git")
    review = run_hook("pre_agent.py", delegation(repo, "toolu_rev", "tech-lead", "r-1"), repo)
    assert creator.poll() is None, "the worktree was made before the hook ran: the test proves nothing"
    assert review.returncode == 0, review.stderr.decode()
    assert state(repo, "delegations.toolu_rev.task") == "r-1"

    out, err = creator.communicate(timeout=120)
    assert creator.returncode == 0, err
    assert state(repo, "worktrees.task-t-1.path") == str(tree) and (tree / ".git").is_file()
    assert [e["data"]["worktree"] for e in events(repo, "worktree_created")] == ["task-t-1"]
    again = cli(repo, "worktree", "create", "t-1")  # made: found, not made twice
    assert again.returncode == 0, again.stderr
    assert [e["data"]["worktree"] for e in events(repo, "worktree_created")] == ["task-t-1"]
