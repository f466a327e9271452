"""Who waits for whom on PostgreSQL: writers one at a time, claims skipping rows others hold, a lock
timeout reported as busy. Two store handles stand for two machines; the order of steps is forced
by watching the server's own lock table, never by sleeping."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg
import pytest
from orchestra.store import BusyError, StateError, claim, open_store


def _waiting_on_a_lock(url: str, application: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name=%s "
                           "AND wait_event_type='Lock'", (application,)).fetchone()
    return row[0] > 0


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.01)


def _named(url: str, application: str) -> str:
    return f"{url}&application_name={application}"


def _messages(url: str, *ids: str) -> None:
    with open_store(url) as store, store.transaction() as tx:
        for message_id in ids:
            tx.set(f"communication.messages.{message_id}", {"status": "open", "delivered": {}})


def test_a_claim_skips_rows_another_claim_holds_and_gets_them_once_released(pg_url: str) -> None:
    _messages(pg_url, "m-1", "m-2", "m-3")
    with open_store(pg_url) as one, open_store(pg_url) as two:
        with one.claiming() as first:
            held = claim(first, "communication.messages", ["m-1", "m-2"])
            assert [m["id"] for m in held] == ["m-1", "m-2"]
            with two.claiming() as second:  # does not wait: what is held is skipped
                assert [m["id"] for m in claim(second, "communication.messages", ["m-3", "m-2", "m-1", "m-9"])] == ["m-3"]
                second.set("communication.messages.m-3.delivered", {"run-b": "now"})
            first.set("communication.messages.m-1.delivered", {"run-a": "now"})
        with two.claiming() as again:
            assert [m["id"] for m in claim(again, "communication.messages", ["m-1", "m-2"])] == ["m-1", "m-2"]
    with open_store(pg_url) as store:
        assert store.get("communication.messages.m-1.delivered") == {"run-a": "now"}
        assert store.get("communication.messages.m-3.delivered") == {"run-b": "now"}


def test_a_claiming_transaction_changes_single_entities_only(pg_url: str) -> None:
    _messages(pg_url, "m-1")
    with open_store(pg_url) as store:
        for change in (lambda tx: tx.append_event("message.delivered"),
                       lambda tx: tx.set("communication.messages", {}),
                       lambda tx: tx.set("organization.name", "x"),
                       lambda tx: tx.delete("tasks")):
            with pytest.raises(StateError, match="claiming transaction changes single entities only"), \
                    store.claiming() as tx:
                change(tx)
        assert store.events_after(0) == [] and store.get("communication.messages.m-1.status") == "open"


def test_claim_on_a_one_writer_backend_returns_every_existing_entity(tmp_path) -> None:
    url = f"sqlite://{tmp_path / 'state.db'}"
    _messages(url, "m-1", "m-2")
    with open_store(url) as store, store.claiming() as tx:
        assert [m["id"] for m in claim(tx, "communication.messages", ["m-2", "m-7", "m-1"])] == ["m-2", "m-1"]


def test_a_writer_waits_for_a_claim_and_then_sees_its_change(pg_url: str) -> None:
    _messages(pg_url, "m-1")
    writer_url = _named(pg_url, "writer-b")
    seen: list = []

    def writer() -> None:
        with open_store(writer_url) as store, store.transaction() as tx:
            seen.append(tx.get("communication.messages.m-1.delivered"))
            tx.update("communication.messages.m-1", {"acked": {"run-b": "later"}})

    with open_store(pg_url) as store, store.claiming() as tx:
        claim(tx, "communication.messages", ["m-1"])
        tx.set("communication.messages.m-1.delivered", {"run-a": "now"})
        thread = threading.Thread(target=writer)
        thread.start()
        _until(lambda: _waiting_on_a_lock(pg_url, "writer-b"), "the writer queues behind the claim")
    thread.join(60)
    assert seen == [{"run-a": "now"}]
    with open_store(pg_url) as store:
        message = store.get("communication.messages.m-1")
    assert message["delivered"] == {"run-a": "now"} and message["acked"] == {"run-b": "later"}


def test_writers_run_one_at_a_time_so_a_read_modify_write_is_never_lost(pg_url: str) -> None:
    with open_store(pg_url) as store:
        store.set("projects.p", {"counter": 1})
    second_url = _named(pg_url, "second-writer")

    def second() -> None:
        with open_store(second_url) as store, store.transaction() as tx:
            tx.set("projects.p.counter", tx.get("projects.p.counter") * 10)

    with open_store(pg_url) as store, store.transaction() as tx:
        value = tx.get("projects.p.counter")
        thread = threading.Thread(target=second)
        thread.start()
        _until(lambda: _waiting_on_a_lock(pg_url, "second-writer"), "the second writer waits")
        tx.set("projects.p.counter", value + 1)
    thread.join(60)
    with open_store(pg_url) as store:
        assert store.get("projects.p.counter") == 20  # (1 + 1) * 10: the second read the first's result


def test_a_snapshot_does_not_wait_for_a_writer(pg_url: str) -> None:
    with open_store(pg_url) as store:
        store.set("tasks.t", {"status": "queued"})
    with open_store(pg_url) as writer, writer.transaction() as tx, open_store(pg_url) as reader:
        tx.set("tasks.t.status", "assigned")
        assert reader.get("tasks.t.status") == "queued"  # the uncommitted change is not seen
        with reader.snapshot() as snap:
            assert snap.find("tasks", status="queued")[0]["id"] == "t"


def test_a_writer_held_up_past_the_lock_timeout_gets_a_busy_error(pg_url: str) -> None:
    impatient = pg_url.replace("search_path%3D", "lock_timeout%3D300%20-csearch_path%3D")
    with open_store(impatient) as other:
        with open_store(pg_url) as holder, holder.transaction() as tx:
            tx.set("tasks.t", {"status": "queued"})
            with pytest.raises(BusyError, match="stayed locked by another writer"):
                other.set("tasks.t", {"status": "assigned"})
        assert other.get("tasks.t.status") == "queued"
        other.set("tasks.t.status", "assigned")  # the same handle writes once the lock is free
    with open_store(pg_url) as store:
        assert store.get("tasks.t.status") == "assigned"
