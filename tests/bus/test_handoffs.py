"""Handoffs (artifact_ready -> artifact_received, listed in the receiving task's brief) and reviews."""

from __future__ import annotations

import pytest
from orchestra import bus

from tests.bus.conftest import T0, add_run


@pytest.fixture
def tasks(store):
    with store.transaction() as tx:
        tx.set("tasks.task-api", {"title": "API", "status": "completed", "team": "engineering"})
        tx.set("tasks.task-ui", {"title": "UI", "status": "assigned", "assignee": "fullstack-eng",
                                 "team": "engineering"})
        tx.set("tasks.task-solo", {"title": "No team", "status": "queued"})
    return store


def test_handoff_goes_to_the_receiving_tasks_assignee_and_shows_in_its_brief(tasks, org) -> None:
    store = tasks
    add_run(store, "a-api", "api-engineer")
    with store.transaction() as tx:
        sent = bus.handoff(tx, sender="agent:a-api", artifacts=["docs/api.yaml", "src/client.ts"], task="task-ui",
                           from_task="task-api", note="v2 endpoints", org=org, now=T0)
    assert sent["to"] == "fullstack-eng" and sent["type"] == "artifact_ready" and sent["from_type"] == "api-engineer"
    with store.snapshot() as tx:
        brief = bus.handoff_brief(tx, "task-ui")
        assert bus.handoff_brief(tx, "task-api") is None
    assert brief.splitlines() == [
        "Artifacts handed to this task:",
        f"- docs/api.yaml (from agent:a-api, task task-api, {sent['id']}; confirm with artifact_received "
        f"(reply_to {sent['id']})) — v2 endpoints",
        f"- src/client.ts (from agent:a-api, task task-api, {sent['id']}; confirm with artifact_received "
        f"(reply_to {sent['id']})) — v2 endpoints",
    ]
    with store.transaction() as tx:
        receipt = bus.receive(tx, sender="agent:a-ui", handoff_id=sent["id"], org=org, now=T0)
    assert receipt["to"] == "agent:a-api" and receipt["type"] == "artifact_received"
    assert store.get(f"communication.messages.{sent['id']}.status") == "acknowledged"
    with store.snapshot() as tx:
        assert [a["received"] for a in bus.artifacts_for_task(tx, "task-ui")] == [True, True]
        assert "confirm with" not in bus.handoff_brief(tx, "task-ui")


def test_handoff_needs_a_receiver_and_paths(tasks, org) -> None:
    with pytest.raises(ValueError, match="name the receiver"), tasks.transaction() as tx:
        bus.handoff(tx, sender="main", artifacts=["a.md"], task="task-solo", org=org)
    with pytest.raises(ValueError, match="payload.artifacts: expected a list of non-empty paths"), \
            tasks.transaction() as tx:
        bus.handoff(tx, sender="main", artifacts=["ok.md", ""], to="tech-lead", org=org)
    assert tasks.get("communication.messages") == {}


def test_a_handoff_to_an_unknown_task_says_the_task_is_unknown(tasks, org) -> None:
    for to in (None, "tech-lead"):
        with pytest.raises(ValueError, match="task 'task-nope': no such task"), tasks.transaction() as tx:
            bus.handoff(tx, sender="main", artifacts=["a.md"], to=to, task="task-nope", org=org)
    assert tasks.get("communication.messages") == {}


def test_review_requests_route_to_the_teams_reviewer_and_record_the_verdict(tasks, org) -> None:
    store = tasks
    with store.transaction() as tx:
        request = bus.request_review(tx, sender="agent:a-ui", task="task-ui", summary="login page", org=org, now=T0)
    assert request["to"] == "tech-lead" and request["type"] == "review_request"
    with store.transaction() as tx:
        got = bus.deliver(tx, bus.recipient(org, "a-lead", "tech-lead"), via="subagent_start", now=T0)
    assert "review_request" in got.text and "verdict approved|changes_requested|rejected" in got.text
    with store.transaction() as tx:
        reply = bus.complete_review(tx, sender="agent:a-lead", request_id=request["id"], verdict="changes_requested",
                                    notes="add CSRF token", org=org, now=T0)
    assert reply["to"] == "agent:a-ui" and reply["payload"] == {"verdict": "changes_requested",
                                                                "notes": "add CSRF token"}
    with store.snapshot() as tx:
        assert bus.review_verdicts(tx, "task-ui") == [{"verdict": "changes_requested", "by": "agent:a-lead",
                                                        "request": request["id"], "reply": reply["id"],
                                                        "at": "2026-11-24T09:00:00.000Z"}]
    assert any(e["type"] == "review.completed" and e["task_id"] == "task-ui" for e in store.events_after(0))


def test_review_requests_to_non_reviewers_are_refused(tasks, org) -> None:
    add_run(tasks, "a-eng", "fullstack-eng")
    for to in ("fullstack-eng", "agent:a-eng", "team:qa", "main"):
        with pytest.raises(ValueError, match="review request to"), tasks.transaction() as tx:
            bus.request_review(tx, sender="main", task="task-ui", to=to, org=org)
    with tasks.transaction() as tx:
        assert bus.request_review(tx, sender="main", task="task-ui", to="human", org=org)["to"] == "human"


def test_the_receiving_tasks_delegation_brief_lists_handed_artifacts(tasks, org) -> None:
    from orchestra import briefing

    with tasks.transaction() as tx:
        sent = bus.handoff(tx, sender="api-engineer", artifacts=["docs/api.yaml"], task="task-ui", org=org, now=T0)
    with tasks.snapshot() as tx:
        brief = briefing.task_brief(tx, tx.get("tasks.task-ui"), worktree="/wt/task-ui")
        plain = briefing.task_brief(tx, tx.get("tasks.task-api"))
    assert brief.count("Artifacts handed to this task:") == 1 and brief.count("docs/api.yaml") == 1
    assert f"- docs/api.yaml (from api-engineer, {sent['id']}; confirm with artifact_received" in brief
    assert "Artifacts handed to this task" not in plain
