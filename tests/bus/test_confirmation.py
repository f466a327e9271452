"""Deliveries a hook confirms once its output is written (`delivery.Receipt`): one left unconfirmed past the hook's
time counts as never shown, and the run's next injection shows it again; one confirmed, or read some other way,
is never shown twice."""

from __future__ import annotations

from datetime import timedelta

from orchestra import bus
from orchestra.bus import delivery
from orchestra.bus.delivery import Receipt

from tests.bus.conftest import T0, add_run
from tests.bus.test_delivery import deliver, send

TIMEOUT = timedelta(seconds=10)  # the hook's: Claude Code stops waiting for it at T0 + 10 s


def receipt() -> Receipt:
    return Receipt((T0 + TIMEOUT).timestamp())


def confirm(store, handed: Receipt, now) -> list[str]:
    with store.transaction() as tx:
        return delivery.confirm(tx, handed, now)


def ids(got: bus.Delivery) -> list[str]:
    return [m["id"] for m in got.messages]


def test_a_delivery_never_confirmed_is_shown_again_once_its_hook_is_past_its_time(store, org) -> None:
    """Until then another hook of the run (a parallel tool call) does not show it again; after it, the next one
    does, counted as new, the critical alert to the user raised again, and the lost injection holding back none."""
    sent = send(store, org, to="human", priority="critical", text="approve the migration?")
    who = bus.recipient(org, None, None, "s1", human=True)
    first = deliver(store, who, receipt=receipt())
    assert ids(first) == [sent["id"]] and first.alert
    record = store.get(f"communication.deliveries.{sent['id']}@main:s1")
    assert record["confirm_by"] == "2026-11-24T09:00:11.000Z" and "confirmed_at" not in record
    assert deliver(store, who, now=T0 + timedelta(seconds=9)).text is None
    with store.snapshot() as tx:
        rows = delivery.open_messages(tx)
    assert delivery.last_injection(rows, who, now=T0 + timedelta(seconds=9)) == T0
    assert delivery.last_injection(rows, who, now=T0 + timedelta(seconds=12)) is None  # never shown
    again = deliver(store, who, now=T0 + timedelta(seconds=12))
    assert ids(again) == [sent["id"]] and "(1 new, highest priority first)" in again.text and again.alert
    shown = store.get(f"communication.deliveries.{sent['id']}@main:s1")
    assert shown["delivered_at"] == "2026-11-24T09:00:12.000Z" and "first_delivered_at" not in shown
    assert "unconfirmed" not in store.get(f"communication.messages.{sent['id']}")  # shown for sure now
    assert deliver(store, who, now=T0 + timedelta(hours=1)).text is None


def test_a_confirmed_delivery_is_never_shown_again(store, org) -> None:
    sent = send(store, org)
    who = bus.recipient(org, "r1", "tech-lead")
    handed = receipt()
    assert ids(deliver(store, who, receipt=handed)) == [sent["id"]]
    assert confirm(store, handed, T0 + timedelta(seconds=1)) == [sent["id"]]
    record = store.get(f"communication.deliveries.{sent['id']}@r1")
    assert record["confirmed_at"] == "2026-11-24T09:00:01.000Z"
    assert "unconfirmed" not in store.get(f"communication.messages.{sent['id']}")
    assert deliver(store, who, now=T0 + timedelta(minutes=5)).text is None


def test_a_confirmation_too_close_to_the_hooks_timeout_counts_for_nothing(store, org) -> None:
    """Claude Code may have stopped waiting for the output by then: shown again later (a duplicate at worst)."""
    sent = send(store, org)
    who = bus.recipient(org, "r1", "tech-lead")
    handed = receipt()
    deliver(store, who, receipt=handed)
    assert confirm(store, handed, T0 + TIMEOUT - delivery.CONFIRM_MARGIN) == []
    assert ids(deliver(store, who, now=T0 + timedelta(seconds=12))) == [sent["id"]]


def test_a_late_confirmation_does_not_confirm_the_injection_that_showed_it_again(store, org) -> None:
    sent = send(store, org)
    who = bus.recipient(org, "r1", "tech-lead")
    late = Receipt((T0 + timedelta(minutes=1)).timestamp())  # a hook with a long timeout, still running
    deliver(store, who, receipt=receipt())
    deliver(store, who, now=T0 + timedelta(seconds=12), receipt=late)  # the first was lost: shown again
    assert confirm(store, receipt(), T0 + timedelta(seconds=5)) == []  # the first hook's: not this injection
    assert confirm(store, late, T0 + timedelta(seconds=13)) == [sent["id"]]


def test_reading_the_inbox_counts_an_unconfirmed_delivery_as_shown(store, org) -> None:
    """The inbox tool (or `orchestra msg inbox` without --peek) shows the message whole: it is read."""
    sent = send(store, org)
    who = bus.recipient(org, "r1", "tech-lead")
    deliver(store, who, receipt=receipt())
    with store.transaction() as tx:
        message = tx.get(f"communication.messages.{sent['id']}")
        assert not delivery.confirmed(message, who)
        delivery.record(tx, message, who, "mcp_call", "2026-11-24T09:00:02.000Z")
        assert delivery.confirmed(message, who)
    assert deliver(store, who, now=T0 + timedelta(minutes=5)).text is None


def test_a_shared_message_lost_on_the_way_to_one_run_is_shown_again_to_that_run_only(store, org) -> None:
    sent = send(store, org, to="team:engineering")
    lost, shown = bus.recipient(org, "r1", "tech-lead"), bus.recipient(org, "r2", "fullstack-eng")
    deliver(store, lost, receipt=receipt())
    handed = receipt()
    deliver(store, shown, receipt=handed)
    confirm(store, handed, T0 + timedelta(seconds=1))
    later = T0 + timedelta(seconds=12)
    assert ids(deliver(store, lost, now=later)) == [sent["id"]] and deliver(store, shown, now=later).text is None
    with store.transaction() as tx:
        bus.ack(tx, sent["id"], by="agent:r1", now=later)
    assert deliver(store, lost, now=T0 + timedelta(minutes=1)).text is None


def test_a_message_lost_on_the_way_to_a_run_that_then_ended_goes_to_its_main_thread(store, org) -> None:
    add_run(store, "r1", "fullstack-eng", status="active", session_id="s1")
    sent = send(store, org, to="agent:r1", sender="tech-lead", now=T0 - timedelta(minutes=1))
    deliver(store, bus.recipient(org, "r1", "fullstack-eng", "s1"), receipt=receipt())
    with store.transaction() as tx:
        tx.update("agents.r1", {"status": "completed", "outcome": "completed", "ended_at": "2026-11-24T09:00:05.000Z"})
        assert bus.main_thread_inbox(tx, "s1", via="user_prompt", org=org, now=T0 + timedelta(seconds=6)).text is None
    with store.transaction() as tx:
        got = bus.main_thread_inbox(tx, "s1", via="user_prompt", org=org, now=T0 + timedelta(seconds=12))
    assert ids(got) == [sent["id"]]


def test_a_message_lost_on_the_way_to_a_main_thread_whose_process_is_gone_goes_to_the_next_one(store, org) -> None:
    """The main thread of s1 was handed a message by a hook whose output never reached it, then its Claude Code
    process ended without a SessionEnd: the main thread of the next session is shown it, as if s1 never had been."""
    import subprocess
    import sys

    from orchestra import liveness

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with store.transaction() as tx:
        for session in ("s1", "s2"):
            tx.set(f"sessions.{session}", {"id": session, "started_at": "2026-11-24T08:00:00.000Z"})
        tx.update("sessions.s1", {**liveness.this_process(), "pid": dead.pid, "pid_started": None})
    sent = send(store, org, to="main:s1", sender="tech-lead", now=T0 - timedelta(minutes=1))
    with store.transaction() as tx:
        first = bus.main_thread_inbox(tx, "s1", via="user_prompt", org=org, now=T0, receipt=receipt())
    assert ids(first) == [sent["id"]]
    with store.transaction() as tx:
        got = bus.main_thread_inbox(tx, "s2", via="user_prompt", org=org, now=T0 + timedelta(seconds=12))
    assert ids(got) == [sent["id"]]
