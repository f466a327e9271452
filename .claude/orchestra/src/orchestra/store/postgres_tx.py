"""The PostgreSQL backend's transaction: the SQLite table design (doc, entities, events) in SQL.

Values are stored as `json`, not `jsonb`: `json` keeps the text as written, so objects come back
with their keys in the order they were set and every backend exports byte-identical documents.
Ids and collection names compare with the "C" collation: byte order, as in SQLite and Python.

The server never has to take a stored document apart, except to narrow a `find`: PostgreSQL
refuses to read a JSON string holding U+0000 (written `\\u0000`), which plain JSON allows. So an
entity's status is kept in a column of its own (indexed), rows holding one are marked `has_nul` and
left to Python, and the final say on every `find` is `rules.matches`, the one the file backend uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from .errors import StateError
from .events import make_event
from .rules import check_criteria, matches
from .table_tx import TableTx, dumps, event_row

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key text COLLATE "C" PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS doc (key text COLLATE "C" PRIMARY KEY, value json NOT NULL);
CREATE TABLE IF NOT EXISTS entities (
    collection text COLLATE "C" NOT NULL, id text COLLATE "C" NOT NULL, data json NOT NULL,
    status text COLLATE "C", has_nul boolean NOT NULL,
    PRIMARY KEY (collection, id));
CREATE INDEX IF NOT EXISTS entities_status ON entities (collection, status);
CREATE TABLE IF NOT EXISTS events (
    id bigint PRIMARY KEY, ts text NOT NULL, type text NOT NULL,
    session_id text, agent_id text, task_id text, data json NOT NULL);
CREATE INDEX IF NOT EXISTS events_type ON events (type, id);
"""

EVENT_COLUMNS = "id, ts, type, session_id, agent_id, task_id, data"

# True for entities made before the `status` and `has_nul` columns existed (same schema_version).
OLD_LAYOUT = ("(to_regclass('entities') IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_attribute "
              "WHERE attrelid = to_regclass('entities') AND attname = 'has_nul' AND NOT attisdropped))")


def upgrade_layout(conn: Any) -> None:
    """Bring entities of the earlier layout up to SCHEMA (run before it, in its transaction): add the
    columns, fill them in from each row, and drop the old index on data->>'status', which had the
    server parse every row written."""
    if not conn.execute(f"SELECT {OLD_LAYOUT}").fetchone()[0]:
        return
    conn.execute('ALTER TABLE entities ADD COLUMN IF NOT EXISTS status text COLLATE "C", '
                 "ADD COLUMN IF NOT EXISTS has_nul boolean; DROP INDEX IF EXISTS entities_status")
    rows = conn.execute("SELECT collection, id, data FROM entities").fetchall()
    with conn.cursor() as cursor:
        cursor.executemany("UPDATE entities SET status=%s, has_nul=%s WHERE collection=%s AND id=%s",
                           [(*entity_row(collection, entity_id, data)[3:], collection, entity_id)
                            for collection, entity_id, data in rows])
    conn.execute("ALTER TABLE entities ALTER COLUMN has_nul SET NOT NULL")

# Event ids are max+1 under the writer lock, not a sequence: a sequence leaves gaps on rollback and
# lets a later id commit before an earlier one, and a reader tailing `events_after(last_id)` would
# then skip the earlier event for good. Serialised appends make ids gapless and in commit order.
_APPEND = f"""
WITH added AS (
    INSERT INTO events ({EVENT_COLUMNS})
    SELECT coalesce(max(id), 0) + 1, %s, %s, %s, %s, %s, %s::json FROM events
    RETURNING id)
SELECT id, pg_notify(%s, id::text) FROM added
"""

Execute = Callable[[str, Iterable[Any]], Any]
ExecuteMany = Callable[[str, list[tuple]], None]


_NUL = "\\u0000"  # how json.dumps writes U+0000 (also matches an escaped backslash before "u0000": harmless)
_PUT = ("INSERT INTO entities (collection, id, data, status, has_nul) VALUES (%s, %s, %s::json, %s, %s) "
        "ON CONFLICT (collection, id) DO UPDATE SET data=excluded.data, status=excluded.status, "
        "has_nul=excluded.has_nul")


# The longest status kept in the indexed column: PostgreSQL refuses an index entry over 2704 bytes, so a
# longer one (free text some collections allow) stays in `data` alone, where `find` reads it.
STATUS_INDEXED_BYTES = 1000


def _indexed(status: Any) -> bool:
    return isinstance(status, str) and "\x00" not in status and len(status.encode("utf-8")) <= STATUS_INDEXED_BYTES


def entity_row(collection: str, entity_id: str, entity: dict[str, Any]) -> tuple:
    text = dumps(entity)
    status = entity.get("status")
    clean = _indexed(status)
    return (collection, entity_id, text, status if clean else None, _NUL in text)


def _event(row: tuple) -> dict[str, Any]:
    return {"id": row[0], "ts": row[1], "type": row[2], "session_id": row[3], "agent_id": row[4],
            "task_id": row[5], "data": row[6]}


class PostgresTx(TableTx):
    """One transaction on one connection. `run(sql, params)` executes and returns the cursor,
    `run_many(sql, rows)` executes once per row (pipelined); `mode` is "write" (under the writer lock), "claim" (entity writes on claimed rows) or "read"."""

    def __init__(self, run: Execute, run_many: ExecuteMany, channel: str, mode: str = "write") -> None:
        self._run = run
        self._many = run_many
        self.channel = channel
        self.mode = mode

    @property
    def readonly(self) -> bool:
        return self.mode == "read"

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        return self._run(sql, params).fetchall()

    # -- reads -----------------------------------------------------------------------------------
    def _entity(self, collection: str, entity_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT data FROM entities WHERE collection=%s AND id=%s", (collection, entity_id))
        return rows[0][0] if rows else None

    def _singleton(self, key: str) -> Any:
        rows = self._rows("SELECT value FROM doc WHERE key=%s", (key,))
        return rows[0][0] if rows else None

    def items(self, collection: str) -> dict[str, dict[str, Any]]:
        check_criteria(collection, {})
        rows = self._rows("SELECT id, data FROM entities WHERE collection=%s ORDER BY id", (collection,))
        return {row[0]: row[1] for row in rows}

    def find(self, collection: str, **equals: Any) -> list[dict[str, Any]]:
        check_criteria(collection, equals)
        clauses, params = ["collection=%s"], [collection]
        for key, value in equals.items():
            if isinstance(value, str) and "\x00" in value:
                continue  # cannot be a query parameter; matches() below decides
            if key == "status" and _indexed(value):
                clauses.append("status=%s")
                params.append(value)
                continue
            # The key is a literal: check_criteria allows letters, digits, _ and - only.
            text, kind = f"data->>'{key}'", f"json_typeof(data->'{key}')"
            # CASE fixes the order of evaluation: a row holding \u0000 is never parsed, a cast sees only numbers.
            if value is None:
                clauses.append(f"CASE WHEN has_nul THEN true ELSE coalesce({kind}, 'null')='null' END")
            elif isinstance(value, bool | str):
                clauses.append(f"CASE WHEN has_nul THEN true ELSE {kind}=%s AND {text}=%s END")
                params += ["boolean", "true" if value else "false"] if isinstance(value, bool) else ["string", value]
            else:
                clauses.append(f"CASE WHEN has_nul THEN true WHEN {kind}='number' THEN ({text})::numeric=%s ELSE false END")
                params.append(Decimal(repr(value)) if isinstance(value, float) else value)
        rows = self._rows(f"SELECT data FROM entities WHERE {' AND '.join(clauses)} ORDER BY id", params)
        return [row[0] for row in rows if matches(row[0], equals)]

    def claim(self, collection: str, ids: Iterable[str]) -> list[dict[str, Any]]:
        """Lock the entities `ids` until this transaction ends and return those no concurrent
        transaction holds (locked ones are skipped, not waited for), in the order given."""
        check_criteria(collection, {})
        wanted = [str(i) for i in ids]
        if not wanted:
            return []
        rows = self._rows("SELECT id, data FROM entities WHERE collection=%s AND id = ANY(%s) "
                          "ORDER BY id FOR UPDATE SKIP LOCKED", (collection, wanted))
        got = {row[0]: row[1] for row in rows}
        return [got[i] for i in wanted if i in got]

    def _event_rows(self, after: int, limit: int | None, types: tuple[str, ...],
                    to: tuple[str, ...], newest: bool = False) -> list[dict[str, Any]]:
        sql = f"SELECT {EVENT_COLUMNS} FROM events WHERE id>%s"
        params: list[Any] = [after]
        wanted = []
        if types:
            wanted.append("type = ANY(%s)")
            params.append(list(types))
        if to:  # the server cannot take apart a document holding U+0000: such rows are left to `selected`
            wanted.append("""CASE WHEN strpos(data::text, '\\u0000') > 0 THEN data::text LIKE '%%"to"%%' """
                          "ELSE data->>'to' = ANY(%s) END")
            params.append(list(to))
        if wanted:
            sql += f" AND ({' OR '.join(wanted)})"
        sql += " ORDER BY id DESC" if newest else " ORDER BY id"
        if limit is not None:
            sql += " LIMIT %s"
            params.append(limit)
        return [_event(row) for row in self._rows(sql, params)]

    def _event_types(self) -> list[str]:
        return [row[0] for row in self._rows("SELECT DISTINCT type FROM events")]  # the events_type index

    # -- writes (the rest is TableTx) -----------------------------------------------------------------
    def _check_writable(self, whole: bool = False) -> None:
        if self.mode == "read":
            raise StateError("write attempted inside a read-only snapshot; use store.transaction()")
        if whole and self.mode == "claim":
            raise StateError("a claiming transaction changes single entities only (no collections, "
                             "singletons or events); use store.transaction()")

    def _put_entity(self, collection: str, entity_id: str, entity: dict[str, Any]) -> None:
        self._run(_PUT, entity_row(collection, entity_id, entity))

    def _put_singleton(self, key: str, value: Any) -> None:
        self._run("INSERT INTO doc (key, value) VALUES (%s, %s::json) "
                  "ON CONFLICT (key) DO UPDATE SET value=excluded.value", (key, dumps(value)))

    def _replace_collection(self, collection: str, entities: dict[str, dict[str, Any]]) -> None:
        self._delete_collection(collection)
        self._many(_PUT, [entity_row(collection, entity_id, entity) for entity_id, entity in entities.items()])

    def _delete_entity(self, collection: str, entity_id: str) -> bool:
        return self._run("DELETE FROM entities WHERE collection=%s AND id=%s", (collection, entity_id)).rowcount > 0

    def _delete_collection(self, collection: str) -> None:
        self._run("DELETE FROM entities WHERE collection=%s", (collection,))

    def _delete_singleton(self, key: str) -> None:
        self._run("DELETE FROM doc WHERE key=%s", (key,))

    def _restart(self, events: list[dict[str, Any]]) -> None:
        self._run("DELETE FROM entities; DELETE FROM doc; DELETE FROM events", ())
        self._many(f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s::json)",
                   [event_row(e) for e in events])

    def append_event(self, type: str, data: dict[str, Any] | None = None, **refs: Any) -> int:
        self._check_writable(whole=True)
        event = make_event(0, type, data, refs)
        row = self._run(_APPEND, (*event_row(event)[1:], self.channel)).fetchone()
        return int(row[0])
