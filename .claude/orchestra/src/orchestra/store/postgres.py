"""PostgreSQL backend (`postgresql://...`): one state store shared by the machines of a team.

Writers take one transaction-scoped advisory lock per store before anything else, the equivalent
of SQLite's BEGIN IMMEDIATE: read-modify-write transactions run one at a time, never lose an
update and never deadlock, so no `with store.transaction()` block ever needs replaying. Snapshots
are REPEATABLE READ READ ONLY and take no lock. `claiming()` transactions hold the same lock in
shared mode and lock single rows `FOR UPDATE SKIP LOCKED`: many claim messages at once, none
waits for another, and no row is claimed twice. Each appended event is announced with NOTIFY;
`wait_for_events` LISTENs, so a dashboard wakes as soon as an event commits.

psycopg is imported and the server contacted on first use, not in `open_store`: a hook that
never touches state pays nothing. Failures are StateErrors naming the server (never its
password): connecting is retried with backoff, and so is a whole single operation (`get`, `set`,
`append_event`...) whose connection broke before it committed. A `with` block cannot be replayed,
so a connection lost inside one rolls the transaction back on the server and is reported.

The tables (doc, entities, events, meta) live in the connection's current schema: to keep
several stores in one database, give each its own schema through the URL
(`?options=-csearch_path%3Dteam_a`).
"""

from __future__ import annotations

import os
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from . import MISSING, StoreBase
from .document import SCHEMA_VERSION
from .errors import BusyError, StateError
from .pgurl import connection_params, folded_names, identity, reason, redacted  # noqa: F401 - identity: the URL's store, for callers
from .postgres_tx import OLD_LAYOUT, SCHEMA, PostgresTx, upgrade_layout

T = TypeVar("T")

CONNECT_ATTEMPTS = 3
BACKOFF_S = (0.1, 0.5)  # the waits between attempts
CONNECT_TIMEOUT_S = 2  # per attempt, unless the URL sets connect_timeout: all attempts fit a 10 s hook
LOCK_TIMEOUT_MS = 30_000  # as SQLite's busy timeout
LOCK_CLASS = 0x4F524348  # first key of the writer lock ("ORCH"); the second is the schema's checksum
OPERATION_ATTEMPTS = 3
# A server that stops answering mid-query (a network cut, a frozen host) is given up on after about
# 5 s, unless the URL says otherwise: keepalive probes find a silent peer, tcp_user_timeout one that
# leaves sent data unacknowledged. Without them a query waits for TCP itself, many minutes.
SILENCE_PARAMS = {"keepalives": "1", "keepalives_idle": "2", "keepalives_interval": "1",
                  "keepalives_count": "3", "tcp_user_timeout": "5000"}


class ConnectionLost(StateError):
    """The connection to the server broke. `unknown_outcome`: it broke while a COMMIT was under way;
    `silent`: the server stopped answering (timed out), so connecting again would only wait more."""

    def __init__(self, message: str, unknown_outcome: bool = False, silent: bool = False) -> None:
        super().__init__(message)
        self.unknown_outcome = unknown_outcome
        self.silent = silent


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


class PostgresStore(StoreBase):
    notifies = True

    def __init__(self, url: str, create: bool = True, wait: float | None = None,
                 attempts: int = CONNECT_ATTEMPTS) -> None:
        self.url = url
        self.create = create  # False: a schema without our tables is an error, not a store to set up
        self.attempts = attempts  # connection attempts before giving up
        # How long a writer waits for the lock (lock_timeout, unless the URL sets one): hooks pass
        # less than their own time limit, so they end with a BusyError instead of being killed.
        self.lock_timeout_ms = LOCK_TIMEOUT_MS if wait is None else max(1, int(wait * 1000))
        self.where = redacted(url)
        self.conn: Any = None
        self._listener: Any = None
        self._pid = os.getpid()
        self._open_tx = False
        self.schema = ""
        self.channel = ""
        self._lock_keys = (LOCK_CLASS, 0)
        self.unreachable: str | None = None  # why the server could not be reached (until it can again)

    # -- connecting ------------------------------------------------------------------------------
    def _new_connection(self) -> Any:
        try:
            import psycopg
        except ImportError as exc:
            raise StateError(f"{self.where}: the PostgreSQL backend needs psycopg 3, which is not installed "
                             f"here ({exc}); `uv sync` the pack's environment") from None

        params = connection_params(self.url)
        params.setdefault("connect_timeout", str(CONNECT_TIMEOUT_S))
        params.setdefault("application_name", "orchestra")
        for key, value in SILENCE_PARAMS.items():
            params.setdefault(key, value)
        # Ours first, so a lock_timeout in the URL's own options wins.
        params["options"] = f"-c lock_timeout={self.lock_timeout_ms} {params.get('options', '')}".strip()
        for attempt in range(self.attempts):
            try:
                conn = psycopg.connect(**params, autocommit=True)
                self.unreachable = None
                return conn
            except psycopg.ProgrammingError as exc:  # a setting libpq parsed but psycopg cannot use (connect_timeout=abc)
                raise StateError(f"state URL {self.where}: not a usable PostgreSQL URL ({reason(exc, self.url)})") from None
            except psycopg.OperationalError as exc:
                if attempt == self.attempts - 1:
                    self.unreachable = _first_line(exc)
                    raise StateError(
                        f"{self.where}: cannot connect to PostgreSQL ({_first_line(exc)}; tried {self.attempts} "
                        "times) — check that the server is up and reachable and ORCHESTRA_STATE_URL is right"
                    ) from None
                time.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
        raise AssertionError("unreachable")

    def _connection(self) -> Any:
        if self._pid != os.getpid():
            self._let_go_of_inherited()
        if self.conn is not None and (self.conn.closed or self.conn.broken):
            self._discard()
        if self.conn is None:
            conn = self._new_connection()
            try:
                self._ensure_schema(conn)
            except BaseException:
                conn.close()
                raise
            self.conn = conn
        return self.conn

    def _let_go_of_inherited(self) -> None:
        """In a forked child: the parent's connections share their sockets with the parent. Point the
        child's copies of those descriptors at /dev/null, so that closing them here (which sends a
        Terminate message) cannot end the parent's sessions, then drop them."""
        for conn in (self.conn, self._listener):
            if conn is not None:
                with suppress(Exception):
                    null = os.open(os.devnull, os.O_RDWR)
                    os.dup2(null, conn.fileno())
                    os.close(null)
                    conn.close()
        self.conn = self._listener = None
        self._pid = os.getpid()

    def _ensure_schema(self, conn: Any) -> None:
        import psycopg

        with self._errors_reported():
            try:
                schema, version, old_layout = conn.execute(
                    f"SELECT current_schema(), (SELECT value FROM meta WHERE key='schema_version'), {OLD_LAYOUT}"
                ).fetchone()
            except psycopg.errors.UndefinedTable:
                schema, version, old_layout = conn.execute(f"SELECT current_schema(), NULL, {OLD_LAYOUT}").fetchone()
            if schema is None:
                folded = "".join(f"; unquoted, {name} means {name.lower()}: write %22{name}%22 for a schema "
                                 "named in capitals" for name in folded_names(self.url)[:1])
                raise StateError(f"{self.where}: no schema to keep state in (the search_path names none that "
                                 "exists and this role may use); create it, grant the role USAGE and CREATE on "
                                 f"it, or fix options=-csearch_path in the URL{folded}")
            self._use_schema(schema)
            if version is not None and not str(version).isdigit():
                raise StateError(f"{self.where}: schema_version {version!r} in table meta is not a number; "
                                 "restore the store from a backup")
            if version is not None and int(version) == SCHEMA_VERSION and not old_layout:
                return
            if version is not None and int(version) > SCHEMA_VERSION:
                raise StateError(f"{self.where}: schema_version {version} is newer than this Orchestra "
                                 f"understands ({SCHEMA_VERSION}); upgrade the pack")
            if not self.create:  # only looking: neither create the tables nor bring them up to date
                raise StateError(f"{self.where}: no state store there (schema {schema} holds no Orchestra "
                                 "tables); check the URL" if version is None else
                                 f"{self.where}: the tables in schema {schema} are of an earlier Orchestra; "
                                 "`orchestra init` (or the next hook) brings them up to date")
            # Under the writer lock, so stores opened at once do not race to create (or upgrade) the tables.
            conn.execute(f"BEGIN; SELECT pg_advisory_xact_lock({self._lock_keys[0]}, {self._lock_keys[1]})")
            try:
                upgrade_layout(conn)
                conn.execute(SCHEMA)
                conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', %s) "
                             "ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE meta.value::bigint < excluded.value::bigint",
                             (str(SCHEMA_VERSION),))
                conn.execute("COMMIT")
            except BaseException:
                with suppress(Exception):
                    conn.execute("ROLLBACK")
                raise

    def _use_schema(self, schema: str) -> None:
        checksum = zlib.crc32(schema.encode("utf-8"))
        self.schema = schema
        self.channel = f"orchestra_events_{checksum:08x}"
        self._lock_keys = (LOCK_CLASS, checksum - (1 << 32) if checksum >= 1 << 31 else checksum)

    def _discard(self) -> None:
        with suppress(Exception):
            self.conn.close()
        self.conn = None

    # -- errors ----------------------------------------------------------------------------------
    @contextmanager
    def _errors_reported(self, committing: bool = False) -> Iterator[None]:
        """psycopg's errors as StateErrors that name the server."""
        import psycopg

        try:
            yield
        except psycopg.errors.LockNotAvailable:
            raise BusyError(f"{self.where}: the store stayed locked by another writer past lock_timeout "
                            f"({self.lock_timeout_ms / 1000:g}s unless the URL sets it); try again") from None
        except psycopg.OperationalError as exc:
            if self.conn is not None and not self.conn.broken and not self.conn.closed:
                raise StateError(f"{self.where}: PostgreSQL error ({_first_line(exc)})") from None
            self._discard()
            silent = "timed out" in str(exc)  # libpq: "could not receive data from server: Connection timed out"
            if silent:
                self.unreachable = f"the server stopped answering ({_first_line(exc)})"
            if committing:
                raise ConnectionLost(
                    f"{self.where}: connection to PostgreSQL lost while committing ({_first_line(exc)}); "
                    "the transaction may or may not have been applied — check the state before retrying",
                    unknown_outcome=True, silent=silent) from None
            raise ConnectionLost(f"{self.where}: connection to PostgreSQL lost ({_first_line(exc)}); "
                                 "nothing of the open transaction was committed", silent=silent) from None
        except psycopg.Error as exc:
            raise StateError(f"{self.where}: PostgreSQL error ({_first_line(exc)})") from None

    def _execute(self, sql: str, params: Any = ()) -> Any:
        with self._errors_reported():
            return self.conn.execute(sql, params or None)

    def _execute_many(self, sql: str, rows: list[tuple]) -> None:
        if rows:
            with self._errors_reported(), self.conn.cursor() as cursor:
                cursor.executemany(sql, rows)

    # -- transactions ----------------------------------------------------------------------------
    def _begin(self, begin: str) -> None:
        """Open a transaction; a connection found broken here is replaced (nothing has run yet)."""
        for attempt in range(OPERATION_ATTEMPTS):
            self._connection()
            try:
                self._execute(begin.format(*self._lock_keys))
                return
            except ConnectionLost as exc:
                if exc.silent or attempt == OPERATION_ATTEMPTS - 1:
                    raise
                time.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
            except BaseException:  # e.g. the lock timed out: end the transaction BEGIN opened
                self._rollback()
                raise

    @contextmanager
    def _transaction(self, begin: str, mode: str) -> Iterator[PostgresTx]:
        with self._one_at_a_time():
            self._begin(begin)
            tx = PostgresTx(self._execute, self._execute_many, self.channel, mode)
            try:
                yield tx
            except BaseException:
                self._rollback()
                raise
            if mode == "read":
                self._rollback()
                return
            try:
                with self._errors_reported(committing=True):
                    status = self.conn.execute("COMMIT").statusmessage
            except BaseException:
                self._rollback()
                raise
            if status != "COMMIT":  # a statement failed and was caught inside the block
                raise StateError(f"{self.where}: the transaction failed part-way and was rolled back; "
                                 "nothing of it was committed")

    def _rollback(self) -> None:
        if self.conn is not None and not self.conn.broken and not self.conn.closed:
            try:
                self.conn.execute("ROLLBACK")
            except Exception:  # noqa: BLE001 - the session ends with the connection; the server rolls back
                self._discard()

    def transaction(self):
        return self._transaction("BEGIN; SELECT pg_advisory_xact_lock({}, {})", "write")

    def snapshot(self):
        return self._transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "read")

    def claiming(self):
        """A transaction for claiming entities with `tx.claim(collection, ids)` and changing them."""
        return self._transaction("BEGIN; SELECT pg_advisory_xact_lock_shared({}, {})", "claim")

    # -- single operations, retried when the connection broke before they committed --------------
    def _retried(self, operation: Callable[[], T]) -> T:
        for attempt in range(OPERATION_ATTEMPTS):
            try:
                return operation()
            except ConnectionLost as exc:
                if exc.unknown_outcome or exc.silent or attempt == OPERATION_ATTEMPTS - 1:
                    raise
                time.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
        raise AssertionError("unreachable")

    def get(self, path: str = "", default: Any = MISSING) -> Any:
        return self._retried(lambda: StoreBase.get(self, path, default))

    def set(self, path: str, value: Any) -> None:
        self._retried(lambda: StoreBase.set(self, path, value))

    def delete(self, path: str) -> None:
        self._retried(lambda: StoreBase.delete(self, path))

    def append_event(self, type: str, data: dict[str, Any] | None = None, **refs: Any) -> int:
        return self._retried(lambda: StoreBase.append_event(self, type, data, **refs))

    def events_after(self, after: int = 0, limit: int | None = 1000, types: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        return self._retried(lambda: StoreBase.events_after(self, after, limit, types))

    def last_events(self, count: int, types: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        return self._retried(lambda: StoreBase.last_events(self, count, types))

    def event_types(self) -> list[str]:
        return self._retried(lambda: StoreBase.event_types(self))

    def export(self) -> dict[str, Any]:
        def read() -> dict[str, Any]:
            with self.snapshot() as tx:
                return tx.export()

        return self._retried(read)

    def import_document(self, doc: dict[str, Any], check_current: Callable[[dict[str, Any]], None] | None = None,
                        verify: Callable[[dict[str, Any]], None] | None = None) -> None:
        from .import_check import checked_document

        checked = checked_document(doc)

        def write() -> None:
            with self.transaction() as tx:
                if check_current is not None:
                    check_current(tx.export())
                tx.replace_all(checked)
                if verify is not None:
                    verify(tx.export())

        self._retried(write)

    # -- live events -----------------------------------------------------------------------------
    def wait_for_events(self, after: int = 0, timeout: float = 30.0, limit: int | None = 1000,
                        types: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """Events after `after`, waiting up to `timeout` seconds for one to commit ([] if none did)."""
        deadline = time.monotonic() + max(timeout, 0)
        listener = self._listening()
        while True:
            # LISTEN came first, so an event committed from here on also leaves a notification.
            events = self.events_after(after, limit, types)
            left = deadline - time.monotonic()
            if events or left <= 0:
                return events
            with self._errors_reported_on(listener):
                for _ in listener.notifies(timeout=left, stop_after=1):
                    pass
            with self._errors_reported_on(listener):
                for _ in listener.notifies(timeout=0):  # drain the burst: one query answers them all
                    pass

    def _listening(self) -> Any:
        self._connection()  # the schema, hence the channel name, is known once connected
        if self._listener is not None and (self._listener.closed or self._listener.broken):
            self._listener = None
        if self._listener is None:
            listener = self._new_connection()
            with self._errors_reported_on(listener):
                listener.execute(f'LISTEN "{self.channel}"')
            self._listener = listener
        return self._listener

    @contextmanager
    def _errors_reported_on(self, listener: Any) -> Iterator[None]:
        import psycopg

        try:
            yield
        except psycopg.Error as exc:
            with suppress(Exception):
                listener.close()
            self._listener = None
            raise ConnectionLost(f"{self.where}: waiting for events failed ({_first_line(exc)})") from None

    def reaches(self) -> tuple[str, ...]:
        """The server address and port, database and schema the connection is using: two URLs that
        differ only in spelling (localhost or 127.0.0.1, a search_path listing more schemas) agree here."""
        self._connection()
        return tuple(str(value) for value in self._execute(
            "SELECT inet_server_addr(), inet_server_port(), current_database(), current_schema()").fetchone())

    def close(self) -> None:
        if self._pid != os.getpid():
            self._let_go_of_inherited()
        for conn in (self.conn, self._listener):
            if conn is not None:
                with suppress(Exception):
                    conn.close()
        self.conn = self._listener = None
