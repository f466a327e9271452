"""The state document's shape: top-level keys, id-keyed collections, dotted-path addressing, migrations.

Every backend stores and exports this one shape (`normalized`), whatever it keeps on disk.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from ..record import Record
from .errors import PathError, StateError

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
    "denials",
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
    "denials",
    "communication",
    "observability",
)
EVENTS_PATH = "observability.events"

_SEGMENT = re.compile(r"[A-Za-z0-9_\-:@/+]+")
# The most characters an entity's id may have (ids are ASCII: bytes too): a file name's 255. Generous for
# ids people type and tags agents copy, enough for the ids Orchestra makes from others (a worktree name of
# up to 207, a delivery `<message id>@<run>` of up to 247), and far inside what every backend keeps:
# PostgreSQL's primary-key index takes about 2,700 bytes a row.
MAX_ID_LENGTH = 255
# What one entity of each collection is called in messages.
KINDS: dict[str, str] = {"projects": "project", "epics": "epic", "sprints": "sprint", "tasks": "task",
                         "agents": "agent run", "delegations": "delegation", "sessions": "session",
                         "worktrees": "worktree", "denials": "denial", "communication.messages": "message",
                         "communication.deliveries": "delivery"}


class Address(Record):
    """Where a dotted path points: a whole collection, one entity (plus a path inside it), or a singleton."""

    path: str
    top: str
    collection: str | None = None
    entity_id: str | None = None
    rest: tuple[str, ...] = ()

    @property
    def is_collection(self) -> bool:
        return self.collection is not None and self.entity_id is None

    @property
    def is_events(self) -> bool:
        return self.path == EVENTS_PATH or self.path.startswith(EVENTS_PATH + ".")


def parse_path(path: str) -> Address:
    if not isinstance(path, str):
        raise path_error(str(path), "a path must be a string")
    if path == "":
        return Address(path="", top="")
    segments = path.split(".")
    for segment in segments:
        if not segment:
            raise path_error(path, "empty segment (two dots, or a dot at an end)")
        if not _SEGMENT.fullmatch(segment):
            raise path_error(path, f"segment {segment!r} has characters other than letters, digits, _ - : @ / +")
    top = segments[0]
    if top not in TOP_LEVEL:
        raise path_error(path, f"unknown key {top!r}; known keys: {', '.join(TOP_LEVEL)}")
    if path == EVENTS_PATH or path.startswith(EVENTS_PATH + "."):
        return Address(path=path, top=top, rest=tuple(segments[1:]))
    for collection in COLLECTIONS:
        depth = collection.count(".") + 1
        if tuple(segments[:depth]) == tuple(collection.split(".")):
            entity_id = segments[depth] if len(segments) > depth else None
            return Address(path, top, collection, entity_id, tuple(segments[depth + 1:]))
    return Address(path=path, top=top, rest=tuple(segments[1:]))


def is_entity_id(value: Any) -> bool:
    """`value` can name one entity of a collection: a single path segment of at most MAX_ID_LENGTH
    characters. `t1.title` names a part of entity t1, and "", "a b" or "ünï" no path at all."""
    return isinstance(value, str) and len(value) <= MAX_ID_LENGTH and _SEGMENT.fullmatch(value) is not None


def is_segment(value: Any) -> bool:
    """`value` is one path segment, of any length: an id a store written before MAX_ID_LENGTH may hold,
    which can still be read and deleted."""
    return isinstance(value, str) and _SEGMENT.fullmatch(value) is not None


def long_id(entity_id: Any, kind: str = "entity") -> str | None:
    """Why `entity_id` is too long to be the id of a `kind` ("task", "sprint"...), or None when it is not (or
    is no string). The store writes no such id: a lookup that finds nothing for one says this, not "no such"."""
    if not isinstance(entity_id, str) or len(entity_id) <= MAX_ID_LENGTH:
        return None
    return (f"{kind} id {entity_id[:40]!r}... is {len(entity_id)} characters long; an id has at most "
            f"{MAX_ID_LENGTH} characters")


def path_error(path: str, why: str) -> PathError:
    return PathError(f"invalid path {path!r}: {why}")


def missing(path: str) -> PathError:
    return PathError(f"nothing stored at {path!r}")


def collections_under(prefix: str) -> list[str]:
    """Collections stored below a singleton prefix, e.g. 'communication' -> its messages and deliveries."""
    return [c for c in COLLECTIONS if c.startswith(prefix + ".")]


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
    """Return `container` with `value` placed at `rest`, creating objects on the way.

    Nothing is changed unless the whole assignment succeeds (the parent is written after the child).
    """
    if not rest:
        return value
    if container is None:
        container = {}
    if not isinstance(container, dict):
        raise path_error(path, f"cannot set {rest[0]!r} inside a {type(container).__name__}")
    container[rest[0]] = assign(container.get(rest[0]), rest[1:], value, path)
    return container


def remove(container: Any, rest: tuple[str, ...], path: str) -> None:
    parent = dig(container, rest[:-1], path) if len(rest) > 1 else container
    if not isinstance(parent, dict) or rest[-1] not in parent:
        raise KeyError(path)
    del parent[rest[-1]]


def empty_value(top: str) -> Any:
    """What a top-level key holds when nothing was stored there."""
    if top == "schema_version":
        return SCHEMA_VERSION
    if top == "observability":
        return {"events": [], "metrics": {}}
    return {leaf.split(".", 1)[1]: {} for leaf in collections_under(top)}


def empty_document() -> dict[str, Any]:
    return {key: empty_value(key) for key in TOP_LEVEL}


def filled(top: str, value: Any) -> Any:
    """A top-level object with its always-present parts (nested collections, events, metrics) first."""
    if top == "schema_version" or not isinstance(value, dict):
        return value
    defaults = empty_value(top)
    return {**defaults, **value} if defaults else value


def normalized(doc: dict[str, Any]) -> dict[str, Any]:
    """The export shape: every top-level key in order, parts filled in, collections ordered by id."""
    out: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
    for top in TOP_LEVEL[1:]:
        value = filled(top, doc.get(top, empty_value(top)))
        if top in COLLECTIONS:
            value = dict(sorted(value.items()))
        for collection in collections_under(top):
            leaf = collection.split(".", 1)[1]
            value[leaf] = dict(sorted(value[leaf].items()))
        out[top] = value
    return out


# -- migrations -----------------------------------------------------------------------------------

def migrate(doc: dict[str, Any]) -> dict[str, Any]:
    """Bring an older document forward to SCHEMA_VERSION, one step at a time (the input is not changed)."""
    version = doc.get("schema_version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise StateError(f"schema_version: expected a non-negative integer, got {version!r}")
    if version > SCHEMA_VERSION:
        raise StateError(
            f"schema_version {version} is newer than this Orchestra understands ({SCHEMA_VERSION}); upgrade the pack"
        )
    while version < SCHEMA_VERSION:
        doc = _MIGRATIONS[version](doc)
        version += 1
        doc["schema_version"] = version
    return doc


def _v0_to_v1(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 0 is the seed's file store document (no `schema_version` key).

    It had the same top-level keys, but kept the id-keyed collections as lists of objects that
    carry an `id` (`"tasks": [{"id": "task-1", ...}]`, `"communication": {"messages": [...]}`),
    and its events had no ids (`"observability": {"events": [{"type": ..., "ts": ...}]}`).
    Lists are keyed by id and events numbered in file order. Anything that cannot be carried
    forward (an unknown key, an entry without an id, two entries with one id) is refused, so no
    data is silently dropped.
    """
    unknown = sorted(set(doc) - set(TOP_LEVEL))
    if unknown:
        raise StateError(
            f"schema_version 0 document: unknown top-level key(s) {', '.join(unknown)}; "
            f"move them under 'organization' or remove them (known: {', '.join(TOP_LEVEL)})"
        )
    out = copy.deepcopy({k: v for k, v in doc.items() if k != "schema_version"})
    for collection in COLLECTIONS:
        parent, _, leaf = collection.rpartition(".")
        holder = out.get(parent) if parent else out
        if not isinstance(holder, dict) or not isinstance(holder.get(leaf), list):
            continue
        keyed: dict[str, Any] = {}
        for i, item in enumerate(holder[leaf]):
            where = f"{collection}[{i}]"
            if not isinstance(item, dict) or item.get("id") in (None, ""):
                raise StateError(f"schema_version 0 document: {where} has no id; give it one or remove it")
            key = str(item["id"])
            if key in keyed:
                raise StateError(f"schema_version 0 document: {where}: duplicate id {key!r}")
            keyed[key] = {**item, "id": key}
        holder[leaf] = keyed
    observability = out.get("observability")
    if isinstance(observability, dict) and isinstance(observability.get("events"), list):
        observability["events"] = [
            {**event, "id": event.get("id", i + 1)} if isinstance(event, dict) else event
            for i, event in enumerate(observability["events"])
        ]
    return out


_MIGRATIONS = {0: _v0_to_v1}
