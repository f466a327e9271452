"""The hook runtime through real `uv run --script` processes: real hook scripts, plus two test-only
scripts (tests/hooks/scripts) whose verdict or exception the event itself chooses."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from orchestra import audit
from orchestra.hookio import MAX_INPUT_BYTES

from tests.conftest import PACK, REPO, hook_output, load_fixture, run_hook

SCRIPTS = REPO / "tests" / "hooks" / "scripts"
EVENTS = load_fixture("claude-code-2.1.328/nested-delegation.jsonl")
SESSION_START = EVENTS[0]
PRE_BASH = next(e for e in EVENTS if e["hook_event_name"] == "PreToolUse" and e["tool_name"] == "Bash")


def run_script(script: Path, payload: dict | bytes, project: Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    env = {**os.environ, "CLAUDE_PROJECT_DIR": str(project)}
    return subprocess.run(["uv", "run", "--quiet", "--script", str(script)], input=data, capture_output=True,
                          cwd=cwd or project, env=env, timeout=120)


def audit_lines(project: Path) -> list[dict]:
    log = project / ".claude/state/audit.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _elsewhere(tmp_path: Path) -> Path:
    other = tmp_path / "some other dir"
    other.mkdir()
    return other


def _test_event(project: Path, **verdict) -> dict:
    return {**PRE_BASH, "cwd": str(project), "test_verdict": verdict}


# -- real hook scripts, run as Claude Code runs them ------------------------------------------------

def test_real_hooks_run_from_another_working_directory(project: Path, tmp_path: Path) -> None:
    elsewhere = _elsewhere(tmp_path)
    proc = run_hook("session_start.py", {**SESSION_START, "cwd": str(project)}, project, cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert (project / ".claude/state/orchestration.db").exists()
    assert not (elsewhere / ".claude").exists()
    proc = run_hook("pre_tool.py", {**PRE_BASH, "cwd": str(project)}, project, cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert [line["event"] for line in audit_lines(project)] == ["SessionStart", "PreToolUse"]


def test_a_pack_copied_under_a_path_with_spaces_runs(tmp_path: Path) -> None:
    """Copying `.claude/` is an install: its hooks build and import the package from the copy."""
    repo = tmp_path / "my repo with spaces"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    shutil.copytree(PACK, repo / ".claude" / "orchestra",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", ".venv", "uv.lock"))
    shutil.copy(REPO / ".claude" / "teams.yaml", repo / ".claude" / "teams.yaml")
    script = repo / ".claude/orchestra/hooks/session_start.py"
    proc = run_script(script, {**SESSION_START, "cwd": str(repo)}, repo, cwd=_elsewhere(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert (repo / ".claude/state/orchestration.db").exists()
    assert audit_lines(repo)[0]["hook"] == "session_start"


# -- malformed stdin ------------------------------------------------------------------------------

MALFORMED = {
    "empty": b"",
    "not-json": b"{this is not json",
    "wrong-types": json.dumps({**PRE_BASH, "tool_input": "rm -rf /", "session_id": 42}).encode(),
    "over-the-limit": json.dumps({**PRE_BASH, "tool_input": {"command": "x" * (MAX_INPUT_BYTES + 1)}}).encode(),
}


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_malformed_stdin_through_real_hooks(project: Path, kind: str) -> None:
    for script, policy_exit in (("session_start.py", 1), ("pre_tool.py", 2)):
        proc = run_hook(script, MALFORMED[kind], project)
        assert proc.returncode == policy_exit, (script, proc.stderr)
        assert proc.stdout == b""
        err = proc.stderr.decode()
        assert err.count("\n") == 1 and "malformed hook input" in err and "Traceback" not in err, err
    lines = audit_lines(project)
    assert [(line["hook"], line["decision"]) for line in lines] == [("session_start", "malformed"),
                                                                    ("pre_tool", "malformed")]
    state = project / ".claude/state"
    assert sorted(p.name for p in state.iterdir() if not p.name.startswith("audit")) == [".gitignore"]


# -- handler errors, through the real runner ------------------------------------------------------

def test_observer_exception(project: Path) -> None:
    proc = run_script(SCRIPTS / "observer_hook.py", _test_event(project, kind="raise", message="db went away"), project)
    assert proc.returncode == 0 and proc.stderr == b""
    assert hook_output(proc) == {"systemMessage": "orchestra observer_hook: RuntimeError: db went away "
                                                  "(details in .claude/state/hook-errors.log)"}
    assert audit_lines(project)[-1]["decision"] == "error"
    assert "RuntimeError: db went away" in (project / ".claude/state/hook-errors.log").read_text()


def test_an_observers_error_message_is_printable_on_the_users_terminal(project: Path) -> None:
    event = _test_event(project, kind="raise", message="no run \x1b[8mhidden\x1b[0m here")
    proc = run_script(SCRIPTS / "observer_hook.py", event, project)
    assert proc.returncode == 0
    assert hook_output(proc)["systemMessage"].startswith("orchestra observer_hook: RuntimeError: no run hidden here")


def test_guard_exception(project: Path) -> None:
    proc = run_script(SCRIPTS / "guard_hook.py", _test_event(project, kind="raise", message="policy unreadable"),
                      project, cwd=project.parent)
    assert proc.returncode == 2 and proc.stdout == b""
    assert proc.stderr.decode() == ("orchestra guard_hook: blocked because the guard failed "
                                    "(RuntimeError: policy unreadable); fix the cause or the policy file\n")
    assert audit_lines(project)[-1]["decision"] == "error"


def test_a_failing_handler_changes_no_state(project: Path) -> None:
    proc = run_script(SCRIPTS / "observer_hook.py", _test_event(project, kind="write-then-raise"), project)
    assert proc.returncode == 0 and "failed mid-transaction" in hook_output(proc)["systemMessage"]
    from orchestra.store import open_store

    with open_store() as store:
        assert store.get("tasks") == {}


@pytest.mark.parametrize(("verdict", "expected"), [
    ({"kind": "allow"}, {}),
    ({"kind": "deny", "reason": "no secrets"},
     {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
                             "permissionDecisionReason": "no secrets"}}),
    ({"kind": "rewrite", "tool_input": {"command": "echo rewritten"}},
     {"hookSpecificOutput": {"hookEventName": "PreToolUse", "updatedInput": {"command": "echo rewritten"}}}),
], ids=["allow", "deny", "rewrite"])
def test_verdicts_leave_the_process_as_rendered(project: Path, verdict: dict, expected: dict) -> None:
    proc = run_script(SCRIPTS / "guard_hook.py", _test_event(project, **verdict), project)
    assert (proc.returncode, proc.stderr) == (0, b"")
    assert hook_output(proc) == expected
    assert audit_lines(project)[-1]["decision"] == verdict["kind"]


def test_corrupt_state_reaches_an_observer_as_a_system_message(project: Path) -> None:
    state = project / ".claude/state"
    state.mkdir(parents=True)
    (state / "orchestration.db").write_bytes(b"not a database" * 100)
    proc = run_hook("session_start.py", {**SESSION_START, "cwd": str(project)}, project)
    assert proc.returncode == 0 and proc.stderr == b""
    assert "moved aside to orchestration.db.corrupt-" in hook_output(proc)["systemMessage"]
    assert len(list(state.glob("orchestration.db.corrupt-*"))) == 1



def _ad_hoc_delegation(project: Path) -> dict:
    captured = next(e for e in EVENTS if e["hook_event_name"] == "PreToolUse" and e["tool_name"] == "Agent")
    return {**captured, "cwd": str(project), "tool_input": {"description": "Look around", "prompt": "Look around.",
                                                            "subagent_type": "general-purpose"}}


def test_a_guard_blocked_by_corrupt_state_says_the_call_can_be_made_again(project: Path) -> None:
    state = project / ".claude/state"
    state.mkdir(parents=True)
    (state / "orchestration.db").write_bytes(b"not a database" * 100)
    event = _ad_hoc_delegation(project)
    proc = run_hook("pre_agent.py", event, project)
    assert proc.returncode == 2 and "moved aside to orchestration.db.corrupt-" in proc.stderr.decode()
    assert "policy file" not in proc.stderr.decode() and "make the call again" in proc.stderr.decode()
    proc = run_hook("pre_agent.py", event, project)  # made again: on the empty state now
    assert proc.returncode == 0 and "updatedInput" in hook_output(proc)["hookSpecificOutput"], proc.stderr


def test_a_guard_kept_waiting_by_another_writer_says_the_call_can_be_made_again(project: Path) -> None:
    run_hook("session_start.py", {**SESSION_START, "cwd": str(project)}, project)
    holder = subprocess.Popen(
        ["python3", "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
         "c.execute('BEGIN IMMEDIATE'); print('held', flush=True); sys.stdin.read()",
         str(project / ".claude/state/orchestration.db")], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"held\n"
        proc = run_hook("pre_agent.py", _ad_hoc_delegation(project), project)
    finally:
        holder.communicate(b"")
    error = proc.stderr.decode()
    assert proc.returncode == 2 and "locked by another writer" in error
    assert "policy file" not in error and "make the call again" in error

def test_concurrent_hook_processes_keep_one_audit_chain(project: Path) -> None:
    payload = _test_event(project, kind="allow")
    with ThreadPoolExecutor(max_workers=8) as pool:
        procs = list(pool.map(lambda _: run_script(SCRIPTS / "observer_hook.py", payload, project), range(16)))
    assert [p.returncode for p in procs] == [0] * 16
    assert audit.verify(project / ".claude/state/audit.jsonl") == (16, None)


def test_a_system_message_cannot_drive_the_users_terminal(project: Path) -> None:
    """Claude Code 2.1.328 strips OSC strings and cursor moves from a systemMessage but prints SGR (colour,
    conceal) sequences as they are: a subagent's BLOCKER line could hide the rest of the message or repaint it."""
    from orchestra.store import open_store

    with open_store(root=project) as store, store.transaction() as tx:
        tx.set("agents.r1", {"id": "r1", "status": "blocked", "session_id": SESSION_START["session_id"],
                             "task": "t1", "ended_at": "2026-12-01T00:00:00Z",
                             "reason": "needs \x1b[8mhidden\x1b[0m creds\x1b[2J\x1b]0;title\x07\rover"})
    stop = {**SESSION_START, "hook_event_name": "Stop", "cwd": str(project), "stop_hook_active": False}
    proc = run_hook("stop.py", stop, project)
    assert proc.returncode == 0, proc.stderr
    message = hook_output(proc)["systemMessage"]
    assert message.startswith("Orchestra: needs attention: t1 blocked (needs hidden creds over)"), message
    assert not any(ord(c) < 32 or 0x7f <= ord(c) <= 0x9f for c in message), message


def test_a_guarded_call_with_half_an_emoji_keeps_its_audit_line(project: Path) -> None:
    """JSON.stringify sends half a surrogate pair (a string cut inside an emoji) as a `\\ud83d` escape; the
    guard's decision is still logged, the half read as U+FFFD."""
    event = {**PRE_BASH, "cwd": str(project), "tool_input": {"command": "echo 'ship it \ud83d'"}}
    proc = run_hook("pre_tool.py", event, project)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    line = audit_lines(project)[-1]
    assert line["hook"] == "pre_tool" and line["decision"] == "allow"
    assert audit.verify(project / ".claude/state/audit.jsonl")[1] is None
