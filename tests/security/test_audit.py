"""The audit chain: every kind of tampering is found and named, rotation keeps the chain, appends race safely."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from orchestra import audit
from orchestra.audit import writer as audit_writer
from orchestra.cli import main as cli

from tests.disks import read_only

LINES = 6


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "state" / "audit.jsonl"
    for i in range(LINES):
        audit.append(path, {"hook": "pre_tool", "event": "PreToolUse", "tool": "Bash", "decision": "allow", "n": i})
    return path


def rewrite(path: Path, change) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(change(lines)))


def test_an_untouched_log_verifies(log: Path) -> None:
    report = audit.check(log)
    assert report.ok and report.lines == LINES and report.warnings == []
    assert audit.verify(log) == (LINES, None)
    assert report.last_hash == json.loads(log.read_bytes().splitlines()[-1])["hash"] == report.head["hash"]


def test_an_edited_line_is_named(log: Path) -> None:
    rewrite(log, lambda ls: [*ls[:2], ls[2].replace(b'"decision":"allow"', b'"decision":"deny"'), *ls[3:]])
    report = audit.check(log)
    assert (report.file, report.line) == ("audit.jsonl", 3) and "edited" in report.problem


def test_a_line_whose_values_still_hash_but_whose_bytes_changed_is_named(log: Path) -> None:
    """A key written twice: a reader of the line sees the first value (`"result":"allowed"`), JSON keeps the
    last, so the values still hash as written. Any change to the bytes of a line is an edit."""
    rewrite(log, lambda ls: [ls[0], ls[1].replace(b'{"action"', b'{"result":"denied","action"'), *ls[2:]])
    report = audit.check(log)
    assert (report.file, report.line) == ("audit.jsonl", 2) and "a key twice" in report.problem
    rewrite(log, lambda ls: [ls[0], json.dumps(json.loads(ls[1])).encode() + b"\n", *ls[2:]])
    assert audit.check(log).line == 2  # the same values, spaced as json.dumps spaces them


def test_a_deleted_line_is_named(log: Path) -> None:
    rewrite(log, lambda ls: [*ls[:3], *ls[4:]])
    report = audit.check(log)
    assert (report.file, report.line) == ("audit.jsonl", 4) and "deleted" in report.problem


def test_a_deleted_first_line_is_named(log: Path) -> None:
    rewrite(log, lambda ls: ls[1:])
    assert audit.check(log).line == 1


def test_reordered_lines_are_named(log: Path) -> None:
    rewrite(log, lambda ls: [ls[0], ls[2], ls[1], *ls[3:]])
    report = audit.check(log)
    assert report.line == 2 and "reordered" in report.problem


def test_whole_trailing_lines_cut_off_are_found_through_the_head(log: Path) -> None:
    rewrite(log, lambda ls: ls[:-2])
    report = audit.check(log)
    assert not report.ok and (report.file, report.line) == ("audit.jsonl", LINES - 1)
    assert "truncated" in report.problem and f"records {LINES} lines" in report.problem


def test_a_torn_last_line_is_named(log: Path) -> None:
    rewrite(log, lambda ls: [*ls[:-1], ls[-1][:40]])
    report = audit.check(log)
    assert report.line == LINES and "no newline" in report.problem


def test_a_cut_stays_visible_after_new_lines_are_appended(log: Path) -> None:
    rewrite(log, lambda ls: ls[:-2])
    audit.append(log, {"event": "SessionStart", "decision": "context"})
    report = audit.check(log)
    assert (report.line, report.ok) == (LINES - 1, False) and "prev does not match" in report.problem


def test_a_rewritten_log_no_longer_matches_its_head(log: Path) -> None:
    head = audit.read_head(log)
    log.unlink()
    for i in range(LINES):  # a complete, self-consistent forgery
        audit.append(log.with_name("forged.jsonl"), {"event": "x", "n": i})
    os.replace(log.with_name("forged.jsonl"), log)
    audit.head_path(log).write_text(json.dumps(head))
    report = audit.check(log)
    assert report.line == LINES and "head anchor" in report.problem


def test_a_missing_head_is_a_warning(log: Path) -> None:
    audit.head_path(log).unlink()
    report = audit.check(log)
    assert report.ok and "missing" in report.warnings[0]


@pytest.mark.parametrize("content", [b"", b"xx", b'{"lines": "5"}'])
def test_an_unreadable_head_is_a_warning_that_says_so(log: Path, content: bytes) -> None:
    audit.head_path(log).write_bytes(content)  # emptied by a power cut, say, or written over by hand
    report = audit.check(log)
    assert report.ok and report.warnings == [
        "audit.head.json is unreadable (not the head the log writes): lines cut off the end cannot be detected"]


def test_a_head_one_line_behind_after_a_crash_is_accepted_and_healed(log: Path) -> None:
    head = audit.head_path(log).read_text()
    audit.append(log, {"event": "late"})
    audit.head_path(log).write_text(head)  # the crash: line written, head not updated
    report = audit.check(log)
    assert report.ok and "after the head anchor" in report.warnings[0]
    audit.append(log, {"event": "next"})
    assert audit.check(log).ok and audit.read_head(log)["lines"] == LINES + 2



def test_a_line_torn_by_a_killed_append_is_cut_by_the_next_append(log: Path) -> None:
    # SIGKILL can stop a write to a file between two pages: part of the line is on disk, no newline,
    # and the head was never updated. The next append cuts that part off and chains from the line before.
    last = log.read_bytes().splitlines(keepends=True)[-1]
    with open(log, "ab") as handle:
        handle.write(last[: len(last) // 2])
    assert "no newline" in audit.check(log).problem
    audit.append(log, {"event": "after the crash"})
    report = audit.check(log)
    assert report.ok and report.lines == LINES + 1 and report.warnings == [], report.to_dict()


def test_a_last_line_cut_short_by_hand_is_not_mended_by_the_next_append(log: Path) -> None:
    rewrite(log, lambda ls: [*ls[:-1], ls[-1][:40]])  # the head counts the whole line: a cut, not a crash
    audit.append(log, {"event": "later"})
    report = audit.check(log)
    assert not report.ok and report.line == LINES


def test_a_head_behind_a_line_longer_than_the_tail_read_still_chains(log: Path) -> None:
    head = audit.head_path(log).read_text()
    audit.append(log, {"event": "long", "note": "n" * 200_000})
    audit.head_path(log).write_text(head)  # the crash: line written, head not updated
    audit.append(log, {"event": "next"})
    report = audit.check(log)
    assert report.ok and report.lines == LINES + 2, report.to_dict()


def test_a_head_temp_file_left_by_a_killed_append_does_not_stay(log: Path) -> None:
    leftover = log.with_name(".audit.head.json.tmp")  # killed between writing the new head and renaming it
    leftover.write_bytes(b'{"hash":"')
    audit.append(log, {"event": "next"})
    assert sorted(p.name for p in log.parent.iterdir()) == ["audit.head.json", "audit.jsonl", "audit.lock"]
    assert audit.check(log).ok

def test_rotation_keeps_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    written = [audit.append(path, {"event": "PreToolUse", "n": i}, rotate_bytes=700) for i in range(12)]
    rotated = audit.rotated(path)
    assert len(rotated) >= 3 and [seq for seq, _ in rotated] == list(range(1, len(rotated) + 1))
    report = audit.check(path)
    assert report.ok and report.lines == 12 and report.last_hash == written[-1]["hash"]
    first_of_current = json.loads(path.read_bytes().splitlines()[0])
    last_of_previous = json.loads(rotated[-1][1].read_bytes().splitlines()[-1])
    assert first_of_current["prev"] == last_of_previous["hash"]
    assert [r["n"] for r in audit.tail(path, 5)] == [7, 8, 9, 10, 11]



def test_a_writer_killed_after_rotating_and_writing_leaves_a_chain_the_next_one_continues(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "audit.jsonl"
    audit.append(path, {"event": "x", "pad": "p" * 300})
    write_head = audit_writer.write_head

    def dies_before_the_head_update(log: Path, head: dict) -> None:
        if head["size"]:  # the line is on disk; the writer is killed before the head says so
            raise OSError("killed")
        write_head(log, head)

    monkeypatch.setattr(audit_writer, "write_head", dies_before_the_head_update)
    with pytest.raises(OSError):
        audit.append(path, {"event": "rotates, then dies"}, rotate_bytes=100)
    monkeypatch.undo()
    audit.append(path, {"event": "next"}, rotate_bytes=100_000)
    report = audit.check(path)
    assert report.ok and report.lines == 3, report.to_dict()

def test_tampering_in_a_rotated_segment_is_named_with_its_file(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    for i in range(12):
        audit.append(path, {"event": "PreToolUse", "n": i}, rotate_bytes=700)
    second = audit.segment_path(path, 2)
    rewrite(second, lambda ls: [ls[0].replace(b'"n":', b'"n":1'), *ls[1:]])
    report = audit.check(path)
    assert (report.file, report.line) == (second.name, 1)


def test_a_deleted_rotated_segment_is_named(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    for i in range(12):
        audit.append(path, {"event": "PreToolUse", "n": i}, rotate_bytes=700)
    audit.segment_path(path, 2).unlink()
    report = audit.check(path)
    assert report.file == audit.segment_path(path, 2).name and "missing" in report.problem


def test_a_break_at_the_start_of_a_file_says_what_is_missing_before_it(tmp_path: Path) -> None:
    """The last rotated segment deleted (no gap in the numbers), or every one of them: the first line of the next
    file does not chain, and there is no line before it in that file to blame."""
    path = tmp_path / "audit.jsonl"
    for i in range(12):
        audit.append(path, {"event": "PreToolUse", "n": i}, rotate_bytes=700)
    segments = [p for _, p in audit.rotated(path)]
    assert len(segments) >= 3
    saved = {p: p.read_bytes() for p in segments}
    segments[-1].unlink()
    report = audit.check(path)
    assert (report.file, report.line) == ("audit.jsonl", 1)
    assert report.problem == (f"chain broken: the first line does not continue {segments[-2].name} (a rotated "
                              f"segment after {segments[-2].name} was deleted, or lines were cut off the end of "
                              f"{segments[-2].name})")
    for segment in segments:
        segment.unlink(missing_ok=True)
    report = audit.check(path)
    assert (report.file, report.line) == ("audit.jsonl", 1)
    assert "the log's first line does not start the chain" in report.problem
    for segment, data in saved.items():
        segment.write_bytes(data)
    rewrite(segments[0], lambda ls: ls[1:])
    assert "the log's first line does not start the chain" in audit.check(path).problem


def test_lines_carry_the_audit_fields(log: Path) -> None:
    line = json.loads(log.read_bytes().splitlines()[0])
    for key in ("ts", "session", "agent", "agent_type", "role", "action", "resource", "result", "prev", "hash"):
        assert key in line
    assert (line["agent"], line["action"], line["result"]) == ("main", "PreToolUse:Bash", "allowed")
    set_by_guard = audit.append(log, {"event": "PreToolUse", "agent_id": "a1", "role": "team_member",
                                      "action": "read", "resource": ".env", "decision": "deny"})
    assert (set_by_guard["agent"], set_by_guard["action"], set_by_guard["result"]) == ("a1", "read", "denied")


def test_concurrent_appends_from_many_processes_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    code = ("import sys; from orchestra import audit\n"
            "for i in range(40): audit.append(sys.argv[1], {'event': 'x', 'w': sys.argv[2], 'i': i}, rotate_bytes=6000)")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path), str(w)]) for w in range(4)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    report = audit.check(path)
    assert report.ok and report.lines == 160 and audit.read_head(path)["lines"] == 160
    assert len(audit.rotated(path)) >= 1



def test_an_append_the_disk_cannot_hold_leaves_no_half_line_behind(log: Path) -> None:
    # A file size limit makes the kernel write part of the line and then fail, as a full disk does.
    size = log.stat().st_size
    code = ("import resource, signal, sys; from orchestra import audit\n"
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), resource.RLIM_INFINITY))\n"
            "try:\n    audit.append(sys.argv[1], {'event': 'x', 'pad': 'p' * 400})\n"
            "except OSError:\n    sys.exit(3)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(log), str(size + 100)], timeout=60)
    assert proc.returncode == 3
    assert log.stat().st_size == size
    audit.append(log, {"event": "after", "n": 1})
    report = audit.check(log)
    assert report.ok and report.lines == LINES + 1, report.to_dict()

# -- the CLI ----------------------------------------------------------------------------------------

@pytest.fixture
def project_log(project: Path) -> Path:
    path = project / ".claude" / "state" / "audit.jsonl"
    for i, decision in enumerate(["allow", "deny", "allow", "deny", "context"]):
        audit.append(path, {"event": "PreToolUse", "tool": "Read", "agent_id": f"a{i % 2}", "agent_type": "fullstack-eng",
                            "role": "team_member", "decision": decision, "reason": f"r{i}"})
    return path


def test_cli_verify_passes_and_fails_naming_the_line(project_log: Path, capsys) -> None:
    assert cli(["audit", "verify"]) == 0
    assert "intact: 5 lines" in capsys.readouterr().out
    rewrite(project_log, lambda ls: [ls[0], ls[1].replace(b"r1", b"r9"), *ls[2:]])
    assert cli(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "audit.jsonl:2: hash mismatch" in err
    assert cli(["audit", "verify", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert (out["ok"], out["line"], out["file"]) == (False, 2, "audit.jsonl")


def test_cli_tail_filters_and_prints(project_log: Path, capsys) -> None:
    assert cli(["audit", "tail", "-n", "2", "--json"]) == 0
    assert [r["reason"] for r in json.loads(capsys.readouterr().out)] == ["r3", "r4"]
    assert cli(["audit", "tail", "--result", "denied", "--json"]) == 0
    assert [r["reason"] for r in json.loads(capsys.readouterr().out)] == ["r1", "r3"]
    assert cli(["audit", "tail", "--agent", "a0", "-n", "1"]) == 0
    text = capsys.readouterr().out
    assert "team_member" in text and "r4" in text and "r3" not in text


def test_cli_tail_says_when_no_line_matches_instead_of_printing_nothing(project_log: Path, capsys) -> None:
    assert cli(["audit", "tail", "--agent", "nobody", "--result", "denied"]) == 0
    assert capsys.readouterr().out == ("none of the last 5 audit lines matches --agent nobody --result denied\n")
    assert cli(["audit", "tail", "--agent", "nobody", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    project_log.unlink()
    assert cli(["audit", "tail"]) == 0
    assert capsys.readouterr().out == "the audit log has no lines yet (each hook run writes one)\n"


def test_cli_tail_refuses_a_result_no_line_can_have(project_log: Path, capsys) -> None:
    """`--result deny` (the decision's word, not the result's) matched nothing and printed nothing."""
    with pytest.raises(SystemExit) as exit_info:
        cli(["audit", "tail", "--result", "deny"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--result" in err and "'deny'" in err and "denied" in err and "allowed" in err


def test_cli_verify_reads_a_log_on_a_read_only_disk(project_log: Path, capsys) -> None:
    rewrite(project_log, lambda ls: [ls[0], ls[1].replace(b"r1", b"r9"), *ls[2:]])
    with read_only(project_log.parent):
        assert cli(["audit", "verify"]) == 1
    assert "audit.jsonl:2: hash mismatch" in capsys.readouterr().err


def test_verify_holds_the_lock_only_to_take_the_chain_not_while_reading_it(tmp_path: Path) -> None:
    """Hooks append while a long log is verified: a read that takes its time (a slow disk; here a rotated
    segment that is a pipe, fed only once the append is done) keeps no hook waiting."""
    import threading

    path = tmp_path / "audit.jsonl"
    for i in range(12):
        audit.append(path, {"event": "x", "i": i}, rotate_bytes=1500)
    first = audit.segment_path(path, 1)
    saved = first.read_bytes()
    first.unlink()
    os.mkfifo(first)
    reports: list[audit.Report] = []
    reading = threading.Thread(target=lambda: reports.append(audit.check(path)))
    reading.start()
    try:
        code = "import sys; from orchestra import audit; audit.append(sys.argv[1], {'event': 'during'})"
        appended = subprocess.run([sys.executable, "-c", code, str(path)], timeout=10, check=False)
    finally:
        with open(first, "wb") as pipe:  # lets the check go on, whatever happened
            pipe.write(saved)
        reading.join(30)
    assert appended.returncode == 0
    assert reports and reports[0].ok and reports[0].lines == 12, reports


def test_a_hook_behind_a_stopped_lock_holder_still_decides_and_says_the_line_is_lost(tree: Path) -> None:
    """A process stopped while it holds the log's lock (Ctrl-Z, a debugger) costs each hook a bounded wait,
    not Claude Code's whole hook timeout; the decision stands and the hook says the line was not written."""
    import signal
    import time

    from tests.conftest import HOOKS, hook_output, run_hook
    from tests.security.test_hooks import bash_call

    log = tree / ".claude/state/audit.jsonl"
    audit.append(log, {"event": "before"})
    hold = "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR); fcntl.flock(fd, fcntl.LOCK_EX); " \
           "print('held', flush=True); time.sleep(120)"
    holder = subprocess.Popen([sys.executable, "-c", hold, str(log.with_name("audit.lock"))], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"held\n"
        os.kill(holder.pid, signal.SIGSTOP)
        started = time.monotonic()
        proc = subprocess.run(["uv", "run", "--quiet", "--script", str(HOOKS / "pre_tool.py")], cwd=tree,
                              input=json.dumps(bash_call(tree, "cat .env")).encode(), capture_output=True,
                              env={**os.environ, "CLAUDE_PROJECT_DIR": str(tree)}, timeout=15)
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 0, proc.stderr
    assert hook_output(proc)["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert "audit log not written" in proc.stderr.decode() and "stayed locked" in proc.stderr.decode()
    assert waited >= audit.HOOK_LOCK_WAIT_S
    assert audit.check(log).ok and audit.check(log).lines == 1
    run_hook("pre_tool.py", bash_call(tree, "cat .env"), tree)  # the lock free again: lines land as before
    assert audit.check(log).ok and audit.check(log).lines == 2



def test_a_writer_waiting_on_a_lock_file_deleted_meanwhile_waits_for_the_new_one(tmp_path: Path) -> None:
    """`rm .claude/state/audit.lock` while hooks wait on it: a waiter took the lock of the deleted file, while a
    writer that came since held the new one, and both appended from one head: the chain broke for good."""
    import fcntl
    import threading

    log = tmp_path / "audit.jsonl"
    audit.append(log, {"event": "before"})
    lock = log.with_name("audit.lock")
    first = os.open(lock, os.O_RDWR)
    fcntl.flock(first, fcntl.LOCK_EX)
    outcome: list[object] = []

    def waiter() -> None:
        try:
            outcome.append(audit.append(log, {"event": "waiter"}, wait=1.0))
        except audit.LockBusy as exc:
            outcome.append(exc)

    thread = threading.Thread(target=waiter)
    thread.start()
    opened = {os.fstat(first).st_ino}
    while sum(1 for fd in os.listdir("/proc/self/fd")  # until the waiter has the old lock file open
              if os.path.exists(f"/proc/self/fd/{fd}") and os.stat(f"/proc/self/fd/{fd}").st_ino in opened) < 2:
        assert thread.is_alive()
    lock.unlink()
    second = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)  # the next writer: a new lock file, and its lock
    fcntl.flock(second, fcntl.LOCK_EX)
    os.close(first)
    thread.join(30)
    os.close(second)
    assert len(outcome) == 1 and isinstance(outcome[0], audit.LockBusy), outcome
    assert audit.check(log).ok and audit.check(log).lines == 1
    audit.append(log, {"event": "after"})
    assert audit.check(log).ok and audit.check(log).lines == 2


@pytest.mark.parametrize("value", ["-1", "-8388608", "eight", ""])
def test_a_rotation_size_that_is_no_size_keeps_the_default(tmp_path: Path, monkeypatch, value: str) -> None:
    """ORCHESTRA_AUDIT_ROTATE_BYTES=-1 renamed the log at every append, the empty file too: one segment a line."""
    monkeypatch.setenv(audit.ROTATE_ENV, value)
    path = tmp_path / "audit.jsonl"
    for i in range(3):
        audit.append(path, {"event": "x", "i": i})
    assert audit.rotated(path) == [] and len(path.read_bytes().splitlines()) == 3
    assert audit.check(path).ok and audit.check(path).lines == 3
