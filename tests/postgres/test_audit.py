"""The audit chain in PostgreSQL: with the state in the database, every machine's hooks append to one
hash chain there, `orchestra audit verify|tail` read it, and tampering is named by row."""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import psycopg
import pytest
from orchestra.store import open_store, postgres_audit

from tests.conftest import REPO, run_hook
from tests.postgres.test_connection import _unreachable
from tests.postgres.test_two_machines import checkout, cli


def bash_call(machine: Path, session: str, command: str) -> dict:
    return {"session_id": session, "transcript_path": str(machine / "t.jsonl"), "cwd": str(machine),
            "permission_mode": "default", "hook_event_name": "PreToolUse", "tool_name": "Bash",
            "tool_input": {"command": command}, "tool_use_id": f"toolu_{session}_{command}"}


def chain(url: str, count: int) -> None:
    with open_store(url) as store:
        for n in range(count):
            postgres_audit.append(store, {"hook": "test", "event": "PreToolUse", "tool": "Bash", "n": n})


def verify(url: str):
    with open_store(url) as store:
        return postgres_audit.check(store)


def execute(url: str, statement: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:  # the URL's search_path names the test's schema
        conn.execute(statement)


def test_hooks_on_two_machines_append_to_one_chain_that_verifies(tmp_path: Path, pg_url: str) -> None:
    laptop, runner = checkout(tmp_path, "laptop"), checkout(tmp_path, "ci runner")
    for machine, session in ((laptop, "s-laptop"), (runner, "s-runner"), (laptop, "s-laptop")):
        proc = run_hook("pre_tool.py", bash_call(machine, session, "ls"), machine,
                        env={"ORCHESTRA_STATE_URL": pg_url})
        assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    for machine in (laptop, runner):
        assert not (machine / ".claude/state/audit.jsonl").exists()  # the chain is the database's

    verified = cli(runner, pg_url, "audit", "verify")
    assert verified.returncode == 0 and "audit chain intact: 3 rows" in verified.stdout, verified.stderr
    assert "audit_log" in verified.stdout
    report = json.loads(cli(laptop, pg_url, "audit", "verify", "--json").stdout)
    assert report["ok"] and report["lines"] == 3
    tail = json.loads(cli(laptop, pg_url, "audit", "tail", "--json").stdout)
    assert [line["session"] for line in tail] == ["s-laptop", "s-runner", "s-laptop"]
    assert all(line["result"] == "allowed" for line in tail), tail


def _append_many(url: str, writer: int, count: int) -> None:
    with open_store(url) as store:
        for n in range(count):
            postgres_audit.append(store, {"hook": "load", "event": "PreToolUse", "writer": writer, "n": n})


def test_concurrent_appends_from_many_processes_keep_one_unbroken_chain(pg_url: str) -> None:
    writers, each = 8, 25
    with ProcessPoolExecutor(max_workers=writers) as pool:
        list(pool.map(_append_many, [pg_url] * writers, range(writers), [each] * writers))
    report = verify(pg_url)
    assert report.ok, report.problem
    assert report.lines == writers * each
    with open_store(pg_url) as store:
        lines = postgres_audit.tail(store, writers * each)
    assert sorted((line["writer"], line["n"]) for line in lines) == [(w, n) for w in range(writers) for n in range(each)]


def _edit_row(url: str, row: int, change) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        [line] = conn.execute("SELECT line FROM audit_log WHERE id = %s", (row,)).fetchone()
        conn.execute("UPDATE audit_log SET line = %s WHERE id = %s", (change(json.loads(line)), row))


def _forged(record: dict) -> str:
    from orchestra import audit

    record = {**record, "result": "allowed", "prev": "f" * 64}
    record["hash"] = audit.line_hash(record)  # a consistent hash, but not chained to row 2
    return audit.canonical(record).decode()


def _insert_copy(url: str, row: int, at: int) -> None:
    """A copy of row `row` at id `at`, outside the ids the chain counts (from 1)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO audit_log (id, line) SELECT %s, line FROM audit_log WHERE id = %s", (at, row))


def _append_forged(url: str) -> None:
    """A row chained to the last one, hashed as the writer hashes it, inserted without moving the head."""
    from orchestra import audit

    with psycopg.connect(url, autocommit=True) as conn:
        last, line = conn.execute("SELECT id, line FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
        record = {"ts": "2026-12-07T10:00:00Z", **audit.shape({"event": "PreToolUse", "tool": "Bash",
                                                               "decision": "allow"}), "prev": json.loads(line)["hash"]}
        record["hash"] = audit.line_hash(record)
        conn.execute("INSERT INTO audit_log (id, line) VALUES (%s, %s)", (last + 1, audit.canonical(record).decode()))


TAMPERING = {
    "edited": (lambda url: _edit_row(url, 3, lambda r: json.dumps({**r, "tool": "Read"}, sort_keys=True,
                                                                     separators=(",", ":"))),
               3, "hash mismatch"),
    "deleted": (lambda url: execute(url, "DELETE FROM audit_log WHERE id = 3"), 3, "row 3 is missing"),
    "cut off the end": (lambda url: execute(url, "DELETE FROM audit_log WHERE id > 3"), 4, "cut off the end"),
    "every row deleted": (lambda url: execute(url, "TRUNCATE audit_log"), 1, "cut off the end"),
    "forged": (lambda url: _edit_row(url, 3, _forged), 3, "chain broken"),
    "inserted before the first row": (lambda url: _insert_copy(url, 1, 0), 0, "inserted"),
    "inserted at a negative id": (lambda url: _insert_copy(url, 2, -7), -7, "inserted"),
    "appended past the head": (lambda url: _append_forged(url), 6, "added after the head"),
    "log table dropped": (lambda url: execute(url, "DROP TABLE audit_log"), 1, "audit_log is missing"),
    "head table dropped": (lambda url: execute(url, "DROP TABLE audit_head"), None, "head row is missing"),
}


@pytest.mark.parametrize("kind", TAMPERING)
def test_tampering_with_the_chain_is_named_by_row(pg_url: str, kind: str) -> None:
    chain(pg_url, 5)
    assert verify(pg_url).ok
    tamper, row, problem = TAMPERING[kind]
    tamper(pg_url)
    report = verify(pg_url)
    assert not report.ok and problem in report.problem, report.problem
    assert report.where == (f"audit_log:{row}" if row is not None else "audit_log")


def test_a_chain_longer_than_one_read_is_checked_to_its_end(pg_url: str, monkeypatch) -> None:
    """verify reads the rows a batch at a time (a long chain is not held in memory whole), in one snapshot."""
    monkeypatch.setattr(postgres_audit, "CHECK_BATCH", 3)
    chain(pg_url, 8)
    report = verify(pg_url)
    assert report.ok and report.lines == 8 and report.last_hash == report.head["hash"]
    execute(pg_url, "DELETE FROM audit_log WHERE id = 7")
    report = verify(pg_url)
    assert report.where == "audit_log:7" and "row 7 is missing" in report.problem


def test_verify_on_the_command_line_names_the_bad_row(tmp_path: Path, pg_url: str) -> None:
    machine = checkout(tmp_path, "laptop")
    chain(pg_url, 4)
    _edit_row(pg_url, 2, lambda r: json.dumps({**r, "n": 99}, sort_keys=True, separators=(",", ":")))
    proc = cli(machine, pg_url, "audit", "verify")
    assert proc.returncode == 1 and "audit_log:2" in proc.stderr and "hash mismatch" in proc.stderr


def test_an_unreachable_database_leaves_the_line_in_the_local_chain(project: Path) -> None:
    event = bash_call(project, "s-offline", "ls")
    proc = run_hook("pre_tool.py", event, project, env={"ORCHESTRA_STATE_URL": _unreachable()})
    assert proc.returncode == 0, proc.stderr  # a main-thread `ls` needs no state to be allowed
    stderr = proc.stderr.decode()
    assert "audit line kept in the local file" in stderr and "s3cret" not in stderr
    log = project / ".claude/state/audit.jsonl"
    [line] = [json.loads(raw) for raw in log.read_text().splitlines()]
    assert line["session"] == "s-offline" and line["decision"] == "allow"
    verified = subprocess.run(["uv", "run", "--quiet", "--project", str(REPO), "orchestra", "audit", "verify"],
                              cwd=project, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "CLAUDE_PROJECT_DIR": str(project)})
    assert verified.returncode == 0, verified.stderr


def test_lines_kept_locally_during_an_outage_are_read_and_verified_with_the_database(project: Path,
                                                                                    pg_url: str) -> None:
    for session, url in (("s-before", pg_url), ("s-offline", _unreachable()), ("s-after", pg_url)):
        proc = run_hook("pre_tool.py", bash_call(project, session, "ls"), project, env={"ORCHESTRA_STATE_URL": url})
        assert proc.returncode == 0, proc.stderr
    tail = json.loads(cli(project, pg_url, "audit", "tail", "--json").stdout)
    assert [line["session"] for line in tail] == ["s-before", "s-offline", "s-after"]  # one story, in time order
    verified = cli(project, pg_url, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "audit chain intact: 2 rows" in verified.stdout and "audit.jsonl" in verified.stdout
    assert "1 lines, intact" in verified.stdout
    log = project / ".claude/state/audit.jsonl"
    log.write_text(log.read_text().replace("s-offline", "s-elsewhere"))  # an edit of the local line is caught
    tampered = cli(project, pg_url, "audit", "verify")
    assert tampered.returncode == 1 and "hash mismatch" in tampered.stderr
    report = json.loads(cli(project, pg_url, "audit", "verify", "--json").stdout)
    assert report["ok"] and not report["local"]["ok"]
