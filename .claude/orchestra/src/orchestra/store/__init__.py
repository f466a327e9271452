"""The state store: one `Store` protocol, backends chosen by URL (sqlite default, json file, postgresql)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

from .document import is_segment
from .errors import BusyError, CorruptStateError, PathError, StateError

__all__ = [
    "BusyError", "CorruptStateError", "PathError", "StateError", "Store", "Tx", "MISSING", "claim", "entity",
    "open_store", "same_store",
]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
EVENT_POLL_S = 0.2  # how often wait_for_events looks on backends without notifications


class Tx(Protocol):
    """One atomic unit of work. Everything done through it commits together or not at all."""

    def get(self, path: str, default: Any = MISSING) -> Any: ...
    def set(self, path: str, value: Any) -> None: ...
    def delete(self, path: str) -> None: ...
    def update(self, path: str, fields: dict[str, Any]) -> dict[str, Any]: ...
    def items(self, collection: str) -> dict[str, dict[str, Any]]: ...
    def find(self, collection: str, **equals: Any) -> list[dict[str, Any]]: ...
    def append_event(self, type: str, data: dict[str, Any] | None = None, **refs: Any) -> int: ...
    def events_after(self, after: int = 0, limit: int = 1000, types: tuple[str, ...] = (),
                     to: tuple[str, ...] = ()) -> list[dict[str, Any]]: ...
    def last_events(self, count: int, types: tuple[str, ...] = ()) -> list[dict[str, Any]]: ...
    def event_types(self) -> list[str]: ...


class Store(Protocol):
    url: str
    notifies: bool

    def transaction(self) -> AbstractContextManager[Tx]: ...
    def snapshot(self) -> AbstractContextManager[Tx]: ...
    def claiming(self) -> AbstractContextManager[Tx]: ...
    def wait_for_events(self, after: int = 0, timeout: float = 30.0, limit: int | None = 1000,
                        types: tuple[str, ...] = ()) -> list[dict[str, Any]]: ...
    def export(self) -> dict[str, Any]: ...
    def import_document(self, doc: dict[str, Any], check_current: Callable[[dict[str, Any]], None] | None = None,
                        verify: Callable[[dict[str, Any]], None] | None = None) -> None: ...
    def close(self) -> None: ...


class StoreBase:
    """Conveniences shared by every backend: single operations as their own transaction."""

    notifies = False  # True where wait_for_events is woken by the database instead of polling
    _open_tx = False

    def _where(self) -> str:
        """The store as error messages name it: its file, or the redacted URL of a server."""
        return str(getattr(self, "where", None) or getattr(self, "path", type(self).__name__))

    @contextmanager
    def _one_at_a_time(self) -> Iterator[None]:
        """One transaction at a time per store object: a nested one would deadlock or see half a change."""
        if self._open_tx:
            raise StateError(f"{self._where()}: a transaction is already open on this store; use its tx")
        self._open_tx = True
        try:
            yield
        finally:
            self._open_tx = False

    def transaction(self) -> AbstractContextManager[Tx]:  # pragma: no cover - overridden
        raise NotImplementedError

    def snapshot(self) -> AbstractContextManager[Tx]:  # pragma: no cover - overridden
        raise NotImplementedError

    def get(self, path: str = "", default: Any = MISSING) -> Any:
        with self.snapshot() as tx:
            return tx.get(path, default)

    def set(self, path: str, value: Any) -> None:
        with self.transaction() as tx:
            tx.set(path, value)

    def delete(self, path: str) -> None:
        with self.transaction() as tx:
            tx.delete(path)

    def append_event(self, type: str, data: dict[str, Any] | None = None, **refs: Any) -> int:
        with self.transaction() as tx:
            return tx.append_event(type, data, **refs)

    def events_after(self, after: int = 0, limit: int = 1000, types: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        with self.snapshot() as tx:
            return tx.events_after(after, limit, types)

    def last_events(self, count: int, types: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """The last `count` events (of `types`, when given), oldest first."""
        with self.snapshot() as tx:
            return tx.last_events(count, types)

    def event_types(self) -> list[str]:
        """The types of event the log holds, each once, sorted."""
        with self.snapshot() as tx:
            return tx.event_types()

    def export(self) -> dict[str, Any]:
        return self.get("")

    def claiming(self) -> AbstractContextManager[Tx]:
        """A transaction for `claim(tx, ...)`: a plain one where writers run one at a time anyway."""
        return self.transaction()

    def wait_for_events(self, after: int = 0, timeout: float = 30.0, limit: int | None = 1000,
                        types: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """Events after `after`, waiting up to `timeout` seconds for one to commit ([] if none did).

        Polls here; PostgreSQL overrides it and wakes on NOTIFY instead.
        """
        deadline = time.monotonic() + max(timeout, 0)
        while True:
            events = self.events_after(after, limit, types)
            left = deadline - time.monotonic()
            if events or left <= 0:
                return events
            time.sleep(min(EVENT_POLL_S, left))

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()  # type: ignore[attr-defined]


def open_store(url: str | None = None, root: Path | None = None, wait: float | None = None,
               create: bool = True) -> Store:
    """Open the store named by `url` (default: ORCHESTRA_STATE_URL, else the project's SQLite file).

    `wait`: seconds a write may wait for another writer before BusyError (on PostgreSQL the
    lock_timeout, unless the URL sets one; the default is generous, hooks pass less than their own
    time limit so they fail with a clear error instead of being killed). `create=False`: a store
    that does not exist yet (no file; no tables in the PostgreSQL schema, found on first use) is a
    StateError, and nothing is created."""
    from .. import paths

    url = url or paths.state_url(root)
    scheme, sep, rest = url.partition("://")
    if not sep:  # a libpq keyword string (password=...) is no URL, and must not show its password either
        from .pgurl import redacted

        raise StateError(f"state URL {redacted(url)!r}: expected sqlite:///path, json:///path or postgresql://...")
    if scheme in ("sqlite", "json"):
        path = _file_path(url, rest)
        if path.is_dir():
            raise StateError(f"{path}: a directory, not a state file; name a file in it "
                             f"({scheme}://{path / ('orchestration.db' if scheme == 'sqlite' else 'state.json')})")
        if not create and not path.is_file():
            raise StateError(f"{path}: no state store there (no such file); check the URL")
    if scheme == "sqlite":
        from .sqlite import SqliteStore

        return SqliteStore(path) if wait is None else SqliteStore(path, wait)
    if scheme == "json":
        from .jsonfile import JsonFileStore

        return JsonFileStore(path) if wait is None else JsonFileStore(path, wait)
    if scheme in ("postgresql", "postgres"):
        try:
            from .postgres import PostgresStore  # type: ignore[import-not-found]
        except ImportError as exc:
            raise StateError(f"state URL {url!r}: the PostgreSQL backend is not available ({exc})") from None
        return PostgresStore(url, create, wait)
    from .pgurl import redacted  # a mistyped scheme must not show the password either

    raise StateError(f"state URL {redacted(url)!r}: unknown scheme {scheme!r} (use sqlite, json or postgresql)")


def same_store(url: str, other: str) -> bool:
    """Whether two state URLs name one store, however they are spelled: the same file (one resolved
    path or one inode, whichever backend reads it) or the same PostgreSQL server, database and schema."""
    kinds = {_KINDS.get(u.partition("://")[0]) for u in (url, other)}
    if kinds == {"file"}:
        first, second = (_file_path(u, u.partition("://")[2]) for u in (url, other))
        return first.resolve() == second.resolve() or (first.exists() and second.exists() and first.samefile(second))
    if kinds == {"postgresql"}:
        from .postgres import identity

        return identity(url) == identity(other)
    return False


def file_identity(url: str) -> int | None:
    """What tells the store file at a URL's path from another put there since: the SQLite file's inode;
    0 for a JSON file that is there (every write gives it a new inode, so only its absence in between
    tells) and for a server; None when the file is gone."""
    scheme, _, path = url.partition("://")
    if scheme not in ("sqlite", "json"):
        return 0
    try:
        inode = os.stat(path).st_ino
    except FileNotFoundError:
        return None
    return inode if scheme == "sqlite" else 0


_KINDS = {"sqlite": "file", "json": "file", "postgresql": "postgresql", "postgres": "postgresql"}


def _file_path(url: str, rest: str) -> Path:
    # A relative path would name a different file from every working directory a hook runs in.
    if not rest.startswith("/") or rest.strip("/") == "":
        raise StateError(f"state URL {url!r}: the file path must be absolute, e.g. sqlite:///abs/path/state.db")
    return Path("/" + rest.lstrip("/"))  # sqlite:////abs (an extra slash) names the same file


def entity(tx: Tx, collection: str, entity_id: Any) -> dict[str, Any] | None:
    """The entity `entity_id` of `collection`, or None when there is none. An id someone typed is one
    path segment: `t1.title` (a part of t1), "" or "a b" names no entity, and nothing is read or
    written through it; each command says "no such ..." in its own words."""
    return tx.get(f"{collection}.{entity_id}", None) if is_segment(entity_id) else None


def claim(tx: Tx, collection: str, ids: Iterable[str]) -> list[dict[str, Any]]:
    """The entities `ids` of `collection`, held for `tx` to change, in the order given.

    Missing ids are left out. Inside PostgreSQL's `store.claiming()` so are rows another
    transaction holds right now (FOR UPDATE SKIP LOCKED: skipped, not waited for); backends whose
    writers run one at a time have nothing to skip and return every one that exists.
    """
    own = getattr(tx, "claim", None)
    if own is not None:
        return own(collection, ids)
    found = (entity(tx, collection, str(entity_id)) for entity_id in ids)  # `t1.title` names no entity
    return [held for held in found if held is not None]


def iter_entities(doc: dict[str, Any], collection: str) -> Iterator[tuple[str, dict[str, Any]]]:
    holder: Any = doc
    for key in collection.split("."):
        holder = holder.get(key, {}) if isinstance(holder, dict) else {}
    yield from (holder or {}).items()
