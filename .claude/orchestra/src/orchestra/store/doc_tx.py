"""Path operations over an in-memory state document (the file backend's transaction)."""

from __future__ import annotations

import copy
from typing import Any

from . import MISSING
from .document import (
    assign,
    dig,
    empty_value,
    filled,
    missing,
    normalized,
    parse_path,
    remove,
)
from .errors import StateError
from .events import check_last, check_read, make_event, selected
from .rules import check_criteria, check_deletable, check_settable, matches, merged


class DocTx:
    """A transaction over one whole document; `dirty` tells the backend whether to write it back."""

    def __init__(self, doc: dict[str, Any], readonly: bool = False) -> None:
        self.doc = doc
        self.readonly = readonly
        self.dirty = False

    def _holder(self, collection: str) -> dict[str, Any]:
        holder: Any = self.doc
        for key in collection.split("."):
            holder = holder.get(key, {}) if isinstance(holder, dict) else {}
        return holder

    def _check_writable(self) -> None:
        if self.readonly:
            raise StateError("write attempted inside a read-only snapshot; use store.transaction()")

    def get(self, path: str, default: Any = MISSING) -> Any:
        addr = parse_path(path)
        try:
            if addr.path == "":
                return normalized(copy.deepcopy(self.doc))
            if addr.is_collection:
                return self.items(addr.path)
            if addr.collection:
                value = dig(self.doc, tuple(path.split(".")), path)
            else:
                value = dig(filled(addr.top, self.doc.get(addr.top, empty_value(addr.top))), addr.rest, path)
            return copy.deepcopy(value)
        except KeyError:
            if default is MISSING:
                raise missing(path) from None
            return default

    def set(self, path: str, value: Any) -> None:
        self._check_writable()
        addr = parse_path(path)
        value = check_settable(addr, value)
        segments = tuple(path.split("."))
        if addr.entity_id is not None and addr.rest:
            holder = self.doc.setdefault(addr.top, {})
            for key in addr.collection.split(".")[1:]:
                holder = holder.setdefault(key, {})
            entity = holder.get(addr.entity_id)
            holder[addr.entity_id] = assign(entity if entity is not None else {"id": addr.entity_id},
                                            addr.rest, value, path)
        elif addr.path == "observability":
            self.doc["observability"] = {**value, "events": self.doc.get("observability", {}).get("events", [])}
        else:
            assign(self.doc, segments, value, path)
        self.doc[addr.top] = filled(addr.top, self.doc[addr.top])
        self.dirty = True

    def delete(self, path: str) -> None:
        self._check_writable()
        addr = parse_path(path)
        check_deletable(addr)
        if addr.is_collection or (addr.collection is None and not addr.rest):
            self._reset(addr.path)
        else:
            try:
                remove(self.doc, tuple(path.split(".")), path)
            except KeyError:
                raise missing(path) from None
        self.dirty = True

    def _reset(self, path: str) -> None:
        parent, _, leaf = path.rpartition(".")
        holder = self._holder(parent) if parent else self.doc
        holder[leaf] = empty_value(leaf) if not parent else {}

    def update(self, path: str, fields: dict[str, Any]) -> dict[str, Any]:
        self._check_writable()
        value = merged(path, self.get(path, None), fields)
        self.set(path, value)
        return self.get(path)

    def items(self, collection: str) -> dict[str, dict[str, Any]]:
        check_criteria(collection, {})
        return copy.deepcopy(dict(sorted(self._holder(collection).items())))

    def find(self, collection: str, **equals: Any) -> list[dict[str, Any]]:
        check_criteria(collection, equals)
        return [copy.deepcopy(entity) for _, entity in sorted(self._holder(collection).items())
                if matches(entity, equals)]

    def _events(self) -> list[dict[str, Any]]:
        return self.doc.get("observability", {}).get("events", [])

    def append_event(self, type: str, data: dict[str, Any] | None = None, **refs: Any) -> int:
        self._check_writable()
        events = self._events()
        event = make_event((events[-1]["id"] + 1) if events else 1, type, data, refs)
        self.doc.setdefault("observability", empty_value("observability")).setdefault("events", []).append(event)
        self.dirty = True
        return event["id"]

    def events_after(self, after: int = 0, limit: int | None = 1000, types: tuple[str, ...] = (),
                     to: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        after, limit, types = check_read(after, limit, types, to)
        to = tuple(to)
        out = []
        for event in self._events():
            if event["id"] > after and selected(event, types, to):
                if limit is not None and len(out) >= limit:
                    break
                out.append(copy.deepcopy(event))
        return out

    def last_events(self, count: int, types: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        count, types = check_last(count, types)
        kept = [event for event in self._events() if not types or event["type"] in types]
        return copy.deepcopy(kept[-count:]) if count else []

    def event_types(self) -> list[str]:
        return sorted({event["type"] for event in self._events()})
