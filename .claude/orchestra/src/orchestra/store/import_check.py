"""Check a whole document before it replaces a store's content (every backend's import goes through it)."""

from __future__ import annotations

from typing import Any

from .document import COLLECTIONS, TOP_LEVEL, migrate, normalized, parse_path
from .errors import StateError
from .events import imported_event
from .rules import check_json, check_settable


def checked_document(doc: Any) -> dict[str, Any]:
    """The document migrated to the current schema, validated and normalized; raises naming the bad part."""
    if not isinstance(doc, dict):
        raise StateError(f"import: expected a JSON object, got {type(doc).__name__}")
    doc = migrate(check_json("", doc))
    unknown = set(doc) - set(TOP_LEVEL)
    if unknown:
        raise StateError(f"import: unknown top-level key(s) {', '.join(sorted(unknown))}; known: {', '.join(TOP_LEVEL)}")
    for key, value in doc.items():
        if key != "schema_version" and not isinstance(value, dict):
            raise StateError(f"import: {key}: expected an object, got {type(value).__name__}")
    for collection in COLLECTIONS:
        parent, _, leaf = collection.rpartition(".")
        value = doc.get(parent, {}).get(leaf, {}) if parent else doc.get(leaf, {})
        if not isinstance(value, dict):
            raise StateError(f"import: {collection}: expected an object mapping ids to objects")
    events = doc.get("observability", {}).pop("events", [])
    out = normalized(doc)
    for top in TOP_LEVEL[1:]:
        value = {k: v for k, v in out[top].items() if k != "events"} if top == "observability" else out[top]
        out[top] = check_settable(parse_path(top), value)
    if not isinstance(events, list):
        raise StateError(f"import: observability.events: expected a list, got {type(events).__name__}")
    checked = [imported_event(event, f"import: observability.events[{i}]") for i, event in enumerate(events)]
    seen: set[int] = set()
    for event in checked:
        if event["id"] in seen:
            raise StateError(f"import: observability.events: duplicate event id {event['id']}")
        seen.add(event["id"])
    out["observability"]["events"] = sorted(checked, key=lambda e: e["id"])
    return out
