"""The append-only event log's record: one shape for new events, imported events and every backend."""

from __future__ import annotations

from typing import Any

from ..clock import now_iso
from .errors import StateError
from .rules import check_json

REFS = ("session_id", "agent_id", "task_id")
FIELDS = ("id", "ts", "type", *REFS, "data")
EVENT_DATA_DEPTH = 4  # observability.events.<n>.data
# The largest event id an import may carry: the largest integer JSON readers keep exactly (JavaScript's
# 2**53 - 1), far inside the 64 bits SQLite and PostgreSQL hold, with room for the events that follow.
MAX_EVENT_ID = 2**53 - 1


def make_event(event_id: int, type: str, data: dict[str, Any] | None, refs: dict[str, Any]) -> dict[str, Any]:
    """A new event, checked: a non-empty type, an object of plain-JSON data, string references."""
    if not isinstance(type, str) or not type:
        raise StateError(f"event type: expected a non-empty string, got {type!r}")
    unknown = set(refs) - {*REFS, "ts"}
    if unknown:
        raise StateError(f"event {type}: unknown reference field(s) {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(REFS)}, ts")
    return _checked({"id": event_id, "ts": refs.get("ts") or now_iso(), "type": type,
                     **{ref: refs.get(ref) for ref in REFS}, "data": {} if data is None else data},
                    f"event {type}")


def imported_event(event: Any, where: str) -> dict[str, Any]:
    """An event from an imported document, with absent references filled in (`ts` "" = unknown)."""
    event = _checked(stored_event(event, where), where)
    if event["id"] > MAX_EVENT_ID:
        raise StateError(f"{where}: id {event['id']} is past the largest event id, {MAX_EVENT_ID} (no later event "
                         "could be numbered); number the events from 1")
    return event


def stored_event(event: Any, where: str) -> dict[str, Any]:
    """An event as read back from JSON text (plain JSON already): its fields checked, absent ones filled in."""
    if not isinstance(event, dict):
        raise StateError(f"{where}: expected an object, got {type(event).__name__}")
    unknown = set(event) - set(FIELDS)
    if unknown:
        raise StateError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}; known: {', '.join(FIELDS)}")
    if not isinstance(event.get("id"), int) or isinstance(event["id"], bool) or event["id"] < 1:
        raise StateError(f"{where}: id must be a positive integer, got {event.get('id')!r}")
    if not isinstance(event.get("type"), str) or not event["type"]:
        raise StateError(f"{where}: type must be a non-empty string, got {event.get('type')!r}")
    return _typed({"id": event["id"], "ts": event.get("ts") or "", "type": event["type"],
                   **{ref: event.get(ref) for ref in REFS}, "data": {} if event.get("data") is None else event["data"]},
                  where)


def _checked(event: dict[str, Any], where: str) -> dict[str, Any]:
    """A new or imported event: as `_typed`, its data plain JSON, and no NUL in the fields PostgreSQL keeps
    as text (which cannot hold one: the other backends would take an event it refuses)."""
    event = _typed(event, where)
    for key in ("ts", "type", *REFS):
        if event[key] is not None and "\x00" in event[key]:
            raise StateError(f"{where}: {key} {event[key][:40]!r} holds a NUL character (U+0000), which no event "
                             "field but data may hold")
    event["data"] = check_json(f"{where}: data", event["data"], depth=EVENT_DATA_DEPTH)
    return event


def _typed(event: dict[str, Any], where: str) -> dict[str, Any]:
    if not isinstance(event["data"], dict):
        raise StateError(f"{where}: data must be an object, got {type(event['data']).__name__}")
    for key in ("ts", *REFS):
        if event[key] is not None and not isinstance(event[key], str):
            raise StateError(f"{where}: {key} must be a string, got {type(event[key]).__name__}")
    return event


_LAST_ID = 2**63 - 1  # the largest integer SQLite and PostgreSQL's bigint hold


def check_read(after: Any, limit: Any, types: Any, to: Any = ()) -> tuple[int, int | None, tuple[str, ...]]:
    """Arguments of `events_after`; a limit of None or below zero means no limit."""
    if not isinstance(after, int) or isinstance(after, bool):
        raise StateError(f"events_after: after must be an event id (integer), got {after!r}")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
        raise StateError(f"events_after: limit must be an integer or None, got {limit!r}")
    for name, names in (("types", types), ("to", to)):
        if isinstance(names, str) or not all(isinstance(t, str) for t in names):
            raise StateError(f"events_after: {name} must be a list of strings, got {names!r}")
    # Beyond 64 bits no event id lies (SQLite and PostgreSQL could not even be asked): read as the same bounds.
    return (min(max(after, -1), _LAST_ID), None if limit is None or limit < 0 or limit > _LAST_ID else limit,
            tuple(types))


def check_last(count: Any, types: Any) -> tuple[int, tuple[str, ...]]:
    """Arguments of `last_events`: how many (0 or more) and of which types."""
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise StateError(f"last_events: count must be 0 or a positive integer, got {count!r}")
    if isinstance(types, str) or not all(isinstance(t, str) for t in types):
        raise StateError(f"last_events: types must be a list of strings, got {types!r}")
    return min(count, _LAST_ID), tuple(types)


def selected(event: dict[str, Any], types: tuple[str, ...], to: tuple[str, ...]) -> bool:
    """Whether `events_after(..., types, to)` returns `event`: every event when neither is given, else one
    whose type is one of `types` or whose `data.to` is one of `to` (a string equal to one of them).
    The backends narrow the rows in SQL; this is the final say."""
    if not types and not to:
        return True
    target = event["data"].get("to") if to else None
    return event["type"] in types or (isinstance(target, str) and target in to)


def log_rewritten(store: Any, last: dict[str, Any] | None) -> bool:
    """Whether the event a follower of the log saw last is no longer there as it saw it: the log was
    replaced in place (`orchestra state import`, `state migrate --force` into this store), so new
    events may take ids at or below it and a follower reading on after it would never see them.
    One indexed read."""
    if last is None or not last.get("id"):
        return False
    found = store.events_after(last["id"] - 1, 1)
    return not found or found[0] != last
