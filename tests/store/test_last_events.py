"""`last_events(count, types)`: the newest events of the log, oldest first, read back from the newest id on
every backend, and exactly the tail of the whole log read in order (what the dashboard and `orchestra events
tail -n N` computed before, reading every event)."""

from __future__ import annotations

import pytest
from orchestra.store import StateError, Store

TYPES = ("task_completed", "tool_failed", "message.sent", "agent_started", "task.status")


def _mixed(store: Store) -> None:
    """An imported log with gaps in its ids (as `state import` leaves it), then a busy log of many types:
    data holding U+0000 and a `to`, references, and one type seen once."""
    store.import_document({"observability": {"events": [
        {"id": 3, "type": "task_completed", "task_id": "old", "ts": "2026-11-01T00:00:00Z"},
        {"id": 9, "type": "tool_failed", "data": {"to": "completed\u0000"}},
        {"id": 40, "type": "note", "data": {"text": "imported"}},
    ]}})
    with store.transaction() as tx:
        for n in range(57):
            kind = TYPES[n % len(TYPES)] if n % 11 else "task.status"
            tx.append_event(kind, {"n": n, "to": "blocked" if n % 3 else "x\u0000y"}, task_id=f"t{n % 4}",
                            agent_id=None if n % 2 else "a1", ts=f"2026-12-01T00:{n:02d}:00Z")
        tx.append_event("sprint_started", {"sprint": "s1"})


def _tail_of_whole_log(store: Store, count: int, types: tuple[str, ...] = ()) -> list[dict]:
    with store.snapshot() as tx:
        every = tx.events_after(0, None)
    kept = [e for e in every if not types or e["type"] in types]
    return kept[-count:] if count else []


@pytest.mark.parametrize("types", [(), ("tool_failed",), ("task.status", "note", "sprint_started"),
                                   ("task_completed", "no_such_type"), ("no_such_type",)])
def test_the_last_events_are_the_tail_of_the_whole_log(store: Store, types: tuple[str, ...]) -> None:
    _mixed(store)
    for count in (0, 1, 2, 7, 40, 60, 61, 500):  # 61: the whole log; 500: more than it holds
        expected = _tail_of_whole_log(store, count, types)
        with store.snapshot() as tx:
            assert tx.last_events(count, types) == expected, (count, types)
        assert store.last_events(count, list(types)) == expected, (count, types)
    if not types:
        assert [e["id"] for e in store.last_events(3)] == [96, 97, 98]
        assert [e["id"] for e in store.last_events(63)][:4] == [3, 9, 40, 41]  # a log shorter than asked
    if types == ("tool_failed",):
        assert store.last_events(2, types)[-1]["data"] == {"n": 56, "to": "blocked"}


def test_the_last_events_of_an_empty_log_and_inside_a_transaction(store: Store) -> None:
    assert store.last_events(40) == [] and store.last_events(1, ("x",)) == []
    with store.transaction() as tx:
        tx.append_event("first")
        tx.append_event("second", {"v": 1})
        assert [e["type"] for e in tx.last_events(5)] == ["first", "second"]
        assert [e["type"] for e in tx.last_events(1, ("first",))] == ["first"]
    assert [e["id"] for e in store.last_events(1)] == [2]


def test_the_last_events_read_are_copies(store: Store) -> None:
    store.append_event("x", {"v": [1]})
    with store.snapshot() as tx:
        tx.last_events(1)[0]["data"]["v"].append(2)
        assert tx.last_events(1)[0]["data"] == {"v": [1]}


@pytest.mark.parametrize(("count", "types", "message"), [
    (-1, (), "count must be 0 or a positive integer, got -1"),
    (True, (), "count must be 0 or a positive integer, got True"),
    ("5", (), "count must be 0 or a positive integer, got '5'"),
    (None, (), "count must be 0 or a positive integer, got None"),
    (5, "task_completed", "types must be a list of strings"),
    (5, (1,), "types must be a list of strings"),
])
def test_bad_arguments_are_named(store: Store, count, types, message: str) -> None:
    store.append_event("x")
    with pytest.raises(StateError, match=f"last_events: {message}"):
        store.last_events(count, types)


def test_the_event_types_are_those_of_the_whole_log_each_once(store: Store) -> None:
    """`event_types()`: what `orchestra events tail --type` names when no event is of the type asked for, read
    from the types (an index on the databases), sorted by code point whatever the database's collation."""
    assert store.event_types() == []
    _mixed(store)
    store.append_event("Zulu")
    store.append_event("\u00e9t\u00e9")
    store.append_event("alpha")
    with store.snapshot() as tx:
        every = tx.events_after(0, None)
        assert tx.event_types() == sorted({e["type"] for e in every})
    assert store.event_types() == ["Zulu", "agent_started", "alpha", "message.sent", "note", "sprint_started",
                                   "task.status", "task_completed", "tool_failed", "\u00e9t\u00e9"]
    with store.transaction() as tx:
        tx.append_event("inside")
        assert "inside" in tx.event_types()
    store.import_document({"observability": {"events": [{"id": 7, "type": "only_this"}]}})
    assert store.event_types() == ["only_this"]
