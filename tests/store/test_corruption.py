"""Corrupt state is moved aside as `<name>.corrupt-<timestamp>` and reported; it is never silently reset."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from orchestra.store import CorruptStateError, StateError, open_store

from .conftest import BACKENDS, state_file


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x00\x01 this is not state \xff" * 64)


def _truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _sqlite_header(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[:16] = b"definitely wrong"
    path.write_bytes(bytes(data))


def _json_list(path: Path) -> None:
    path.write_text("[1, 2, 3]")


def _bad_utf8(path: Path) -> None:
    path.write_bytes(b'{"organization": {"name": "\xff\xfe"}}')


def _empty(path: Path) -> None:
    path.write_bytes(b"")


CORRUPTIONS: dict[str, dict[str, Callable[[Path], None]]] = {
    "sqlite": {"garbage": _garbage, "truncated": _truncated, "header": _sqlite_header},
    "json": {"garbage": _garbage, "truncated": _truncated, "list": _json_list, "utf8": _bad_utf8,
             "empty": _empty},
}


def _populated(url: str) -> None:
    with open_store(url) as store, store.transaction() as tx:
        for n in range(300):
            tx.set(f"tasks.task-{n}", {"title": f"task {n} " + "x" * 100, "status": "queued"})
        tx.append_event("created")


def test_corrupt_state_is_moved_aside_and_reported(backend: str, tmp_path: Path) -> None:
    if backend not in CORRUPTIONS:
        pytest.skip(f"{backend}: the database server owns its files")
    for kind, corrupt in CORRUPTIONS[backend].items():
        base = tmp_path / f"{kind} state"
        base.mkdir()
        url = BACKENDS[backend](base)
        _populated(url)
        path = state_file(url)
        corrupt(path)
        damaged = path.read_bytes()
        with pytest.raises(CorruptStateError) as raised, open_store(url) as store:
            store.export()
        message = str(raised.value)
        asides = sorted(path.parent.glob(f"{path.name}.corrupt-*"))
        assert len(asides) == 1, kind
        assert re.fullmatch(re.escape(path.name) + r"\.corrupt-\d{8}T\d{6}-\d+", asides[0].name)
        assert asides[0].read_bytes() == damaged, kind
        assert str(path) in message and f"moved aside to {asides[0].name}" in message, kind
        assert "\n" not in message
        # Reported once; afterwards the store starts empty instead of failing forever.
        with open_store(url) as store:
            assert store.get("tasks") == {}, kind
            store.set("tasks.fresh", {"title": "new"})
        assert asides[0].read_bytes() == damaged, kind


def test_json_file_of_the_wrong_shape_is_reported_not_moved(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    text = json.dumps({"schema_version": 1, "tasks": ["not", "keyed"], "organization": "acme"})
    path.write_text(text)
    with pytest.raises(StateError, match="wrong shape at organization, tasks") as raised:
        open_store(f"json://{path}").get("tasks")
    assert not isinstance(raised.value, CorruptStateError)
    assert path.read_text() == text
    assert list(tmp_path.glob("*.corrupt-*")) == []


def test_json_file_from_a_newer_orchestra_is_refused_not_moved(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"schema_version": 99}))
    with pytest.raises(StateError, match="schema_version 99 is newer"):
        open_store(f"json://{path}").get("tasks")
    assert path.exists() and list(tmp_path.glob("*.corrupt-*")) == []


def test_json_v0_file_on_disk_is_read_forward(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"tasks": [{"id": "task-1", "title": "T"}], "observability": {"events": []}}))
    with open_store(f"json://{path}") as store:
        assert store.get("tasks.task-1") == {"id": "task-1", "title": "T"}
        store.set("tasks.task-1.status", "queued")
    assert json.loads(path.read_text())["schema_version"] == 1


def test_sqlite_from_a_newer_orchestra_is_refused_not_moved(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "orchestration.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version=99")
    conn.close()
    with pytest.raises(StateError, match="schema_version 99 is newer"):
        open_store(f"sqlite://{path}")
    assert path.exists() and list(tmp_path.glob("*.corrupt-*")) == []


def test_a_store_named_by_the_other_scheme_is_left_as_it_is_with_its_wal(tmp_path: Path) -> None:
    """ORCHESTRA_STATE_URL switched to json:// with the SQLite file's path (or the other way round): the store
    was moved aside as damaged, and without its WAL file, whose commits were then lost for good."""
    import sqlite3

    from ..store.test_cli_state import cli

    db, doc = tmp_path / "orchestration.db", tmp_path / "state.json"
    with open_store(f"sqlite://{db}") as store:
        store.set("tasks.t1", {"title": "checkpointed"})
    live = sqlite3.connect(db)  # a session's open connection: its last commit is in the WAL alone
    live.execute("PRAGMA wal_autocheckpoint=0")
    with open_store(f"sqlite://{db}") as store:
        store.set("tasks.t2", {"title": "in the WAL"})
    with open_store(f"json://{doc}") as store:
        store.set("tasks.t3", {"title": "json"})
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    for url, kind, right in ((f"json://{db}", "an SQLite database, not a JSON state file", f"sqlite://{db}"),
                             (f"sqlite://{doc}", "a JSON state file, not an SQLite database", f"json://{doc}")):
        with pytest.raises(StateError) as raised, open_store(url) as store:
            store.set("tasks.t4", {"title": "x"})
        assert not isinstance(raised.value, CorruptStateError)
        assert str(raised.value).startswith(f"{url.partition('://')[2]}: this is {kind}; left as it is. "
                                            f"Name it {right} in ORCHESTRA_STATE_URL")
        proc = cli(url, tmp_path, "task", "list")
        assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "left as it is" in proc.stderr
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if not p.name.endswith(".lock")} == {
        name: data for name, data in files.items() if not name.endswith(".lock")}
    live.close()
    with open_store(f"sqlite://{db}") as store:
        assert sorted(store.get("tasks")) == ["t1", "t2"]
    with open_store(f"json://{doc}") as store:
        assert sorted(store.get("tasks")) == ["t3"]


@pytest.mark.parametrize("backend", ["sqlite", "json"])
def test_a_damaged_store_that_cannot_be_moved_aside_is_named_as_damaged_and_left_as_it_is(
        backend: str, project: Path, tmp_path: Path) -> None:
    """On a read-only disk a damaged store was reported as `cannot make, read or write ...: Read-only file
    system` (SQLite) or `cannot take the write lock` (JSON, even for `state get`), not as damaged."""
    from ..disks import read_only
    from .test_cli_state import cli

    base = tmp_path / "state dir"
    base.mkdir()
    url = BACKENDS[backend](base)
    _populated(url)
    path = state_file(url)
    _garbage(path)
    before = sorted(p.name for p in base.iterdir())
    with read_only(base):
        got = cli(url, project, "state", "get", "tasks")
    assert got.returncode == 1 and got.stderr.count("\n") == 1, got.stderr
    what = "state database is unreadable" if backend == "sqlite" else "state file is not a valid JSON object"
    assert got.stderr.startswith(f"orchestra state: {path}: {what} ("), got.stderr
    assert got.stderr.endswith("; it cannot be moved aside (the disk is mounted read-only), so it is left as "
                               "it is: restore it from a backup, or with `orchestra state import` where it "
                               "can be written\n"), got.stderr
    assert path.read_bytes() == b"\x00\x01 this is not state \xff" * 64
    assert sorted(p.name for p in base.iterdir()) == before


def test_state_import_into_a_store_named_by_the_other_scheme_is_refused_and_leaves_it_as_it_is(
        tmp_path: Path) -> None:
    """`state import` with a json:// URL naming the SQLite database wrote the JSON document over it: every task,
    message and event in it lost. (The other way round it was refused, as every other write is.)"""
    from ..store.test_cli_state import cli

    db, doc = tmp_path / "orchestration.db", tmp_path / "state.json"
    with open_store(f"sqlite://{db}") as store:
        store.set("tasks.t1", {"title": "kept"})
    with open_store(f"json://{doc}") as store:
        store.set("tasks.t2", {"title": "kept"})
    export = tmp_path / "export.json"
    export.write_text(json.dumps({"tasks": {"new": {"id": "new", "title": "imported"}}}))
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir() if not p.name.endswith(".lock")}
    for url, kind in ((f"json://{db}", "an SQLite database, not a JSON state file"),
                      (f"sqlite://{doc}", "a JSON state file, not an SQLite database")):
        proc = cli(url, tmp_path, "state", "import", str(export))
        assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
        assert f"{url.partition('://')[2]}: this is {kind}; left as it is" in proc.stderr
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if not p.name.endswith(".lock")} == files
