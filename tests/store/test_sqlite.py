"""What only the SQLite backend has: its indexes, and the upgrade of a database made before them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from orchestra.store import open_store
from orchestra.store.sqlite import INDEXED_FIELDS


def _plan_of_find(store, **equals) -> str:
    """SQLite's query plan for the statement `find` really runs."""
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    with store.snapshot() as tx:
        tx.find("tasks", **equals)
    store.conn.set_trace_callback(None)
    (query,) = [s for s in statements if "FROM entities" in s]
    return str(store.conn.execute("EXPLAIN QUERY PLAN " + query).fetchall())


def test_find_uses_an_index_for_the_fields_hooks_look_up(tmp_path: Path) -> None:
    path = tmp_path / "orchestration.db"
    with open_store(f"sqlite://{path}") as store:
        with store.transaction() as tx:
            for n in range(300):
                tx.set(f"tasks.t{n}", {"sprint": f"s{n % 30}", "status": "queued" if n % 2 else "completed"})
        with store.snapshot() as tx:
            assert [t["id"] for t in tx.find("tasks", sprint="s1", status="queued")] == [
                f"t{n}" for n in sorted(range(1, 300, 30), key=lambda n: f"t{n}")]
        for field in ("sprint", "status"):
            assert f"USING INDEX entities_{field}" in _plan_of_find(store, **{field: "x"})
        assert "USING INDEX entities_sprint" in _plan_of_find(store, status="queued", sprint="s1")


def test_a_database_from_before_the_indexes_gets_them_on_open(tmp_path: Path) -> None:
    path = tmp_path / "orchestration.db"
    with open_store(f"sqlite://{path}") as store:
        store.set("tasks.t1", {"sprint": "s1"})
    conn = sqlite3.connect(path)
    for field in INDEXED_FIELDS:
        if field != "status":
            conn.execute(f"DROP INDEX entities_{field}")
    conn.commit()
    conn.close()
    with open_store(f"sqlite://{path}") as store, store.snapshot() as tx:
        assert tx.find("tasks", sprint="s1")[0]["id"] == "t1"
    conn = sqlite3.connect(path)
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    conn.close()
    assert {f"entities_{field}" for field in INDEXED_FIELDS} <= names
