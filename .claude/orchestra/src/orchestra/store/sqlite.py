"""Default backend: SQLite in WAL mode, one row per entity, an append-only events table.

Writes run under BEGIN IMMEDIATE with a busy timeout, so concurrent hook processes serialise
instead of losing updates; no write ever rewrites the whole document. A database file SQLite
cannot read is moved aside (`<name>.corrupt-<timestamp>`) and reported, never silently reset.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from . import StoreBase
from .document import SCHEMA_VERSION
from .errors import BusyError, CorruptStateError, StateError, disk_trouble, left_damaged, unmovable
from .events import make_event
from .filekind import check_kind
from .rules import check_criteria, matches
from .table_tx import TableTx, dumps, event_row

BUSY_TIMEOUT_MS = 30_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS doc (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entities (
    collection TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (collection, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts TEXT NOT NULL, type TEXT NOT NULL,
    session_id TEXT, agent_id TEXT, task_id TEXT, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_type ON events (type, id);
"""

# Fields entities are looked up by (`find`); each gets an expression index, so a lookup reads the
# matching rows, not the whole collection. find() spells the expression the same way.
INDEXED_FIELDS = ("status", "agent_type", "epic", "sprint", "session_id", "task")  # least selective first
_INDEXES = {f"entities_{field}": f"CREATE INDEX IF NOT EXISTS entities_{field} ON entities "
                                 f"(collection, json_extract(data, '$.{field}'))" for field in INDEXED_FIELDS}

# Messages of sqlite3.DatabaseError that mean the file itself is damaged, not merely busy.
_CORRUPT = ("not a database", "malformed", "file is encrypted", "database corrupt")


class SqliteStore(StoreBase):
    def __init__(self, path: Path, wait: float = BUSY_TIMEOUT_MS / 1000) -> None:
        # Through a symbolic link SQLite writes the file it names; moving a damaged store aside must move that
        # file too, not the link (the next write would make a new database where the link was).
        self.path = Path(os.path.realpath(path)) if os.path.islink(path) else Path(path)
        self.wait = wait  # seconds a write waits for another writer before BusyError
        self.url = f"sqlite://{path}"
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._open_tx = False
        self.conn: sqlite3.Connection | None = None
        self.indexes = frozenset(_INDEXES)  # those `find` may name; fewer in a store of an earlier layout read only
        with self._errors_reported():
            # A file this process may not write is opened for reading alone: opened as usual, SQLite would
            # make its WAL files read-only like it, and they would refuse writes once the file is writable.
            if not os.access(self.path, os.W_OK) and self._open_read_only():
                return
            self.conn = sqlite3.connect(self.path, timeout=self.wait, isolation_level=None)
            self.conn.execute(f"PRAGMA busy_timeout={int(self.wait * 1000)}")
            try:
                self._ensure_schema()
            except sqlite3.OperationalError:
                if not self._open_read_only():
                    raise

    def _open_read_only(self) -> bool:
        """On a read-only or full disk, in a directory or from a file this process may not write, SQLite
        cannot make the WAL's index file, so not even a read starts: open the database for reading alone
        (every write then fails naming the reason). Without a WAL file nothing is waiting to be
        checkpointed, and the file can be read as it stands (immutable)."""
        if not self.path.is_file() or not self.path.stat().st_size:  # empty: nothing to read
            return False
        trouble = self._unwritable()
        if not trouble:
            return False
        wal = Path(f"{self.path}-wal")
        mode = "mode=ro" if wal.is_file() and wal.stat().st_size else "immutable=1"
        if self.conn is not None:
            self.conn.close()
        self.conn = sqlite3.connect(f"{self.path.as_uri()}?{mode}", uri=True, isolation_level=None)
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            raise StateError(f"{self.path}: schema_version {version}, not {SCHEMA_VERSION}, and {trouble}, so it "
                             "cannot be brought up to date here")
        self.indexes = frozenset(row[0] for row in self.conn.execute("SELECT name FROM sqlite_master WHERE type='index'"))
        return True

    def _unwritable(self) -> str:
        """Why this process cannot write the database: the disk, or the mode of its directory, the file or
        a WAL file ("" when none of them says so)."""
        trouble = disk_trouble(self.path.parent)
        if trouble:
            return trouble
        if not os.access(self.path.parent, os.W_OK):
            return f"its directory {self.path.parent} is not writable for this user"
        for suffix in ("", "-wal", "-shm"):
            file = Path(f"{self.path}{suffix}")
            with suppress(FileNotFoundError):
                if not os.access(file, os.W_OK):
                    mode = f"mode {stat.S_IMODE(file.stat().st_mode):04o}"
                    if not suffix:
                        return f"the file is read-only for this user ({mode})"
                    return (f"{file.name} is read-only for this user ({mode}; SQLite gives its WAL files the mode "
                            f"{self.path.name} had when it made them): make it writable, or delete it while no "
                            "Orchestra process has the store open")
        return ""

    def _ensure_schema(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            self._ensure_indexes()
            return
        if version > SCHEMA_VERSION:
            raise StateError(
                f"{self.path}: schema_version {version} is newer than this Orchestra understands ({SCHEMA_VERSION}); "
                "upgrade the pack"
            )
        self._use_wal()
        self._begin()
        try:
            if self.conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                for statement in [*_SCHEMA.split(";"), *_INDEXES.values()]:
                    if statement.strip():
                        self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        os.chmod(self.path, 0o600)

    def _ensure_indexes(self) -> None:
        """Add indexes a database created by an older Orchestra lacks (one read when none are missing)."""
        present = {row[0] for row in self.conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        if set(_INDEXES) <= present:
            return
        self._begin()
        try:
            for statement in _INDEXES.values():
                self.conn.execute(statement)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def _use_wal(self) -> None:
        """Switch a new database to WAL. SQLite answers "locked" at once here, without waiting for
        the busy timeout, when another process is creating the same file: retry until the timeout."""
        deadline = time.monotonic() + self.wait
        while self.conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            try:
                self.conn.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.005)

    @contextmanager
    def _errors_reported(self) -> Iterator[None]:
        """Turn SQLite's errors into StateErrors that name the file; quarantine a damaged one."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            if any(marker in str(exc) for marker in _CORRUPT):
                self._quarantine(exc)
            if isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc)):
                raise BusyError(
                    f"{self.path}: database is locked by another writer ({exc}; waited up to "
                    f"{self.wait:g}s)"
                ) from None
            denied = any(words in str(exc) for words in ("readonly", "unable to open"))
            trouble = self._unwritable() if denied else disk_trouble(self.path.parent)
            raise StateError(f"{self.path}: state database error ({exc}{'; ' + trouble if trouble else ''})") from None

    def _quarantine(self, exc: Exception) -> None:
        with suppress(OSError), open(self.path, "rb") as file:
            check_kind(self.path, "sqlite", file.read(64))
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{os.getpid()}")
        if self.conn is not None:
            with suppress(sqlite3.Error):
                self.conn.close()
            self.conn = None
        damaged = f"{self.path}: state database is unreadable ({exc})"
        why = unmovable(self.path)
        if why:
            raise left_damaged(damaged, why) from None
        try:
            os.replace(self.path, aside)
        except FileNotFoundError:
            pass
        except OSError as moved:
            raise left_damaged(damaged, disk_trouble(self.path.parent) or moved.strerror or str(moved)) from None
        for suffix in ("-wal", "-shm"):
            with suppress(FileNotFoundError):
                os.replace(f"{self.path}{suffix}", f"{aside}{suffix}")
        raise CorruptStateError(
            f"{damaged}; moved aside to {aside.name} — "
            "restore it from a backup or `orchestra state import`, or carry on with empty state"
        ) from None

    def _begin(self, mode: str = "IMMEDIATE") -> None:
        if self.conn is None:
            raise StateError(f"{self.path}: the store is closed")
        self.conn.execute(f"BEGIN {mode}")

    @contextmanager
    def transaction(self) -> Iterator[SqliteTx]:
        with self._one_at_a_time(), self._errors_reported():
            self._begin("IMMEDIATE")
            try:
                yield SqliteTx(self.conn, indexes=self.indexes)
                self.conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise

    @contextmanager
    def snapshot(self) -> Iterator[SqliteTx]:
        with self._one_at_a_time(), self._errors_reported():
            self._begin("DEFERRED")
            try:
                yield SqliteTx(self.conn, readonly=True, indexes=self.indexes)
            finally:
                self._rollback()

    def _rollback(self) -> None:
        if self.conn is not None and self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def export(self) -> dict[str, Any]:
        with self.snapshot() as tx:
            return tx.export()

    def import_document(self, doc: dict[str, Any], check_current: Callable[[dict[str, Any]], None] | None = None,
                        verify: Callable[[dict[str, Any]], None] | None = None) -> None:
        """Replace everything with `doc`. In the same transaction (nothing can be written in between),
        `check_current` is given what the store holds before, `verify` what it holds after; either may
        raise to leave the store as it was."""
        from .import_check import checked_document

        checked = checked_document(doc)
        with self.transaction() as tx:
            if check_current is not None:
                check_current(tx.export())
            tx.replace_all(checked)
            if verify is not None:
                verify(tx.export())

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


_EVENT_COLUMNS = "id, ts, type, session_id, agent_id, task_id, data"


def _bindable(value: Any) -> bool:
    """`value` can be compared in SQL as json_extract gives it: not text holding NUL, not an integer
    SQLite cannot hold (it takes 64 bits)."""
    if isinstance(value, str):
        return "\x00" not in value
    return not isinstance(value, int) or isinstance(value, bool) or -2**63 <= value < 2**63


def _event(row: tuple) -> dict[str, Any]:
    return {"id": row[0], "ts": row[1], "type": row[2], "session_id": row[3], "agent_id": row[4],
            "task_id": row[5], "data": json.loads(row[6])}


class SqliteTx(TableTx):
    def __init__(self, conn: sqlite3.Connection, readonly: bool = False,
                 indexes: frozenset[str] = frozenset(_INDEXES)) -> None:
        self.conn = conn
        self.readonly = readonly
        self.indexes = indexes

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
        check_criteria(collection, {})
        rows = self.conn.execute("SELECT id, data FROM entities WHERE collection=? ORDER BY id", (collection,))
        return {row[0]: json.loads(row[1]) for row in rows}

    def find(self, collection: str, **equals: Any) -> list[dict[str, Any]]:
        check_criteria(collection, equals)
        clauses, params = ["collection=?"], [collection]
        for key, value in equals.items():
            if not _bindable(value):
                continue  # text holding NUL (json_extract ends it there) or an integer past 64 bits: matches() decides
            # Plain names keep the literal '$.name' form so the expression index on status is used.
            json_path = f"$.{key}" if key.isidentifier() else f'$."{key}"'
            extract, kind = f"json_extract(data, '{json_path}')", f"json_type(data, '{json_path}')"
            if value is None:
                clauses.append(f"{extract} IS NULL")
            elif isinstance(value, bool):
                clauses.append(f"{kind}=?")
                params.append("true" if value else "false")
            elif isinstance(value, str):
                clauses.append(f"{extract}=? AND {kind}='text'")
                params.append(value)
            else:
                clauses.append(f"{extract}=? AND {kind} IN ('integer', 'real')")
                params.append(value)
        # SQLite's planner (no statistics) prefers the primary key on `collection`, reading the whole
        # collection; name the index of the most selective indexed field instead.
        indexed = [f for f in INDEXED_FIELDS[::-1]
                   if equals.get(f) is not None and _bindable(equals[f]) and f"entities_{f}" in self.indexes]
        hint = f" INDEXED BY entities_{indexed[0]}" if indexed else ""
        rows = self.conn.execute(f"SELECT data FROM entities{hint} WHERE {' AND '.join(clauses)} ORDER BY id", params)
        # json_extract reads stored text only up to a NUL: `a\u0000b` would be found as `a`
        return [entity for entity in (json.loads(row[0]) for row in rows) if matches(entity, equals)]

    def _event_rows(self, after: int, limit: int | None, types: tuple[str, ...],
                    to: tuple[str, ...], newest: bool = False) -> list[dict[str, Any]]:
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE id>?"
        params: list[Any] = [after]
        wanted = []
        if types:
            wanted.append(f"type IN ({','.join('?' * len(types))})")
            params.extend(types)
        if to:  # the LIKE lets most rows go without parsing their JSON
            wanted.append(f"""(data LIKE '%"to"%' AND json_extract(data, '$.to') IN ({','.join('?' * len(to))}))""")
            params.extend(to)
        if wanted:
            sql += f" AND ({' OR '.join(wanted)})"
        sql += f" ORDER BY id{' DESC' if newest else ''} LIMIT ?"
        params.append(-1 if limit is None else limit)
        return [_event(row) for row in self.conn.execute(sql, params)]

    def _event_types(self) -> list[str]:
        return [row[0] for row in self.conn.execute("SELECT DISTINCT type FROM events")]  # the events_type index

    # -- writes (the rest is TableTx) -----------------------------------------------------------------
    def _check_writable(self, whole: bool = False) -> None:
        if self.readonly:
            raise StateError("write attempted inside a read-only snapshot; use store.transaction()")

    def _put_entity(self, collection: str, entity_id: str, entity: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT INTO entities (collection, id, data) VALUES (?, ?, ?) "
            "ON CONFLICT (collection, id) DO UPDATE SET data=excluded.data",
            (collection, entity_id, dumps(entity)),
        )

    def _put_singleton(self, key: str, value: Any) -> None:
        self.conn.execute(
            "INSERT INTO doc (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value=excluded.value",
            (key, dumps(value)),
        )

    def _replace_collection(self, collection: str, entities: dict[str, dict[str, Any]]) -> None:
        self._delete_collection(collection)
        for entity_id, entity in entities.items():
            self._put_entity(collection, entity_id, entity)

    def _delete_entity(self, collection: str, entity_id: str) -> bool:
        return self.conn.execute("DELETE FROM entities WHERE collection=? AND id=?",
                                 (collection, entity_id)).rowcount > 0

    def _delete_collection(self, collection: str) -> None:
        self.conn.execute("DELETE FROM entities WHERE collection=?", (collection,))

    def _delete_singleton(self, key: str) -> None:
        self.conn.execute("DELETE FROM doc WHERE key=?", (key,))

    def _restart(self, events: list[dict[str, Any]]) -> None:
        for table in ("entities", "doc", "events"):
            self.conn.execute(f"DELETE FROM {table}")
        # Event ids continue after the imported ones, as on every other backend.
        self.conn.execute("DELETE FROM sqlite_sequence WHERE name='events'")
        self.conn.executemany(f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                              [event_row(e) for e in events])

    def append_event(self, type: str, data: dict[str, Any] | None = None, **refs: Any) -> int:
        self._check_writable()
        event = make_event(0, type, data, refs)
        cursor = self.conn.execute(
            "INSERT INTO events (ts, type, session_id, agent_id, task_id, data) VALUES (?, ?, ?, ?, ?, ?)",
            event_row(event)[1:],
        )
        return int(cursor.lastrowid)
