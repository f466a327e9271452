"""A warm hook that hands a message over and whose hook process Claude Code kills (at its timeout) before the
answer got out: the warm child still writes the answer, but nobody reads it any more, so it must not count the
message as shown; the run's next tool call after that hook's timeout shows it again. Real hook scripts of an
installed copy of the pack whose `pre_tool.py` declares a 3-second timeout, answered by a real warm server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from orchestra.bus.messages import iso
from orchestra.store import open_store
from orchestra.warm import client

from tests.bus.test_unconfirmed import full_pipe, wait_past
from tests.conftest import PACK, REPO
from tests.warm.test_warm import (
    MEMBER,
    SESSION,
    hook,
    last_audit,
    sock,
    start_server,
    stop_server,
    tool_call,
    wait_for,
)

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or not Path("/proc/self/task").exists(),
                                reason="warm hooks need fork and Unix sockets; the test reads /proc")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("warm-delivery") / "proj ect"
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    shutil.copytree(PACK, root / ".claude" / "orchestra", ignore=shutil.ignore_patterns("state", "__pycache__", "*.pyc"))
    shutil.copy(REPO / ".claude" / "teams.yaml", root / ".claude" / "teams.yaml")
    script = root / ".claude" / "orchestra" / "hooks" / "pre_tool.py"
    script.write_text(script.read_text().replace('"timeout": 10,', '"timeout": 3,', 1))
    return root


@pytest.fixture
def server(installed: Path) -> Iterator[subprocess.Popen]:
    process = start_server(installed)
    assert wait_for(lambda: os.path.exists(sock(installed))), "the warm server never listened"
    yield process
    stop_server(process)


def message_for(store, run: str, text: str) -> tuple[dict, str]:
    """A message from the main thread to the active member run `run`, and the path of its delivery to that run."""
    from orchestra import bus

    with store.transaction() as tx:
        tx.set(f"agents.{run}", {"agent_type": MEMBER["agent_type"], "status": "active"})
        sent = bus.send(tx, sender="main", to=f"agent:{run}", type="state_updated", payload={"text": text})
    return sent, f"communication.deliveries.{sent['id']}@{run}"


def pre_tool(installed: Path, event: dict, **popen) -> subprocess.Popen:
    """`pre_tool.py` as Claude Code starts it (through uv, warm allowed), its event written and its stdin closed."""
    env = {k: v for k, v in os.environ.items() if k != client.DISABLE_ENV}
    proc = subprocess.Popen(["uv", "run", "--quiet", "--script", str(installed / ".claude/orchestra/hooks/pre_tool.py")],
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE, cwd=installed,
                            env={**env, "CLAUDE_PROJECT_DIR": str(installed)}, **popen)
    proc.stdin.write(json.dumps(event).encode())
    proc.stdin.close()
    proc.stdin = None
    return proc


def test_a_warm_hook_killed_before_its_answer_got_out_leaves_the_message_to_the_next_tool_call(
        installed: Path, server) -> None:
    hook(installed, "session_start.py", {"session_id": SESSION, "transcript_path": str(installed / "t.jsonl"),
                                         "cwd": str(installed), "hook_event_name": "SessionStart", "source": "startup"})
    with open_store(f"sqlite:///{installed / '.claude/state/orchestration.db'}") as store:
        sent, path = message_for(store, MEMBER['agent_id'], "rebase on main first")
        event = tool_call(installed, "Bash", {"command": "make"})
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
        read, write = full_pipe()
        try:
            proc = pre_tool(installed, event, stdout=write, start_new_session=True)
            assert wait_for(lambda: store.get(path, None) is not None or proc.poll() is not None, 60)
            assert proc.poll() is None, proc.stderr.read()  # the child that took it waits to write its answer
            assert len(children.read_text().split()) == 2  # that child, and the spare forked after it
            os.killpg(proc.pid, signal.SIGKILL)  # Claude Code gives up on the hook
            proc.wait(timeout=60)
            os.close(write)
            write = -1
            answer = b""
            while chunk := os.read(read, 1 << 16):  # the child writes its answer now; it ends, and the pipe closes
                answer += chunk
        finally:
            os.close(read)
            if write >= 0:
                os.close(write)
        assert b"rebase on main first" in answer  # the whole answer was written, after the hook process had ended
        assert wait_for(lambda: len(children.read_text().split()) == 1)
        lost = store.get(path)
        assert "confirmed_at" not in lost and last_audit(installed)["warm"] is True
        wait_past(lost["confirm_by"])
        again = hook(installed, "pre_tool.py", {**event, "tool_use_id": "toolu_next"})
        assert again.returncode == 0, again.stderr
        context = json.loads(again.stdout)["hookSpecificOutput"]["additionalContext"]
        assert sent["id"] in context and "(1 new, highest priority first)" in context
        assert store.get(path)["confirmed_at"]  # shown, by a warm child whose hook process was there to read it
        after = hook(installed, "pre_tool.py", {**event, "tool_use_id": "toolu_after"})
        assert after.returncode == 0 and after.stdout.strip() == b""


def test_a_hook_run_again_after_its_warm_child_died_counts_its_time_from_the_hook_process_start(
        installed: Path, server) -> None:
    """The child that took the hook dies after it handed a message over (killed): the hook process runs the hook
    again itself, on the same event. Claude Code's timeout still runs from that process's start, so the delivery's
    `confirm_by` does too, not from the rerun (which would confirm past the moment Claude Code stops waiting)."""
    run = "a-member-rerun"  # a run of its own: the other test's injection does not hold this one back 20 s
    with open_store(f"sqlite:///{installed / '.claude/state/orchestration.db'}") as store:
        sent, path = message_for(store, run, "pin the lockfile")
        event = {**tool_call(installed, "Bash", {"command": "make"}), "agent_id": run, "tool_use_id": "toolu_rerun"}
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
        assert wait_for(lambda: len(children.read_text().split()) == 1)
        spare = int(children.read_text().split()[0])  # the child that takes the next hook
        read, write = full_pipe()
        try:
            proc = pre_tool(installed, event, stdout=write, start_new_session=True)
            assert wait_for(lambda: store.get(path, None) is not None or proc.poll() is not None, 60)
            first = store.get(path)
            assert proc.poll() is None, proc.stderr.read()  # the child waits to write its answer
            killed_at = datetime.now(UTC)
            os.kill(spare, signal.SIGKILL)  # the child dies; the hook process runs the hook again
            os.set_blocking(read, False)
            while proc.poll() is None:
                try:
                    os.read(read, 1 << 16)
                except BlockingIOError:
                    time.sleep(0.02)
            assert proc.returncode == 0, proc.stderr.read()
        finally:
            os.close(read)
            os.close(write)
        again = store.get(path)
        assert again["delivered_at"] > first["delivered_at"]  # handed over again by the rerun
        assert again["confirm_by"] < iso(killed_at + timedelta(seconds=3 + 1))


def test_a_warm_child_that_takes_the_hook_late_counts_its_time_from_the_hook_process_start(
        installed: Path, server) -> None:
    """The server's spare child takes the hook a while after the hook process connected (the machine was busy): the
    delivery's `confirm_by` still runs from the hook process's start, as Claude Code's timeout does."""
    run = "a-member-late"
    with open_store(f"sqlite:///{installed / '.claude/state/orchestration.db'}") as store:
        sent, path = message_for(store, run, "tag the release")
        event = {**tool_call(installed, "Bash", {"command": "make"}), "agent_id": run, "tool_use_id": "toolu_late"}
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
        assert wait_for(lambda: len(children.read_text().split()) == 1)
        spare = int(children.read_text().split()[0])
        os.kill(spare, signal.SIGSTOP)
        try:
            proc = pre_tool(installed, event, stdout=subprocess.PIPE)
            # the hook process has connected: its socket is in the server's queue, which the stopped spare holds
            assert wait_for(lambda: connected(proc.pid) or proc.poll() is not None, 60)
            time.sleep(1)
        finally:
            resumed_at = datetime.now(UTC)
            os.kill(spare, signal.SIGCONT)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert sent["id"] in out.decode() and last_audit(installed)["warm"] is True
        assert store.get(path)["confirm_by"] < iso(resumed_at + timedelta(seconds=3 + 1))


def connected(pid: int) -> bool:
    """Does process `pid`, or a process under it (`uv run` starts Python as its child), hold a socket?"""
    try:
        fds = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:  # it has just ended
        return False
    return any(fd.startswith("socket:") for fd in fds) or any(connected(int(child)) for child in children)
