"""Acks, questions and answers, and escalation of unanswered questions under an injected clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from orchestra import bus
from orchestra.bus import replies

from tests.bus.conftest import T0, add_run


def ask(store, org, to="fullstack-eng", priority="high", sender="main", **kwargs) -> dict:
    with store.transaction() as tx:
        return bus.ask(tx, sender=sender, to=to, question="Which IdP do we use?", priority=priority, org=org,
                       now=T0, **kwargs)


def escalate(store, org, minutes: float, after: timedelta | None = None) -> list[dict]:
    with store.transaction() as tx:
        return bus.escalate_due(tx, now=T0 + timedelta(minutes=minutes), org=org, after=after)


def message(store, message_id: str) -> dict:
    return store.get(f"communication.messages.{message_id}")


def test_ack_closes_a_direct_message_once(store, org) -> None:
    with store.transaction() as tx:
        sent = bus.send(tx, sender="main", to="tech-lead", type="task_assigned", org=org, now=T0)
    with store.transaction() as tx:
        first = bus.ack(tx, sent["id"], by="agent:r1", now=T0)
    with store.transaction() as tx:
        again = bus.ack(tx, sent["id"], by="agent:r2", now=T0 + timedelta(minutes=5))
    assert first["status"] == "acknowledged" and first["closed_by"] == "agent:r1"
    assert again == first
    assert [e["type"] for e in store.events_after(0)] == ["message.sent", "message.acknowledged"]


def test_ack_of_an_unknown_message_is_refused(store) -> None:
    with pytest.raises(ValueError, match="message 'msg-77': no such message"), store.transaction() as tx:
        bus.ack(tx, "msg-77", by="main")


def test_answer_goes_to_the_asker_and_closes_the_question(store, org) -> None:
    add_run(store, "r-asker", "fullstack-eng")
    question = ask(store, org, to="tech-lead", sender="agent:r-asker")
    with store.transaction() as tx:
        reply = bus.answer(tx, sender="tech-lead", question_id=question["id"], answer="Keycloak", org=org, now=T0)
    assert reply["to"] == "agent:r-asker" and reply["reply_to"] == question["id"]
    assert message(store, question["id"])["status"] == "answered"
    with store.transaction() as tx:
        got = bus.deliver(tx, bus.recipient(org, "r-asker", "fullstack-eng"), via="tool_call", now=T0)
    assert "Keycloak" in got.text and f"(answers {question['id']})" in got.text


def test_unanswered_high_question_escalates_to_the_recipients_orchestrator(store, org) -> None:
    question = ask(store, org)
    assert escalate(store, org, minutes=9) == []
    [copy] = escalate(store, org, minutes=10)
    assert copy["to"] == "engineering-director" and copy["from"] == "main"
    assert copy["escalation_of"] == question["id"] and copy["escalated_from"] == "fullstack-eng"
    assert copy["payload"] == question["payload"] and copy["priority"] == "high"
    assert message(store, question["id"])["escalated_to"] == copy["id"]
    assert escalate(store, org, minutes=15) == []  # escalated once, not again
    # the orchestrator answers the copy: the asker gets it, and both messages close
    with store.transaction() as tx:
        reply = bus.answer(tx, sender="engineering-director", question_id=copy["id"], answer="Okta", org=org)
    assert reply["to"] == "main"
    assert message(store, question["id"])["status"] == message(store, copy["id"])["status"] == "answered"


def test_an_answer_to_an_escalated_copy_names_the_question_the_asker_asked(store, org) -> None:
    """The copy is sent in the asker's name to someone else: the asker never saw its id."""
    add_run(store, "r-asker", "qa-engineer")
    question = ask(store, org, to="fullstack-eng", sender="agent:r-asker")
    [copy] = escalate(store, org, minutes=10)
    with store.transaction() as tx:
        reply = bus.answer(tx, sender="engineering-director", question_id=copy["id"], answer="Okta", org=org, now=T0)
        got = bus.deliver(tx, bus.recipient(org, "r-asker", "qa-engineer"), via="tool_call", now=T0)
    assert reply["reply_to"] == question["id"] and f"(answers {question['id']}) Okta" in got.text
    assert message(store, question["id"])["answered_by"] == message(store, copy["id"])["answered_by"] == reply["id"]


def test_escalation_climbs_from_orchestrator_to_main_to_the_human(store, org) -> None:
    ask(store, org, to="fullstack-eng", sender="qa-engineer", priority="critical")
    [to_director] = escalate(store, org, minutes=10)
    [to_main] = escalate(store, org, minutes=20)
    [to_human] = escalate(store, org, minutes=30)
    assert [to_director["to"], to_main["to"], to_human["to"]] == ["engineering-director", "main", "human"]
    assert escalate(store, org, minutes=600) == []  # nobody above the human
    with store.transaction() as tx:
        bus.ack(tx, to_human["id"], by="human")
    statuses = {m["status"] for m in store.get("communication.messages").values()}
    assert statuses == {"acknowledged"}


def test_escalation_targets(store, org) -> None:
    add_run(store, "a-dir", "orchestra:engineering-director")
    add_run(store, "a-eng", "fullstack-eng")
    with store.snapshot() as tx:
        targets = {a: replies.escalation_target(tx, a, org) for a in (
            "fullstack-eng", "agent:a-eng", "team:qa", "agent:a-dir", "engineering-director", "general-purpose",
            "main", "human")}
    assert targets == {"fullstack-eng": "engineering-director", "agent:a-eng": "engineering-director",
                       "team:qa": "qa-director", "agent:a-dir": "main", "engineering-director": "main",
                       "general-purpose": "main", "main": "human", "human": None}


def test_normal_priority_questions_do_not_escalate(store, org) -> None:
    ask(store, org, priority="normal")
    ask(store, org, priority="low")
    assert escalate(store, org, minutes=600) == []


def test_escalation_skips_the_asker_itself(store, org) -> None:
    ask(store, org, to="engineering-director", sender="main")
    assert [m["to"] for m in escalate(store, org, minutes=10)] == ["human"]


def test_escalation_skips_the_agent_type_of_the_run_that_asked(store, org) -> None:
    """A director's run asking its own member is not sent its own question back as the member's orchestrator."""
    add_run(store, "a-dir", "orchestra:engineering-director")
    question = ask(store, org, to="fullstack-eng", sender="agent:a-dir")
    [copy] = escalate(store, org, minutes=10)
    assert (copy["to"], copy["escalation_of"]) == ("main", question["id"])


def test_escalation_time_is_set_per_question(store, org) -> None:
    ask(store, org, escalate_after=60)
    assert escalate(store, org, minutes=0.9) == []
    assert len(escalate(store, org, minutes=1)) == 1


def test_escalation_time_default_comes_from_the_environment(store, org, monkeypatch) -> None:
    ask(store, org)
    monkeypatch.setenv(replies.ESCALATE_AFTER_ENV, "1800")
    assert escalate(store, org, minutes=29) == []
    assert len(escalate(store, org, minutes=30)) == 1


@pytest.mark.parametrize("seconds", [float("inf"), float("nan"), 1e20, True, 0])
def test_an_escalation_time_no_clock_can_reach_is_refused(store, org, seconds) -> None:
    with pytest.raises(ValueError, match="escalate_after: expected a positive number of seconds up to"):
        ask(store, org, escalate_after=seconds)
    assert store.get("communication.messages") == {}


@pytest.mark.parametrize("raw", ["inf", "nan", "1e20", "-5", "soon"])
def test_an_escalation_default_no_clock_can_reach_is_refused(store, org, monkeypatch, raw) -> None:
    ask(store, org)
    monkeypatch.setenv(replies.ESCALATE_AFTER_ENV, raw)
    with pytest.raises(ValueError, match=f"{replies.ESCALATE_AFTER_ENV}='{raw}': expected a positive number"):
        escalate(store, org, minutes=30)


def test_escalation_runs_on_a_tool_call(store, org, project) -> None:
    """The per-tool-call source notices an overdue question while delivering and escalates it."""
    from orchestra.bus.hooks import tool_call_context
    from orchestra.hookio import HookContext, parse_event

    ask(store, org, to="tech-lead")
    event = parse_event(b'{"hook_event_name": "PreToolUse", "session_id": "s1", "cwd": "/", "tool_name": "Bash",'
                        b' "agent_id": "d1", "agent_type": "engineering-director", "tool_input": {}}')
    ctx = HookContext(event)
    ctx._store = store
    text = tool_call_context(event, ctx, now=T0 + timedelta(minutes=11))
    assert "Which IdP do we use?" in text and "[HIGH] question" in text
    assert ctx.audit["bus_escalated"] == ctx.audit["bus_delivered"]
