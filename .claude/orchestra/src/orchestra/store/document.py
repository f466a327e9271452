"""The state document's shape: top-level keys, id-keyed collections, dotted-path addressing, migrations."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

SCHEMA_VERSION = 1

# Id-keyed collections: each entry is one object, stored as one row on row-based backends.
COLLECTIONS: tuple[str, ...] = (
    "projects",
    "epics",
    "sprints",
    "tasks",
    "agents",
    "delegations",
    "sessions",
    "worktrees",
    "communication.messages",
    "communication.deliveries",
)
# Top-level keys. The events list lives under observability.events but is read-only through paths.
TOP_LEVEL: tuple[str, ...] = (
    "schema_version",
    "organization",
    "projects",
    "epics",
    "sprints",
    "tasks",
    "agents",
    "delegations",
    "sessions",
    "worktrees",
    "communication",
    "observability",
)
EVENTS_PATH = "observability.events"

_SEGMENT = re.compile(r"^[A-Za-z0-9_\-:@/+]+$")


@dataclass(frozen=True)
class Address:
    """Where a dotted path points: a whole collection, one entity (plus a path inside it), or a singleton."""

    path: str
    top: str
    collection: str | None = None
    entity_id: str | None = None
    rest: tuple[str, ...] = ()

    @property
    def is_collection(self) -> bool:
        return self.collection is not None and self.entity_id is None


def parse_path(path: str) -> Address:
    if not isinstance(path, str):
        raise _path_error(str(path), "a path must be a string")
    if path == "":
        return Address(path="", top="")
    segments = path.split(".")
    for segment in segments:
        if not segment:
            raise _path_error(path, "empty segment (two dots, or a dot at an end)")
        if not _SEGMENT.match(segment):
            raise _path_error(path, f"segment {segment!r} has characters other than letters, digits, _ - : @ / +")
    top = segments[0]
    if top not in TOP_LEVEL:
        raise _path_error(path, f"unknown key {top!r}; known keys: {', '.join(TOP_LEVEL)}")
    if path == EVENTS_PATH or path.startswith(EVENTS_PATH + "."):
        return Address(path=path, top=top)
    for collection in COLLECTIONS:
        depth = collection.count(".") + 1
        if tuple(segments[:depth]) == tuple(collection.split(".")):
            entity_id = segments[depth] if len(segments) > depth else None
            return Address(path, top, collection, entity_id, tuple(segments[depth + 1:]))
    return Address(path=path, top=top, rest=tuple(segments[1:]))


def collections_under(prefix: str) -> list[str]:
    """Collections stored below a singleton prefix, e.g. 'communication' -> its messages and deliveries."""
    return [c for c in COLLECTIONS if c.startswith(prefix + ".")]


def check_json(path: str, value: Any) -> Any:
    """Reject values that are not plain JSON (NaN, sets, objects) with the path named."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        from .errors import StateError

        raise StateError(f"{path or '<root>'}: value is not plain JSON ({exc})") from None
    if isinstance(value, float) and not math.isfinite(value):  # pragma: no cover - caught above
        raise ValueError(path)
    return value


def dig(value: Any, rest: tuple[str, ...], path: str) -> Any:
    for i, key in enumerate(rest):
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            raise KeyError(".".join(rest[: i + 1]))
    return value


def assign(container: Any, rest: tuple[str, ...], value: Any, path: str) -> Any:
    """Return `container` with `value` placed at `rest`, creating objects on the way."""
    if not rest:
        return value
    if container is None:
        container = {}
    if not isinstance(container, dict):
        raise _path_error(path, f"cannot set {rest[0]!r} inside a {type(container).__name__}")
    container[rest[0]] = assign(container.get(rest[0]), rest[1:], value, path)
    return container


def remove(container: Any, rest: tuple[str, ...], path: str) -> None:
    parent = dig(container, rest[:-1], path) if len(rest) > 1 else container
    if not isinstance(parent, dict) or rest[-1] not in parent:
        raise KeyError(path)
    del parent[rest[-1]]


def empty_document() -> dict[str, Any]:
    doc: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
    for key in TOP_LEVEL[1:]:
        doc[key] = {}
    doc["communication"] = {"messages": {}, "deliveries": {}}
    doc["observability"] = {"events": [], "metrics": {}}
    return doc


def migrate(doc: dict[str, Any]) -> dict[str, Any]:
    """Bring an older document forward to SCHEMA_VERSION, one step at a time."""
    version = doc.get("schema_version", 0)
    if not isinstance(version, int) or version < 0:
        from .errors import StateError

        raise StateError(f"schema_version: expected a non-negative integer, got {version!r}")
    if version > SCHEMA_VERSION:
        from .errors import StateError

        raise StateError(
            f"schema_version {version} is newer than this Orchestra understands ({SCHEMA_VERSION}); upgrade the pack"
        )
    while version < SCHEMA_VERSION:
        doc = _MIGRATIONS[version](doc)
        version += 1
        doc["schema_version"] = version
    return doc


def _v0_to_v1(doc: dict[str, Any]) -> dict[str, Any]:
    """The seed's file kept some collections as lists of objects with an `id`; key them by id."""
    out = empty_document()
    for key, value in doc.items():
        if key in ("communication", "observability") and isinstance(value, dict):
            out[key].update(value)
        elif key in TOP_LEVEL:
            out[key] = value
    for collection in COLLECTIONS:
        parent, _, leaf = collection.rpartition(".")
        holder = out[parent] if parent else out
        items = holder.get(leaf)
        if isinstance(items, list):
            holder[leaf] = {str(item["id"]): item for item in items if isinstance(item, dict) and "id" in item}
        elif items is None:
            holder[leaf] = {}
    events = out["observability"].get("events", [])
    out["observability"]["events"] = [
        {**event, "id": event.get("id", i + 1)} for i, event in enumerate(events) if isinstance(event, dict)
    ]
    return out


_MIGRATIONS = {0: _v0_to_v1}


def _path_error(path: str, why: str):
    from .errors import PathError

    return PathError(f"invalid path {path!r}: {why}")


def check_settable(addr: Address, value: Any) -> Any:
    """Validate a value about to be written at `addr`; return the value to store."""
    from .errors import PathError, StateError

    check_json(addr.path, value)
    if addr.path == "":
        raise PathError("invalid path '': set a key below the root, or use `state import` for a whole document")
    if addr.top == "schema_version":
        raise PathError("schema_version is managed by migrations and cannot be set")
    if addr.path == EVENTS_PATH or addr.path.startswith(EVENTS_PATH + "."):
        raise PathError(f"{addr.path}: events are append-only; append an event instead")
    if addr.is_collection:
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
            raise StateError(f"{addr.path}: expected an object mapping ids to objects")
        for entity_id, entity in value.items():
            parse_path(f"{addr.collection}.{entity_id}")
            _check_id(f"{addr.path}.{entity_id}", entity_id, entity)
        return {k: {**v, "id": k} for k, v in value.items()}
    if addr.entity_id is not None and not addr.rest:
        if not isinstance(value, dict):
            raise StateError(f"{addr.path}: expected an object, got {type(value).__name__}")
        _check_id(addr.path, addr.entity_id, value)
        return {**value, "id": addr.entity_id}
    if addr.entity_id is not None and addr.rest == ("id",) and value != addr.entity_id:
        raise StateError(f"{addr.path}: an entity's id is its key ({addr.entity_id!r}) and cannot change")
    if addr.collection is None and not addr.rest and not isinstance(value, dict):
        raise StateError(f"{addr.path}: expected an object, got {type(value).__name__}")
    return value


def _check_id(path: str, entity_id: str, entity: dict[str, Any]) -> None:
    from .errors import StateError

    if "id" in entity and entity["id"] != entity_id:
        raise StateError(f"{path}: field id {entity['id']!r} does not match its key {entity_id!r}")
