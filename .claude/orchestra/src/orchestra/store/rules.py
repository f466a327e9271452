"""What may be written where: plain-JSON values, settable and deletable paths, merge fields, find criteria.

Every backend checks a change here before touching anything, so bad input writes nothing and
fails with the same message whatever the backend.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from .document import KINDS, Address, collections_under, is_segment, long_id, parse_path, path_error
from .errors import PathError, StateError

_CRITERION_KEY = re.compile(r"[A-Za-z0-9_\-]+")


def check_json(path: str, value: Any, depth: int | None = None) -> Any:
    """Return a plain-JSON copy of `value`, or raise naming `path` and the part inside it that is not
    (NaN, sets, bytes, non-string keys, text UTF-8 cannot hold, nesting below MAX_DEPTH). `depth`: how
    deep in the document `value` sits, when `path` is not a dotted path from the top."""
    problem = _first_problem(value, len(path.split(".")) if depth is None and path else depth or 0)
    if problem:
        inside, why = problem
        where = ".".join([path, *inside[:12]] if path else inside[:12]) or "<root>"
        raise StateError(f"{where}{'...' if len(inside) > 12 else ''}: value is not plain JSON ({why})")
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError, RecursionError) as exc:
        raise StateError(f"{path or '<root>'}: value is not plain JSON ({exc})") from None


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`object_pairs_hook` for reading JSON text: an object naming a key twice is refused, where
    json.loads would keep the second and drop the first without a word."""
    obj = dict(pairs)
    if len(obj) < len(pairs):
        seen: set[str] = set()
        twice = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise StateError(f"the key {twice!r} appears twice in one object (the second would replace the first)")
    return obj


# Levels below the document's top that a value may reach. Backends and the CLI read, copy and print
# values recursively (the JSON file store gave up near 450 levels); counted from the top, whatever
# path a value is set at, so a whole exported document imports again.
MAX_DEPTH = 100


def _first_problem(value: Any, depth: int) -> tuple[list[str], str] | None:
    """Where (keys and list indexes from `value`) the first part that is not plain JSON is, and why."""
    stack: list[tuple[Any, int, tuple | None]] = [(value, depth, None)]  # (item, depth, (key, parent's place))
    while stack:
        item, depth, place = stack.pop()
        why = _not_json(item) if depth <= MAX_DEPTH else f"more than {MAX_DEPTH} levels deep in the state document"
        if why:
            keys: list[str] = []
            while place is not None:
                key, place = place
                keys.append(key)
            return keys[::-1], why
        if isinstance(item, dict):
            stack.extend((child, depth + 1, (key, place)) for key, child in reversed(item.items()))
        elif isinstance(item, list | tuple):
            stack.extend((child, depth + 1, (str(i), place)) for i, child in reversed(list(enumerate(item))))
    return None


def _not_json(item: Any) -> str:
    """Why `item` itself (its children aside) is not plain JSON, or ""."""
    if isinstance(item, str):
        return "" if _utf8(item) else "text with a lone surrogate (e.g. \\ud800), which UTF-8 cannot encode"
    if isinstance(item, float):
        return "" if math.isfinite(item) else f"{json.dumps(item)} is not a JSON number"
    if isinstance(item, dict):
        for key in item:
            if not isinstance(key, str):
                return f"object key {key!r} is not a string"
            if not _utf8(key):
                return f"object key {key!r} holds a lone surrogate, which UTF-8 cannot encode"
        return ""
    if item is None or isinstance(item, int | list | tuple):
        return ""
    return f"a {type(item).__name__} is not a JSON value"


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
    if addr.entity_id is not None:
        _check_length(addr.collection, addr.entity_id)
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
        if not is_segment(entity_id):  # `a.b` would be stored, and read back as field b of entity a
            raise path_error(f"{path}.{entity_id}", f"key {entity_id!r} is not an id (letters, digits, _ - : @ / +)")
        _check_length(collection, entity_id)
        _check_id(f"{path}.{entity_id}", entity_id, entity)
    return {k: {**v, "id": k} for k, v in value.items()}


def _check_length(collection: str, entity_id: str) -> None:
    """An id longer than MAX_ID_LENGTH is written nowhere (PostgreSQL could not index it); one a store
    already holds can still be read and deleted."""
    why = long_id(entity_id, KINDS.get(collection, "entity"))
    if why:
        raise PathError(f"{collection}: {why}; choose a shorter id")


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
