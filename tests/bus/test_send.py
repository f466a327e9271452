"""send(): fields, validation (nothing stored on bad input), reply linking, retries deduplicated."""

from __future__ import annotations

from datetime import timedelta

import pytest
from orchestra import bus

from tests.bus.conftest import T0, add_run


def messages(store) -> dict:
    return store.get("communication.messages")


def test_send_stores_every_protocol_field(store, org) -> None:
    with store.transaction() as tx:
        tx.set("tasks.task-3", {"title": "OAuth", "status": "in_progress"})
        sent = bus.send(tx, sender="main", to="tech-lead", type="question", payload={"question": "Which IdP?"},
                        priority="high", task="task-3", org=org, now=T0)
    stored = messages(store)[sent["id"]]
    assert stored == sent
    for field in ("id", "timestamp", "from", "to", "type", "payload", "priority", "reply_to", "task", "expires_at"):
        assert field in stored
    assert stored["from"] == "main" and stored["to"] == "tech-lead" and stored["task"] == "task-3"
    assert stored["timestamp"] == "2026-11-24T09:00:00.000Z" and stored["status"] == "pending"


def test_every_message_type_is_accepted(store, org) -> None:
    payloads = {"question": {"question": "q"}, "answer": {"answer": "a"}, "artifact_ready": {"artifacts": ["a.md"]},
                "review_complete": {"verdict": "approved"}}
    with store.transaction() as tx:
        targets = {
            "answer": bus.send(tx, sender="main", to="tech-lead", type="question", payload={"question": "q"}, org=org),
            "artifact_received": bus.send(tx, sender="main", to="tech-lead", type="artifact_ready",
                                          payload={"artifacts": ["x"]}, org=org),
            "review_complete": bus.send(tx, sender="main", to="tech-lead", type="review_request", org=org),
        }
        for kind in bus.MESSAGE_TYPES:
            reply_to = targets[kind]["id"] if kind in targets else None
            to = "tech-lead" if kind == "review_request" else "main"
            bus.send(tx, sender="fullstack-eng", to=to, type=kind, payload=payloads.get(kind), reply_to=reply_to, org=org)
    assert {m["type"] for m in messages(store).values()} == set(bus.MESSAGE_TYPES)
    assert len(bus.MESSAGE_TYPES) == 12


@pytest.mark.parametrize(("change", "error"), [
    ({"to": "nobody"}, "recipient 'nobody': unknown agent type"),
    ({"to": "team:marketing"}, "unknown team 'marketing'; known teams: engineering, qa"),
    ({"to": "agent:a0000"}, "no agent run with id 'a0000'"),
    ({"to": ""}, "recipient 'to': expected a non-empty string"),
    ({"type": "gossip"}, "message type 'gossip' is unknown"),
    ({"payload": {"question": "x" * 5000}}, "over the 4096-byte limit"),
    ({"payload": "just text"}, "payload: expected a JSON object"),
    ({"payload": {}}, "a question message needs a non-empty 'question'"),
    ({"priority": "urgent"}, "priority 'urgent' is unknown"),
    ({"task": "task-404"}, "task 'task-404': no such task"),
    ({"sender": "broadcast"}, "not an identity"),
    ({"expires_at": "2026-11-24T08:00:00Z"}, "is not in the future"),
    ({"expires_at": "tomorrow"}, "not an ISO 8601 time"),
    ({"type": "answer", "payload": {"answer": "a"}}, "an answer must name the question it replies to"),
    ({"reply_to": "msg-999"}, "reply_to 'msg-999': no such message"),
])
def test_bad_input_is_refused_and_nothing_is_stored(store, org, change, error) -> None:
    kwargs = {"sender": "main", "to": "tech-lead", "type": "question", "payload": {"question": "q"},
              "org": org, "now": T0, **change}
    with pytest.raises(ValueError, match=error.replace("(", r"\(").replace(")", r"\)")), store.transaction() as tx:
        bus.send(tx, **kwargs)
    assert messages(store) == {}
    assert store.events_after(0) == []


def test_recipients_resolve_runs_types_teams_and_fixed_addresses(store, org) -> None:
    add_run(store, "a95aee35bef91164f", "general-purpose")
    with store.transaction() as tx:
        for to in ("agent:a95aee35bef91164f", "general-purpose", "orchestra:tech-lead", "team:qa", "human",
                   "main", "broadcast"):
            bus.send(tx, sender="main", to=to, type="state_updated", org=org, now=T0)
    assert sorted(m["to"] for m in messages(store).values()) == sorted(
        ["agent:a95aee35bef91164f", "general-purpose", "tech-lead", "team:qa", "human", "main", "broadcast"])


def test_messages_expire_by_default_shared_ones_sooner(store, org) -> None:
    with store.transaction() as tx:
        team = bus.send(tx, sender="main", to="team:qa", type="state_updated", org=org, now=T0)
        direct = bus.send(tx, sender="main", to="qa-engineer", type="state_updated", org=org, now=T0)
    assert team["expires_at"] == "2026-11-25T09:00:00.000Z"
    assert direct["expires_at"] == "2026-12-01T09:00:00.000Z"


def test_answer_closes_the_question_and_links_it(store, org) -> None:
    with store.transaction() as tx:
        question = bus.send(tx, sender="main", to="tech-lead", type="question", payload={"question": "q"}, org=org)
        answer = bus.send(tx, sender="tech-lead", to="main", type="answer", payload={"answer": "a"},
                          reply_to=question["id"], org=org)
    stored = messages(store)[question["id"]]
    assert stored["status"] == "answered" and stored["answered_by"] == answer["id"]
    with pytest.raises(ValueError, match="already answered"), store.transaction() as tx:
        bus.send(tx, sender="tech-lead", to="main", type="answer", payload={"answer": "b"}, reply_to=question["id"],
                 org=org)


def test_replies_must_match_what_they_reply_to(store, org) -> None:
    with store.transaction() as tx:
        request = bus.send(tx, sender="main", to="tech-lead", type="review_request", org=org)
    with pytest.raises(ValueError, match="an answer replies to a question, not a review_request"), \
            store.transaction() as tx:
        bus.send(tx, sender="tech-lead", to="main", type="answer", payload={"answer": "a"}, reply_to=request["id"],
                 org=org)
    with pytest.raises(ValueError, match="verdict 'meh' is unknown"), store.transaction() as tx:
        bus.send(tx, sender="tech-lead", to="main", type="review_complete", payload={"verdict": "meh"},
                 reply_to=request["id"], org=org)


def test_a_reply_goes_back_to_whoever_sent_what_it_replies_to(store, org) -> None:
    """An answer sent elsewhere would close the question without the asker ever being told the answer."""
    add_run(store, "r-asker", "qa-engineer")
    with store.transaction() as tx:
        question = bus.send(tx, sender="agent:r-asker", to="tech-lead", type="question", payload={"question": "q"},
                            org=org)
        handed = bus.send(tx, sender="orchestra", to="tech-lead", type="artifact_ready", payload={"artifacts": ["a"]},
                          org=org)
    for to in ("human", "broadcast", "qa-engineer", "team:qa"):
        with pytest.raises(ValueError, match=f"recipient '{to}': an answer goes back to whoever sent {question['id']}; "
                                             "address it to agent:r-asker"), store.transaction() as tx:
            bus.send(tx, sender="tech-lead", to=to, type="answer", payload={"answer": "a"}, reply_to=question["id"],
                     org=org)
    assert messages(store)[question["id"]]["status"] == "pending"
    with store.transaction() as tx:
        answer = bus.send(tx, sender="tech-lead", to=" agent:r-asker", type="answer", payload={"answer": "a"},
                          reply_to=question["id"], org=org)
        received = bus.send(tx, sender="tech-lead", to="main", type="artifact_received", reply_to=handed["id"], org=org)
    assert (answer["to"], received["to"]) == ("agent:r-asker", "main")  # Orchestra's own: the main thread


def test_a_retry_with_the_same_id_is_stored_once(store, org) -> None:
    kwargs = {"sender": "main", "to": "tech-lead", "type": "state_updated", "payload": {"k": 1}, "id": "m-42",
              "org": org}
    with store.transaction() as tx:
        first = bus.send(tx, **kwargs)
    with store.transaction() as tx:
        again = bus.send(tx, **kwargs)
    assert first == again and list(messages(store)) == ["m-42"]
    with pytest.raises(ValueError, match="already used by a different message"), store.transaction() as tx:
        bus.send(tx, **{**kwargs, "payload": {"k": 2}})


def test_ids_follow_send_order(store, org) -> None:
    with store.transaction() as tx:
        ids = [bus.send(tx, sender="main", to="tech-lead", type="state_updated", org=org,
                        now=T0 + timedelta(seconds=i))["seq"] for i in range(3)]
    assert ids == sorted(ids) and len(set(ids)) == 3


def test_a_run_cannot_send_to_itself_what_it_would_never_be_shown(store, org) -> None:
    """A run is never shown what it sends: a message, question, handoff or answer to its own `agent:<id>` would stay
    open unread until it expires, so it is refused and nothing is stored."""
    add_run(store, "r1", "fullstack-eng")
    with store.transaction() as tx:
        question = bus.ask(tx, sender="agent:r1", to="tech-lead", question="which?", org=org, now=T0)
    kinds = [{"type": "state_updated", "payload": {"text": "note to self"}},
             {"type": "question", "payload": {"question": "me?"}},
             {"type": "artifact_ready", "payload": {"artifacts": ["a.md"]}},
             {"type": "answer", "payload": {"answer": "it"}, "reply_to": question["id"]}]
    for kind in kinds:
        with pytest.raises(ValueError, match=r"recipient 'agent:r1' is the sender itself, and a run is never shown "
                                             r"what it sends"), store.transaction() as tx:
            bus.send(tx, sender="agent:r1", to=" agent:r1", org=org, now=T0, **kind)
    assert list(messages(store)) == [question["id"]] and messages(store)[question["id"]]["status"] == "pending"
    with store.transaction() as tx:  # its own agent type is other runs of that type: they read it
        assert bus.send(tx, sender="agent:r1", to="fullstack-eng", type="state_updated", payload={"text": "hi"},
                        org=org, now=T0)["to"] == "fullstack-eng"


@pytest.mark.parametrize(("to", "hint"), [
    ("qa", "recipient 'qa': unknown agent type (not in teams.yaml and no run of that type); qa is a team: write team:qa"),
    ("agent:tech-lead", "tech-lead is an agent type: write tech-lead (every run of that type reads it)"),
    ("team:qa-engineer", "unknown team 'qa-engineer'; qa-engineer is an agent type: write qa-engineer"),
    ("Human", "recipient 'Human': unknown agent type (not in teams.yaml and no run of that type); did you mean human?"),
    ("Tech-Lead", "did you mean tech-lead?"),
    ("team:QA", "unknown team 'QA'; did you mean team:qa?"),
])
def test_a_recipient_written_the_wrong_way_names_the_address_meant(store, org, to, hint) -> None:
    with pytest.raises(ValueError) as refused, store.transaction() as tx:
        bus.send(tx, sender="main", to=to, type="state_updated", payload={"text": "hi"}, org=org, now=T0)
    assert hint in str(refused.value), str(refused.value)
    assert messages(store) == {}
