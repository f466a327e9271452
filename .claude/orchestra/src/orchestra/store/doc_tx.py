"""Path operations over an in-memory state document (the file backend's transaction)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from . import MISSING
from .document import EVENTS_PATH, Address, assign, check_settable, dig, parse_path, remove
from .errors import PathError, StateError


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def make_event(event_id: int, type: str, data: dict[str, Any] | None, refs: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(type, str) or not type:
        raise StateError("event type: expected a non-empty string")
    unknown = set(refs) - {"session_id", "agent_id", "task_id", "ts"}
    if unknown:
        raise StateError(f"event {type}: unknown reference field(s) {', '.join(sorted(unknown))}")
    return {
        "id": event_id,
        "ts": refs.get("ts") or now_iso(),
        "type": type,
        "session_id": refs.get("session_id"),
        "agent_id": refs.get("agent_id"),
        "task_id": refs.get("task_id"),
        "data": data or {},
    }


def missing(path: str) -> StateError:
    return PathError(f"nothing stored at {path!r}")


class DocTx:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.dirty = False

    def _holder(self, collection: str) -> dict[str, Any]:
        holder = self.doc
        for key in collection.split("."):
            holder = holder.setdefault(key, {})
        return holder

    def get(self, path: str, default: Any = MISSING) -> Any:
        addr = parse_path(path)
        try:
            if addr.path == "":
                return copy.deepcopy(self.doc)
            value = dig(self.doc, tuple(path.split(".")), path)
            return copy.deepcopy(value)
        except KeyError:
            if default is MISSING:
                raise missing(path) from None
            return default

    def set(self, path: str, value: Any) -> None:
        addr = parse_path(path)
        value = copy.deepcopy(check_settable(addr, value))
        segments = tuple(path.split("."))
        if addr.entity_id is not None and addr.rest:
            entity = self._holder(addr.collection).get(addr.entity_id)
            entity = assign(entity if entity is not None else {"id": addr.entity_id}, addr.rest, value, path)
            self._holder(addr.collection)[addr.entity_id] = entity
        else:
            assign(self.doc, segments, value, path)
        self.dirty = True

    def delete(self, path: str) -> None:
        addr = parse_path(path)
        _check_deletable(addr)
        try:
            remove(self.doc, tuple(path.split(".")), path)
        except KeyError:
            raise missing(path) from None
        self.dirty = True

    def update(self, path: str, fields: dict[str, Any]) -> dict[str, Any]:
        current = self.get(path, None) or {}
        if not isinstance(current, dict):
            raise StateError(f"{path}: cannot merge fields into a {type(current).__name__}")
        merged = {**current, **fields}
        self.set(path, merged)
        return merged

    def items(self, collection: str) -> dict[str, dict[str, Any]]:
        addr = parse_path(collection)
        if not addr.is_collection:
            raise PathError(f"{collection!r} is not a collection")
        return copy.deepcopy(self._holder(collection))

    def find(self, collection: str, **equals: Any) -> list[dict[str, Any]]:
        return [e for e in self.items(collection).values() if all(e.get(k) == v for k, v in equals.items())]

    def append_event(self, type: str, data: dict[str, Any] | None = None, **refs: Any) -> int:
        events = self.doc.setdefault("observability", {}).setdefault("events", [])
        next_id = (events[-1]["id"] + 1) if events else 1
        event = make_event(next_id, type, data, refs)
        events.append(event)
        self.dirty = True
        return next_id

    def events_after(self, after: int = 0, limit: int = 1000, types: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        events = self.doc.get("observability", {}).get("events", [])
        out = [e for e in events if e["id"] > after and (not types or e["type"] in types)]
        return copy.deepcopy(out[:limit])


def _check_deletable(addr: Address) -> None:
    if addr.path == "" or addr.top == "schema_version" or addr.path.startswith(EVENTS_PATH):
        raise PathError(f"invalid path {addr.path!r}: cannot be deleted")
    if addr.entity_id is not None and addr.rest == ("id",):
        raise PathError(f"invalid path {addr.path!r}: an entity's id cannot be deleted")
