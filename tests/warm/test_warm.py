"""Warm hooks (orchestra.warm): real hook scripts of an installed copy of the pack, run through `uv run
--script` as Claude Code runs them, answered by a real warm server, and compared with the same hooks run
in their own processes."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from orchestra.warm import client

from tests.conftest import PACK, REPO
from tests.mcp.test_launcher import gone

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="warm hooks need fork and Unix sockets")

SESSION = "warm-session"
MEMBER = {"session_id": SESSION, "agent_id": "a-member-1", "agent_type": "fullstack-eng"}
# A hook script of the installation that reports what the process it runs in looks like.
PROBE = """#!/usr/bin/env -S uv run --quiet --script
# /// script
# requires-python = ">=3.11"
# dependencies = ["claude-orchestra"]
#
# [tool.uv.sources]
# claude-orchestra = { path = "..", editable = true }
# ///
from orchestra.warm.client import forward

forward(__name__)

import json, os, subprocess, sys

from orchestra.warm import client

if __name__ == "__main__":
    child = subprocess.run(["sh", "-c", "exit 3"], check=False)
    print(json.dumps({"stdin": sys.stdin.read(), "cwd": os.getcwd(), "probe": os.environ.get("PROBE_VALUE"),
                      "argv0": sys.argv[0], "child_exit": child.returncode, "warm": client.serving}))
    print("probe stderr", file=sys.stderr)
    sys.exit(int(os.environ.get("PROBE_EXIT", "0")))
"""

# A hook script of the installation that answers through the output funnel (hookio), then, run warm, stops before
# its child reports the exit code: the test kills it there. With "refuse" in the event its guard fails (exit 2); with
# "echo" it answers with the event's tool input, too large for the pipe until the test reads it.
ANSWER_PROBE = """#!/usr/bin/env -S uv run --quiet --script
# /// script
# requires-python = ">=3.11"
# dependencies = ["claude-orchestra"]
#
# [tool.uv.sources]
# claude-orchestra = { path = "..", editable = true }
# ///
from orchestra.warm.client import forward

forward(__name__)

import os, signal

from orchestra import hookio
from orchestra.warm import client


def handler(event, ctx):
    if event.get("refuse"):
        raise RuntimeError("the probe refuses")
    if event.get("echo"):
        return hookio.Rewrite(tool_input=event.tool_input)
    return hookio.AddContext(text="probe context")


if __name__ == "__main__":
    code = hookio.run(handler, "guard")
    if client.serving:
        os.kill(os.getpid(), signal.SIGSTOP)
    raise SystemExit(code)
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repo carrying its own copy of the pack, so its warm server is its own."""
    root = tmp_path_factory.mktemp("warm") / "proj ect"
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    shutil.copytree(PACK, root / ".claude" / "orchestra",
                    ignore=shutil.ignore_patterns("state", "__pycache__", "*.pyc"))
    shutil.copy(REPO / ".claude" / "teams.yaml", root / ".claude" / "teams.yaml")
    (root / ".claude" / "orchestra" / "hooks" / "probe.py").write_text(PROBE)
    (root / ".claude" / "orchestra" / "hooks" / "answer_probe.py").write_text(ANSWER_PROBE)
    (root / "src").mkdir()
    return root


def package(root: Path) -> str:
    return str(root / ".claude" / "orchestra" / "src" / "orchestra")


def sock(root: Path) -> str:
    return client.socket_path(package(root))


def hook(root: Path, script: str, payload: dict | str, *, warm: bool = True, cwd: Path | None = None,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k != client.DISABLE_ENV}
    full.update(CLAUDE_PROJECT_DIR=str(root), **(env or {}))
    if not warm:
        full[client.DISABLE_ENV] = "0"
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return subprocess.run(["uv", "run", "--quiet", "--script", str(root / ".claude/orchestra/hooks" / script)],
                          input=data.encode(), capture_output=True, cwd=cwd or root, env=full, timeout=120)


def last_audit(root: Path) -> dict:
    return json.loads((root / ".claude/state/audit.jsonl").read_text().splitlines()[-1])


def wait_for(condition, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def start_server(root: Path, grace_s: float | None = None, stderr: int | None = None) -> subprocess.Popen:
    """The warm server as `orchestra mcp` starts it, for the copy's package; its stdin is the lifeline.
    With `grace_s`, it answers for that long once its lifeline has closed, instead of `server.GRACE_S`."""
    env = {**os.environ, "PYTHONPATH": str(root / ".claude/orchestra/src")}
    if grace_s is None:
        command = ["-m", "orchestra.warm.server"]
    else:
        command = ["-c", f"import sys; from orchestra.warm import server; server.GRACE_S = {grace_s}; "
                         "sys.exit(server.serve())"]
    return subprocess.Popen([sys.executable, *command], stdin=subprocess.PIPE, stderr=stderr, env=env)


def processes_running(marker: str) -> list[int]:
    """Live processes whose command line holds `marker` (a server and the spare children it forked)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                if marker.encode() in (proc / "cmdline").read_bytes() and not gone(int(proc.name)):
                    found.append(int(proc.name))
    return found


def stop_server(process: subprocess.Popen) -> None:
    process.stdin.close()
    process.wait(timeout=30)


@pytest.fixture
def server(installed: Path) -> Iterator[subprocess.Popen]:
    process = start_server(installed)
    assert wait_for(lambda: os.path.exists(sock(installed))), "the warm server never listened"
    yield process
    stop_server(process)


def tool_call(root: Path, tool: str, tool_input: dict) -> dict:
    return {**MEMBER, "transcript_path": str(root / "t.jsonl"), "cwd": str(root), "hook_event_name": "PreToolUse",
            "tool_name": tool, "tool_input": tool_input, "tool_use_id": f"toolu_{tool}"}


def test_hooks_answer_warm_exactly_as_in_their_own_process(installed: Path, server, tmp_path: Path) -> None:
    cases = [
        ("pre_tool.py", tool_call(installed, "Bash", {"command": "echo building"})),
        ("pre_tool.py", tool_call(installed, "Read", {"file_path": str(installed / ".env")})),
        ("user_prompt.py", {"session_id": SESSION, "transcript_path": str(installed / "t.jsonl"),
                            "cwd": str(installed), "hook_event_name": "UserPromptSubmit", "prompt": "go"}),
        ("pre_tool.py", "{not json"),
    ]
    state, saved = installed / ".claude" / "state", tmp_path / "state"
    answers = []
    for script, payload in cases:
        hook(installed, "session_start.py", {"session_id": SESSION, "transcript_path": str(installed / "t.jsonl"),
                                             "cwd": str(installed), "hook_event_name": "SessionStart",
                                             "source": "startup"}, warm=False)
        shutil.rmtree(saved, ignore_errors=True)
        shutil.copytree(state, saved)
        cold = hook(installed, script, payload, warm=False)
        assert "warm" not in last_audit(installed)
        shutil.rmtree(state)
        shutil.copytree(saved, state)  # the warm run starts from the state the cold one found
        warm = hook(installed, script, payload)
        assert last_audit(installed).get("warm") is True, warm.stderr
        assert (warm.returncode, warm.stdout, warm.stderr) == (cold.returncode, cold.stdout, cold.stderr)
        answers.append((warm.returncode, json.loads(warm.stdout or "{}").get("hookSpecificOutput", {})))
    decisions = [(code, out.get("permissionDecision")) for code, out in answers]
    assert decisions == [(0, None), (0, "deny"), (0, None), (2, None)]  # allowed, secret denied, observed, malformed


def test_the_child_is_the_hook_process_itself(installed: Path, server) -> None:
    (installed / "src" / "deep").mkdir(exist_ok=True)
    out = hook(installed, "probe.py", "the event", cwd=installed / "src" / "deep",
               env={"PROBE_VALUE": "from the caller", "PROBE_EXIT": "5"})
    report = json.loads(out.stdout)
    assert report == {"stdin": "the event", "cwd": str(installed / "src" / "deep"), "probe": "from the caller",
                      "argv0": str(installed / ".claude/orchestra/hooks/probe.py"), "child_exit": 3, "warm": True}
    assert out.stderr.decode().strip() == "probe stderr"
    assert out.returncode == 5


def test_changed_code_runs_in_its_own_process_then_warm_again(installed: Path, server) -> None:
    payload = tool_call(installed, "Bash", {"command": "echo building"})
    assert hook(installed, "pre_tool.py", payload).returncode == 0 and last_audit(installed).get("warm")
    module = Path(package(installed)) / "toolcall.py"
    later = time.time() + 5
    os.utime(module, (later, later))
    first = hook(installed, "pre_tool.py", payload)
    assert first.returncode == 0 and "warm" not in last_audit(installed)  # the server stepped aside

    def warm_again() -> bool:
        hook(installed, "pre_tool.py", payload)
        return bool(last_audit(installed).get("warm"))

    assert wait_for(warm_again), "the server did not come back after the change"
    assert server.poll() is None  # the same process, restarted in place


def test_a_request_that_is_not_a_hook_of_this_installation_is_declined(installed: Path, server,
                                                                      tmp_path: Path) -> None:
    def ask(body: bytes) -> bytes:
        with socket.socket(socket.AF_UNIX) as conn:
            conn.connect(sock(installed))
            conn.sendall(len(body).to_bytes(4, "big") + body)
            return conn.recv(2)

    foreign = tmp_path / "pre_tool.py"
    foreign.write_text("raise SystemExit(9)\n")
    assert ask(b"\0".join([client.PROTOCOL, str(foreign).encode(), str(tmp_path).encode(), b"0"])) == client.DECLINED
    assert ask(b"something else entirely") == client.DECLINED
    with socket.socket(socket.AF_UNIX) as silent:  # connects and says nothing: the child gives up on it
        silent.connect(sock(installed))
        assert silent.recv(1) == client.DECLINED
    assert hook(installed, "pre_tool.py", tool_call(installed, "Bash", {"command": "true"})).returncode == 0
    assert last_audit(installed).get("warm") is True


def test_a_second_server_waits_and_takes_over(installed: Path) -> None:
    first = start_server(installed)
    assert wait_for(lambda: os.path.exists(sock(installed)))
    second = start_server(installed)
    time.sleep(1)
    assert second.poll() is None  # waiting for the lock, not serving and not gone
    stop_server(first)
    try:
        assert wait_for(lambda: os.path.exists(sock(installed))), "the second server did not take over"
        hook(installed, "pre_tool.py", tool_call(installed, "Bash", {"command": "true"}))
        assert last_audit(installed).get("warm") is True
    finally:
        stop_server(second)
    assert not os.path.exists(sock(installed))


def test_the_mcp_server_starts_it_and_takes_it_down(installed: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != client.DISABLE_ENV}
    mcp = subprocess.Popen(["uv", "run", "--quiet", "--script", str(installed / ".claude/orchestra/bin/orchestra"),
                            "mcp"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, cwd=installed,
                           env={**env, "CLAUDE_PROJECT_DIR": str(installed)})
    try:
        assert wait_for(lambda: os.path.exists(sock(installed)), 60), "orchestra mcp started no warm server"
        hook(installed, "pre_tool.py", tool_call(installed, "Bash", {"command": "true"}))
        assert last_audit(installed).get("warm") is True
        mcp.stdin.close()  # Claude Code ends the session
        mcp.wait(timeout=30)
        assert wait_for(lambda: not os.path.exists(sock(installed))), "the warm server outlived the MCP server"
    finally:
        if mcp.poll() is None:
            mcp.kill()
    hook(installed, "pre_tool.py", tool_call(installed, "Bash", {"command": "true"}))
    assert "warm" not in last_audit(installed)


def session_end(root: Path) -> dict:
    return {"session_id": SESSION, "transcript_path": str(root / "t.jsonl"), "cwd": str(root),
            "hook_event_name": "SessionEnd", "reason": "other"}


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads /proc to find the server's children")
def test_once_the_mcp_server_has_ended_it_answers_until_the_session_end_hook(installed: Path) -> None:
    # Claude Code ends a session's MCP servers first and runs its SessionEnd hooks after: the warm server
    # answers those too, then ends without waiting out its grace (here far longer than the test waits).
    grace = 3600
    process = start_server(installed, grace_s=grace)
    try:
        assert wait_for(lambda: os.path.exists(sock(installed))), "the warm server never listened"
        process.stdin.close()  # the MCP server has ended
        out = hook(installed, "pre_tool.py", tool_call(installed, "Bash", {"command": "true"}))
        assert out.returncode == 0 and last_audit(installed).get("warm") is True, out.stderr
        assert process.poll() is None and os.path.exists(sock(installed))

        out = hook(installed, "session_end.py", session_end(installed))

        assert out.returncode == 0, out.stderr
        line = last_audit(installed)
        assert line["event"] == "SessionEnd" and line.get("warm") is True
        assert process.wait(timeout=60) == 0
        assert not os.path.exists(sock(installed))
        marker = f"GRACE_S = {grace}"
        assert wait_for(lambda: not processes_running(marker)), "a spare child outlived its server"
    finally:
        if process.poll() is None:
            process.kill()


def test_once_the_mcp_server_has_ended_it_lets_go_of_the_stderr_it_had_from_it(installed: Path) -> None:
    # Claude Code reads a stdio server's stderr and goes on ending the session only once every end of that
    # pipe has closed; the warm server (and its waiting child) inherited one from the MCP server.
    process = start_server(installed, grace_s=3600, stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: os.path.exists(sock(installed))), "the warm server never listened"
        process.stdin.close()
        reader = threading.Thread(target=process.stderr.read, daemon=True)  # returns at end of file
        reader.start()
        reader.join(timeout=30)
        assert not reader.is_alive(), "the warm server held the MCP server's stderr open"
        assert process.poll() is None  # still answering: its grace is not over
        hook(installed, "pre_tool.py", tool_call(installed, "Bash", {"command": "true"}))
        assert last_audit(installed).get("warm") is True
        hook(installed, "session_end.py", session_end(installed))
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_a_session_end_hook_while_the_mcp_server_runs_ends_nothing(installed: Path, server) -> None:
    # /clear in an interactive session: SessionEnd, then the same Claude Code and MCP server go on.
    assert hook(installed, "session_end.py", session_end(installed)).returncode == 0
    assert last_audit(installed).get("warm") is True
    hook(installed, "pre_tool.py", tool_call(installed, "Bash", {"command": "true"}))
    assert last_audit(installed).get("warm") is True and server.poll() is None


def test_without_a_session_end_hook_it_ends_when_its_grace_runs_out(installed: Path) -> None:
    process = start_server(installed)
    try:
        assert wait_for(lambda: os.path.exists(sock(installed))), "the warm server never listened"
        process.stdin.close()
        assert process.wait(timeout=60) == 0
        assert not os.path.exists(sock(installed))
    finally:
        if process.poll() is None:
            process.kill()
    hook(installed, "pre_tool.py", tool_call(installed, "Bash", {"command": "true"}))
    assert "warm" not in last_audit(installed)


def test_a_killed_parent_takes_the_warm_server_down(installed: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", "import time; from orchestra.warm.launch import start_beside; "
                               "handle = start_beside(); time.sleep(600)"],
        env={**os.environ, "PYTHONPATH": str(installed / ".claude/orchestra/src"), client.DISABLE_ENV: "1"})
    try:
        assert wait_for(lambda: os.path.exists(sock(installed)))
        parent.send_signal(signal.SIGKILL)  # no chance to close anything: only the kernel closes the pipe
        parent.wait(timeout=30)
        assert wait_for(lambda: not os.path.exists(sock(installed))), "the warm server outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()


def test_only_a_private_directory_may_hold_the_socket(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    own = tmp_path / "own"
    own.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(own)
    assert client.private(str(own)) and not client.private(str(shared))
    assert not client.private(str(tmp_path / "missing")) and not client.private(str(link))


def test_a_server_that_does_not_answer_in_time_leaves_the_hook_to_its_own_process(installed: Path) -> None:
    with socket.socket(socket.AF_UNIX) as stuck:  # listens, never accepts: a hung server
        stuck.bind(sock(installed))
        stuck.listen(8)
        try:
            started = time.monotonic()
            out = hook(installed, "probe.py", "still here")
            waited = time.monotonic() - started
        finally:
            os.unlink(sock(installed))
    report = json.loads(out.stdout)
    assert out.returncode == 0 and report["stdin"] == "still here" and report["warm"] is False
    assert waited >= client.ACCEPT_TIMEOUT_S


def test_hooks_at_once_are_each_answered_warm_and_chain_in_the_audit_log(installed: Path, server) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from orchestra import audit

    log = installed / ".claude/state/audit.jsonl"
    before = len(log.read_text().splitlines()) if log.exists() else 0
    calls = [tool_call(installed, "Bash", {"command": f"echo {n}"}) for n in range(12)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        runs = list(pool.map(lambda payload: hook(installed, "pre_tool.py", payload), calls))
    assert [r.returncode for r in runs] == [0] * len(calls), [r.stderr for r in runs]
    lines = [json.loads(line) for line in log.read_text().splitlines()[before:]]
    assert len(lines) == len(calls) and all(line.get("warm") for line in lines)
    assert audit.check(log).ok


def test_the_status_line_runs_warm_too_and_prints_the_same(installed: Path, server) -> None:
    env = {k: v for k, v in os.environ.items() if k != client.DISABLE_ENV}
    session = json.dumps({"model": {"display_name": "Opus"}, "workspace": {"project_dir": str(installed)},
                          "cwd": str(installed)}).encode()
    script = installed / ".claude/orchestra/status_line.py"

    def status_line(**extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(["uv", "run", "--quiet", "--script", str(script)], input=session, capture_output=True,
                              cwd=installed, env={**env, "CLAUDE_PROJECT_DIR": str(installed), **extra}, timeout=120)

    warm, cold = status_line(), status_line(**{client.DISABLE_ENV: "0"})
    assert warm.returncode == cold.returncode == 0, (warm.stderr, cold.stderr)
    assert warm.stdout == cold.stdout and warm.stdout.strip()
    code = ("import sys; from orchestra.warm import server; "
            "print(server.ours(sys.argv[1].encode()), server.ours(sys.argv[2].encode()))")
    check = subprocess.run([sys.executable, "-c", code, str(script), str(installed / "status_line.py")],
                           capture_output=True, text=True, env={**env, "PYTHONPATH": str(installed / ".claude/orchestra/src")})
    assert check.stdout.split() == ["True", "False"], check.stderr


def test_a_hook_whose_warm_child_is_killed_runs_again_in_its_own_process(installed: Path, server) -> None:
    import sqlite3

    main_thread = {"session_id": SESSION, "transcript_path": str(installed / "t.jsonl"), "cwd": str(installed)}
    delegation = {**main_thread, "hook_event_name": "PreToolUse", "tool_name": "Agent", "tool_use_id": "toolu_killed",
                  "tool_input": {"description": "survey", "prompt": "survey the code", "subagent_type": "Explore"}}
    hook(installed, "session_start.py", {**main_thread, "hook_event_name": "SessionStart", "source": "startup"})
    held = sqlite3.connect(installed / ".claude/state/orchestration.db", isolation_level=None)
    held.execute("BEGIN IMMEDIATE")  # the warm child running the hook waits on it, mid-hook
    env = {k: v for k, v in os.environ.items() if k != client.DISABLE_ENV}
    running = subprocess.Popen(["uv", "run", "--quiet", "--script", str(installed / ".claude/orchestra/hooks/pre_agent.py")],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=installed,
                               env={**env, "CLAUDE_PROJECT_DIR": str(installed)})
    try:
        running.stdin.write(json.dumps(delegation).encode())
        running.stdin.close()
        running.stdin = None  # closed: communicate() below only reads
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
        # the child that took the hook, and the spare forked after it
        assert wait_for(lambda: len(children.read_text().split()) == 2), "no warm child took the hook"
        for pid in children.read_text().split():
            os.kill(int(pid), signal.SIGKILL)
    finally:
        held.execute("ROLLBACK")
        held.close()
    out, err = running.communicate(timeout=60)
    assert running.returncode == 0, err
    assert "survey the code" in json.loads(out)["hookSpecificOutput"]["updatedInput"]["prompt"]
    last = last_audit(installed)
    assert (last["hook"], last["result"], "warm" in last) == ("pre_agent", "allowed", False)


def proc_field(pid: str, field: str) -> str:
    with contextlib.suppress(OSError):
        if field == "state":
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return Path(f"/proc/{pid}/{field}").read_text()
    return ""


def answer_probe(root: Path, payload: dict) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != client.DISABLE_ENV}
    running = subprocess.Popen(["uv", "run", "--quiet", "--script", str(root / ".claude/orchestra/hooks/answer_probe.py")],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=root,
                               env={**env, "CLAUDE_PROJECT_DIR": str(root)})
    running.stdin.write(json.dumps(payload).encode())
    running.stdin.close()
    running.stdin = None  # closed: communicate() only reads
    return running


def kill_child_when(server: subprocess.Popen, condition) -> None:
    """Wait until a child of the warm server is in the state `condition` tells (given its pid), and kill it."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    try:
        assert wait_for(lambda: any(condition(pid) for pid in children.read_text().split())), "no child got there"
    finally:
        for pid in children.read_text().split():
            if condition(pid):
                os.kill(int(pid), signal.SIGKILL)


def audit_lines(root: Path, since: int = 0) -> list[dict]:
    audit = root / ".claude/state/audit.jsonl"
    return [json.loads(line) for line in audit.read_text().splitlines()[since:]] if audit.exists() else []


@pytest.mark.parametrize(("event", "code"), [({}, 0), ({"refuse": True}, 2)], ids=["json", "refusal"])
def test_a_warm_child_that_dies_after_writing_its_answer_answers_once(installed: Path, server, event: dict,
                                                                      code: int) -> None:
    before = len(audit_lines(installed))
    running = answer_probe(installed, {**tool_call(installed, "Bash", {"command": "true"}), **event})
    # the child that took the hook stops once its answer is written, before it reports the exit code
    kill_child_when(server, lambda pid: proc_field(pid, "state") == "T")
    out, err = running.communicate(timeout=60)
    if code == 0:
        assert json.loads(out)["hookSpecificOutput"]["additionalContext"] == "probe context"  # one JSON object
        assert err.decode().count("\n") == 1 and "not run again" in err.decode()
    else:
        assert out == b""
        assert err.decode().count("the probe refuses") == 1 and "not run again" not in err.decode(), err
    assert running.returncode == code, err
    assert [(line["hook"], line.get("warm")) for line in audit_lines(installed, before)] == [("answer_probe", True)]


def test_a_warm_child_that_dies_while_writing_its_answer_fails_the_hook_without_running_it_again(
        installed: Path, server) -> None:
    before = len(audit_lines(installed))
    command = "echo " + "x" * 300_000  # an answer larger than the pipe holds: the child waits in its write
    running = answer_probe(installed, {**tool_call(installed, "Bash", {"command": command}), "echo": True})
    kill_child_when(server, lambda pid: "pipe_write" in proc_field(pid, "wchan"))
    out, err = running.communicate(timeout=60)
    assert running.returncode == 1, err  # a hook error; a guard wired with onFailure: block refuses the tool call
    # what the child wrote before it died, cut short, and nothing after it
    assert 0 < len(out) < len(command) and out.count(b"{") == 3 and out.rstrip(b"x").endswith(b'{"command": "echo ')
    assert err.decode().count("\n") == 1 and "while writing" in err.decode(), err
    assert [(line["hook"], line.get("warm")) for line in audit_lines(installed, before)] == [("answer_probe", True)]
