"""The seed's file store: one JSON document, a sibling .lock with a finite timeout (writers queue for
it in the order they come), atomic replace.

Writers hold the lock for read-modify-write; readers need no lock because the file is only ever
replaced whole. A file that does not parse is moved aside (`<name>.corrupt-<timestamp>`) and
reported, never overwritten or silently reset.
"""

from __future__ import annotations

import json
import os
import re
import stat
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from .. import atomic
from . import StoreBase, iter_entities
from .doc_tx import DocTx
from .document import COLLECTIONS, TOP_LEVEL, empty_document, filled, is_segment, migrate, normalized
from .errors import BusyError, CorruptStateError, StateError, disk_trouble, left_damaged, unmovable
from .events import stored_event
from .filekind import check_kind
from .lock_queue import AVAILABLE as QUEUE_AVAILABLE
from .lock_queue import LockQueue
from .rules import check_json, unique_keys

LOCK_TIMEOUT_S = 30.0
# Writers queue for the lock in the order they come (lock_queue, on Linux), so the one at the head takes
# it at once. Where a writer must still poll it (no queue; or the lock is held by one outside the queue,
# such as an older Orchestra), filelock takes it non-blocking: first after 2 ms, as its default 50 ms
# nap would dominate a hook's latency, then each nap twice as long up to LOCK_POLL_MAX_S. Dozens of
# writers polling every 2 ms would take the CPU from the one holding the lock, and hooks would time out.
LOCK_POLL_S = 0.002
LOCK_POLL_MAX_S = 0.025
# What json.loads reads that is not plain JSON: NaN and Infinity, and \uD800-\uDFFF escapes (surrogates;
# a pair is fine, a lone one cannot be written back as UTF-8). Only a file holding one is searched.
_NOT_PLAIN = re.compile(rb"NaN|Infinity|\\u[dD][89a-fA-F]")
_FIX = "fix it by hand or replace the file with `orchestra state import` of a good export"
# The state files each thread of this process holds the write lock of (process id, thread id, path): one
# thread asking again, through another store object, would wait for itself until the lock timeout.
_HELD: set[tuple[int, int, str]] = set()


class JsonFileStore(StoreBase):
    def __init__(self, path: Path, lock_timeout: float = LOCK_TIMEOUT_S) -> None:
        self.url = f"json://{path}"
        # A write replaces the file: through a symbolic link it would replace the link, and the file it names
        # (another checkout's store, say) would never see the write. Lock and replace that file instead.
        self.path = Path(os.path.realpath(path)) if os.path.islink(path) else Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock_timeout = lock_timeout
        self._make_locks()
        self._open_tx = False

    def _make_locks(self) -> None:
        """The write lock and the queue for it, this process's own: a child forked with the store open
        makes them anew at its first write (filelock refuses a lock inherited across fork)."""
        self._pid = os.getpid()
        self._lock = FileLock(str(self.path) + ".lock", timeout=self._lock_timeout)
        self._queue = LockQueue(str(self.path) + ".queue.lock") if QUEUE_AVAILABLE else None

    # -- reading ---------------------------------------------------------------------------------
    def _read(self, locked: bool) -> dict[str, Any]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return empty_document()
        try:
            doc = json.loads(raw, object_pairs_hook=unique_keys)
            if not isinstance(doc, dict):
                raise ValueError(f"the top level is a JSON {type(doc).__name__}, not an object")
        except StateError as exc:  # parses, but was edited by hand into something state cannot hold
            raise StateError(f"{self.path}: state file has a bad entry: {exc}; {_FIX}") from None
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            return self._corrupt(raw, exc, locked)
        try:
            doc = migrate(doc)
        except StateError as exc:  # written by a newer Orchestra, or an old document that cannot be carried forward
            raise StateError(f"{self.path}: {exc}") from None
        doc = _checked_shape(self.path, doc, plain=not _NOT_PLAIN.search(raw))
        return {top: filled(top, doc[top]) if top in doc else value for top, value in empty_document().items()}

    def _corrupt(self, raw: bytes, exc: Exception, locked: bool) -> dict[str, Any]:
        """Move an unparseable file aside (under the lock, and only if it is still the same file)."""
        check_kind(self.path, "json", raw[:64])
        damaged = f"{self.path}: state file is not a valid JSON object ({_first_line(exc)})"
        why = unmovable(self.path)
        if why:
            raise left_damaged(damaged, why) from None
        if not locked:
            with self._locked():
                return self._read(locked=True)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{os.getpid()}")
        try:
            os.replace(self.path, aside)
        except OSError as moved:
            raise left_damaged(damaged, _os_reason(moved, self.path)) from None
        raise CorruptStateError(
            f"{damaged}; moved aside to {aside.name} — restore it with `orchestra state import`, or carry on with empty state"
        ) from None

    # -- transactions ----------------------------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[None]:
        held = (os.getpid(), threading.get_ident(), str(self.path))
        if held in _HELD:
            raise StateError(f"{self.path}: this thread already has a transaction open on this state file "
                             "(through another store object); write through that transaction's tx")
        try:
            self._acquire()
        except Timeout:
            raise BusyError(f"{self.path}: still locked by another writer after {self._lock.timeout:.0f}s") from None
        except OSError as exc:
            raise StateError(f"{self.path}: cannot take the write lock {self._lock.lock_file} "
                             f"({_os_reason(exc, self.path)}); nothing was changed") from None
        _HELD.add(held)
        try:
            yield
        finally:
            _HELD.discard(held)
            try:
                self._lock.release()
            finally:
                self._leave_queue()

    def _acquire(self) -> None:
        if self._pid != os.getpid():
            self._make_locks()
        deadline = time.monotonic() + self._lock.timeout
        self._join_queue(deadline)
        try:
            self._take_lock(deadline)
        except BaseException:
            self._leave_queue()
            raise

    def _join_queue(self, deadline: float) -> None:
        """Wait for the writers that came first. The queue orders writers, the flock alone excludes
        them: a queue file that cannot be used (a full disk, another owner) only costs the order."""
        if self._queue is None:
            return
        try:
            self._queue.join(deadline)
        except Timeout:  # a TimeoutError, so an OSError too: still the busy store it means
            raise
        except OSError:
            return

    def _leave_queue(self) -> None:
        if self._queue is not None:
            with suppress(OSError):
                self._queue.leave()

    def _take_lock(self, deadline: float) -> None:
        nap = LOCK_POLL_S
        while True:
            try:
                self._lock.acquire(blocking=False)
                return
            except Timeout:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise
                time.sleep(min(nap, left))
                nap = min(nap * 2, LOCK_POLL_MAX_S)

    @contextmanager
    def transaction(self) -> Iterator[DocTx]:
        with self._one_at_a_time(), self._locked():
            read = self._file_id()
            tx = DocTx(self._read(locked=True))
            yield tx
            if tx.dirty:
                # Every write replaces the file: another one since our read means a second writer got the
                # lock too (its lock file was deleted as stale while we held it). Fail, never overwrite.
                if self._file_id() != read:
                    raise BusyError(f"{self.path}: another writer replaced it during this transaction (was "
                                    f"{self._lock.lock_file} deleted while in use?); nothing was written, try again")
                self._write(tx.doc)

    def _file_id(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return st.st_dev, st.st_ino

    @contextmanager
    def snapshot(self) -> Iterator[DocTx]:
        with self._one_at_a_time():
            yield DocTx(self._read(locked=False), readonly=True)

    def _write(self, doc: dict[str, Any]) -> None:
        data = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        # The new file replaces the old one whole, which the directory allows whatever the file's mode: a file
        # made read-only is kept as it is, as SQLite keeps one.
        with suppress(FileNotFoundError):
            if not os.access(self.path, os.W_OK):
                mode = stat.S_IMODE(self.path.stat().st_mode)
                raise StateError(f"{self.path}: state file not written (the file is read-only for this user, "
                                 f"mode {mode:04o}); it is left as it was")
        try:
            self._remove_stale_temp_files()
            atomic.write_bytes(self.path, data, mode=0o600)
        except OSError as exc:
            raise StateError(f"{self.path}: state file not written ({_os_reason(exc, self.path)}); "
                             "it is left as it was") from None

    def _remove_stale_temp_files(self) -> None:
        # Only the lock holder writes, so any temp file of ours is left over from a killed writer. Ours only:
        # `.s.x.<8>.tmp` is the file a writer of another store, `s.x`, beside `s` may be writing right now.
        ours = re.compile(rf"\.{re.escape(self.path.name)}\.[a-z0-9_]{{8}}\.tmp")
        for entry in os.scandir(self.path.parent):
            if ours.fullmatch(entry.name):
                with suppress(FileNotFoundError):
                    os.unlink(entry.path)

    def export(self) -> dict[str, Any]:
        with self.snapshot() as tx:
            return normalized(tx.doc)

    def import_document(self, doc: dict[str, Any], check_current: Callable[[dict[str, Any]], None] | None = None,
                        verify: Callable[[dict[str, Any]], None] | None = None) -> None:
        """As SqliteStore.import_document; `verify` reads the file back under the lock, once it is written."""
        from .import_check import checked_document

        checked = checked_document(doc)
        with self._one_at_a_time(), self._locked():
            if check_current is not None:  # what it is given must be read: a file that cannot be is an error
                check_current(normalized(self._read(locked=True)))
            else:
                # Nothing of the old file is kept, so one edited by hand into a bad entry (the fix its error
                # names is this import) is replaced; one that does not parse is still moved aside first, and
                # a store of the other kind (the SQLite database named json://) is refused, left as it is.
                self._refuse_other_kind()
                with suppress(StateError):
                    self._read(locked=True)
            self._write(checked)
            if verify is not None:
                verify(normalized(self._read(locked=True)))

    def _refuse_other_kind(self) -> None:
        try:
            with open(self.path, "rb") as file:
                check_kind(self.path, "json", file.read(64))
        except FileNotFoundError:
            pass

    def close(self) -> None:
        pass


def _checked_shape(path: Path, doc: dict[str, Any], plain: bool = True) -> dict[str, Any]:
    """A file that parses but was edited into the wrong shape is reported, not guessed at: the
    document, with the fields an event may leave out filled in as `state import` fills them.
    `plain=False`: the text may hold what is not plain JSON (NaN, a lone surrogate): look for it."""
    unknown = set(doc) - set(TOP_LEVEL)
    bad = sorted(unknown) + [k for k in TOP_LEVEL[1:] if k in doc and not isinstance(doc[k], dict)]
    for collection in COLLECTIONS:
        parent, _, leaf = collection.rpartition(".")
        holder = doc.get(parent) if parent else doc
        value = holder.get(leaf, {}) if isinstance(holder, dict) else {}
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
            bad.append(collection)
    events = doc.get("observability", {}).get("events", []) if isinstance(doc.get("observability"), dict) else []
    if not isinstance(events, list) or not all(isinstance(e, dict) and isinstance(e.get("id"), int) for e in events):
        bad.append("observability.events")
    if bad:
        raise StateError(
            f"{path}: state file has the wrong shape at {', '.join(dict.fromkeys(bad))}; fix those keys by hand "
            "or replace the file with `orchestra state import` of a good export"
        )
    try:
        for collection in COLLECTIONS:
            for entity_id, entity in iter_entities(doc, collection):
                if not is_segment(entity_id):  # `state import` refuses it too: no path can name it
                    raise StateError(f"{collection}: key {entity_id!r} is not an id (letters, digits, _ - : @ / +)")
                if "id" not in entity:
                    raise StateError(f"{collection}.{entity_id}: no id field (it must repeat the key {entity_id!r})")
                if entity["id"] != entity_id:
                    raise StateError(f"{collection}.{entity_id}: id {entity['id']!r} does not match the key")
        if events:
            doc["observability"]["events"] = _checked_events(events)
        if not plain:
            check_json("", doc)
    except StateError as exc:
        raise StateError(f"{path}: state file has a bad entry at {exc}; {_FIX}") from None
    return doc


def _checked_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    checked = [stored_event(event, f"observability.events[{i}]") for i, event in enumerate(events)]
    for i in range(1, len(checked)):
        if checked[i]["id"] <= checked[i - 1]["id"]:
            raise StateError(f"observability.events[{i}]: id {checked[i]['id']} does not follow "
                             f"{checked[i - 1]['id']} (ids must rise, each once)")
    return checked


def _os_reason(exc: OSError, path: Path) -> str:
    return disk_trouble(path.parent) or exc.strerror or str(exc)


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
