"""A task's acceptance command, run by the SubagentStop hook: every command ends with a recorded outcome,
in time for Claude Code's hook timeout (real hook scripts, real shells, real store)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from orchestra.hookio import Allow
from orchestra.lifecycle import acceptance
from orchestra.teams import TeamsError, load_raw

from tests.conftest import HOOKS, hook_output, run_hook
from tests.hooks.test_delegation import digest, feed, write_teams
from tests.hooks.test_gates import delegated, stop

ROOT = Path(__file__).resolve().parents[2]


def fast(seconds: float) -> str:
    return f"lifecycle: {{acceptance_timeout_seconds: {seconds}}}\n"


def claim(project: Path, command: str, timeout: float = 3) -> tuple[object, float]:
    """Delegate t1 with `command` as its acceptance check, report it completed through the real hook."""
    prompt = delegated(project, acceptance={"command": command}, extra=fast(timeout))
    started = time.monotonic()
    proc = run_hook("subagent_stop.py", stop(project, "agent-1", "fullstack-eng", "STATUS: completed",
                                             writes=["a.py"], prompt=prompt), project)
    assert proc.returncode == 0, proc.stderr
    return hook_output(proc), time.monotonic() - started


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_a_command_that_hangs_is_stopped_with_what_it_started(project: Path) -> None:
    out, took = claim(project, "sleep 1000 & echo $! > child.pid; sleep 1000", timeout=2)
    assert took < 30
    assert out["decision"] == "block" and "did not finish within 2s (acceptance_timeout_seconds)" in out["reason"]
    assert not alive(int((project / "child.pid").read_text()))  # no sleep left running for 1000 s


def test_a_command_that_passes_but_leaves_a_child_holding_its_output_passes_at_once(project: Path) -> None:
    out, took = claim(project, "sleep 1000 & echo $! > child.pid; echo checked", timeout=20)
    assert out == {} and took < 15  # not held until the timeout by the child's copy of the pipe
    assert digest()["tasks"]["t1"]["status"] == "completed"
    assert not alive(int((project / "child.pid").read_text()))


def test_megabytes_of_any_bytes_are_cut_to_their_tail(project: Path) -> None:
    out, took = claim(project, "head -c 30000000 /dev/urandom; printf '\\n\\033[31m3 failed\\033[0m\\n'; exit 1")
    assert out["decision"] == "block" and took < 30
    reason = out["reason"]
    assert "exited 1: " in reason and "3 failed. Finish the work" in reason
    assert len(reason) < 1500 and "\x1b" not in reason


def test_a_missing_command_is_named(project: Path) -> None:
    out, _ = claim(project, "no-such-checker --all")
    assert out["decision"] == "block"
    assert "`no-such-checker --all` exited 127" in out["reason"] and "not found" in out["reason"]


def test_a_worktree_gone_is_named_where_the_command_could_not_run(project: Path, tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    prompt = delegated(project, acceptance={"command": "true"}, worktree=str(gone))
    verdict = feed(stop(project, "agent-1", "fullstack-eng", "STATUS: completed\nARTIFACTS: x", prompt=prompt,
                        active=True))
    assert isinstance(verdict, Allow)
    assert f"`true` could not run in {gone}" in digest()["tasks"]["t1"]["review_reason"]


def test_the_stops_deadline_settles_the_task_for_review_naming_the_command(project: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(acceptance, "STOP_BUDGET_S", 2)  # as if the stop had 2 s of Claude Code's 600 left
    prompt = delegated(project, acceptance={"command": "sleep 30"}, extra=fast(20))
    started = time.monotonic()
    verdict = feed(stop(project, "agent-1", "fullstack-eng", "STATUS: completed", writes=["a.py"], prompt=prompt))
    assert time.monotonic() - started < 15
    assert isinstance(verdict, Allow)  # no push-back: a second try would run out of time again
    task = digest()["tasks"]["t1"]
    assert task["status"] == "needs_review"
    assert "`sleep 30` ran out of time: stopped after 2s of its 20s" in task["review_reason"]
    assert "within Claude Code's 600s" in task["review_reason"]


def test_a_timeout_past_what_the_hook_may_take_is_refused_naming_file_key_and_limit(project: Path) -> None:
    write_teams(project, fast(900))
    with pytest.raises(TeamsError) as refused:
        load_raw(project / ".claude" / "teams.yaml")
    message = str(refused.value)
    assert "teams.yaml:" in message and "lifecycle.acceptance_timeout_seconds: 900" in message
    assert f"maximum of {acceptance.MAX_TIMEOUT_S}" in message and "600 s hook timeout" in message
    proc = run_hook("subagent_stop.py", stop(project, "agent-1", "fullstack-eng", "STATUS: completed"), project)
    assert "acceptance_timeout_seconds: 900" in hook_output(proc)["systemMessage"]


def test_the_largest_timeout_leaves_the_hook_time_to_settle() -> None:
    schema = json.loads((ROOT / ".claude/orchestra/schemas/teams.json").read_text())
    limit = schema["properties"]["lifecycle"]["properties"]["acceptance_timeout_seconds"]["maximum"]
    assert limit == acceptance.MAX_TIMEOUT_S < acceptance.STOP_BUDGET_S < acceptance.HOOK_TIMEOUT_S
    declared = json.loads((HOOKS / "subagent_stop.py").read_text().split("# orchestra-hook: ")[1].splitlines()[0])
    timeouts = {declared["timeout"]}
    for wiring in (ROOT / ".claude/settings.json", ROOT / "hooks/hooks.json"):
        (group,) = json.loads(wiring.read_text())["hooks"]["SubagentStop"]
        timeouts |= {hook["timeout"] for hook in group["hooks"]}
    assert timeouts == {acceptance.HOOK_TIMEOUT_S}



def test_a_hook_stopped_while_its_command_runs_stops_the_command(project: Path) -> None:
    prompt = delegated(project, acceptance={"command": "echo $$ > shell.pid; sleep 1000 & sleep 1000"}, extra=fast(60))
    event = json.dumps(stop(project, "agent-1", "fullstack-eng", "STATUS: completed", writes=["a.py"], prompt=prompt))
    hook = subprocess.Popen(["uv", "run", "--quiet", "--script", str(HOOKS / "subagent_stop.py")], cwd=project,
                            env={**os.environ, "CLAUDE_PROJECT_DIR": str(project)}, stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    hook.stdin.write(event.encode())
    hook.stdin.close()
    pid_file = project / "shell.pid"
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text().strip():
        assert time.monotonic() < deadline and hook.poll() is None, "the acceptance command never started"
        time.sleep(0.05)
    hook.terminate()  # as Claude Code stops a hook it no longer waits for
    hook.wait(timeout=30)
    shell = int(pid_file.read_text())
    assert not alive(shell) and not any(alive(pid) for pid in group(shell))


def group(pgid: int) -> list[int]:
    """Live processes of the process group `pgid`."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(proc.name))
    return found


def test_the_command_gets_the_projects_python_not_the_hooks(project: Path) -> None:
    """The hook runs under `uv run --script`; `python` and `pytest` in the check mean what they mean in the
    user's shell."""
    out, _ = claim(project, 'echo "venv=[$VIRTUAL_ENV] python=$(command -v python)"; exit 1')
    assert f"exited 1: venv=[] python={shutil.which('python')}. Finish the work" in out["reason"]


def test_a_timeout_under_a_second_still_runs_the_command(project: Path) -> None:
    out, _ = claim(project, "echo ran; exit 4", timeout=0.5)
    assert "exited 4: ran" in out["reason"]


def test_a_stop_with_no_time_left_does_not_start_the_command(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(acceptance, "STOP_BUDGET_S", 0)
    prompt = delegated(project, acceptance={"command": "touch ran"}, extra=fast(20))
    feed(stop(project, "agent-1", "fullstack-eng", "STATUS: completed", writes=["a.py"], prompt=prompt))
    task = digest()["tasks"]["t1"]
    assert task["status"] == "needs_review" and "`touch ran` was not run: no time was left" in task["review_reason"]
    assert not (project / "ran").exists()
