"""A hook whose output never reached Claude Code (killed, or its stdout closed, after it committed a delivery):
once that hook's timeout has passed, the next event of the same run shows the messages again. Real hook scripts
of a copy of the pack whose `pre_tool.py` declares a short timeout, so that moment comes soon."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.bus.test_hooks import MEMBER, fixture_event, send
from tests.conftest import PACK

TIMEOUT_S = 3


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the pack whose `pre_tool.py` and `user_prompt.py` declare a 3-second timeout (as settings.json
    would then say)."""
    copy = tmp_path_factory.mktemp("pack") / "orchestra"
    shutil.copytree(PACK, copy, ignore=shutil.ignore_patterns("state", "__pycache__", "*.pyc"))
    for name in ("pre_tool.py", "user_prompt.py"):
        script = copy / "hooks" / name
        text = script.read_text()
        assert '"timeout": 10' in text
        script.write_text(text.replace('"timeout": 10', f'"timeout": {TIMEOUT_S}', 1))
    return copy


def start(pack: Path, payload: dict, project: Path, stdout: int, script: str = "pre_tool.py") -> subprocess.Popen:
    """A hook as Claude Code runs it, writing its answer to `stdout`; a session (process group) of its own."""
    proc = subprocess.Popen(["uv", "run", "--quiet", "--script", str(pack / "hooks" / script)],
                            stdin=subprocess.PIPE, stdout=stdout, stderr=subprocess.PIPE, cwd=project,
                            env={**os.environ, "CLAUDE_PROJECT_DIR": str(project)}, start_new_session=True)
    proc.stdin.write(json.dumps(payload).encode())
    proc.stdin.close()
    proc.stdin = None
    return proc


def run(pack: Path, payload: dict, project: Path, script: str = "pre_tool.py") -> dict:
    proc = start(pack, payload, project, subprocess.PIPE, script)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return json.loads(out) if out.strip() else {}


def full_pipe() -> tuple[int, int]:
    """A pipe already full: whoever writes to it next waits until someone reads."""
    read, write = os.pipe()
    os.set_blocking(write, False)
    try:
        while True:
            os.write(write, b"x" * 4096)
    except BlockingIOError:
        pass
    os.set_blocking(write, True)
    return read, write


def wait_past(moment: str) -> None:
    """Sleep until `moment` (an ISO time the store holds) is behind us."""
    left = (datetime.fromisoformat(moment) - datetime.now(datetime.fromisoformat(moment).tzinfo)).total_seconds()
    time.sleep(max(0.0, left) + 0.05)


def handed_over(project_store, message: dict, proc: subprocess.Popen) -> None:
    """Wait (60 s at most) until the hook `proc` has committed the delivery of `message`, or has ended."""
    deadline = time.monotonic() + 60
    while record(project_store, message) is None and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)


def record(project_store, message: dict) -> dict | None:
    return project_store.get(f"communication.deliveries.{message['id']}@{MEMBER}", None)


def context(output: dict) -> str:
    return output["hookSpecificOutput"]["additionalContext"]


def test_a_message_whose_hook_could_not_write_its_answer_is_shown_on_the_next_tool_call(
        pack: Path, project: Path, project_store) -> None:
    """Claude Code gave up on the hook and closed its end of the pipe (the user interrupted, say): the hook
    committed the delivery, then failed to write (EPIPE). Once its timeout has passed, the run's next tool call
    shows the message, counted as new; the one after does not show it again."""
    sent = send(project_store, to="fullstack-eng", payload={"text": "use the v2 API"})
    event = fixture_event(project, "PreToolUse", "Bash", "fullstack-eng")
    read, write = os.pipe()
    os.close(read)
    proc = start(pack, event, project, write)
    os.close(write)
    proc.wait(timeout=120)
    lost = record(project_store, sent)
    assert lost is not None and lost["confirm_by"] and "confirmed_at" not in lost, proc.stderr.read()
    wait_past(lost["confirm_by"])
    again = context(run(pack, {**event, "tool_use_id": "toolu_next"}, project))
    assert sent["id"] in again and "(1 new, highest priority first)" in again
    shown = record(project_store, sent)
    assert shown["confirmed_at"] and "first_delivered_at" not in shown  # the lost one was never shown
    assert run(pack, {**event, "tool_use_id": "toolu_after"}, project) == {}


def test_a_message_whose_hook_was_killed_before_its_answer_got_out_is_shown_on_the_next_tool_call(
        pack: Path, project: Path, project_store) -> None:
    """Claude Code killed the hook at its timeout while it waited to write its answer (SIGKILL after the commit,
    before the output): the run's next tool call after that timeout shows the message again, at once (the lost
    injection does not count for the 20 s between injections)."""
    sent = send(project_store, to="fullstack-eng", priority="high", payload={"text": "freeze at 17:00"})
    event = fixture_event(project, "PreToolUse", "Bash", "fullstack-eng")
    read, write = full_pipe()
    try:
        proc = start(pack, event, project, write)
        handed_over(project_store, sent, proc)
        assert proc.poll() is None, proc.stderr.read()  # still waiting to write its answer
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        os.close(read)
        os.close(write)
    lost = record(project_store, sent)
    assert lost is not None and "confirmed_at" not in lost
    wait_past(lost["confirm_by"])
    again = context(run(pack, {**event, "tool_use_id": "toolu_next"}, project))
    assert f"[HIGH] state_updated {sent['id']}" in again and "(1 new, highest priority first)" in again
    assert run(pack, {**event, "tool_use_id": "toolu_after"}, project) == {}


def test_a_message_shown_by_a_hook_that_answered_is_not_shown_again(pack: Path, project: Path,
                                                                     project_store) -> None:
    """The hook wrote its answer, then confirmed the delivery: after its timeout the run is not shown it again."""
    sent = send(project_store, to="fullstack-eng", payload={"text": "use the v2 API"})
    event = fixture_event(project, "PreToolUse", "Bash", "fullstack-eng")
    assert sent["id"] in context(run(pack, event, project))
    shown = record(project_store, sent)
    assert shown["confirmed_at"] >= shown["delivered_at"]
    wait_past(shown["confirm_by"])
    assert run(pack, {**event, "tool_use_id": "toolu_next"}, project) == {}
    message = project_store.get(f"communication.messages.{sent['id']}")
    assert MEMBER not in (message.get("unconfirmed") or {})



def test_a_message_for_the_user_whose_prompt_hook_could_not_answer_is_shown_at_the_next_prompt(
        pack: Path, project: Path, project_store) -> None:
    """UserPromptSubmit: the critical message to the user, lost with the hook's answer, is shown at the next prompt
    after that hook's timeout, its alert raised again."""
    sent = send(project_store, to="human", priority="critical", payload={"text": "approve the migration?"})
    event = fixture_event(project, "UserPromptSubmit")
    read, write = os.pipe()
    os.close(read)
    proc = start(pack, event, project, write, "user_prompt.py")
    os.close(write)
    proc.wait(timeout=120)
    lost = project_store.get(f"communication.deliveries.{sent['id']}@main:{event['session_id']}")
    assert "confirmed_at" not in lost
    wait_past(lost["confirm_by"])
    later = {**event, "prompt_id": "4b1c0d2e-next-prompt", "prompt": "next"}
    again = run(pack, later, project, "user_prompt.py")
    assert sent["id"] in context(again) and again["systemMessage"].endswith("approve the migration?")
    assert run(pack, {**later, "prompt_id": "4b1c0d2e-after", "prompt": "after"}, project, "user_prompt.py") == {}


def test_a_hook_whose_confirmation_finds_the_store_locked_still_ends_within_its_timeout(
        pack: Path, project: Path, project_store) -> None:
    """Another writer holds the store when the hook comes to confirm (its output written): the hook waits for the
    lock only until it may still confirm, then ends with its answer as written and exit code 0 (a hook past its
    timeout is killed, and with onFailure block its tool call is refused). The delivery stays unconfirmed."""
    sent = send(project_store, to="fullstack-eng", payload={"text": "the build is red"})
    event = fixture_event(project, "PreToolUse", "Bash", "fullstack-eng")
    read, write = full_pipe()
    try:
        proc = start(pack, event, project, write)
        handed_over(project_store, sent, proc)
        handed = record(project_store, sent)
        assert handed is not None and proc.poll() is None, proc.stderr.read()  # waiting to write its answer
        with project_store.transaction() as tx:  # another writer, holding the lock until the hook has ended
            tx.set("sessions.locker", {"holding": True})
            os.set_blocking(read, False)
            answer = b""
            own_deadline = datetime.fromisoformat(handed["confirm_by"]).timestamp() - 1  # the hook's view of it
            while proc.poll() is None and time.time() < own_deadline + 30:
                try:
                    answer += os.read(read, 1 << 16)
                except BlockingIOError:
                    time.sleep(0.02)
            ended = time.time()
            assert proc.poll() == 0, proc.stderr.read()
        assert ended < own_deadline  # it did not outlive its timeout waiting for the lock
        assert b"the build is red" in answer
    finally:
        os.close(read)
        os.close(write)
    assert "confirmed_at" not in record(project_store, sent)
