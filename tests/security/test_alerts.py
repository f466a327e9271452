"""Suspicious activity: repeated denials or any attempt on secrets/state raise an alert, once per window."""

from __future__ import annotations

from pathlib import Path

import pytest
from orchestra.security import alerts
from orchestra.security.decisions import Decision
from orchestra.store import open_store

SPAWN = Decision("spawn", "spawn", "api-engineer", "can_spawn_agents", "no")
SECRET = Decision("secret", "read", ".env", ".env*", "no")
T0 = 1_800_000_000.0


@pytest.fixture
def store(tree: Path):
    with open_store(root=tree) as store:
        yield store


def deny(store, policy, org, decision: Decision, at: float, agent_id: str | None = "run-1",
         agent_type: str | None = "fullstack-eng"):
    with store.transaction() as tx:
        return alerts.record(tx, decision, policy.caller(org, agent_type), policy, org, agent_id=agent_id,
                             session_id="s-1", now=at)


def alert_events(store) -> list[dict]:
    return store.events_after(0, types=("security_alert",))


def alert_messages(store) -> list[dict]:
    with store.snapshot() as tx:
        return sorted(tx.items("communication.messages").values(), key=lambda m: m["seq"])


def test_the_third_denial_within_five_minutes_raises_an_alert(store, policy, org) -> None:
    assert deny(store, policy, org, SPAWN, T0) is None
    assert deny(store, policy, org, SPAWN, T0 + 100) is None
    alert = deny(store, policy, org, SPAWN, T0 + 200)
    assert alert is not None and alert.why == "3 denials within 5 minutes"
    assert "fullstack-eng" in alert.system_message and "run-1" in alert.system_message
    (event,) = alert_events(store)
    assert (event["agent_id"], event["data"]["denials_in_window"], event["data"]["role"]) == ("run-1", 3, "team_member")
    messages = alert_messages(store)
    assert [(m["to"], m["priority"], m["from"]) for m in messages] == [
        ("devops-manager", "critical", "orchestra"), ("human", "critical", "orchestra")]
    assert "3 denials" in messages[0]["payload"]["summary"]


def test_denials_spread_over_more_than_the_window_do_not(store, policy, org) -> None:
    for at in (T0, T0 + 200, T0 + 400, T0 + 600):
        assert deny(store, policy, org, SPAWN, at) is None
    with store.snapshot() as tx:
        entry = tx.get("denials.run-1")
    assert entry["total"] == 4 and len(entry["times"]) == 2


def test_denials_are_counted_per_run(store, policy, org) -> None:
    deny(store, policy, org, SPAWN, T0, agent_id="run-1")
    deny(store, policy, org, SPAWN, T0 + 1, agent_id="run-2")
    assert deny(store, policy, org, SPAWN, T0 + 2, agent_id=None, agent_type=None) is None  # main:s-1
    assert alert_events(store) == []


def test_any_attempt_on_a_secret_alerts_at_once(store, policy, org) -> None:
    alert = deny(store, policy, org, SECRET, T0)
    assert alert is not None and alert.why == "attempt on a secret file"
    assert alert.notified == ("devops-manager", "human")


def test_an_attempt_on_a_protected_path_of_the_policy_file_is_not_called_state(store, policy, org) -> None:
    alert = deny(store, policy, org, Decision("state", "write", "deploy/prod/app.env", "deploy/prod/**", "no"), T0)
    assert alert is not None and alert.why == "attempt on a protected file"


def test_messages_are_sent_once_per_run_and_window_events_every_time(store, policy, org) -> None:
    for at in (T0, T0 + 10, T0 + 20):
        deny(store, policy, org, SECRET, at)
    assert len(alert_events(store)) == 3 and len(alert_messages(store)) == 2
    later = deny(store, policy, org, SECRET, T0 + 400)
    assert later.notified == ("devops-manager", "human") and len(alert_messages(store)) == 4


def test_a_recipient_missing_from_teams_yaml_does_not_hide_the_alert(tree: Path, store, org) -> None:
    from tests.security.conftest import write_policy

    policy = write_policy(tree, "alerts: {notify: [nobody-here, human], denials: 2}\n")
    deny(store, policy, org, SPAWN, T0)
    alert = deny(store, policy, org, SPAWN, T0 + 1)
    assert alert.why == "2 denials within 5 minutes" and alert.notified == ("human",)
