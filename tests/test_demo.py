"""The main job: `orchestra demo` drives a sprint only through the real hook scripts."""

import json
import os
import subprocess
from pathlib import Path

from tests.machine import uv_network_env


def test_demo_completes_one_task_and_blocks_another(tmp_path: Path) -> None:
    target = tmp_path / "demo repo"
    subprocess.run(["git", "init", "-q", str(target)], check=True)  # as a user may make it: no commit yet
    proc = subprocess.run(["uv", "run", "orchestra", "demo", str(target)], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "task task-2fa depends on unfinished work: task-oauth" in proc.stdout
    assert "pushed back" in proc.stdout
    export = subprocess.run([str(target / ".claude/orchestra/bin/orchestra"), "state", "export"], cwd=target,
                            capture_output=True, text=True, check=True,
                            env={"CLAUDE_PROJECT_DIR": str(target), "PATH": os.environ["PATH"], **uv_network_env()})
    state = json.loads(export.stdout)
    tasks = state["tasks"]
    assert tasks["task-oauth"]["status"] == "completed"
    assert set(tasks["task-oauth"]["artifacts"]) >= {"src/auth/oauth.py", "tests/auth/test_oauth.py"}
    assert tasks["task-2fa"]["status"] == "blocked"
    assert "TOTP_ENCRYPTION_KEY" in (tasks["task-2fa"].get("blocker") or "")
    runs = state["agents"].values()
    assert sorted(r["agent_type"] for r in runs) == ["engineering-director", "fullstack-eng", "fullstack-eng"]
    # the member worked in its task's worktree, not in the main checkout
    assert tasks["task-oauth"]["worktree"] == str(target / ".worktrees" / "task-oauth")
    assert (target / ".worktrees/task-oauth/src/auth/oauth.py").exists()
    assert not (target / "src/auth/oauth.py").exists()
    # the forecast learns from the team's earlier work, done at a person's pace: hours, not the replay's seconds
    status = json.loads(subprocess.run(
        [str(target / ".claude/orchestra/bin/orchestra"), "sprint", "status", "sprint-3", "--json"], cwd=target,
        capture_output=True, text=True, check=True,
        env={"CLAUDE_PROJECT_DIR": str(target), "PATH": os.environ["PATH"], **uv_network_env()}).stdout)
    forecast = status["forecast"]
    assert forecast["available"] and forecast["samples"] > 1 and forecast["p50_hours"] >= 1
    line = next(x for x in proc.stdout.splitlines() if x.startswith("forecast: "))
    assert line.startswith("forecast: p50 ") and " s (" not in line and "0 min" not in line
    from orchestra.demo.history import EARLIER

    assert all(tasks[t.id]["status"] == "completed" and tasks[t.id]["sprint"] is None for t in EARLIER)
    # it ends by saying what it left and how to take it away
    assert proc.stdout.rstrip().splitlines()[-1].startswith(f"The demo repository stays at {target} ")
    assert f"rm -rf '{target}'" in proc.stdout.rstrip().splitlines()[-1]


def test_the_demo_runs_from_an_installed_project(tmp_path: Path) -> None:
    """An install carries the pack, not this repository's `.claude/sprints`: the sample ships in the package."""
    installed = tmp_path / "installed"
    subprocess.run(["git", "init", "-q", str(installed)], check=True)
    subprocess.run(["uv", "run", "orchestra", "install", str(installed)], check=True, capture_output=True, timeout=600)
    assert not (installed / ".claude/sprints/sprint-3.yaml").exists()
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(tmp_path)), **uv_network_env()}
    proc = subprocess.run([str(installed / ".claude/orchestra/bin/orchestra"), "demo", str(tmp_path / "demo")],
                          cwd=installed, capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "demo/.claude/sprints/reports/sprint-3.md").is_file()


def test_the_shipped_sample_is_the_repository_sample() -> None:
    from orchestra.demo import SAMPLE_SPRINT

    assert SAMPLE_SPRINT.read_bytes() == (Path(__file__).parents[1] / ".claude/sprints/sprint-3.yaml").read_bytes()


def test_the_demo_refuses_a_directory_it_ran_in_before(tmp_path: Path, capsys) -> None:
    from orchestra.cli import main

    (tmp_path / ".claude/state").mkdir(parents=True)
    (tmp_path / ".claude/state/orchestration.db").write_bytes(b"")
    assert main(["demo", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"orchestra demo: {tmp_path}: holds Orchestra state already") and err.count("\n") == 1
    assert not (tmp_path / ".claude/orchestra").exists() and not (tmp_path / ".git").exists()


def test_the_demo_refuses_a_project_of_yours(tmp_path: Path, capsys) -> None:
    """A repository with work in it would get the pack, five task branches and their worktrees."""
    from orchestra.cli import main

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "app.py").write_text("print(1)\n")
    subprocess.run(["git", "-C", str(tmp_path), "add", "app.py"], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=U", "-c", "user.email=u@example.invalid",
                    "commit", "-q", "-m", "init"], check=True)
    assert main(["demo", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"orchestra demo: {tmp_path}: not an empty directory") and err.count("\n") == 1
    assert "give a new or empty directory" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == [".git", "app.py"]
    branches = subprocess.run(["git", "-C", str(tmp_path), "branch", "--format=%(refname:short)"],
                              capture_output=True, text=True, check=True).stdout.split()
    assert len(branches) == 1


def test_the_demo_refuses_a_file_saying_it_is_not_a_directory(tmp_path: Path, capsys) -> None:
    from orchestra.cli import main

    (tmp_path / "notes.txt").write_text("mine\n")
    assert main(["demo", str(tmp_path / "notes.txt")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"orchestra demo: {tmp_path / 'notes.txt'}: a file, not a directory;") and err.count("\n") == 1
    assert "give a new or empty directory" in err and (tmp_path / "notes.txt").read_text() == "mine\n"


def test_the_demo_says_it_needs_git(tmp_path: Path, capsys, monkeypatch) -> None:
    import shutil

    from orchestra.cli import main

    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "uv").symlink_to(shutil.which("uv"))
    monkeypatch.setenv("PATH", str(tools))
    assert main(["demo", str(tmp_path / "demo")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("orchestra demo: git not found on PATH: the demo makes a git repository")
    assert err.count("\n") == 1 and not (tmp_path / "demo").exists()


def test_the_demo_runs_in_a_directory_named_relative_to_where_you_are(tmp_path: Path) -> None:
    proc = subprocess.run(["uv", "run", "--project", str(Path(__file__).parents[1]), "orchestra", "demo", "my demo"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"Demo repository: {tmp_path / 'my demo'}\n")
    assert (tmp_path / "my demo/.claude/sprints/reports/sprint-3.md").is_file()


def test_the_demo_keeps_to_its_own_store_whatever_store_your_environment_names(tmp_path: Path) -> None:
    """ORCHESTRA_STATE_DIR (or _URL) names a team's real store: the demo's hooks must not write there."""
    yours = tmp_path / "your state"
    yours.mkdir()
    proc = subprocess.run(["uv", "run", "orchestra", "demo", str(tmp_path / "demo")], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "ORCHESTRA_STATE_DIR": str(yours)})
    assert proc.returncode == 0, proc.stderr
    assert list(yours.iterdir()) == []
    assert "tech-lead approves task-oauth, which is now completed" in proc.stdout
