"""Live events: each append is announced with NOTIFY when it commits, and `wait_for_events` wakes on it.

A waiter is given a timeout far longer than the test may take (300 s) and the test gives it 60 s to
return: only a notification can end the wait in time, so a broken NOTIFY fails the test.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
from orchestra.store import open_store


def test_an_append_is_announced_on_commit_not_before(pg_url: str) -> None:
    with open_store(pg_url) as store:
        store.get("schema_version")  # connect: the channel is named after the store's schema
        with psycopg.connect(pg_url, autocommit=True) as listener:
            listener.execute(f'LISTEN "{store.channel}"')
            with store.transaction() as tx:
                first = tx.append_event("task_assigned", task_id="t")
                second = tx.append_event("task_started", task_id="t")
                assert list(listener.notifies(timeout=0.2)) == []
            got = [n.payload for n in listener.notifies(timeout=30, stop_after=2)]
    assert got == [str(first), str(second)]


def test_a_rolled_back_append_announces_nothing(pg_url: str) -> None:
    with open_store(pg_url) as store:
        store.get("schema_version")
        with psycopg.connect(pg_url, autocommit=True) as listener:
            listener.execute(f'LISTEN "{store.channel}"')
            try:
                with store.transaction() as tx:
                    tx.append_event("doomed")
                    raise RuntimeError("roll back")
            except RuntimeError:
                pass
            kept = store.append_event("kept")
            assert [n.payload for n in listener.notifies(timeout=30, stop_after=1)] == [str(kept)]
    assert kept == 1


def _wait_in_thread(url: str, after: int, **options) -> tuple[threading.Thread, list]:
    """A waiter on its own connections, returned once it is blocked on the notification."""
    url = f"{url}&application_name=waiter"
    result: list = []

    def wait() -> None:
        with open_store(url) as store:
            result.append(store.wait_for_events(after, timeout=300, **options))

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while _last_queries(url) != ["LISTEN", "ROLLBACK"]:  # listening, and its first look found nothing
        assert time.monotonic() < deadline and thread.is_alive(), "the waiter never started waiting"
        time.sleep(0.01)
    return thread, result


def _last_queries(url: str) -> list[str]:
    with psycopg.connect(url.replace("application_name=waiter", "application_name=probe"), autocommit=True) as conn:
        rows = conn.execute("SELECT split_part(query, ' ', 1) FROM pg_stat_activity "
                            "WHERE application_name='waiter' AND state='idle' ORDER BY 1").fetchall()
    return [row[0] for row in rows]


def test_wait_for_events_wakes_when_another_machine_appends(pg_url: str) -> None:
    with open_store(pg_url) as store:
        store.append_event("old")
    thread, result = _wait_in_thread(pg_url, 1)
    with open_store(pg_url) as other:
        other.append_event("task_completed", {"n": 1}, task_id="t")
    thread.join(60)
    assert not thread.is_alive(), "the waiter was not woken by the notification"
    assert [(e["id"], e["type"], e["task_id"]) for e in result[0]] == [(2, "task_completed", "t")]


def test_wait_for_events_keeps_waiting_through_events_of_other_types(pg_url: str) -> None:
    thread, result = _wait_in_thread(pg_url, 0, types=("task_blocked",))
    with open_store(pg_url) as other:
        other.append_event("task_started")
        other.append_event("task_started")
        other.append_event("task_blocked", {"why": "keys"})
    thread.join(60)
    assert not thread.is_alive()
    assert [(e["id"], e["type"]) for e in result[0]] == [(3, "task_blocked")]


def test_wait_for_events_returns_what_is_there_at_once_and_nothing_after_its_timeout(pg_url: str) -> None:
    with open_store(pg_url) as store:
        store.append_event("a")
        store.append_event("b")
        assert [e["type"] for e in store.wait_for_events(0, timeout=300)] == ["a", "b"]
        assert store.wait_for_events(2, timeout=0.1) == []


def test_other_backends_poll_for_the_same_answer(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'state.db'}"
    with open_store(url) as store:
        store.append_event("a")
    thread, result = _wait_in_thread_polling(url)
    with open_store(url) as other:
        other.append_event("b")
    thread.join(60)
    assert not thread.is_alive() and [e["type"] for e in result[0]] == ["b"]


def _wait_in_thread_polling(url: str) -> tuple[threading.Thread, list]:
    result: list = []

    def wait() -> None:
        with open_store(url) as store:
            result.append(store.wait_for_events(1, timeout=300))

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    return thread, result
