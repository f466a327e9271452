"""What may be written where: plain-JSON values, settable and deletable paths, merge fields, find criteria.

Every backend checks a change here before touching anything, so bad input writes nothing and
fails with the same message whatever the backend.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .document import Address, collections_under, parse_path, path_error
from .errors import PathError, StateError

_CRITERION_KEY = re.compile(r"[A-Za-z0-9_\-]+")


def check_json(path: str, value: Any) -> Any:
    """Return a plain-JSON copy of `value`, or raise naming `path` (NaN, sets, bytes, non-string keys...)."""
    where = path or "<root>"
    bad_keys = _non_string_keys(value)
    if bad_keys:
        raise StateError(f"{where}: value is not plain JSON (object key {bad_keys[0]!r} is not a string)")
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError, RecursionError) as exc:
        raise StateError(f"{where}: value is not plain JSON ({exc})") from None


def _non_string_keys(value: Any) -> list[Any]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    return [key]
                stack.append(child)
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return []


def check_settable(addr: Address, value: Any) -> Any:
    """Validate a value about to be written at `addr`; return the plain-JSON value to store."""
    value = check_json(addr.path, value)
    if addr.path == "":
        raise PathError("invalid path '': set a key below the root, or use `state import` for a whole document")
    if addr.top == "schema_version":
        raise PathError("schema_version is managed by migrations and cannot be set")
    if addr.is_events or (addr.path == "observability" and isinstance(value, dict) and "events" in value):
        raise PathError(f"{addr.path}: events are append-only; append an event instead")
    if addr.is_collection:
        return _checked_collection(addr.path, value)
    if addr.entity_id is not None and not addr.rest:
        if not isinstance(value, dict):
            raise StateError(f"{addr.path}: expected an object, got {type(value).__name__}")
        _check_id(addr.path, addr.entity_id, value)
        return {**value, "id": addr.entity_id}
    if addr.entity_id is not None and addr.rest == ("id",) and value != addr.entity_id:
        raise StateError(f"{addr.path}: an entity's id is its key ({addr.entity_id!r}) and cannot change")
    if addr.collection is None and not addr.rest:
        if not isinstance(value, dict):
            raise StateError(f"{addr.path}: expected an object, got {type(value).__name__}")
        for collection in collections_under(addr.top):
            leaf = collection.split(".", 1)[1]
            value[leaf] = _checked_collection(collection, value.get(leaf, {}))
    return value


def _checked_collection(path: str, value: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise StateError(f"{path}: expected an object mapping ids to objects")
    collection = parse_path(path).collection or path
    for entity_id, entity in value.items():
        parse_path(f"{collection}.{entity_id}")
        _check_id(f"{path}.{entity_id}", entity_id, entity)
    return {k: {**v, "id": k} for k, v in value.items()}


def _check_id(path: str, entity_id: str, entity: dict[str, Any]) -> None:
    if "id" in entity and entity["id"] != entity_id:
        raise StateError(f"{path}: field id {entity['id']!r} does not match its key {entity_id!r}")


def check_deletable(addr: Address) -> None:
    if addr.is_events or addr.path == "observability":
        raise PathError(f"invalid path {addr.path!r}: cannot be deleted, events are append-only")
    if addr.path == "" or addr.top == "schema_version":
        raise PathError(f"invalid path {addr.path!r}: cannot be deleted")
    if addr.entity_id is not None and addr.rest == ("id",):
        raise PathError(f"invalid path {addr.path!r}: an entity's id cannot be deleted")


def merged(path: str, current: Any, fields: Any) -> dict[str, Any]:
    """`update`: `current` with `fields` merged in (one level deep)."""
    if not isinstance(fields, dict):
        raise StateError(f"{path}: update needs an object of fields, got {type(fields).__name__}")
    if current is None:
        current = {}
    if not isinstance(current, dict):
        raise StateError(f"{path}: cannot merge fields into a {type(current).__name__}")
    out = {**current, **fields}
    if path == "observability" and "events" not in fields:
        out.pop("events", None)  # events are not merged, they stay as appended
    return out


def check_criteria(collection: str, equals: dict[str, Any]) -> Address:
    """`find`: the collection must be one, each criterion a field name and a JSON scalar."""
    addr = parse_path(collection)
    if not addr.is_collection:
        raise PathError(f"{collection!r} is not a collection")
    for key, value in equals.items():
        if not _CRITERION_KEY.fullmatch(key):
            raise path_error(f"{collection}.{key}", f"find: bad key {key!r} (letters, digits, _ and - only)")
        if value is not None and not isinstance(value, str | int | float | bool):
            raise StateError(f"find {collection}: {key} must be a string, number, boolean or None, "
                             f"got {type(value).__name__}")
    return addr


def matches(entity: dict[str, Any], equals: dict[str, Any]) -> bool:
    """Typed equality: True matches only true (not 1), None matches null or a missing field."""
    for key, wanted in equals.items():
        value = entity.get(key)
        if wanted is None:
            if value is not None:
                return False
        elif isinstance(wanted, bool) or isinstance(value, bool):
            if value is not wanted:
                return False
        elif isinstance(wanted, str) != isinstance(value, str) or value != wanted:
            return False
    return True
