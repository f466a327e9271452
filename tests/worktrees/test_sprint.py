"""Sprint start asks for worktrees per strategy: each team's tasks get theirs, made and recorded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.worktrees.conftest import TEAMS, cli, events, git, state

SPRINT = """\
id: sprint-7
name: Checkout Flow
tasks:
  - {id: cart, title: Cart, team: engineering, assignee: fullstack-eng, estimate: 2}
  - {id: pay, title: Payment, team: engineering, assignee: api-engineer, estimate: 3, dependencies: [cart]}
  - {id: shared-pay, title: Shared, team: engineering, assignee: fullstack-eng, estimate: 1,
     worktree_strategy: sprint}
  - {id: spec, title: Spec, type: spec, team: product, assignee: product-manager, estimate: 1}
  - {id: copy, title: Copy, type: spec, team: product, assignee: product-manager, estimate: 1}
  - {id: e2e, title: E2E, type: test, team: qa, assignee: qa-engineer, estimate: 2}
  - {id: review, title: Review, type: review, team: engineering, assignee: tech-lead, estimate: 1,
     dependencies: [pay]}
"""


def start(project: Path) -> dict:
    (project / ".claude" / "sprints").mkdir(exist_ok=True)
    (project / ".claude" / "sprints" / "sprint-7.yaml").write_text(SPRINT, encoding="utf-8")
    proc = cli(project, "sprint", "start", "sprint-7", "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_sprint_start_makes_the_worktrees_each_strategy_names(repo: Path) -> None:
    result = start(repo)
    root = repo / ".worktrees"
    assert {t: w["worktree"] for t, w in result["worktrees"].items()} == {
        "cart": "task-cart", "pay": "task-pay", "shared-pay": "sprint-7-checkout-flow",
        "spec": "sprint-7-checkout-flow", "copy": "sprint-7-checkout-flow", "e2e": "team-qa-work"}
    assert "review" not in result["worktrees"]  # a reviewer works across worktrees
    made = {line[len("worktree "):] for line in git(repo, "worktree", "list", "--porcelain").splitlines()
            if line.startswith("worktree ")}
    assert made == {str(repo), *(str(root / n) for n in ("task-cart", "task-pay", "sprint-7-checkout-flow",
                                                           "team-qa-work"))}
    assert state(repo, "tasks.spec.worktree") == str(root / "sprint-7-checkout-flow")
    assert state(repo, "tasks.review.worktree") is None
    record = state(repo, "worktrees.sprint-7-checkout-flow")
    assert record["tasks"] == ["copy", "shared-pay", "spec"] and record["sprints"] == ["sprint-7"]
    assert record["lock"] is None and record["created_by"] == "sprint"


def test_sprint_start_outside_git_makes_none(project: Path) -> None:
    (project / ".claude" / "teams.yaml").write_text(TEAMS, encoding="utf-8")
    result = start(project)
    assert result["worktrees"] == {} and result["started"] is True


def test_sprint_start_reports_worktrees_it_could_not_make_and_setups_that_failed(repo: Path) -> None:
    (repo / ".claude" / "worktrees.yaml").write_text("setup: 'echo preparing; exit 3'\n")
    git(repo, "checkout", "-q", "-b", "task-cart")  # checked out here, so git cannot check it out in a worktree
    (repo / ".claude" / "sprints").mkdir()
    (repo / ".claude" / "sprints" / "sprint-7.yaml").write_text(SPRINT, encoding="utf-8")
    proc = cli(repo, "sprint", "start", "sprint-7")
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("sprint-7 started: 7 tasks")
    assert lines[1] == "worktrees: sprint-7-checkout-flow, task-pay, team-qa-work"
    assert lines[2].startswith("sprint-7 (active): ")  # the plan
    # The problems go to stderr: a slash command whose `!` line fails shows the user only that.
    problems = [line.removeprefix("orchestra sprint start: ") for line in proc.stderr.splitlines()]
    assert problems[0].startswith("worktree of cart not made: ") and "task-cart" in problems[0]
    assert "`orchestra worktree create cart`" in problems[0]
    log = repo / ".claude" / "state" / "worktrees"
    assert problems[1:4] == [f"worktree {name}: setup `echo preparing; exit 3` failed (exit 3), log {log / name}.setup.log"
                             for name in ("sprint-7-checkout-flow", "task-pay", "team-qa-work")]
    assert problems[4] == "sprint-7 is started all the same (starting it again changes nothing)"
    assert cli(repo, "sprint", "start", "sprint-7").returncode == 0
    assert state(repo, "sprints.sprint-7.status") == "active"  # started all the same


def test_sprint_start_json_gives_each_worktree_its_setup_status(repo: Path) -> None:
    (repo / ".claude" / "worktrees.yaml").write_text("setup: 'exit 3'\n")
    (repo / ".claude" / "sprints").mkdir()
    (repo / ".claude" / "sprints" / "sprint-7.yaml").write_text(SPRINT, encoding="utf-8")
    proc = cli(repo, "sprint", "start", "sprint-7", "--json")
    assert proc.returncode == 1, proc.stderr
    given = json.loads(proc.stdout)["worktrees"]
    assert {(w["setup"]["status"], w["setup"]["exit"]) for w in given.values()} == {("failed", 3)}
    assert set(given) == {"cart", "pay", "shared-pay", "spec", "copy", "e2e"}


def test_sprint_start_with_a_bad_worktrees_yaml_says_the_sprint_is_started(repo: Path) -> None:
    (repo / ".claude" / "worktrees.yaml").write_text("setup_timeout_seconds: soon\n")
    (repo / ".claude" / "sprints").mkdir()
    (repo / ".claude" / "sprints" / "sprint-7.yaml").write_text(SPRINT, encoding="utf-8")
    proc = cli(repo, "sprint", "start", "sprint-7")
    assert proc.returncode == 1 and proc.stdout.startswith("sprint-7 started: 7 tasks"), proc.stderr
    problems = proc.stderr.splitlines()
    assert "worktrees.yaml:1: setup_timeout_seconds" in problems[0] and "worktree of " in problems[0]
    assert problems[-1] == "orchestra sprint start: sprint-7 is started all the same (starting it again changes nothing)"
    assert state(repo, "sprints.sprint-7.status") == "active"


def test_a_sprint_name_longer_than_a_file_name_still_gets_its_worktree(repo: Path) -> None:
    (repo / ".claude" / "sprints").mkdir()
    name = " ".join(["Ünïcode payments and more"] * 12)
    (repo / ".claude" / "sprints" / "sprint-9.yaml").write_text(
        f"id: sprint-9\nname: {name}\ntasks:\n  - {{id: long, title: x, team: product, assignee: product-manager}}\n")
    proc = cli(repo, "sprint", "start", "sprint-9", "--json")
    assert proc.returncode == 0, proc.stderr
    entry = json.loads(proc.stdout)["worktrees"]["long"]
    assert len(entry["worktree"]) == 200 and Path(entry["path"]).is_dir()
    assert f"[{entry['branch']}]" in git(repo, "worktree", "list")


def test_a_bad_worktrees_yaml_is_reported_once_not_once_per_task(repo: Path) -> None:
    (repo / ".claude" / "worktrees.yaml").write_text("setup_timeout_seconds: soon\n")
    (repo / ".claude" / "sprints").mkdir()
    (repo / ".claude" / "sprints" / "sprint-7.yaml").write_text(SPRINT, encoding="utf-8")
    proc = cli(repo, "sprint", "start", "sprint-7")
    assert proc.returncode == 1, proc.stderr
    problems = proc.stderr.splitlines()
    assert len(problems) == 2 and problems[0].count("worktrees.yaml:1: setup_timeout_seconds") == 1
    assert problems[0].startswith("orchestra sprint start: worktree of each of cart, copy, e2e, pay, shared-pay, spec "
                                  "not made: ")
    assert "`orchestra worktree create TASK`" in problems[0]


def test_a_task_without_team_or_assignee_is_said_to_get_its_worktree_when_delegated(repo: Path) -> None:
    """Sprint start cannot know whose team a task naming none is, so it makes no worktree for it and says
    so; delegating it to a member then makes the one that member's team's strategy names."""
    from tests.worktrees.test_hooks import delegate

    (repo / ".claude" / "sprints").mkdir(exist_ok=True)
    (repo / ".claude" / "sprints" / "loose.yaml").write_text(
        "id: loose\nname: Loose\ntasks:\n  - {id: bare, title: Bare}\n"
        "  - {id: own, title: Own, worktree_strategy: task}\n  - {id: held, title: Held, assignee: qa-engineer}\n")
    proc = cli(repo, "sprint", "start", "loose")
    assert proc.returncode == 0, proc.stderr
    assert ("no worktree yet for bare (no team or assignee): delegating it gives it the worktree that the "
            "`worktree_strategy` of the team of the member it goes to names") in proc.stdout
    assert "worktrees: task-own, team-qa-work" in proc.stdout
    assert state(repo, "tasks.bare.worktree") is None
    picked = json.loads(cli(repo, "task", "delegate", "bare", "--json").stdout)["subagent_type"]
    assert picked in ("fullstack-eng", "api-engineer")  # engineering: worktree_strategy task
    brief = delegate(repo, "toolu_loose_1", picked, "bare")["updatedInput"]["prompt"]
    assert f"Worktree: {repo / '.worktrees' / 'task-bare'} (work and commit only inside it)" in brief
    assert state(repo, "tasks.bare.worktree") == str(repo / ".worktrees" / "task-bare")


def test_sprint_start_makes_afresh_a_worktree_whose_creator_stopped_halfway(repo: Path) -> None:
    """As a creator killed during its checkout leaves it: git's record and HEAD, no index, no files, and a marker
    naming a process that is gone. Nobody was given it and its branch has no commits: made again."""
    tree = repo / ".worktrees" / "task-cart"
    (repo / ".worktrees").mkdir()
    (repo / ".worktrees" / ".gitignore").write_text("*\n")
    git(repo, "worktree", "add", "-q", "--no-checkout", "-b", "task-cart", str(tree))
    marker = repo / ".claude" / "state" / "worktrees" / "task-cart.preparing"
    marker.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-c", "import json, sys\nfrom orchestra.liveness import this_process\n"
                    "open(sys.argv[1], 'w').write(json.dumps({**this_process(), 'new_branch': True}))", str(marker)],
                   check=True, timeout=60)
    assert not (tree / "README.md").exists()

    (repo / ".claude" / "sprints").mkdir(exist_ok=True)
    (repo / ".claude" / "sprints" / "sprint-7.yaml").write_text(SPRINT, encoding="utf-8")
    proc = cli(repo, "sprint", "start", "sprint-7", "--json")
    assert proc.returncode == 0, proc.stderr
    assert ("orchestra sprint start: task-cart had been cut short (its checkout was cut short: the process preparing "
            "it stopped before it was done); nothing of anyone's work could be in it, so it and its branch task-cart "
            "were removed and made afresh") in proc.stderr, proc.stderr
    result = json.loads(proc.stdout)
    assert result["worktrees"]["cart"]["repaired"]["worktree"] == "task-cart"
    assert "its checkout was cut short" in result["worktrees"]["cart"]["repaired"]["why"]
    assert (tree / "README.md").read_text() == "# shop\n" and not marker.exists()
    assert [e["data"]["worktree"] for e in events(repo, "worktree_repaired")] == ["task-cart"]
    assert state(repo, "tasks.cart.worktree") == str(tree)
