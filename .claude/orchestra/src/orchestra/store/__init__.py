"""The state store: one `Store` protocol, backends chosen by URL (sqlite default, json file, postgresql)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from .errors import BusyError, CorruptStateError, PathError, StateError

__all__ = [
    "BusyError", "CorruptStateError", "PathError", "StateError", "Store", "Tx", "MISSING", "open_store",
]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Tx(Protocol):
    """One atomic unit of work. Everything done through it commits together or not at all."""

    def get(self, path: str, default: Any = MISSING) -> Any: ...
    def set(self, path: str, value: Any) -> None: ...
    def delete(self, path: str) -> None: ...
    def update(self, path: str, fields: dict[str, Any]) -> dict[str, Any]: ...
    def items(self, collection: str) -> dict[str, dict[str, Any]]: ...
    def find(self, collection: str, **equals: Any) -> list[dict[str, Any]]: ...
    def append_event(self, type: str, data: dict[str, Any] | None = None, **refs: Any) -> int: ...
    def events_after(self, after: int = 0, limit: int = 1000, types: tuple[str, ...] = ()) -> list[dict[str, Any]]: ...


class Store(Protocol):
    url: str

    def transaction(self) -> AbstractContextManager[Tx]: ...
    def snapshot(self) -> AbstractContextManager[Tx]: ...
    def export(self) -> dict[str, Any]: ...
    def import_document(self, doc: dict[str, Any]) -> None: ...
    def close(self) -> None: ...


class StoreBase:
    """Conveniences shared by every backend: single operations as their own transaction."""

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

    def export(self) -> dict[str, Any]:
        return self.get("")

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()  # type: ignore[attr-defined]


def open_store(url: str | None = None, root: Path | None = None) -> Store:
    """Open the store named by `url` (default: ORCHESTRA_STATE_URL, else the project's SQLite file)."""
    from .. import paths

    url = url or paths.state_url(root)
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise StateError(f"state URL {url!r}: expected sqlite:///path, json:///path or postgresql://...")
    if scheme == "sqlite":
        from .sqlite import SqliteStore

        return SqliteStore(_file_path(url, rest))
    if scheme == "json":
        from .jsonfile import JsonFileStore

        return JsonFileStore(_file_path(url, rest))
    if scheme in ("postgresql", "postgres"):
        try:
            from .postgres import PostgresStore  # type: ignore[import-not-found]
        except ImportError as exc:
            raise StateError(f"state URL {url!r}: the PostgreSQL backend is not available ({exc})") from None
        return PostgresStore(url)
    raise StateError(f"state URL {url!r}: unknown scheme {scheme!r} (use sqlite, json or postgresql)")


def _file_path(url: str, rest: str) -> Path:
    # A relative path would name a different file from every working directory a hook runs in.
    if not rest.startswith("/") or rest.strip("/") == "":
        raise StateError(f"state URL {url!r}: the file path must be absolute, e.g. sqlite:///abs/path/state.db")
    return Path("/" + rest.lstrip("/"))  # sqlite:////abs (an extra slash) names the same file


def iter_entities(doc: dict[str, Any], collection: str) -> Iterator[tuple[str, dict[str, Any]]]:
    holder: Any = doc
    for key in collection.split("."):
        holder = holder.get(key, {}) if isinstance(holder, dict) else {}
    yield from (holder or {}).items()
