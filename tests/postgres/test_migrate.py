"""`orchestra state migrate --to postgresql://...`, run for real: a project's SQLite store moves into
PostgreSQL with every record, event id and byte of the export intact, and refusals write nothing."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from pathlib import Path

from orchestra.cli.migrate import inventory
from orchestra.store import open_store

from tests.conftest import REPO

from .server import dump


def cli(project: Path, *args: str, url: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "ORCHESTRA_STATE_URL"}
    env.update({"CLAUDE_PROJECT_DIR": str(project), **({"ORCHESTRA_STATE_URL": url} if url else {})})
    return subprocess.run(["uv", "run", "--quiet", "--project", str(REPO), "orchestra", *args],
                          capture_output=True, text=True, cwd=project, env=env, timeout=180)


def sqlite_store(project: Path) -> str:
    return f"sqlite://{project / '.claude/state/orchestration.db'}"


def populate(url: str, tasks: int = 300, events: int = 500) -> None:
    with open_store(url) as store, store.transaction() as tx:
        tx.set("organization", {"name": "Acme Ünïcode", "settings": {"tz": "Europe/Zürich"}})
        tx.set("sprints.sprint-3", {"name": "Payments", "status": "active", "tasks": [f"task-{n}" for n in range(5)]})
        for n in range(tasks):
            tx.set(f"tasks.task-{n}", {"title": f"task {n} — ✓", "status": ("queued", "completed")[n % 2],
                                       "estimate": n / 4, "zeta": n, "alpha": [n, {"b": None, "a": True}]})
        tx.set("communication.messages.m-1", {"to": "human", "status": "pending", "payload": {"text": "nul\x00in it"}})
        tx.set("communication.deliveries.m-1@main", {"message": "m-1", "run": "main"})
        tx.set("observability.metrics.velocity", 5.5)
        for n in range(events):
            tx.append_event("task_started", {"n": n}, task_id=f"task-{n % tasks}", agent_id=f"a-{n}")


def raw_sqlite(url: str) -> list[str]:
    conn = sqlite3.connect(url.partition("://")[2])
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def test_a_sqlite_store_moves_into_postgresql_with_nothing_lost(project: Path, pg_url: str) -> None:
    source = sqlite_store(project)
    populate(source)
    before = raw_sqlite(source)
    proc = cli(project, "state", "migrate", "--to", pg_url)
    assert proc.returncode == 0, proc.stderr
    assert "verified: every part has the same records and checksum in both stores" in proc.stdout
    assert f"ORCHESTRA_STATE_URL={pg_url}" in proc.stdout
    with open_store(source) as old, open_store(pg_url) as new:
        exported = old.export()
        assert json.dumps(new.export(), ensure_ascii=False) == json.dumps(exported, ensure_ascii=False)
        assert len(new.get("tasks")) == 300 and len(new.events_after(0, limit=None)) == 500
        assert new.get("communication.messages.m-1.payload.text") == "nul\x00in it"
        assert new.append_event("after") == 501  # numbering carries on after the copied events
    assert raw_sqlite(source) == before  # the source is left as it was
    exported_by_cli = cli(project, "state", "export", url=pg_url)
    assert exported_by_cli.returncode == 0 and json.loads(exported_by_cli.stdout)["tasks"] == exported["tasks"]


def test_the_json_report_lists_every_part_with_its_count_and_checksum(project: Path, pg_url: str) -> None:
    source = sqlite_store(project)
    populate(source, tasks=7, events=11)
    proc = cli(project, "state", "migrate", "--to", pg_url, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    with open_store(source) as old:
        expected = inventory(old.export())
    assert report["verified"] is True and report["parts"] == expected
    assert (report["parts"]["tasks"]["records"], report["parts"]["events"]["records"]) == (7, 11)
    assert report["parts"]["communication.deliveries"]["records"] == 1


def test_a_target_that_holds_state_is_refused_unless_forced(project: Path, pg_url: str) -> None:
    source = sqlite_store(project)
    populate(source, tasks=3, events=2)
    with open_store(pg_url) as target:
        target.set("tasks.other-team", {"title": "not ours"})
    held = dump(pg_url)
    refused = cli(project, "state", "migrate", "--to", pg_url)
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "already holds state (1 tasks)" in refused.stderr
    assert "--force" in refused.stderr
    assert dump(pg_url) == held
    forced = cli(project, "state", "migrate", "--to", pg_url, "--force")
    assert forced.returncode == 0, forced.stderr
    with open_store(pg_url) as target:
        assert sorted(target.get("tasks")) == ["task-0", "task-1", "task-2"]


def test_an_unreachable_target_is_one_clear_line_and_changes_nothing(project: Path) -> None:
    source = sqlite_store(project)
    populate(source, tasks=2, events=1)
    before = raw_sqlite(source)
    proc = cli(project, "state", "migrate", "--to", "postgresql://orchestra:hunter2@127.0.0.1:1/orchestra")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("orchestra state: ") and proc.stderr.count("\n") == 1
    assert "cannot connect to PostgreSQL" in proc.stderr and "hunter2" not in proc.stderr
    assert raw_sqlite(source) == before


def test_the_same_store_as_source_and_target_is_refused(project: Path) -> None:
    source = sqlite_store(project)
    populate(source, tasks=1, events=0)
    proc = cli(project, "state", "migrate", "--to", source)
    assert proc.returncode == 1 and "names the store being copied" in proc.stderr


def test_the_readme_order_export_the_url_then_migrate_copies_the_sqlite_state_in(project: Path, pg_url: str) -> None:
    source = sqlite_store(project)
    populate(source, tasks=3, events=2)
    proc = cli(project, "state", "migrate", "--to", pg_url, url=pg_url)  # ORCHESTRA_STATE_URL already the target
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"copied {source} -> ")
    with open_store(pg_url) as target, open_store(source) as original:
        assert target.export() == original.export()
    again = cli(project, "state", "migrate", "--to", pg_url, url=pg_url)
    assert again.returncode == 1 and "already holds state" in again.stderr  # a second run does not copy over it


def test_a_missing_source_is_refused_and_neither_created_nor_copied_over_the_target(project: Path, tmp_path: Path) -> None:
    target = sqlite_store(project)
    populate(target, tasks=2, events=1)
    before = raw_sqlite(target)
    for source in (f"json://{tmp_path / 'typo' / 'x.json'}", f"sqlite://{tmp_path / 'typo' / 'x.db'}"):
        proc = cli(project, "state", "migrate", "--from", source, "--to", target, "--force")
        assert proc.returncode == 1 and proc.stdout == "", proc.stdout
        missing = source.partition("://")[2]
        assert proc.stderr == f"orchestra state: {missing}: no state store there (no such file); check the URL\n"
        assert not (tmp_path / "typo").exists()
    assert raw_sqlite(target) == before


def test_a_postgresql_source_without_tables_is_refused_and_left_without_them(project: Path, pg_url: str) -> None:
    target = sqlite_store(project)
    populate(target, tasks=2, events=1)
    before = raw_sqlite(target)
    proc = cli(project, "state", "migrate", "--from", pg_url, "--to", target, "--force")
    assert proc.returncode == 1 and proc.stdout == ""
    assert "no state store there" in proc.stderr and "holds no Orchestra tables" in proc.stderr
    assert dump(pg_url) is None and raw_sqlite(target) == before


def test_one_file_named_two_ways_is_refused_at_once(project: Path, tmp_path: Path) -> None:
    source = sqlite_store(project)
    populate(source, tasks=1, events=0)
    before = raw_sqlite(source)
    path = source.partition("://")[2]
    (tmp_path / "link.db").symlink_to(path)
    for target in (f"sqlite:///{path}", f"sqlite://{project}/.claude/../.claude/state/orchestration.db",
                   f"sqlite://{tmp_path / 'link.db'}", f"json://{path}"):
        started = time.monotonic()
        proc = cli(project, "state", "migrate", "--to", target, "--force")
        assert proc.returncode == 1 and "names the store being copied" in proc.stderr, (target, proc.stderr)
        assert time.monotonic() - started < 15, "waited for its own lock"
    assert raw_sqlite(source) == before


def test_one_postgresql_store_named_two_ways_is_refused(project: Path, pg_url: str) -> None:
    populate(pg_url, tasks=1, events=0)
    held = dump(pg_url)
    scheme, _, rest = pg_url.partition("://")
    user, _, where = rest.partition("@")
    for target in (f"postgres://{rest}", f"{scheme}://{user}:secret@{where}&application_name=x&connect_timeout=5"):
        proc = cli(project, "state", "migrate", "--from", pg_url, "--to", target, "--force")
        assert proc.returncode == 1 and "names the store being copied" in proc.stderr, (target, proc.stderr)
        assert "secret" not in proc.stderr
    assert dump(pg_url) == held
    other_schema = pg_url.rpartition("%3D")[0] + "%3Dpublic"
    from orchestra.store import same_store

    assert not same_store(pg_url, other_schema)


def test_a_schema_named_in_capitals_or_quotes_is_the_same_store(project: Path, pg_url: str) -> None:
    # The server folds an unquoted name to lower case: search_path=S1_2 and "s1_2" are schema s1_2; a
    # search_path listing more schemas after it, or the host named localhost, still reaches that store.
    populate(pg_url, tasks=1, events=0)
    held = dump(pg_url)
    base, _, schema = pg_url.rpartition("%3D")
    localhost = pg_url.replace("@127.0.0.1:", "@localhost:", 1)
    for target in (f"{base}%3D{schema.upper()}", f"{base}%3D%22{schema}%22", f"{base}%3D{schema.upper()}%2Cpublic",
                   localhost):
        started = time.monotonic()
        proc = cli(project, "state", "migrate", "--from", pg_url, "--to", target, "--force")
        assert proc.returncode == 1 and "names the store being copied" in proc.stderr, (target, proc.stderr)
        assert time.monotonic() - started < 15, "waited for its own lock"
    assert dump(pg_url) == held
    from orchestra.store import same_store

    assert not same_store(pg_url, f"{base}%3D%22{schema.upper()}%22")  # quoted: another schema


def test_the_inventory_sees_a_dropped_record_a_changed_event_and_reordered_keys() -> None:
    from orchestra.store.document import empty_document

    doc = empty_document()
    doc["tasks"] = {"a": {"id": "a", "title": "A", "status": "queued"}, "b": {"id": "b"}}
    doc["observability"]["events"] = [{"id": 1, "ts": "t", "type": "x", "session_id": None, "agent_id": None,
                                       "task_id": None, "data": {}}]
    base = inventory(doc)
    dropped = json.loads(json.dumps(doc))
    del dropped["tasks"]["b"]
    changed = json.loads(json.dumps(doc))
    changed["observability"]["events"][0]["type"] = "y"
    reordered = json.loads(json.dumps(doc))
    reordered["tasks"]["a"] = {"status": "queued", "id": "a", "title": "A"}
    assert inventory(dropped)["tasks"] != base["tasks"] and inventory(dropped)["tasks"]["records"] == 1
    assert inventory(changed)["events"]["sha256"] != base["events"]["sha256"]
    assert inventory(reordered)["tasks"]["sha256"] != base["tasks"]["sha256"]
    assert {k: v for k, v in inventory(changed).items() if k != "events"} == {
        k: v for k, v in base.items() if k != "events"}


def test_what_a_hook_commits_to_the_target_while_migrate_waits_is_refused_not_wiped(project: Path, pg_url: str) -> None:
    """A session already pointed at the target writes there while migrate runs: migrate found the target
    empty, waited for that writer, then replaced what it had committed, and said everything was verified."""
    from .test_locking import _named, _until, _waiting_on_a_lock

    source = sqlite_store(project)
    populate(source, tasks=3, events=2)
    env = {k: v for k, v in os.environ.items() if k != "ORCHESTRA_STATE_URL"}
    with open_store(pg_url) as hook, hook.transaction() as tx:
        tx.set("sessions.live", {"status": "active"})
        migrate = subprocess.Popen(
            ["uv", "run", "--quiet", "--project", str(REPO), "orchestra", "state", "migrate", "--to",
             _named(pg_url, "migrate")], cwd=project, env={**env, "CLAUDE_PROJECT_DIR": str(project)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _until(lambda: _waiting_on_a_lock(pg_url, "migrate") or migrate.poll() is not None,
               "migrate waits for the writer")
    out, err = migrate.communicate(timeout=120)
    assert migrate.returncode == 1 and out == "", out
    assert "already holds state (1 sessions)" in err and err.count("\n") == 1, err
    with open_store(pg_url) as target:
        assert target.get("sessions") == {"live": {"id": "live", "status": "active"}}
        assert target.get("tasks") == {}


def test_what_a_hook_commits_to_the_target_once_the_copy_is_in_does_not_fail_the_check(
        project: Path, pg_url: str) -> None:
    """The copy was read back after it was committed: a session pointed at the target that wrote there in
    between made migrate say the copy differs and not to switch, and --force then wiped that write."""
    import threading

    import psycopg

    from .test_locking import _named, _until, _waiting_on_a_lock

    source = sqlite_store(project)
    populate(source, tasks=20000, events=10)
    with open_store(pg_url) as target:  # its tables made now: the only lock migrate takes there is the import's
        target.get("schema_version")
    env = {k: v for k, v in os.environ.items() if k != "ORCHESTRA_STATE_URL"}
    migrate = subprocess.Popen(
        ["uv", "run", "--quiet", "--project", str(REPO), "orchestra", "state", "migrate", "--to",
         _named(pg_url, "migrate")], cwd=project, env={**env, "CLAUDE_PROJECT_DIR": str(project)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def importing() -> bool:  # migrate holds the target's writer lock
        with psycopg.connect(pg_url, autocommit=True) as conn:
            return conn.execute("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE "
                                "l.locktype='advisory' AND l.granted AND a.application_name='migrate'").fetchone()[0] > 0

    def hook() -> None:
        with open_store(_named(pg_url, "hook")) as store, store.transaction() as tx:
            tx.set("sessions.live", {"status": "active"})

    _until(lambda: importing() or migrate.poll() is not None, "migrate fills the target")
    writer = threading.Thread(target=hook)
    writer.start()
    _until(lambda: _waiting_on_a_lock(pg_url, "hook") or not writer.is_alive(), "the hook waits for migrate")
    out, err = migrate.communicate(timeout=300)
    writer.join(60)
    assert migrate.returncode == 0, err
    assert "verified: every part has the same records and checksum in both stores" in out
    with open_store(pg_url) as target:
        assert target.get("sessions") == {"live": {"id": "live", "status": "active"}}
        assert len(target.get("tasks")) == 20000


def test_the_sources_writers_do_not_wait_while_migrate_tries_to_reach_the_target(project: Path) -> None:
    """The source was held in its write transaction while migrate connected to the target: with a server slow to
    answer (or a host that drops packets) every hook writing the source waited, and gave up after its 6 s."""
    import socket

    source = sqlite_store(project)
    populate(source, tasks=3, events=2)
    silent = socket.socket()  # takes connections and never answers, as a frozen server does
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    try:
        migrate = subprocess.Popen(
            ["uv", "run", "--quiet", "--project", str(REPO), "orchestra", "state", "migrate", "--to",
             f"postgresql://orchestra@127.0.0.1:{port}/orchestra?connect_timeout=2"], cwd=project,
            env={**{k: v for k, v in os.environ.items() if k != "ORCHESTRA_STATE_URL"},
                 "CLAUDE_PROJECT_DIR": str(project)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        silent.settimeout(60)
        waiting, _ = silent.accept()  # migrate is connecting to the target now
        with open_store(source, wait=0.5) as store:  # a hook's write, given less than the connect takes
            store.set("tasks.during", {"title": "written while migrate waits for the target"})
        out, err = migrate.communicate(timeout=120)
        waiting.close()
    finally:
        silent.close()
    assert migrate.returncode == 1 and "cannot connect to PostgreSQL" in err, err
    with open_store(source) as store:
        assert store.get("tasks.during.title") == "written while migrate waits for the target"


def test_a_store_holding_an_id_over_the_limit_is_read_but_not_copied(project: Path, pg_url: str) -> None:
    """A store written before ids had a maximum may hold a longer one, which PostgreSQL cannot index:
    migrate refused it with a database error part way; now it names the store and the id, copies nothing,
    and the source stays readable."""
    import random

    source = sqlite_store(project)
    populate(source, tasks=2, events=1)
    long_id = "".join(random.Random(3).choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(3000))
    conn = sqlite3.connect(source.partition("://")[2])
    with conn:  # as an earlier Orchestra wrote it: no limit was checked then
        conn.execute("INSERT INTO entities (collection, id, data) VALUES ('tasks', ?, ?)",
                     (long_id, json.dumps({"id": long_id, "title": "legacy"})))
    conn.close()
    before = raw_sqlite(source)
    proc = cli(project, "state", "migrate", "--to", pg_url)
    assert proc.returncode == 1 and proc.stdout == "" and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith(f"orchestra state: {source}: tasks: task id '{long_id[:40]}'... is 3000 characters "
                                  "long; an id has at most 255 characters, so nothing was copied")
    with open_store(pg_url) as target:
        assert target.get("tasks") == {}
    assert raw_sqlite(source) == before
    got = cli(project, "state", "get", f"tasks.{long_id}.title")
    assert (got.returncode, got.stdout) == (0, "legacy\n")
    renamed = cli(project, "state", "set", f"tasks.{long_id}.title", '"new"')
    assert renamed.returncode == 1 and "task id" in renamed.stderr and "at most 255" in renamed.stderr
    assert raw_sqlite(source) == before
