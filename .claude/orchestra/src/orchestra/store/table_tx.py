"""What a transaction does the same on every database that keeps the document in tables (`doc` for the
singletons, `entities` for collection members, `events`): turning paths into rows and rows back into
the document, and `set`, `delete`, `update`, `replace_all` over a handful of row primitives.

A backend (SqliteTx, PostgresTx) supplies the primitives, its own reads of whole collections (`items`,
`find`, `_event_rows` under `events_after` and `last_events`, `_event_types` under `event_types`),
`append_event`, and `_check_writable(whole)`: `whole` marks a write beyond single entities (collections,
singletons, events), which some transactions may not make.
"""

from __future__ import annotations

import json
from typing import Any

from . import MISSING
from .document import (
    COLLECTIONS,
    SCHEMA_VERSION,
    TOP_LEVEL,
    assign,
    collections_under,
    dig,
    filled,
    missing,
    normalized,
    parse_path,
    remove,
)
from .events import check_last, check_read, selected
from .rules import check_deletable, check_settable, merged


def dumps(value: Any) -> str:
    """A value as stored: compact JSON, non-ASCII kept as is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def event_row(event: dict[str, Any]) -> tuple:
    """An event as a row of the `events` table, id first."""
    return (event["id"], event["ts"], event["type"], event["session_id"], event["agent_id"], event["task_id"],
            dumps(event["data"]))


class TableTx:
    # -- the backend's row primitives ----------------------------------------------------------
    def _entity(self, collection: str, entity_id: str) -> dict[str, Any] | None:
        raise NotImplementedError

    def _singleton(self, key: str) -> Any:
        raise NotImplementedError

    def items(self, collection: str) -> dict[str, dict[str, Any]]:
        raise NotImplementedError

    def _event_rows(self, after: int, limit: int | None, types: tuple[str, ...],
                    to: tuple[str, ...], newest: bool = False) -> list[dict[str, Any]]:
        """Events after `after`, oldest first (newest first with `newest`), at most `limit`: those `selected`
        keeps, and perhaps a few more the database cannot tell apart from them (a `data.to` holding U+0000)."""
        raise NotImplementedError

    def events_after(self, after: int = 0, limit: int | None = 1000, types: tuple[str, ...] = (),
                     to: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """Events after `after`, oldest first, at most `limit`; with `types` or `to`, only those `selected`
        keeps (narrowed by the database: an indexed read by type, `data.to` compared there)."""
        after, limit, types = check_read(after, limit, types, to)
        to = tuple(to)
        out: list[dict[str, Any]] = []
        while limit is None or len(out) < limit:
            wanted = None if limit is None else limit - len(out)
            rows = self._event_rows(after, wanted, types, to)
            out += [event for event in rows if selected(event, types, to)]
            if wanted is None or len(rows) < wanted:
                break
            after = rows[-1]["id"]
        return out

    def last_events(self, count: int, types: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """The last `count` events (of `types`, when given), oldest first: one read back from the newest id."""
        count, types = check_last(count, types)
        return self._event_rows(0, count, types, (), newest=True)[::-1] if count else []

    def event_types(self) -> list[str]:
        """The types of event the log holds, each once, sorted (by code point, whatever the database's
        collation): read from the index by type, not event by event."""
        return sorted(self._event_types())

    def _event_types(self) -> list[str]:
        raise NotImplementedError

    def _check_writable(self, whole: bool = False) -> None:
        raise NotImplementedError

    def _put_entity(self, collection: str, entity_id: str, entity: dict[str, Any]) -> None:
        raise NotImplementedError

    def _put_singleton(self, key: str, value: Any) -> None:
        raise NotImplementedError

    def _replace_collection(self, collection: str, entities: dict[str, dict[str, Any]]) -> None:
        raise NotImplementedError

    def _delete_entity(self, collection: str, entity_id: str) -> bool:
        """Delete one entity; False when there was none."""
        raise NotImplementedError

    def _delete_collection(self, collection: str) -> None:
        raise NotImplementedError

    def _delete_singleton(self, key: str) -> None:
        raise NotImplementedError

    def _restart(self, events: list[dict[str, Any]]) -> None:
        """Empty every table, then hold exactly `events` (ids kept; new ids continue after them)."""
        raise NotImplementedError

    # -- reads -----------------------------------------------------------------------------------
    def _top(self, top: str) -> Any:
        """A whole top-level value, with the collections and events stored below it."""
        if top == "schema_version":
            return SCHEMA_VERSION
        if top in COLLECTIONS:
            return self.items(top)
        value = self._singleton(top)
        value = filled(top, value if isinstance(value, dict) else {})
        for collection in collections_under(top):
            value[collection.split(".", 1)[1]] = self.items(collection)
        if top == "observability":
            value["events"] = self.events_after(0, limit=None)
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
            return dig(self._top(addr.top), addr.rest, path)
        except KeyError:
            if default is MISSING:
                raise missing(path) from None
            return default

    def export(self) -> dict[str, Any]:
        return normalized({top: self._top(top) for top in TOP_LEVEL})

    # -- writes ----------------------------------------------------------------------------------
    def set(self, path: str, value: Any) -> None:
        self._check_writable()
        addr = parse_path(path)
        value = check_settable(addr, value)  # everything is checked before the first row changes
        if addr.entity_id is not None:
            current = self._entity(addr.collection, addr.entity_id) if addr.rest else None
            entity = assign(current if current is not None else {"id": addr.entity_id}, addr.rest, value, path)
            self._put_entity(addr.collection, addr.entity_id, entity)
            return
        self._check_writable(whole=True)
        if addr.is_collection:
            self._replace_collection(addr.collection, value)
        elif not addr.rest:
            self._set_top(addr.top, value)
        else:
            current = self._singleton(addr.top)
            self._put_singleton(addr.top, assign(current if isinstance(current, dict) else {}, addr.rest, value, path))

    def _set_top(self, top: str, value: dict[str, Any]) -> None:
        nested = {c.split(".", 1)[1]: c for c in collections_under(top)}
        for leaf, collection in nested.items():
            self._replace_collection(collection, value[leaf])
        self._put_singleton(top, {k: v for k, v in value.items() if k not in nested})

    def delete(self, path: str) -> None:
        self._check_writable()
        addr = parse_path(path)
        check_deletable(addr)
        if addr.entity_id is not None and not addr.rest:
            if not self._delete_entity(addr.collection, addr.entity_id):
                raise missing(path)
            return
        if addr.entity_id is not None:
            entity = self._entity(addr.collection, addr.entity_id)
            try:
                remove(entity, addr.rest, path)
            except (KeyError, TypeError):
                raise missing(path) from None
            self._put_entity(addr.collection, addr.entity_id, entity)
            return
        self._check_writable(whole=True)
        if addr.is_collection:
            self._delete_collection(addr.collection)
        elif not addr.rest:
            self._delete_singleton(addr.top)
            for collection in collections_under(addr.top):
                self._delete_collection(collection)
        else:
            current = self._singleton(addr.top)
            if addr.rest[1:] == () and addr.rest[0] in filled(addr.top, {}) and addr.rest[0] not in (current or {}):
                return  # a part it always has (metrics), not stored: it reads as empty already
            try:
                remove(current, addr.rest, path)
            except (KeyError, TypeError):
                raise missing(path) from None
            self._put_singleton(addr.top, current)

    def update(self, path: str, fields: dict[str, Any]) -> dict[str, Any]:
        self._check_writable()
        self.set(path, merged(path, self.get(path, None), fields))
        return self.get(path)

    def replace_all(self, doc: dict[str, Any]) -> None:
        """Replace everything with a document already checked by import_check."""
        self._check_writable(whole=True)
        self._restart(doc["observability"]["events"])
        for top, value in doc.items():
            if top == "schema_version":
                continue
            if top in COLLECTIONS:
                self._replace_collection(top, value)
            else:
                self._set_top(top, {k: v for k, v in value.items() if k != "events"})
