"""Default backend: SQLite in WAL mode, one row per entity, an append-only events table.

Writes run under BEGIN IMMEDIATE with a busy timeout, so concurrent hook processes serialise
instead of losing updates; no write ever rewrites the whole document.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import MISSING, StoreBase
from .doc_tx import make_event, missing
from .document import (
    COLLECTIONS,
    SCHEMA_VERSION,
    Address,
    assign,
    check_settable,
    collections_under,
    dig,
    empty_document,
    parse_path,
    remove,
)
from .errors import BusyError, CorruptStateError, PathError, StateError

BUSY_TIMEOUT_MS = 30_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS doc (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entities (
    collection TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (collection, id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entities_status ON entities (collection, json_extract(data, '$.status'));
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts TEXT NOT NULL, type TEXT NOT NULL,
    session_id TEXT, agent_id TEXT, task_id TEXT, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_type ON events (type, id);
"""


class SqliteStore(StoreBase):
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.url = f"sqlite://{self.path}"
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            self.conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            self.conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            self._ensure_schema()
        except sqlite3.DatabaseError as exc:
            if "not a database" in str(exc) or "malformed" in str(exc):
                self._quarantine(exc)
            raise StateError(f"{self.path}: cannot open state database ({exc})") from None

    def _ensure_schema(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise StateError(
                f"{self.path}: schema_version {version} is newer than this Orchestra understands ({SCHEMA_VERSION})"
            )
        self.conn.execute("PRAGMA journal_mode=WAL")
        self._begin()
        try:
            if self.conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        os.chmod(self.path, 0o600)

    def _quarantine(self, exc: Exception) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{os.getpid()}")
        try:
            self.conn.close()
        except Exception:
            pass
        os.replace(self.path, aside)
        for suffix in ("-wal", "-shm"):
            side = Path(str(self.path) + suffix)
            if side.exists():
                os.replace(side, Path(str(aside) + suffix))
        raise CorruptStateError(
            f"{self.path}: state database is unreadable ({exc}); moved aside to {aside.name} — "
            "restore it or run `orchestra init` to start fresh"
        ) from None

    def _begin(self, mode: str = "IMMEDIATE") -> None:
        try:
            self.conn.execute(f"BEGIN {mode}")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise BusyError(f"{self.path}: database stayed locked for {BUSY_TIMEOUT_MS // 1000}s") from None
            raise

    @contextmanager
    def transaction(self) -> Iterator[SqliteTx]:
        self._begin("IMMEDIATE")
        try:
            yield SqliteTx(self.conn)
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[SqliteTx]:
        self._begin("DEFERRED")
        try:
            yield SqliteTx(self.conn, readonly=True)
        finally:
            self.conn.execute("ROLLBACK")

    def import_document(self, doc: dict[str, Any]) -> None:
        from .document import migrate
        from .import_check import checked_document

        if not isinstance(doc, dict):
            raise StateError("import: expected a JSON object")
        doc = checked_document(migrate(dict(doc)))
        with self.transaction() as tx:
            tx.replace_all(doc)

    def close(self) -> None:
        self.conn.close()


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class SqliteTx:
    def __init__(self, conn: sqlite3.Connection, readonly: bool = False) -> None:
        self.conn = conn
        self.readonly = readonly

    # -- reads -----------------------------------------------------------------------------------
    def _entity(self, collection: str, entity_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT data FROM entities WHERE collection=? AND id=?", (collection, entity_id)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def _singleton(self, key: str) -> Any:
        row = self.conn.execute("SELECT value FROM doc WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def items(self, collection: str) -> dict[str, dict[str, Any]]:
        addr = parse_path(collection)
        if not addr.is_collection:
            raise PathError(f"{collection!r} is not a collection")
        rows = self.conn.execute("SELECT id, data FROM entities WHERE collection=? ORDER BY id", (collection,))
        return {row[0]: json.loads(row[1]) for row in rows}

    def find(self, collection: str, **equals: Any) -> list[dict[str, Any]]:
        parse_path(collection)
        clauses, params = ["collection=?"], [collection]
        for key, value in equals.items():
            expr = f"json_extract(data, '$.{key}')"
            if value is None:
                clauses.append(f"{expr} IS NULL")
            else:
                clauses.append(f"{expr}=?")
                params.append(int(value) if isinstance(value, bool) else value)
        rows = self.conn.execute(f"SELECT data FROM entities WHERE {' AND '.join(clauses)} ORDER BY id", params)
        return [json.loads(row[0]) for row in rows]

    def _top(self, top: str) -> Any:
        """A whole top-level value, with the collections and events stored below it."""
        if top == "schema_version":
            return SCHEMA_VERSION
        if top in COLLECTIONS:
            return self.items(top)
        value = self._singleton(top)
        value = value if isinstance(value, dict) else {}
        for collection in collections_under(top):
            value[collection.split(".", 1)[1]] = self.items(collection)
        if top == "observability":
            value["events"] = self.events_after(0, limit=-1)
        return value

    def get(self, path: str, default: Any = MISSING) -> Any:
        addr = parse_path(path)
        try:
            if addr.path == "":
                return self.export()
            if addr.entity_id is not None:
                entity = self._entity(addr.collection, addr.entity_id)
                if entity is None:
                    raise KeyError(path)
                return dig(entity, addr.rest, path)
            if addr.is_collection:
                return self.items(addr.collection)
            return dig(self._top(addr.top), tuple(path.split("."))[1:], path)
        except KeyError:
            if default is MISSING:
                raise missing(path) from None
            return default

    def export(self) -> dict[str, Any]:
        doc = empty_document()
        for key, default in doc.items():
            value = self._top(key)
            doc[key] = {**default, **value} if isinstance(default, dict) else value
        return doc

    def events_after(self, after: int = 0, limit: int = 1000, types: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        sql = "SELECT id, ts, type, session_id, agent_id, task_id, data FROM events WHERE id>?"
        params: list[Any] = [after]
        if types:
            sql += f" AND type IN ({','.join('?' * len(types))})"
            params.extend(types)
        sql += " ORDER BY id LIMIT ?"
        params.append(limit)
        return [
            {"id": r[0], "ts": r[1], "type": r[2], "session_id": r[3], "agent_id": r[4], "task_id": r[5],
             "data": json.loads(r[6])}
            for r in self.conn.execute(sql, params)
        ]

    # -- writes ----------------------------------------------------------------------------------
    def _check_writable(self) -> None:
        if self.readonly:
            raise StateError("write attempted inside a read-only snapshot")

    def _put_entity(self, collection: str, entity_id: str, entity: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT INTO entities (collection, id, data) VALUES (?, ?, ?) "
            "ON CONFLICT (collection, id) DO UPDATE SET data=excluded.data",
            (collection, entity_id, _dumps(entity)),
        )

    def _put_singleton(self, key: str, value: Any) -> None:
        self.conn.execute(
            "INSERT INTO doc (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value=excluded.value",
            (key, _dumps(value)),
        )

    def set(self, path: str, value: Any) -> None:
        self._check_writable()
        addr = parse_path(path)
        value = check_settable(addr, value)
        if addr.is_collection:
            self.conn.execute("DELETE FROM entities WHERE collection=?", (addr.collection,))
            for entity_id, entity in value.items():
                self._put_entity(addr.collection, entity_id, entity)
        elif addr.entity_id is not None:
            current = self._entity(addr.collection, addr.entity_id) if addr.rest else None
            entity = assign(current if current is not None else {"id": addr.entity_id}, addr.rest, value, path)
            self._put_entity(addr.collection, addr.entity_id, entity)
        else:
            self._set_singleton(addr, value)

    def _set_singleton(self, addr: Address, value: Any) -> None:
        nested = collections_under(addr.top)
        if not addr.rest:
            for collection in nested:
                leaf = collection.split(".", 1)[1]
                if leaf in value:
                    self.set(collection, value[leaf])
            value = {k: v for k, v in value.items() if f"{addr.top}.{k}" not in nested and k != "events"}
            self._put_singleton(addr.top, value)
            return
        current = self._singleton(addr.top)
        self._put_singleton(addr.top, assign(current if isinstance(current, dict) else {}, addr.rest, value, addr.path))

    def delete(self, path: str) -> None:
        self._check_writable()
        addr = parse_path(path)
        from .doc_tx import _check_deletable

        _check_deletable(addr)
        if addr.is_collection:
            self.conn.execute("DELETE FROM entities WHERE collection=?", (addr.collection,))
        elif addr.entity_id is not None and not addr.rest:
            if self.conn.execute(
                "DELETE FROM entities WHERE collection=? AND id=?", (addr.collection, addr.entity_id)
            ).rowcount == 0:
                raise missing(path)
        elif addr.entity_id is not None:
            entity = self._entity(addr.collection, addr.entity_id)
            try:
                remove(entity, addr.rest, path)
            except (KeyError, TypeError):
                raise missing(path) from None
            self._put_entity(addr.collection, addr.entity_id, entity)
        elif not addr.rest:
            self.conn.execute("DELETE FROM doc WHERE key=?", (addr.top,))
        else:
            current = self._singleton(addr.top)
            try:
                remove(current, addr.rest, path)
            except (KeyError, TypeError):
                raise missing(path) from None
            self._put_singleton(addr.top, current)

    def update(self, path: str, fields: dict[str, Any]) -> dict[str, Any]:
        current = self.get(path, None) or {}
        if not isinstance(current, dict):
            raise StateError(f"{path}: cannot merge fields into a {type(current).__name__}")
        merged = {**current, **fields}
        self.set(path, merged)
        return merged

    def append_event(self, type: str, data: dict[str, Any] | None = None, **refs: Any) -> int:
        self._check_writable()
        event = make_event(0, type, data, refs)
        cursor = self.conn.execute(
            "INSERT INTO events (ts, type, session_id, agent_id, task_id, data) VALUES (?, ?, ?, ?, ?, ?)",
            (event["ts"], event["type"], event["session_id"], event["agent_id"], event["task_id"],
             _dumps(event["data"])),
        )
        return int(cursor.lastrowid)

    def replace_all(self, doc: dict[str, Any]) -> None:
        self._check_writable()
        self.conn.execute("DELETE FROM entities")
        self.conn.execute("DELETE FROM doc")
        self.conn.execute("DELETE FROM events")
        for key, value in doc.items():
            if key in ("schema_version",):
                continue
            if key == "observability":
                for event in value.get("events", []):
                    self.conn.execute(
                        "INSERT INTO events (id, ts, type, session_id, agent_id, task_id, data) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (event["id"], event.get("ts") or "", event.get("type") or "event", event.get("session_id"),
                         event.get("agent_id"), event.get("task_id"), _dumps(event.get("data") or {})),
                    )
            self.set(key, value)


