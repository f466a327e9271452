"""Events for one agent arrive in any order and may repeat: every order reaches the same final state.

The captured payloads are fed to the real handlers in-process (parse, handle, real store), each
order into a fresh store, and the final state is compared with the captured order's.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from orchestra.store import open_store

from tests.hooks.test_delegation import (
    digest,
    feed,
    fixture_events,
    script_for,
    seed_sprint3,
    transcripts_for,
    write_teams,
)

SHUFFLES = 40


@pytest.fixture
def store_dir() -> Iterator[Path]:
    """Stores for the many orders live in memory-backed /dev/shm where there is one: the same SQLite and
    JSON backends, without one fsync per commit on a disk shared with other test runs."""
    shm = Path("/dev/shm")
    base = Path(tempfile.mkdtemp(prefix="orchestra-order-", dir=shm if shm.is_dir() else None))
    yield base
    shutil.rmtree(base, ignore_errors=True)


def lifecycle_events(name: str, project: Path, **options) -> list[dict]:
    events = fixture_events(name, project)
    transcripts_for(events, project, **options)
    return [e for e in events if script_for(e)]


def final_state(events: list[dict], project: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("ORCHESTRA_STATE_URL", url)
    seed_sprint3(project, url)
    for event in events:
        feed(event)
    return digest(url)


def shuffled(events: list[dict], rng: random.Random, duplicates: bool) -> list[dict]:
    order = list(events)
    if duplicates:
        order += rng.sample(events, k=len(events) // 2)
    rng.shuffle(order)
    return order


@pytest.mark.parametrize("capture, options", [
    ("nested-delegation.jsonl", {}),
    ("nested-delegation.jsonl", {"meta": False}),  # linking by the transcript's tag alone
    ("deny-and-context.jsonl", {"denied_member": True}),
])
def test_shuffled_and_duplicated_orders_reach_the_same_state(project: Path, store_dir: Path, capture: str,
                                                             options: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    write_teams(project)
    events = lifecycle_events(capture, project, **options)
    expected = final_state(events, project, f"sqlite:///{store_dir}/in-order.db", monkeypatch)
    assert {t["status"] for t in expected["tasks"].values()} <= {"completed", "needs_review"}
    rng = random.Random(capture + str(options))
    for i in range(SHUFFLES):
        order = shuffled(events, rng, duplicates=i % 2 == 1)
        got = final_state(order, project, f"sqlite:///{store_dir}/order-{i}.db", monkeypatch)
        assert got == expected, f"order {i}: {[(e['hook_event_name'], e.get('tool_name')) for e in order]}"


def test_every_event_twice_in_a_row_changes_nothing_the_second_time(project: Path, store_dir: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    write_teams(project)
    events = lifecycle_events("nested-delegation.jsonl", project)
    url = f"sqlite:///{store_dir}/twice.db"
    monkeypatch.setenv("ORCHESTRA_STATE_URL", url)
    seed_sprint3(project, url)
    for event in events:
        first = feed(event)
        before = digest(url)
        with open_store(url) as store:
            events_before = len(store.events_after(0, limit=100_000))
        assert feed(event) == first, event["hook_event_name"]
        assert digest(url) == before
        with open_store(url) as store:
            assert len(store.events_after(0, limit=100_000)) == events_before, event["hook_event_name"]


def test_the_file_backend_reaches_the_same_state(project: Path, store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_teams(project)
    events = lifecycle_events("nested-delegation.jsonl", project)
    expected = final_state(events, project, f"sqlite:///{store_dir}/ref.db", monkeypatch)
    rng = random.Random(7)
    for i in range(5):
        got = final_state(shuffled(events, rng, duplicates=True), project, f"json:///{store_dir}/state-{i}.json",
                          monkeypatch)
        assert got == expected


def test_each_outcome_is_announced_once_whatever_the_order(project: Path, store_dir: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    write_teams(project)
    events = lifecycle_events("nested-delegation.jsonl", project)
    rng = random.Random(11)
    for i in range(10):
        url = f"sqlite:///{store_dir}/announce-{i}.db"
        final_state(shuffled(events, rng, duplicates=True), project, url, monkeypatch)
        with open_store(url) as store:
            kinds = [(e["type"], e["task_id"]) for e in store.events_after(0, limit=100_000)]
        assert kinds.count(("task_completed", "task-3")) == 1
        assert kinds.count(("task_completed", "orchestrate-sprint-3")) == 1
        assert sum(1 for t, _ in kinds if t == "parent_notified") == 2
