"""Connecting and losing the connection: lazy opening, clear errors without the password, a lost
connection rolling back the open transaction, transparent reconnection between transactions, and
the hook policies (observers fail open, guards fail closed) when the server cannot be reached."""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from orchestra.store import StateError, open_store
from orchestra.store.postgres import ConnectionLost

from tests.conftest import REPO, hook_output, run_hook
from tests.hooks.test_delegation import seed, write_teams
from tests.hooks.test_gates import launched, pre


def _nothing_listening() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again at once: connections to it are refused


def _unreachable() -> str:
    return f"postgresql://orchestra:s3cret-pw@127.0.0.1:{_nothing_listening()}/orchestra"


def _terminate(url: str, application: str) -> int:
    with psycopg.connect(url, autocommit=True) as admin:
        return admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                             "WHERE application_name=%s", (application,)).fetchone()[0]


def test_opening_a_store_neither_connects_nor_imports_psycopg() -> None:
    code = ("import sys; from orchestra.store import open_store; "
            f"store = open_store({_unreachable()!r}); store.close(); print('psycopg' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert (proc.returncode, proc.stdout) == (0, "False\n"), proc.stderr


def test_an_unreachable_server_is_one_clear_error_without_the_password() -> None:
    with open_store(_unreachable()) as store, pytest.raises(StateError) as raised:
        store.get("tasks")
    message = str(raised.value)
    assert "cannot connect to PostgreSQL" in message and "tried 3 times" in message
    assert "orchestra:***@127.0.0.1" in message and "s3cret" not in message
    assert "\n" not in message


def test_a_connection_lost_mid_transaction_commits_nothing_and_the_store_recovers(pg_url: str) -> None:
    url = f"{pg_url}&application_name=doomed"
    with open_store(pg_url) as other:
        other.set("tasks.t", {"status": "queued"})
    with open_store(url) as store:
        with pytest.raises(ConnectionLost, match="nothing of the open transaction was committed"), \
                store.transaction() as tx:
            tx.set("tasks.t.status", "assigned")
            tx.set("tasks.u", {"status": "queued"})
            tx.append_event("task_assigned", task_id="t")
            assert _terminate(pg_url, "doomed") == 1
            tx.set("tasks.t.owner", "x")
        with open_store(pg_url) as other:
            assert other.export()["tasks"] == {"t": {"id": "t", "status": "queued"}}
            assert other.events_after(0) == []
        store.set("tasks.t.status", "assigned")  # a new connection, made on demand
        assert store.append_event("task_assigned", task_id="t") == 1
    with open_store(pg_url) as other:
        assert other.get("tasks.t.status") == "assigned"


def test_a_connection_dropped_between_operations_is_replaced_unnoticed(pg_url: str) -> None:
    url = f"{pg_url}&application_name=idle-victim"
    with open_store(url) as store:
        store.set("tasks.t", {"status": "queued"})
        assert _terminate(pg_url, "idle-victim") == 1
        assert store.get("tasks.t.status") == "queued"
        assert _terminate(pg_url, "idle-victim") == 1
        with store.transaction() as tx:
            tx.set("tasks.t.status", "assigned")
    with open_store(pg_url) as other:
        assert other.get("tasks.t.status") == "assigned"


def test_a_statement_that_failed_inside_a_block_fails_the_commit(pg_url: str) -> None:
    """PostgreSQL aborts the transaction on a failed statement; catching the error must not let
    the block 'commit' what came before it as if nothing happened."""
    with open_store(pg_url) as store:
        with pytest.raises(StateError, match="failed part-way and was rolled back"), store.transaction() as tx:
            tx.set("tasks.t", {"status": "queued"})
            with pytest.raises(StateError, match="PostgreSQL error"):
                tx._run("SELECT 1/0", ())
        assert store.get("tasks") == {}


def test_values_holding_nul_are_stored_and_found_like_everywhere_else(pg_url: str, tmp_path: Path) -> None:
    """PostgreSQL cannot read `\\u0000` inside JSON; the store must not depend on it reading it.
    The JSON-file backend (plain Python comparisons) is the reference."""
    for url in (pg_url, f"json://{tmp_path / 'state.json'}"):
        with open_store(url) as store:
            store.set("communication.messages.m-1", {"status": "open", "payload": {"text": "a\x00b"}, "n": 1})
            store.set("communication.messages.m-2", {"status": "open\x00", "type": "note", "n": 1.0})
            store.set("communication.messages.m-3", {"status": "open", "type": "note"})
            with store.snapshot() as tx:
                found = {key: [m["id"] for m in tx.find("communication.messages", **criteria)]
                         for key, criteria in (("open", {"status": "open"}), ("nul", {"status": "open\x00"}),
                                               ("note", {"type": "note"}), ("one", {"n": 1}),
                                               ("none", {"type": None}))}
            assert found == {"open": ["m-1", "m-3"], "nul": ["m-2"], "note": ["m-2", "m-3"],
                             "one": ["m-1", "m-2"], "none": ["m-1"]}, url
            assert store.get("communication.messages.m-1.payload.text") == "a\x00b"


def _write_in_child(store, queue) -> None:
    try:
        store.set("tasks.child", {"status": "queued"})
        store.close()  # closes the child's own connection; the parent's must survive it
        queue.put("ok")
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        queue.put(repr(exc))


def test_a_forked_child_gets_its_own_connection_and_leaves_the_parents_alone(pg_url: str) -> None:
    ctx = multiprocessing.get_context("fork")
    with open_store(pg_url) as store:
        store.set("tasks.parent", {"status": "queued"})
        session = store.conn.info.backend_pid
        queue = ctx.Queue()
        child = ctx.Process(target=_write_in_child, args=(store, queue))
        child.start()
        child.join(60)
        assert (child.exitcode, queue.get(timeout=10)) == (0, "ok")
        store.set("tasks.parent.status", "assigned")
        assert sorted(store.get("tasks")) == ["child", "parent"]
        assert store.conn.info.backend_pid == session  # the parent's session survived the child closing its copy


def test_a_search_path_naming_no_existing_schema_is_reported(postgres) -> None:
    url = postgres.url("orchestra") + "?options=-csearch_path%3Dno_such_schema"
    with open_store(url) as store, pytest.raises(StateError, match="no schema to keep state in"):
        store.get("tasks")


def test_a_schema_named_in_capitals_is_found_written_in_quotes(postgres) -> None:
    schema = f"Team_{os.getpid()}"
    postgres.admin(f'CREATE SCHEMA "{schema}"', "orchestra")
    unquoted = postgres.url("orchestra") + f"?options=-csearch_path%3D{schema}"
    with open_store(unquoted) as store, pytest.raises(StateError, match="no schema to keep state in") as raised:
        store.get("tasks")
    assert f"unquoted, {schema} means {schema.lower()}: write %22{schema}%22" in str(raised.value)
    with open_store(unquoted.replace(f"%3D{schema}", f"%3D%22{schema}%22")) as store:
        store.set("tasks.t", {"status": "queued"})
        assert store.schema == schema


def test_a_schema_the_role_may_not_use_is_reported_as_such(postgres, pg_url: str) -> None:
    role = f"outsider_{os.getpid()}"
    postgres.admin(f"CREATE ROLE {role} LOGIN", "orchestra")
    url = pg_url.replace("orchestra@", f"{role}@", 1)  # the schema exists, the role has no USAGE on it
    with open_store(url) as store, pytest.raises(StateError, match="no schema to keep state in") as raised:
        store.get("tasks")
    assert "grant the role USAGE and CREATE on it" in str(raised.value)


def test_a_store_from_a_newer_orchestra_is_refused(pg_url: str) -> None:
    with open_store(pg_url) as store:
        store.get("tasks")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    with open_store(pg_url) as store, pytest.raises(StateError, match="schema_version 99 is newer"):
        store.get("tasks")


EARLIER_LAYOUT = """
CREATE TABLE meta (key text COLLATE "C" PRIMARY KEY, value text NOT NULL);
CREATE TABLE doc (key text COLLATE "C" PRIMARY KEY, value json NOT NULL);
CREATE TABLE entities (collection text COLLATE "C" NOT NULL, id text COLLATE "C" NOT NULL, data json NOT NULL,
    PRIMARY KEY (collection, id));
CREATE INDEX entities_status ON entities (collection, (data->>'status'));
CREATE TABLE events (id bigint PRIMARY KEY, ts text NOT NULL, type text NOT NULL,
    session_id text, agent_id text, task_id text, data json NOT NULL);
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO entities VALUES ('tasks', 'a', '{"id": "a", "status": "queued"}'),
                            ('tasks', 'b', '{"id": "b", "status": "done"}');
"""


def test_tables_of_the_earlier_layout_are_brought_up_to_date(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(EARLIER_LAYOUT)
    with open_store(pg_url, create=False) as looking, pytest.raises(StateError, match="of an earlier Orchestra"):
        looking.get("tasks")  # only looking: nothing changed
    with open_store(pg_url) as store:
        assert [t["id"] for t in store.export()["tasks"].values()] == ["a", "b"]
        with store.transaction() as tx:
            assert [t["id"] for t in tx.find("tasks", status="done")] == ["b"]
            tx.set("tasks.c", {"status": "queued", "title": "new \x00 row"})  # the old index could not take it
        with store.snapshot() as tx:
            assert [t["id"] for t in tx.find("tasks", status="queued")] == ["a", "c"]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert conn.execute("SELECT id, status, has_nul FROM entities ORDER BY id").fetchall() == [
            ("a", "queued", False), ("b", "done", False), ("c", "queued", True)]
        assert "data" not in conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname='entities_status' "
                                          "AND schemaname=current_schema()").fetchone()[0]


# -- hooks against a server that cannot be reached ----------------------------------------------------

def test_an_observer_hook_fails_open_and_says_why(project: Path) -> None:
    write_teams(project)
    url = _unreachable()
    proc = run_hook("post_agent.py", launched(project, "toolu_1", "agent-1", "fullstack-eng", "[task:t] go"),
                    project, env={"ORCHESTRA_STATE_URL": url})
    assert proc.returncode == 0
    message = hook_output(proc)["systemMessage"]
    assert "cannot connect to PostgreSQL" in message and "s3cret" not in message
    audit = [json.loads(line) for line in (project / ".claude/state/audit.jsonl").read_text().splitlines()]
    assert audit[-1]["decision"] == "error" and "cannot connect to PostgreSQL" in audit[-1]["reason"]


def test_a_guard_hook_fails_closed_and_says_why(project: Path, pg_url: str) -> None:
    write_teams(project)
    seed(project, {"t": {"title": "T"}}, url=pg_url)
    event = pre(project, "toolu_1", "fullstack-eng", "[task:t] go")
    allowed = run_hook("pre_agent.py", event, project, env={"ORCHESTRA_STATE_URL": pg_url})
    assert allowed.returncode == 0 and "updatedInput" in hook_output(allowed)["hookSpecificOutput"]
    proc = run_hook("pre_agent.py", {**event, "tool_use_id": "toolu_2"}, project,
                    env={"ORCHESTRA_STATE_URL": _unreachable()})
    assert proc.returncode == 2 and proc.stdout == b""
    stderr = proc.stderr.decode()
    assert "blocked because the guard failed" in stderr and "cannot connect to PostgreSQL" in stderr
    assert "s3cret" not in stderr


def test_a_guard_hook_behind_a_held_writer_lock_fails_closed_within_its_timeout(project: Path, pg_url: str) -> None:
    from orchestra.hookio import STORE_WAIT_S

    write_teams(project)
    seed(project, {"t": {"title": "T"}}, url=pg_url)
    event = pre(project, "toolu_1", "fullstack-eng", "[task:t] go")
    with open_store(pg_url) as holder, holder.transaction() as tx:  # another machine's long write
        tx.set("tasks.t.note", "held")
        started = time.monotonic()
        proc = run_hook("pre_agent.py", event, project, env={"ORCHESTRA_STATE_URL": pg_url})
        took = time.monotonic() - started
    assert proc.returncode == 2 and proc.stdout == b""
    assert "stayed locked by another writer" in proc.stderr.decode()
    assert STORE_WAIT_S <= took < 10, took  # within the guards' shortest timeout (10 s): it answers, not killed
