"""Validate a whole document before it replaces the store's content (used by every backend's import)."""

from __future__ import annotations

from typing import Any

from .document import COLLECTIONS, TOP_LEVEL, check_json, check_settable, empty_document, parse_path
from .errors import StateError


def checked_document(doc: dict[str, Any]) -> dict[str, Any]:
    check_json("", doc)
    unknown = set(doc) - set(TOP_LEVEL)
    if unknown:
        raise StateError(f"import: unknown top-level key(s) {', '.join(sorted(unknown))}; known: {', '.join(TOP_LEVEL)}")
    out = empty_document()
    for key, value in doc.items():
        if key == "schema_version":
            continue
        if key in ("communication", "observability"):
            if not isinstance(value, dict):
                raise StateError(f"import: {key}: expected an object")
            out[key].update(value)
        else:
            out[key] = value
    for collection in COLLECTIONS:
        parent, _, leaf = collection.rpartition(".")
        holder = out[parent] if parent else out
        holder[leaf] = check_settable(parse_path(collection), holder.get(leaf) or {})
    events = out["observability"].get("events") or []
    if not isinstance(events, list) or not all(isinstance(e, dict) and isinstance(e.get("id"), int) for e in events):
        raise StateError("import: observability.events: expected a list of objects with integer ids")
    out["observability"]["events"] = sorted(events, key=lambda e: e["id"])
    return out
