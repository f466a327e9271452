"""The audit chain in PostgreSQL, beside the state it audits: one chain for every machine of a team.

Each row holds one line exactly as the file log would write it (`audit.shape`, then `prev` and
`hash`, canonical JSON). Row ids count from 1 with no gaps: an append takes a transaction-level
advisory lock of its own (so appends from every process and machine form one chain, without
waiting for state writers), reads the head row, inserts row `lines + 1` and moves the head, all
in one transaction. `check` follows the chain row by row and compares its end with the head, so
a changed, forged, deleted or cut-off row is named by its id.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import audit
from ..clock import now_iso
from .errors import StateError

TABLE = "audit_log"
SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_log (id bigint PRIMARY KEY, line text NOT NULL);
CREATE TABLE IF NOT EXISTS audit_head (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    lines bigint NOT NULL,
    hash text NOT NULL
);
"""
LOCK_CLASS = 0x4F524341  # "ORCA": the audit chain's lock, apart from the state writers' lock


def _transaction(store, write: bool):
    conn = store._connection()  # the store's own connection: one session per hook process
    if write:
        conn.execute("BEGIN")
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_CLASS, store._lock_keys[1]))
        conn.execute(SCHEMA)
    else:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    return conn


def append(store, record: dict[str, Any]) -> dict[str, Any]:
    """Append one record to the database's chain; return it as written (ts, prev, hash)."""
    if store._open_tx:
        raise StateError(f"{store.where}: the audit line waits for the open transaction to end")
    with store._errors_reported(committing=True):
        conn = _transaction(store, write=True)
        try:
            head = conn.execute("SELECT lines, hash FROM audit_head").fetchone()
            lines, prev = head if head else (0, audit.GENESIS)
            entry = {"ts": now_iso(), **audit.shape(record), "prev": prev}
            entry["hash"] = audit.line_hash(entry)
            conn.execute("INSERT INTO audit_log (id, line) VALUES (%s, %s)",
                         (lines + 1, audit.canonical(entry).decode("utf-8")))
            conn.execute("INSERT INTO audit_head (one, lines, hash) VALUES (true, %s, %s) ON CONFLICT (one) "
                         "DO UPDATE SET lines = EXCLUDED.lines, hash = EXCLUDED.hash", (lines + 1, entry["hash"]))
            conn.execute("COMMIT")
        except BaseException:
            store._rollback()
            raise
    return entry


def append_to(url: str, record: dict[str, Any], project: Path, store=None) -> dict[str, Any]:
    """Append a hook's record, marked with the machine and checkout it came from, through `store` when
    it is the PostgreSQL store at `url` (its open connection), else through a store opened for it."""
    import socket

    from .postgres import PostgresStore

    record = {**record, "host": socket.gethostname(), "project": str(project)}
    if isinstance(store, PostgresStore) and store.url == url:
        if store.unreachable:  # the handler already waited for every connection attempt: do not wait twice
            raise StateError(f"{store.where}: cannot connect to PostgreSQL ({store.unreachable})")
        return append(store, record)
    own = PostgresStore(url)
    try:
        return append(own, record)
    finally:
        own.close()


def _rows(store, after: int = 0, last: int | None = None) -> tuple[list[tuple[int, str]], tuple | None]:
    with store._errors_reported():
        conn = _transaction(store, write=False)
        try:
            if not conn.execute("SELECT to_regclass('audit_log') IS NOT NULL").fetchone()[0]:
                return [], None
            if last is None:
                rows = conn.execute("SELECT id, line FROM audit_log WHERE id > %s ORDER BY id", (after,)).fetchall()
            else:
                rows = conn.execute("SELECT id, line FROM (SELECT id, line FROM audit_log ORDER BY id DESC LIMIT %s) "
                                    "AS recent ORDER BY id", (last,)).fetchall()
            head = conn.execute("SELECT lines, hash FROM audit_head").fetchone()
        finally:
            store._rollback()
    return rows, head


def tail(store, count: int = 20) -> list[dict[str, Any]]:
    """The last `count` records, oldest first."""
    records = []
    for _, line in _rows(store, last=count)[0]:
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


def check(store) -> audit.Report:
    """Verify the whole chain, then its end against the head row; name the first bad row. Rows are read in
    batches of `CHECK_BATCH`, all in one snapshot, so a long chain is checked in bounded memory."""
    with store._errors_reported():
        conn = _transaction(store, write=False)
        try:
            return _checked(conn)
        finally:
            store._rollback()


CHECK_BATCH = 10_000


def _batches(conn) -> Iterator[tuple[int, str]]:
    """Every row of the log in id order, rows outside the chain's ids (0, negative) included."""
    rows = conn.execute("SELECT id, line FROM audit_log ORDER BY id LIMIT %s", (CHECK_BATCH,)).fetchall()
    while rows:
        yield from rows
        if len(rows) < CHECK_BATCH:
            return
        rows = conn.execute("SELECT id, line FROM audit_log WHERE id > %s ORDER BY id LIMIT %s",
                            (rows[-1][0], CHECK_BATCH)).fetchall()


def _checked(conn) -> audit.Report:
    has_log, has_head = conn.execute("SELECT to_regclass('audit_log') IS NOT NULL, "
                                     "to_regclass('audit_head') IS NOT NULL").fetchone()
    head = conn.execute("SELECT lines, hash FROM audit_head").fetchone() if has_head else None
    report = audit.Report(head={"lines": head[0], "hash": head[1]} if head else None, file=TABLE)
    if not has_log:
        if head is not None and head[0]:
            report.line = 1
            report.problem = f"table {TABLE} is missing (dropped): the head records {head[0]} rows"
        return report
    prev = audit.GENESIS
    at_anchor = prev if head is not None and head[0] == 0 else None  # the hash the head's last row must have
    for row_id, line in _batches(conn):
        expected = report.lines + 1
        if row_id < 1:
            report.line = row_id
            report.problem = f"row {row_id} is not part of the chain (its rows count from 1): a row was inserted"
            return report
        if row_id != expected:
            report.line = expected
            report.problem = f"row {expected} is missing (deleted): the chain jumps to row {row_id}"
            return report
        problem = audit.line_problem(f"{line}\n".encode(), prev)
        if problem:
            report.line, report.problem = row_id, problem
            return report
        prev = json.loads(line)["hash"]
        report.lines = row_id
        if head is not None and row_id == head[0]:
            at_anchor = prev
    report.last_hash = prev
    if head is None:
        if report.lines:
            report.problem = "the head row is missing: rows may have been cut off the end"
    elif report.lines < head[0]:
        report.line = report.lines + 1
        report.problem = (f"the head says {head[0]} rows ending in {head[1][:16]}, the table has {report.lines}: "
                          "rows were cut off the end or the head was changed")
    elif at_anchor != head[1]:
        report.line = head[0]
        report.problem = (f"row {head[0]} of the chain does not match the head, which says it ends in {head[1][:16]}: "
                          "the rows were rewritten or the head was changed")
    elif report.lines > head[0]:
        report.line = head[0] + 1
        report.problem = (f"the head says {head[0]} rows, the table has {report.lines}: rows were added after the "
                          "head (forged), or the head was moved back")
    return report


class AuditRows:
    """The last `size` records of the database's chain, followed from the last row read (the
    dashboard's counterpart of `metrics.AuditWindow` for the file log)."""

    def __init__(self, store, size: int = 5000) -> None:
        self.store = store
        self.records: deque[dict[str, Any]] = deque(maxlen=size)
        self._last = 0

    def refresh(self) -> bool:
        """Read rows added since the last call; True when there were any."""
        if self._last:
            rows = _rows(self.store, after=self._last)[0]
        else:
            rows = _rows(self.store, last=self.records.maxlen)[0]
        for row_id, line in rows:
            self._last = row_id
            try:
                self.records.append(json.loads(line))
            except ValueError:
                continue
        return bool(rows)
