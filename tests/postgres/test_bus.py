"""Message delivery on PostgreSQL: a tool call hands over what nobody else is handing over right now
(FOR UPDATE SKIP LOCKED) and never waits for a process that holds a message; the real hook script
delivers from a shared store exactly as from a local one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from orchestra import bus
from orchestra.bus.hooks import tool_call_context
from orchestra.hookio import HookContext, parse_event
from orchestra.store import claim, open_store
from orchestra.teams import build

from tests.bus.conftest import T0, TEAMS, TEAMS_YAML
from tests.bus.test_hooks import MEMBER, fixture_event
from tests.conftest import hook_output, run_hook


@pytest.fixture
def shared(project: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    (project / ".claude" / "teams.yaml").write_text(TEAMS_YAML, encoding="utf-8")
    monkeypatch.setenv("ORCHESTRA_STATE_URL", pg_url)
    return pg_url


def send(url: str, text: str, priority: str = "normal", now: datetime = T0) -> str:
    with open_store(url) as store, store.transaction() as tx:
        return bus.send(tx, org=build(TEAMS), sender="main", type="state_updated", to="fullstack-eng",
                        priority=priority, payload={"text": text}, now=now)["id"]


def call(project: Path, now, tool_use_id: str | None = None) -> str | None:
    """The PreToolUse hook's delivery on the fixture's tool call, or on another call of the run (`tool_use_id`):
    the same call run again shows again what it showed."""
    event = fixture_event(project, "PreToolUse", "Bash", "fullstack-eng")
    event = parse_event(json.dumps({**event, **({"tool_use_id": tool_use_id} if tool_use_id else {})}).encode())
    ctx = HookContext(event)
    try:
        text = tool_call_context(event, ctx, now=now)
    finally:
        ctx.close()
    assert "bus_error" not in ctx.audit, ctx.audit
    return text


def test_a_message_another_process_is_handing_over_is_skipped_not_waited_for(project: Path, shared: str) -> None:
    held, free = send(shared, "first"), send(shared, "second")
    with open_store(shared) as other, other.claiming() as tx:
        assert [m["id"] for m in claim(tx, "communication.messages", [held])] == [held]
        text = call(project, T0 + timedelta(minutes=1))  # same thread: waiting would never end
    assert f"{free} from main to fullstack-eng: second" in text and held not in text
    with open_store(shared) as store:
        assert list(store.get(f"communication.messages.{free}.delivered")) == [MEMBER]
        assert store.get(f"communication.messages.{held}.delivered") == {}
    later = call(project, T0 + timedelta(minutes=2), "toolu_later")  # the holder let go without handing it over
    assert f"{held} from main to fullstack-eng: first" in later and free not in later


def test_the_pre_tool_hook_delivers_from_the_shared_store_once(project: Path, shared: str) -> None:
    sent = send(shared, "use the v2 API", priority="high", now=datetime.now(UTC))  # the hook reads the clock
    event = fixture_event(project, "PreToolUse", "Bash", "fullstack-eng")
    first = run_hook("pre_tool.py", event, project, env={"ORCHESTRA_STATE_URL": shared})
    assert first.returncode == 0, first.stderr
    assert f"[HIGH] state_updated {sent} from main" in hook_output(first)["hookSpecificOutput"]["additionalContext"]
    again = run_hook("pre_tool.py", {**event, "tool_use_id": "toolu_again"}, project, env={"ORCHESTRA_STATE_URL": shared})
    assert again.returncode == 0 and hook_output(again) == {}
    with open_store(shared) as store:
        assert store.get(f"communication.deliveries.{sent}@{MEMBER}")["via"] == "tool_call"


def test_a_subagent_start_run_again_on_the_shared_store_shows_the_same_messages(project: Path, shared: str) -> None:
    """SubagentStart run again on the same start (a warm child that died after committing) shows the run what it
    took on PostgreSQL as on SQLite; a later tool call of the run is not shown it again."""
    sent = send(shared, "use the v2 API", now=datetime.now(UTC))
    start = fixture_event(project, "SubagentStart", agent="fullstack-eng")
    env = {"ORCHESTRA_STATE_URL": shared}
    first, again = (run_hook("subagent_start.py", start, project, env=env) for _ in range(2))
    assert first.returncode == 0 and again.returncode == 0, (first.stderr, again.stderr)
    context = hook_output(first)["hookSpecificOutput"]["additionalContext"]
    assert f"state_updated {sent} from main to fullstack-eng" in context and hook_output(again) == hook_output(first)
    call = run_hook("pre_tool.py", fixture_event(project, "PreToolUse", "Bash", "fullstack-eng"), project, env=env)
    assert call.returncode == 0 and "hookSpecificOutput" not in hook_output(call)


def test_a_delivery_left_unconfirmed_is_shown_again_after_its_hooks_time_and_a_confirmed_one_never(
        shared: str) -> None:
    """Handed over inside a claiming transaction as the tool-call hook does: the run whose hook never confirmed is
    shown the message again once that hook's time is up; the run whose hook confirmed is not."""
    from orchestra.bus import delivery

    sent = send(shared, "use the v2 API")
    org = build(TEAMS)
    lost, shown = bus.recipient(org, "r1", "fullstack-eng"), bus.recipient(org, "r2", "fullstack-eng")
    receipts = {who.key: delivery.Receipt((T0 + timedelta(seconds=10)).timestamp()) for who in (lost, shown)}

    def hand_over(store, who, now, **kwargs) -> bus.Delivery:
        with store.claiming() as tx:
            return bus.deliver(tx, who, via="tool_call", now=now, rows=claim(tx, "communication.messages", [sent]),
                               **kwargs)

    with open_store(shared) as store:
        for who in (lost, shown):
            assert hand_over(store, who, T0, receipt=receipts[who.key]).messages
        with store.transaction() as tx:
            assert delivery.confirm(tx, receipts["r2"], T0 + timedelta(seconds=1)) == [sent]
        assert hand_over(store, lost, T0 + timedelta(seconds=5)).text is None  # its hook may still be writing
        later = T0 + timedelta(seconds=12)
        assert [m["id"] for m in hand_over(store, lost, later).messages] == [sent]
        assert hand_over(store, shown, later).text is None
        assert "unconfirmed" not in store.get(f"communication.messages.{sent}")
        assert store.get(f"communication.deliveries.{sent}@r2")["confirmed_at"] == "2026-11-24T09:00:01.000Z"


def test_a_confirmation_waits_for_a_locked_shared_store_only_while_it_may_still_confirm(
        project: Path, shared: str) -> None:
    """Another writer holds the store: the hook's confirmation gives up (BusyError, which the hook runner reports on
    stderr and the hook's answer stands) before its last second, instead of waiting the store's usual 6 s past the
    hook's timeout."""
    import threading
    import time

    from orchestra.bus import delivery
    from orchestra.bus.hooks import _confirm
    from orchestra.store import BusyError

    sent = send(shared, "rotate the keys")
    who = bus.recipient(build(TEAMS), "r1", "fullstack-eng")
    receipt = delivery.Receipt(time.time() + 3)  # the hook's timeout is 3 s away: 2 s left to confirm
    with open_store(shared) as store, store.claiming() as tx:
        bus.deliver(tx, who, via="tool_call", now=T0, rows=claim(tx, "communication.messages", [sent]),
                    receipt=receipt)
    holding, done = threading.Event(), threading.Event()

    def hold() -> None:
        with open_store(shared) as other, other.transaction() as tx:
            tx.set("sessions.locker", {"holding": True})
            holding.set()
            done.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(30)
        ctx = HookContext(parse_event(json.dumps(fixture_event(project, "PreToolUse", "Bash", "fullstack-eng"))
                                      .encode()))
        with pytest.raises(BusyError):
            _confirm(ctx, receipt)
        assert time.time() < receipt.deadline  # not past the hook's timeout
        ctx.close()
    finally:
        done.set()
        holder.join()
    with open_store(shared) as store:
        assert "confirmed_at" not in store.get(f"communication.deliveries.{sent}@r1")
