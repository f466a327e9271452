"""The store contract: every backend in conftest.BACKENDS behaves exactly the same."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from orchestra.store import PathError, StateError, entity, open_store
from orchestra.store.document import COLLECTIONS, SCHEMA_VERSION, TOP_LEVEL, empty_document

from .conftest import BACKENDS, fingerprint, state_file


def _no_ts(doc: dict) -> dict:
    """The export with event timestamps blanked (they are the only values a test cannot predict)."""
    doc = json.loads(json.dumps(doc))
    for event in doc["observability"]["events"]:
        event["ts"] = "-"
    return doc


def _populate(store) -> None:
    with store.transaction() as tx:
        tx.set("organization", {"name": "acme", "settings": {"tz": "UTC"}})
        tx.set("projects.shop", {"name": "Shop"})
        tx.set("sprints.sprint-3", {"name": "Payments", "status": "active", "tasks": ["task-oauth", "task-2fa"]})
        tx.set("tasks.task-oauth", {"title": "OAuth", "status": "in_progress", "sprint": "sprint-3"})
        tx.set("tasks.task-2fa", {"title": "2FA", "status": "queued", "sprint": "sprint-3",
                                  "dependencies": ["task-oauth"]})
        tx.set("communication.messages.m-1", {"to": "tech-lead", "priority": "high", "body": "ready?"})
        tx.set("communication.deliveries.d-1", {"message": "m-1", "recipient": "tech-lead"})
        tx.set("observability.metrics.velocity", 5)
        tx.append_event("task.assigned", {"assignee": "backend-eng"}, task_id="task-oauth", session_id="s-1")
        tx.append_event("message.sent", {"id": "m-1"}, agent_id="a-1")


# Built on the empty document, so a collection added later is expected (empty) without editing this.
EXPECTED_EXPORT = {
    **empty_document(),
    "organization": {"name": "acme", "settings": {"tz": "UTC"}},
    "projects": {"shop": {"id": "shop", "name": "Shop"}},
    "sprints": {"sprint-3": {"id": "sprint-3", "name": "Payments", "status": "active",
                             "tasks": ["task-oauth", "task-2fa"]}},
    "tasks": {
        "task-oauth": {"id": "task-oauth", "title": "OAuth", "status": "in_progress", "sprint": "sprint-3"},
        "task-2fa": {"id": "task-2fa", "title": "2FA", "status": "queued", "sprint": "sprint-3",
                     "dependencies": ["task-oauth"]},
    },
    "communication": {
        "messages": {"m-1": {"id": "m-1", "to": "tech-lead", "priority": "high", "body": "ready?"}},
        "deliveries": {"d-1": {"id": "d-1", "message": "m-1", "recipient": "tech-lead"}},
    },
    "observability": {
        "events": [
            {"id": 1, "ts": "-", "type": "task.assigned", "session_id": "s-1", "agent_id": None,
             "task_id": "task-oauth", "data": {"assignee": "backend-eng"}},
            {"id": 2, "ts": "-", "type": "message.sent", "session_id": None, "agent_id": "a-1",
             "task_id": None, "data": {"id": "m-1"}},
        ],
        "metrics": {"velocity": 5},
    },
}


# -- dotted paths ---------------------------------------------------------------------------------

def test_entity_set_get_by_dotted_path(store) -> None:
    store.set("tasks.task-1", {"title": "Login", "status": "queued"})
    assert store.get("tasks.task-1") == {"id": "task-1", "title": "Login", "status": "queued"}
    assert store.get("tasks.task-1.status") == "queued"
    store.set("tasks.task-1.status", "in_progress")
    assert store.get("tasks.task-1.status") == "in_progress"
    assert store.get("tasks.task-1.title") == "Login"


def test_setting_a_field_creates_the_entity_with_its_id(store) -> None:
    store.set("tasks.task-9.acceptance.tests", ["unit"])
    assert store.get("tasks.task-9") == {"id": "task-9", "acceptance": {"tests": ["unit"]}}


def test_nested_field_paths_and_list_indexes(store) -> None:
    store.set("tasks.t.meta", {"a": {"b": [10, 20]}})
    assert store.get("tasks.t.meta.a.b") == [10, 20]
    assert store.get("tasks.t.meta.a.b.1") == 20
    store.set("tasks.t.meta.a.c", True)
    assert store.get("tasks.t.meta") == {"a": {"b": [10, 20], "c": True}}


def test_an_entity_is_found_by_an_id_of_one_path_segment_only(store) -> None:
    store.set("tasks.t-1", {"title": "one", "meta": {"a": 1}})
    store.set("communication.messages.m:1", {"type": "question"})
    with store.transaction() as tx:
        assert entity(tx, "tasks", "t-1") == {"id": "t-1", "title": "one", "meta": {"a": 1}}
        assert entity(tx, "communication.messages", "m:1")["type"] == "question"
        for bad in ("t-1.meta", "t-1.title", "t-1.", ".", "", " ", "t 1", "t-1\n", "ünï", None, 7):
            assert entity(tx, "tasks", bad) is None, bad
        assert entity(tx, "tasks", "t-2") is None


def test_missing_path_raises_naming_it_or_returns_default(store) -> None:
    with pytest.raises(PathError, match="tasks.nope"):
        store.get("tasks.nope")
    with pytest.raises(PathError, match="organization.nope.deeper"):
        store.get("organization.nope.deeper")
    assert store.get("tasks.nope", None) is None
    assert store.get("tasks.nope.status", "queued") == "queued"


def test_empty_collections_and_singletons_read_as_empty_objects(store) -> None:
    for collection in COLLECTIONS:
        assert store.get(collection) == {}
    assert store.get("organization") == {}
    assert store.get("communication") == {"messages": {}, "deliveries": {}}
    assert store.get("observability") == {"events": [], "metrics": {}}
    assert store.get("schema_version") == SCHEMA_VERSION


def test_singleton_set_and_nested_update(store) -> None:
    store.set("organization", {"name": "acme"})
    store.set("organization.settings.tz", "UTC")
    assert store.get("organization") == {"name": "acme", "settings": {"tz": "UTC"}}
    store.set("observability.metrics.velocity", 8)
    assert store.get("observability.metrics") == {"velocity": 8}


def test_nested_collection_under_a_singleton(store) -> None:
    store.set("communication.messages.m-1", {"body": "hi", "priority": "high"})
    store.set("communication.messages.m-1.read", False)
    store.set("communication.inbox_policy", "fifo")
    assert store.get("communication.messages.m-1") == {"id": "m-1", "body": "hi", "priority": "high", "read": False}
    assert store.get("communication") == {
        "messages": {"m-1": {"id": "m-1", "body": "hi", "priority": "high", "read": False}},
        "deliveries": {},
        "inbox_policy": "fifo",
    }
    with store.snapshot() as tx:
        assert list(tx.items("communication.messages")) == ["m-1"]
        assert tx.find("communication.messages", priority="high")[0]["id"] == "m-1"


def test_setting_a_whole_singleton_replaces_its_nested_collections(store) -> None:
    store.set("communication.messages.m-1", {"body": "old"})
    store.set("communication.deliveries.d-1", {"message": "m-1"})
    store.set("communication", {"messages": {"m-2": {"body": "new"}}})
    assert store.get("communication") == {"messages": {"m-2": {"id": "m-2", "body": "new"}}, "deliveries": {}}


def test_setting_a_whole_collection_replaces_it(store) -> None:
    store.set("tasks.a", {"title": "A"})
    store.set("tasks", {"b": {"title": "B"}, "c": {"id": "c"}})
    assert store.get("tasks") == {"b": {"id": "b", "title": "B"}, "c": {"id": "c"}}


def test_a_collection_whose_key_is_no_id_is_refused_and_writes_nothing(store, store_url: str) -> None:
    store.set("tasks.a", {"title": "A"})
    before = fingerprint(store_url)
    for path, value in (("tasks", {"x.y": {}}), ("communication", {"messages": {"m.1": {}}}), ("tasks", {"": {}})):
        with pytest.raises(PathError, match="is not an id"):
            store.set(path, value)
    assert fingerprint(store_url) == before
    assert store.get("tasks") == {"a": {"id": "a", "title": "A"}}


def test_values_read_are_copies(store) -> None:
    store.set("tasks.t", {"tags": ["x"]})
    with store.transaction() as tx:
        value = tx.get("tasks.t")
        value["tags"].append("y")
        assert tx.get("tasks.t.tags") == ["x"]
    assert store.get("tasks.t.tags") == ["x"]


# -- delete ---------------------------------------------------------------------------------------

def test_delete_field_entity_and_missing(store) -> None:
    store.set("tasks.t", {"title": "T", "status": "queued"})
    store.delete("tasks.t.status")
    assert store.get("tasks.t") == {"id": "t", "title": "T"}
    store.delete("tasks.t")
    assert store.get("tasks") == {}
    with pytest.raises(PathError, match="tasks.t"):
        store.delete("tasks.t")
    with pytest.raises(PathError, match="organization.name"):
        store.delete("organization.name")


def test_delete_collection_and_singleton_leaves_them_empty(store) -> None:
    _populate(store)
    store.delete("tasks")
    store.delete("organization")
    store.delete("communication")
    store.delete("observability.metrics")
    assert store.get("tasks") == {}
    assert store.get("organization") == {}
    assert store.get("communication") == {"messages": {}, "deliveries": {}}
    doc = store.export()
    assert set(doc) == set(TOP_LEVEL)
    assert doc["observability"] == {"events": doc["observability"]["events"], "metrics": {}}
    assert len(doc["observability"]["events"]) == 2


def test_deleting_the_metrics_again_leaves_them_empty_as_the_first_time(store) -> None:
    """observability.metrics always reads as an object, as a collection does: SQLite and PostgreSQL said
    "nothing stored at 'observability.metrics'" when it was deleted a second time, or in a new store."""
    store.delete("observability.metrics")
    store.set("observability.metrics.velocity", 5)
    store.delete("observability.metrics")
    store.delete("observability.metrics")
    assert store.get("observability.metrics") == {}
    with pytest.raises(PathError, match="observability.metrics.velocity"):
        store.delete("observability.metrics.velocity")


@pytest.mark.parametrize("path", ["", "schema_version", "observability", "observability.events",
                                  "observability.events.0", "tasks.t.id"])
def test_undeletable_paths(store, store_url: str, path: str) -> None:
    _populate(store)
    store.set("tasks.t", {"title": "T"})
    before = fingerprint(store_url)
    with pytest.raises(PathError, match="cannot be deleted|append-only"):
        store.delete(path)
    assert fingerprint(store_url) == before


# -- update ---------------------------------------------------------------------------------------

def test_update_merges_shallowly_and_creates(store) -> None:
    store.set("tasks.t", {"title": "T", "meta": {"a": 1}})
    with store.transaction() as tx:
        merged = tx.update("tasks.t", {"status": "assigned", "meta": {"b": 2}})
    assert merged == {"id": "t", "title": "T", "status": "assigned", "meta": {"b": 2}}
    assert store.get("tasks.t") == merged
    with store.transaction() as tx:
        assert tx.update("tasks.new", {"title": "N"}) == {"id": "new", "title": "N"}
        assert tx.update("organization", {"name": "acme"}) == {"name": "acme"}
        tx.update("observability", {"note": "x"})
    assert store.get("observability.note") == "x"
    assert store.get("tasks.new.title") == "N"


def test_update_rejects_non_objects(store, store_url: str) -> None:
    store.set("tasks.t", {"title": "T"})
    before = fingerprint(store_url)
    with pytest.raises(StateError, match="tasks.t.title"), store.transaction() as tx:
        tx.update("tasks.t.title", {"x": 1})
    with pytest.raises(StateError, match="tasks.t"), store.transaction() as tx:
        tx.update("tasks.t", ["not", "fields"])  # type: ignore[arg-type]
    assert fingerprint(store_url) == before


# -- items / find ---------------------------------------------------------------------------------

def test_items_and_find(store) -> None:
    _populate(store)
    store.set("tasks.task-x", {"status": "queued", "sprint": None, "blocked": True})
    with store.snapshot() as tx:
        assert sorted(tx.items("tasks")) == ["task-2fa", "task-oauth", "task-x"]
        assert [t["id"] for t in tx.find("tasks", status="queued")] == ["task-2fa", "task-x"]
        assert [t["id"] for t in tx.find("tasks", status="queued", sprint="sprint-3")] == ["task-2fa"]
        assert [t["id"] for t in tx.find("tasks", sprint=None)] == ["task-x"]
        assert [t["id"] for t in tx.find("tasks", blocked=True)] == ["task-x"]
        assert tx.find("tasks", status="completed") == []
        assert tx.find("epics") == []
        assert [t["id"] for t in tx.find("tasks")] == ["task-2fa", "task-oauth", "task-x"]


def test_find_matches_numbers_by_value(store) -> None:
    store.set("tasks.a", {"estimate": 3})
    store.set("tasks.b", {"estimate": "3"})
    with store.snapshot() as tx:
        assert [t["id"] for t in tx.find("tasks", estimate=3)] == ["a"]
        assert [t["id"] for t in tx.find("tasks", estimate="3")] == ["b"]


def test_find_compares_text_holding_nul_and_integers_past_64_bits_exactly(store) -> None:
    """SQLite's json_extract reads text only up to a NUL, so its find took `a\\u0000b` for `a`, and it
    failed with OverflowError on an integer past 64 bits, where the other backends compare exactly."""
    store.set("tasks.nul", {"status": "a\x00b", "sprint": "s\x00", "size": 2**80 + 1})
    store.set("tasks.plain", {"status": "a", "sprint": "s", "size": 2**80})
    with store.snapshot() as tx:
        for criteria, found in (({"status": "a"}, ["plain"]), ({"status": "a\x00b"}, ["nul"]),
                                ({"status": "a\x00b", "sprint": "s"}, []), ({"sprint": "s\x00"}, ["nul"]),
                                ({"size": 2**80 + 1}, ["nul"]), ({"size": 2**80}, ["plain"]),
                                ({"size": -(2**70)}, [])):
            assert [t["id"] for t in tx.find("tasks", **criteria)] == found, criteria


def test_long_text_is_stored_and_found_like_short_text(store) -> None:
    """Text that does not compress, as long as a pasted log: PostgreSQL refused an entity whose status
    was over 2704 bytes ('index row size exceeds btree version 4 maximum'), which the other backends keep."""
    import random

    pick = random.Random(7)
    long_status = "".join(pick.choice("abcdefghijklmnopqrstuvwxyzü€") for _ in range(3000))
    title = "".join(pick.choice("abcdefghijklmnopqrstuvwxyzü€ ") for _ in range(10_000))
    body = "".join(pick.choice("abcdefghijklmnopqrstuvwxyzü€\n") for _ in range(1_000_000))
    with store.transaction() as tx:
        tx.set("delegations.d1", {"status": long_status})
        tx.set("delegations.d2", {"status": "pending"})
        tx.set("tasks.t", {"title": title, "status": "queued"})
        tx.set("communication.messages.m", {"to": "human", "payload": {"text": body}})
    with store.snapshot() as tx:
        assert [d["id"] for d in tx.find("delegations", status=long_status)] == ["d1"]
        assert [d["id"] for d in tx.find("delegations", status="pending")] == ["d2"]
        assert tx.get("tasks.t.title") == title
        assert tx.get("communication.messages.m.payload.text") == body


def test_ids_have_one_maximum_length_on_every_backend(store, store_url: str) -> None:
    """An id that does not compress, longer than PostgreSQL's primary-key index takes (about 2,700
    bytes), was kept by SQLite and the JSON file and refused by PostgreSQL with a database error: every
    backend now refuses an id over MAX_ID_LENGTH, naming its kind and the limit, and writes nothing."""
    import random

    pick = random.Random(11)
    longest = "".join(pick.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(255))
    store.set(f"tasks.{longest}", {"title": "fits"})
    assert store.get(f"tasks.{longest}.title") == "fits"
    before = fingerprint(store_url)
    too_long = (longest * 12)[:3000]
    for path, value, kind in ((f"tasks.{too_long}", {"title": "x"}, "task"),
                              (f"tasks.{too_long}.title", "x", "task"),
                              (f"sprints.{longest}x", {}, "sprint"),
                              (f"communication.messages.{too_long}", {}, "message"),
                              ("epics", {too_long: {}}, "epic")):
        with pytest.raises(PathError, match=rf"{kind} id '{longest[:40]}'\.\.\. is \d+ characters long; an id "
                                            r"has at most 255 characters"):
            store.set(path, value)
    with pytest.raises(PathError, match="project id .* at most 255"), store.transaction() as tx:
        tx.update(f"projects.{too_long}", {"name": "x"})
    with pytest.raises(PathError, match="task id .* 3000 characters long"):
        store.import_document({"tasks": {too_long: {"title": "x"}}})
    assert fingerprint(store_url) == before


@pytest.mark.parametrize("collection", ["organization", "tasks.t", "bogus", "tasks..x"])
def test_items_and_find_need_a_collection(store, collection: str) -> None:
    with store.snapshot() as tx:
        with pytest.raises(PathError, match="collection|invalid path"):
            tx.items(collection)
        with pytest.raises(PathError, match="collection|invalid path"):
            tx.find(collection, status="queued")


def test_find_rejects_unusable_criteria(store) -> None:
    store.set("tasks.t", {"status": "queued"})
    with store.snapshot() as tx:
        with pytest.raises(StateError, match="dependencies"):
            tx.find("tasks", dependencies=["a"])
        with pytest.raises(StateError, match="bad key"):
            tx.find("tasks", **{"bad key": 1})
        with pytest.raises(StateError, match="x'"):
            tx.find("tasks", **{"x') OR 1=1 --": 1})


# -- events ---------------------------------------------------------------------------------------

def test_events_append_and_read_after(store) -> None:
    ids = [store.append_event("tick", {"n": n}, task_id=f"t-{n}") for n in range(1, 6)]
    assert ids == [1, 2, 3, 4, 5]
    events = store.events_after(0)
    assert [e["data"]["n"] for e in events] == [1, 2, 3, 4, 5]
    assert events[0]["task_id"] == "t-1" and events[0]["type"] == "tick"
    assert set(events[0]) == {"id", "ts", "type", "session_id", "agent_id", "task_id", "data"}
    assert events[0]["ts"].endswith("Z")
    assert [e["id"] for e in store.events_after(3)] == [4, 5]
    assert [e["id"] for e in store.events_after(1, limit=2)] == [2, 3]
    assert store.events_after(5) == []


def test_events_filter_by_type(store) -> None:
    for kind in ("a", "b", "a", "c", "b"):
        store.append_event(kind)
    assert [e["id"] for e in store.events_after(0, types=("a", "c"))] == [1, 3, 4]
    assert [e["id"] for e in store.events_after(1, types=("a",))] == [3]
    assert store.events_after(0, types=("zzz",)) == []


def test_events_unlimited_read(store) -> None:
    for _ in range(3):
        store.append_event("x")
    assert len(store.events_after(0, limit=None)) == 3
    assert len(store.events_after(0, limit=-1)) == 3


def test_event_reads_take_integers_past_64_bits(store) -> None:
    """SQLite failed with OverflowError (`orchestra events tail -n 99999999999999999999` printed a traceback)
    where the other backends read as asked."""
    for kind in ("a", "b", "a"):
        store.append_event(kind)
    huge = 2**70
    assert store.events_after(huge) == [] and store.events_after(huge, types=("a",)) == []
    assert [e["id"] for e in store.events_after(-huge)] == [1, 2, 3]
    assert [e["id"] for e in store.events_after(0, limit=huge)] == [1, 2, 3]
    assert [e["id"] for e in store.events_after(0, limit=huge, types=("a",))] == [1, 3]
    assert [e["id"] for e in store.last_events(huge)] == [1, 2, 3]
    assert [e["id"] for e in store.last_events(huge, types=("b",))] == [2]


def test_event_visible_inside_its_transaction_and_numbered_after_others(store) -> None:
    store.append_event("first")
    with store.transaction() as tx:
        new_id = tx.append_event("second", {"k": "v"}, agent_id="a-1")
        assert [e["type"] for e in tx.events_after(0)] == ["first", "second"]
    assert new_id == 2
    assert store.events_after(1)[0]["agent_id"] == "a-1"


@pytest.mark.parametrize(("args", "kwargs", "message"), [
    (("",), {}, "event type"),
    ((5,), {}, "event type"),
    (("x", ["not", "a", "dict"]), {}, "data"),
    (("x", {"v": float("nan")}), {}, "not plain JSON"),
    (("x", {"v": {1, 2}}), {}, "not plain JSON"),
    (("x",), {"bogus": "1"}, "bogus"),
    (("x",), {"task_id": 7}, "task_id"),
    # PostgreSQL keeps these fields as text, which cannot hold U+0000: refused there by the database alone
    (("a\x00b",), {}, r"type 'a\\x00b' holds a NUL character"),
    (("x",), {"task_id": "t\x00"}, "task_id .* holds a NUL character"),
    (("x",), {"ts": "2026-01-01T00:00:00Z\x00"}, "ts .* holds a NUL character"),
])
def test_bad_events_are_rejected_and_write_nothing(store, store_url: str, args, kwargs, message) -> None:
    store.append_event("ok")
    before = fingerprint(store_url)
    with pytest.raises(StateError, match=message):
        store.append_event(*args, **kwargs)
    assert fingerprint(store_url) == before
    assert [e["type"] for e in store.events_after(0)] == ["ok"]


def test_events_cannot_be_set_or_forged(store, store_url: str) -> None:
    store.append_event("real")
    before = fingerprint(store_url)
    forged = [{"id": 1, "type": "forged"}]
    for path, value in (("observability.events", forged), ("observability.events.0", {"type": "forged"}),
                        ("observability", {"events": forged, "metrics": {}})):
        with pytest.raises(PathError, match="append-only"):
            store.set(path, value)
    assert fingerprint(store_url) == before
    assert store.events_after(0)[0]["type"] == "real"


# -- export / import ------------------------------------------------------------------------------

def test_export_has_the_one_document_shape(store) -> None:
    _populate(store)
    doc = store.export()
    assert list(doc) == list(TOP_LEVEL)
    assert list(doc["tasks"]) == ["task-2fa", "task-oauth"]  # collections in id order on every backend
    assert list(doc["observability"]) == ["events", "metrics"]
    assert _no_ts(doc) == EXPECTED_EXPORT
    assert _no_ts(store.get("")) == EXPECTED_EXPORT


def test_export_of_an_empty_store(store) -> None:
    doc = store.export()
    assert list(doc) == list(TOP_LEVEL)
    assert doc["schema_version"] == SCHEMA_VERSION
    assert doc["communication"] == {"messages": {}, "deliveries": {}}
    assert doc["observability"] == {"events": [], "metrics": {}}
    assert all(doc[key] == {} for key in TOP_LEVEL if key not in ("schema_version", "communication",
                                                                    "observability"))


def test_export_import_round_trip_across_every_backend(store, tmp_path: Path) -> None:
    _populate(store)
    exported = store.export()
    for name, make_url in BACKENDS.items():
        target_dir = tmp_path / f"target {name}"
        target_dir.mkdir()
        with open_store(make_url(target_dir)) as target:
            target.set("tasks.stale", {"title": "replaced by the import"})
            target.append_event("stale")
            target.import_document(json.loads(json.dumps(exported)))
            assert target.export() == exported, name
            assert target.append_event("after-import") == 3


def test_import_then_export_is_stable(store) -> None:
    doc = _no_ts(EXPECTED_EXPORT)
    store.import_document(doc)
    assert store.export() == doc
    store.import_document(store.export())
    assert store.export() == doc


def test_the_largest_event_id_imports_and_numbering_carries_on(store) -> None:
    store.import_document({"observability": {"events": [{"id": 2**53 - 1, "type": "x"}]}})
    assert store.append_event("next") == 2**53


def test_import_fills_missing_parts_and_event_fields(store) -> None:
    store.import_document({"schema_version": SCHEMA_VERSION, "tasks": {"t": {"title": "T"}},
                           "observability": {"events": [{"id": 4, "type": "x", "ts": "2026-01-01T00:00:00Z"}]}})
    doc = store.export()
    assert doc["tasks"] == {"t": {"id": "t", "title": "T"}}
    assert doc["communication"] == {"messages": {}, "deliveries": {}}
    assert doc["observability"]["events"] == [
        {"id": 4, "ts": "2026-01-01T00:00:00Z", "type": "x", "session_id": None, "agent_id": None,
         "task_id": None, "data": {}}]
    assert store.append_event("next") == 5


@pytest.mark.parametrize(("doc", "message"), [
    ([], "expected a JSON object"),
    ({"bogus": {}}, "bogus"),
    ({"schema_version": SCHEMA_VERSION, "tasks": []}, "tasks"),
    ({"tasks": {"t": "string"}}, "tasks"),
    ({"tasks": {"t": {"id": "other"}}}, "tasks.t"),
    ({"tasks": {"bad id": {}}}, "bad id"),
    # a dotted key was stored (and broke the JSON file it was written to), where no path could name it
    ({"tasks": {"a.b": {}}}, r"invalid path 'tasks.a.b': key 'a.b' is not an id"),
    ({"communication": {"messages": {"m.1": {}}}}, r"key 'm.1' is not an id"),
    ({"tasks": [{"id": 1.5}]}, r"key '1.5' is not an id"),
    ({"organization": "acme"}, "organization"),
    ({"communication": []}, "communication"),
    ({"observability": {"events": {"1": {}}}}, "observability.events"),
    ({"schema_version": SCHEMA_VERSION, "observability": {"events": [{"type": "x"}]}}, "observability.events"),
    ({"observability": {"events": [{"id": 1, "type": "x"}, {"id": 1, "type": "y"}]}}, "duplicate"),
    ({"observability": {"events": [{"id": 1}]}}, "type"),
    ({"observability": {"events": [{"id": 1, "type": "x", "extra": 1}]}}, "extra"),
    ({"observability": {"events": [{"id": 1, "type": "x", "data": []}]}}, "data"),
    ({"observability": {"events": [{"id": 1, "type": "x", "session_id": "s\x00"}]}}, "session_id .* NUL"),
    # past 64 bits SQLite raised OverflowError and PostgreSQL a database error; just below, no event could follow
    ({"observability": {"events": [{"id": 2**63, "type": "x"}]}}, "id 9223372036854775808 is past the largest"),
    ({"observability": {"events": [{"id": 2**63 - 1, "type": "x"}]}}, "past the largest event id, 9007199254740991"),
    ({"tasks": {"t": {"v": float("nan")}}}, "not plain JSON"),
    ({"schema_version": SCHEMA_VERSION + 1}, "newer"),
    ({"schema_version": "1"}, "schema_version"),
])
def test_bad_import_writes_nothing(store, store_url: str, doc, message: str) -> None:
    _populate(store)
    before = fingerprint(store_url)
    with pytest.raises(StateError, match=message):
        store.import_document(doc)
    assert fingerprint(store_url) == before


# -- schema_version and migrations ----------------------------------------------------------------

V0_DOCUMENT = {
    "organization": {"name": "acme"},
    "projects": [{"id": "shop", "name": "Shop"}],
    "sprints": [{"id": "sprint-3", "name": "Payments", "status": "active"}],
    "tasks": [{"id": "task-oauth", "title": "OAuth", "status": "completed"},
              {"id": "task-2fa", "title": "2FA", "status": "blocked", "dependencies": ["task-oauth"]}],
    "agents": [],
    "communication": {"messages": [{"id": "m-1", "to": "human", "body": "blocked on SMS provider"}]},
    "observability": {"events": [{"type": "task.completed", "task_id": "task-oauth",
                                  "ts": "2026-01-01T00:00:00Z"},
                                 {"type": "task.blocked", "task_id": "task-2fa", "ts": "2026-01-01T00:01:00Z"}],
                      "metrics": {"velocity": 3}},
}


def test_v0_document_migrates_forward_on_import(store) -> None:
    store.import_document(json.loads(json.dumps(V0_DOCUMENT)))
    doc = store.export()
    assert doc["schema_version"] == SCHEMA_VERSION
    assert doc["projects"] == {"shop": {"id": "shop", "name": "Shop"}}
    assert doc["tasks"]["task-2fa"] == {"id": "task-2fa", "title": "2FA", "status": "blocked",
                                        "dependencies": ["task-oauth"]}
    assert doc["communication"]["messages"]["m-1"]["body"] == "blocked on SMS provider"
    assert [(e["id"], e["type"], e["task_id"]) for e in doc["observability"]["events"]] == [
        (1, "task.completed", "task-oauth"), (2, "task.blocked", "task-2fa")]
    assert doc["observability"]["metrics"] == {"velocity": 3}
    assert store.append_event("next") == 3


def test_v0_numeric_ids_become_string_keys(store) -> None:
    store.import_document({"schema_version": 0, "tasks": [{"id": 7, "title": "seven"}]})
    assert store.get("tasks") == {"7": {"id": "7", "title": "seven"}}


@pytest.mark.parametrize(("doc", "message"), [
    ({"tasks": [{"title": "no id"}]}, r"tasks\[0\]"),
    ({"tasks": [{"id": "a"}, {"id": "a"}]}, "duplicate"),
    ({"legacy_notes": "x"}, "legacy_notes"),
    ({"schema_version": -1}, "schema_version"),
])
def test_v0_documents_that_would_lose_data_are_refused(store, store_url: str, doc, message: str) -> None:
    _populate(store)
    before = fingerprint(store_url)
    with pytest.raises(StateError, match=message):
        store.import_document(doc)
    assert fingerprint(store_url) == before


def _written_by_a_newer_orchestra(url: str) -> None:
    newer = SCHEMA_VERSION + 1
    if url.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("UPDATE meta SET value=%s WHERE key='schema_version'", (str(newer),))
    elif url.startswith("sqlite://"):
        import sqlite3

        with sqlite3.connect(url.partition("://")[2]) as conn:
            conn.execute(f"PRAGMA user_version={newer}")
    else:
        path = Path(url.partition("://")[2])
        path.write_text(json.dumps({**json.loads(path.read_text()), "schema_version": newer}))


def test_a_store_written_by_a_newer_orchestra_is_refused_naming_it_and_left_as_it_is(store_url: str) -> None:
    """The JSON file's refusal did not name the file."""
    with open_store(store_url) as store:
        _populate(store)
    _written_by_a_newer_orchestra(store_url)
    before = fingerprint(store_url)
    with pytest.raises(StateError) as raised, open_store(store_url) as store, store.transaction() as tx:
        tx.set("tasks.task-oauth.status", "completed")
    message = str(raised.value)
    where = store_url if store_url.startswith("postgresql://") else str(state_file(store_url))
    assert message.startswith(f"{where}: "), message
    assert message.endswith(f"schema_version {SCHEMA_VERSION + 1} is newer than this Orchestra understands "
                            f"({SCHEMA_VERSION}); upgrade the pack")
    assert fingerprint(store_url) == before


def test_schema_version_is_managed(store) -> None:
    with pytest.raises(PathError, match="schema_version"):
        store.set("schema_version", 0)
    assert store.get("schema_version") == SCHEMA_VERSION


# -- transactions ---------------------------------------------------------------------------------

def test_transaction_commits_every_step_together(store) -> None:
    with store.transaction() as tx:
        tx.set("tasks.t", {"status": "queued"})
        tx.set("tasks.t.status", "assigned")
        assert tx.get("tasks.t.status") == "assigned"
        tx.append_event("task.assigned", task_id="t")
    assert store.get("tasks.t.status") == "assigned"
    assert len(store.events_after(0)) == 1


def test_transaction_that_raises_rolls_back_entirely(store, store_url: str) -> None:
    _populate(store)
    before, before_export = fingerprint(store_url), store.export()

    class Boom(Exception):
        pass

    with pytest.raises(Boom), store.transaction() as tx:
        tx.set("tasks.task-oauth.status", "completed")
        tx.set("tasks.new", {"title": "N"})
        tx.delete("tasks.task-2fa")
        tx.delete("organization")
        tx.update("communication.messages.m-1", {"read": True})
        tx.set("communication", {"messages": {}})
        tx.append_event("task.completed", task_id="task-oauth")
        tx.set("observability.metrics.velocity", 99)
        raise Boom
    assert fingerprint(store_url) == before
    assert store.export() == before_export
    assert store.append_event("next") == 3


def test_a_store_error_mid_transaction_rolls_back_earlier_steps(store, store_url: str) -> None:
    store.set("tasks.t", {"status": "queued"})
    before = fingerprint(store_url)
    with pytest.raises(PathError), store.transaction() as tx:
        tx.set("tasks.t.status", "assigned")
        tx.set("bogus.key", 1)
    assert fingerprint(store_url) == before
    assert store.get("tasks.t.status") == "queued"


def test_snapshot_is_read_only(store, store_url: str) -> None:
    store.set("tasks.t", {"status": "queued"})
    before = fingerprint(store_url)
    with store.snapshot() as tx:
        for write in (lambda: tx.set("tasks.t.status", "x"), lambda: tx.delete("tasks.t"),
                      lambda: tx.update("tasks.t", {"a": 1}), lambda: tx.append_event("x")):
            with pytest.raises(StateError, match="read-only"):
                write()
    assert fingerprint(store_url) == before


def test_nested_transaction_on_the_same_store_is_refused(store) -> None:
    store.set("projects.p.counter", 1)
    with pytest.raises(StateError, match="already open"), store.transaction() as tx:
        tx.set("projects.p.counter", 2)
        store.set("projects.p.counter", 3)
    assert store.get("projects.p.counter") == 1
    with store.transaction() as tx:  # the store is usable again afterwards
        tx.set("projects.p.counter", 4)
    assert store.get("projects.p.counter") == 4


def test_two_store_handles_see_each_others_commits(store_url: str) -> None:
    with open_store(store_url) as one, open_store(store_url) as two:
        one.set("tasks.t", {"status": "queued"})
        assert two.get("tasks.t.status") == "queued"
        with two.transaction() as tx:
            tx.set("tasks.t.status", tx.get("tasks.t.status") + "!")
        assert one.get("tasks.t.status") == "queued!"


# -- bad input ------------------------------------------------------------------------------------

BAD_PATHS = [
    ("bogus", "unknown key 'bogus'"),
    ("bogus.x", "unknown key 'bogus'"),
    ("tasks..x", "empty segment"),
    (".tasks", "empty segment"),
    ("tasks.t.", "empty segment"),
    ("tasks.t 1", "'t 1'"),
    ("tasks.t\n", "characters"),
    ("tasks.ü", "characters"),
]


@pytest.mark.parametrize(("path", "message"), BAD_PATHS)
def test_invalid_paths_are_named_and_write_nothing(store, store_url: str, path: str, message: str) -> None:
    _populate(store)
    before = fingerprint(store_url)
    for operation in (lambda: store.get(path), lambda: store.set(path, 1), lambda: store.delete(path)):
        with pytest.raises(PathError) as raised:
            operation()
        assert repr(path) in str(raised.value) and message in str(raised.value)
    assert fingerprint(store_url) == before


def test_a_path_must_be_a_string(store) -> None:
    with pytest.raises(PathError, match="string"):
        store.get(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(("path", "value", "message"), [
    ("tasks.t", "a string", "tasks.t: expected an object"),
    ("tasks.t", ["list"], "tasks.t: expected an object"),
    ("tasks", {"t": 5}, "tasks"),
    ("tasks", [], "tasks"),
    ("tasks.t", {"id": "u"}, "tasks.t"),
    ("tasks.t.id", "u", "tasks.t.id"),
    ("organization", 5, "organization: expected an object"),
    ("communication", "x", "communication: expected an object"),
    ("tasks.task-oauth.title.x", 1, "tasks.task-oauth.title.x"),
    ("tasks.task-oauth.dependencies.0", "x", "tasks.task-oauth.dependencies.0"),
    ("schema_version", 2, "schema_version"),
    ("", {}, "''"),
])
def test_wrong_types_are_named_and_write_nothing(store, store_url: str, path: str, value, message: str) -> None:
    _populate(store)
    store.set("tasks.task-oauth.dependencies", ["a"])
    before = fingerprint(store_url)
    with pytest.raises(StateError) as raised:
        store.set(path, value)
    assert message in str(raised.value)
    assert fingerprint(store_url) == before


def _nested(levels: int) -> list:
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


@pytest.mark.parametrize(("value", "where", "why"), [
    (float("nan"), "", "NaN is not a JSON number"), (float("inf"), "", "Infinity is not a JSON number"),
    ({1, 2}, "", "a set is not a JSON value"), (object(), "", "a object is not a JSON value"),
    (b"bytes", "", "a bytes is not a JSON value"), ({"nested": [float("-inf")]}, ".nested.0", "-Infinity"),
    ({1: "int key"}, "", "object key 1 is not a string"), ({None: "null key"}, "", "object key None"),
    ({"deep": {2: "int key"}}, ".deep", "object key 2 is not a string"),
    ({"text": ["fine", "half an emoji \ud83d"]}, ".text.1", "text with a lone surrogate"),
    ({"\udc80": 1}, "", "object key '\\udc80' holds a lone surrogate"),
    ({"a": _nested(98)}, ".a" + ".0" * 11 + "...", "more than 100 levels deep in the state document"),
])
def test_non_json_values_are_named_and_write_nothing(store, store_url: str, value, where: str, why: str) -> None:
    _populate(store)
    before = fingerprint(store_url)
    with pytest.raises(StateError, match=re.escape(f"tasks.task-oauth.note{where}: value is not plain JSON") + ".*"
                       + re.escape(why)):
        store.set("tasks.task-oauth.note", value)
    with pytest.raises(StateError, match="not plain JSON"), store.transaction() as tx:
        tx.update("tasks.task-oauth", {"note": value})
    assert fingerprint(store_url) == before


def test_a_value_nested_to_the_limit_is_kept_and_its_export_imports_again(store) -> None:
    store.set("tasks.task-oauth.note", {"a": _nested(97)})  # its innermost list 100 levels below the top
    with store.transaction() as tx:
        tx.append_event("deep", {"b": _nested(95)})
    doc = store.export()
    assert doc["tasks"]["task-oauth"]["note"] == {"a": _nested(97)}
    store.import_document(json.loads(json.dumps(doc)))
    assert store.export() == doc


def test_a_second_transaction_inside_the_first_is_refused_and_the_first_still_commits(store) -> None:
    with store.transaction() as tx:
        tx.set("tasks.t1.status", "queued")
        with pytest.raises(StateError, match="a transaction is already open on this store"), store.snapshot():
            pass
    assert store.get("tasks.t1.status") == "queued"
    with store.transaction() as tx:  # the store is usable again
        tx.set("tasks.t1.status", "in_progress")
    assert store.get("tasks.t1.status") == "in_progress"


def test_claim_returns_the_entities_named_in_the_order_given_and_nothing_for_other_ids(store) -> None:
    """An id that is no path segment named a part of an entity on SQLite and the JSON file (`t1.title` gave
    the title string, `t1` and `t1.` too), where PostgreSQL, which looks ids up as they are, found nothing."""
    from orchestra.store import claim

    store.set("tasks.t1", {"title": "one"})
    store.set("tasks.t2", {"title": "two"})
    store.set("tasks.7", {"title": "seven"})
    with store.claiming() as tx:
        found = claim(tx, "tasks", ["t2", "missing", "t1.title", "t1.", "", "t1", 7])
    assert found == [{"id": "t2", "title": "two"}, {"id": "t1", "title": "one"}, {"id": "7", "title": "seven"}]
