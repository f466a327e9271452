"""Delegation through the real CLI: the run tree, task transitions, completion protocol and gates.

Each test seeds tasks, scripts the model, runs one `claude -p` session and then reads the state
store, the bus and the audit log: what the pack recorded, not what the test told it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.fake_api import MAIN, FakeAPI, agent_marker, delegate, say, write
from tests.e2e.landed import pending

DIRECTOR = agent_marker("engineering-director")
MEMBER = agent_marker("fullstack-eng")


def task(task_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": task_id, "title": f"Task {task_id}", "status": "queued", "type": "feature",
            "team": "engineering", "assignee": "fullstack-eng", "sprint": "s1", "priority": "normal",
            "dependencies": [], "artifacts": [], **fields}


def seed_sprint(sandbox, *tasks: dict[str, Any]) -> None:
    sandbox.seed({"sprints.s1": {"id": "s1", "name": "Sprint 1", "status": "active",
                                 "tasks": [t["id"] for t in tasks]},
                  **{f"tasks.{t['id']}": t for t in tasks}})


def in_worktree(sandbox, name: str, content: str):
    """A reply block source: Write `name` inside the worktree the member's brief names (its line
    `Worktree: <path> (work and commit only inside it)`), or in the repo when the brief names none."""
    def block(request):
        match = re.search(r"^Worktree: (.+?) \(work and commit", request.first_user_text, re.M)
        return write(str((sandbox.repo / match.group(1) if match else sandbox.repo) / name), content)
    return block


def member_settings(doc: dict[str, Any], name: str) -> dict[str, Any]:
    for team in doc["teams"].values():
        for member in team.get("members", []):
            if member.get("name") == name:
                return member
    raise KeyError(f"teams.yaml has no member {name}")


@pytest.fixture
def team(sandbox):
    """The sandbox with a director and a member agent, reviews off so completed work stays completed."""
    sandbox.ensure_agent("engineering-director", "Agent, Bash, Read")
    sandbox.ensure_agent("fullstack-eng", "Bash, Read, Write, Edit")
    sandbox.edit_teams(lambda doc: doc["teams"]["engineering"].setdefault("settings", {})
                       .update(require_review=False))
    sandbox.mark_agents()
    sandbox.commit("agents for the scenario")
    return sandbox


def event_types(tx, task_id: str) -> list[str]:
    """The task's events in store order, with `task.completed` and `task_completed` spelled alike."""
    return [e["type"].replace(".", "_") for e in tx.events_after(0, limit=100000) if e["task_id"] == task_id]


# Task status events named in the lifecycle issue, and the status each one enters.
STATUS_EVENTS = {"task_requeued": "queued", "task_assigned": "assigned", "task_started": "in_progress",
                 "task_completed": "completed", "task_blocked": "blocked", "task_needs_review": "needs_review"}


def assert_legal_history(types: list[str]) -> None:
    """Every status event a task went through is a legal step of the product's transition table."""
    from orchestra.models import check_task_transition

    assert "transition_refused" not in types, types
    current = "queued"
    for wanted in (STATUS_EVENTS[t] for t in types if t in STATUS_EVENTS):
        check_task_transition("history", current, wanted)
        current = wanted


def in_order(types: list[str], *wanted: str) -> bool:
    positions = [types.index(w) if w in types else -1 for w in wanted]
    return -1 not in positions and positions == sorted(positions)


def names(paths: list[str]) -> set[str]:
    return {Path(p).name for p in paths}


def block_reasons(run) -> list[str]:
    """Reasons of SubagentStop hooks that kept a subagent working, as the hooks printed them."""
    reasons = []
    for hook in run.hook_responses("SubagentStop"):
        try:
            out = json.loads(hook.get("stdout") or "{}")
        except ValueError:
            continue
        if out.get("decision") == "block":
            reasons.append(out["reason"])
    return reasons


def messages(tx, type_: str) -> list[dict[str, Any]]:
    return [m for m in tx.items("communication.messages").values() if m.get("type") == type_]


# -- 1. a director runs a parallel batch -------------------------------------------------------------

def run_parallel_batch(sandbox, api: FakeAPI):
    seed_sprint(sandbox, task("lead-1", type="planning", assignee="engineering-director"),
                task("feat-a"), task("feat-b"))
    api.script.on(MAIN).reply(delegate("engineering-director", "[task:lead-1] Run the sprint batch.", "Run batch")) \
                       .reply(say("The batch is done."))
    api.script.on(DIRECTOR).reply(
        delegate("fullstack-eng", "[task:feat-a] Build feature A.", "Build feature A"),
        delegate("fullstack-eng", "[task:feat-b] Build feature B.", "Build feature B"),
    ).reply(say("Both features are built.\nSTATUS: completed"))
    a = api.script.on(MEMBER, "[task:feat-a]")
    b = api.script.on(MEMBER, "[task:feat-b]")
    # Each member's first reply waits for the other's first request: only a parallel run gets past it.
    a.reply(in_worktree(sandbox, "feature_a.py", "A = 1\n"), after=b.asked(0)) \
     .reply(say("Built A.\nSTATUS: completed\nARTIFACTS: feature_a.py"))
    b.reply(in_worktree(sandbox, "feature_b.py", "B = 1\n"), after=a.asked(0)) \
     .reply(say("Built B.\nSTATUS: completed\nARTIFACTS: feature_b.py"))

    run = sandbox.run(api, "Run the sprint batch.")

    assert run.returncode == 0, run.describe()
    assert not api.problems(), api.problems()
    started = run.subagents()
    director = next(s["agent_id"] for s in started if s["agent_type"] == "engineering-director")
    members = {tag: s["agent_id"] for s in started for tag in ("feat-a", "feat-b")
               if f"[task:{tag}]" in (s["prompt"] or "")}
    assert set(members) == {"feat-a", "feat-b"}, started
    return run, director, members


@pending("lifecycle")
def test_parallel_batch_tracks_the_run_tree_tasks_and_events(team, api):
    run, director, members = run_parallel_batch(team, api)

    with team.state() as tx:
        agents, tasks = tx.items("agents"), tx.items("tasks")
        assert agents[director]["agent_type"] == "engineering-director"
        assert agents[director]["parent"] == "main" and agents[director]["task"] == "lead-1"
        assert set(agents[director]["child_agents"]) == set(members.values())
        for tag, agent_id in members.items():
            assert agents[agent_id]["parent"] == director and agents[agent_id]["task"] == tag
            assert agents[agent_id]["status"] == "completed"
            assert tasks[tag]["status"] == "completed" and tasks[tag]["agent_id"] == agent_id
            assert f"feature_{tag[-1]}.py" in names(tasks[tag]["artifacts"])
            types = event_types(tx, tag)
            assert in_order(types, "task_assigned", "task_started", "task_completed"), types
            assert_legal_history(types)
        assert tasks["lead-1"]["status"] == "completed"


@pending("lifecycle", "bus")
def test_parallel_batch_sends_the_director_a_completion_message_per_member(team, api):
    run, director, members = run_parallel_batch(team, api)

    with team.state() as tx:
        done = [m for m in messages(tx, "task_completed")
                if m["to"] in (f"agent:{director}", "engineering-director")]
    assert sorted(m["task"] for m in done) == ["feat-a", "feat-b"], done


@pending("lifecycle")
def test_background_delegation_completes_after_the_task_notification(team, api):
    seed_sprint(team, task("feat-c"))
    main = api.script.on(MAIN)
    main.reply(delegate("fullstack-eng", "[task:feat-c] Build feature C.", "Build feature C", background=True)) \
        .reply(say("Feature C is being built in the background.")) \
        .reply(say("Feature C is done."))
    api.script.on(MEMBER).reply(in_worktree(team, "feature_c.py", "C = 1\n"), after=main.asked(1)) \
                         .reply(say("Built C.\nSTATUS: completed\nARTIFACTS: feature_c.py"))

    run = team.run(api, "Build feature C in the background.")

    assert run.returncode == 0, run.describe()
    assert not api.problems(), api.problems()
    [member] = run.subagents()
    assert member["background"]
    notified = api.conversation(main)[2]
    assert "task-notification" in notified.last_user_text and member["agent_id"] in notified.last_user_text
    assert len(run.results) >= 2  # one result per main-thread turn: before and after the notification
    with team.state() as tx:
        feat = tx.get("tasks.feat-c")
        run_record = tx.get(f"agents.{member['agent_id']}")
    assert feat["status"] == "completed" and feat["agent_id"] == member["agent_id"]
    assert "feature_c.py" in names(feat["artifacts"])
    assert run_record["parent"] == "main" and run_record["status"] == "completed"


# -- 2. blocked, then completed by a later run ---------------------------------------------------------

def run_blocked_member(sandbox, api: FakeAPI):
    seed_sprint(sandbox, task("pay-1"))
    api.script.on(MAIN).reply(delegate("fullstack-eng", "[task:pay-1] Integrate payments.", "Integrate payments")) \
                       .reply(say("Payments are blocked."))
    api.script.on(MEMBER).reply(say("I cannot finish this.\nSTATUS: blocked\n"
                                    "BLOCKER: the payments sandbox key is missing"))
    run = sandbox.run(api, "Integrate payments.")
    assert run.returncode == 0, run.describe()
    assert not api.problems(), api.problems()
    return run


@pending("lifecycle")
def test_blocked_report_blocks_the_task_and_a_later_run_completes_it(team, api):
    run_blocked_member(team, api)
    with team.state() as tx:
        blocked = tx.get("tasks.pay-1")
        types = event_types(tx, "pay-1")
    assert blocked["status"] == "blocked" and "payments sandbox key" in blocked["blocker"]
    assert "task_blocked" in types and "task_completed" not in types

    with FakeAPI() as later:
        later.script.on(MAIN).reply(delegate("fullstack-eng", "[task:pay-1] The key is in place; finish payments.",
                                             "Finish payments")).reply(say("Payments are done."))
        later.script.on(MEMBER).reply(in_worktree(team, "payments.py", "PAY = 1\n")) \
                               .reply(say("Payments work.\nSTATUS: completed\nARTIFACTS: payments.py"))
        run = team.run(later, "Finish payments.")
        assert run.returncode == 0, run.describe()
        assert not later.problems(), later.problems()

    with team.state() as tx:
        done = tx.get("tasks.pay-1")
        types = event_types(tx, "pay-1")
    assert done["status"] == "completed" and "payments.py" in names(done["artifacts"])
    assert in_order(types, "task_blocked", "task_completed"), types
    assert_legal_history(types)


@pending("lifecycle", "bus")
def test_blocked_report_tells_the_orchestrator(team, api):
    run_blocked_member(team, api)
    with team.state() as tx:
        told = [m for m in messages(tx, "task_blocked") if m["to"].startswith("main:") and m["task"] == "pay-1"]
    assert len(told) == 1 and "payments sandbox key" in json.dumps(told[0]["payload"])


# -- 3. a completion claimed with nothing to show -------------------------------------------------------

def claim_completion_twice(sandbox, api: FakeAPI, second_reply):
    seed_sprint(sandbox, task("feat-d"))
    api.script.on(MAIN).reply(delegate("fullstack-eng", "[task:feat-d] Build feature D.", "Build feature D")) \
                       .reply(say("Done with D."))
    member = api.script.on(MEMBER).reply(say("All done.\nSTATUS: completed"))
    for blocks in second_reply:
        member.reply(*blocks)
    run = sandbox.run(api, "Build feature D.")
    assert run.returncode == 0, run.describe()
    assert not api.problems(), api.problems()
    [reason] = block_reasons(run)  # pushed back exactly once
    turns = api.conversation(member)
    assert reason.strip()[:80] in turns[1].last_user_text  # the model was shown why
    return run, turns


@pending("lifecycle")
def test_empty_completion_is_pushed_back_once_then_accepted(team, api):
    claim_completion_twice(team, api, [
        (in_worktree(team, "feature_d.py", "D = 1\n"),),
        (say("Now it is built.\nSTATUS: completed\nARTIFACTS: feature_d.py"),),
    ])
    with team.state() as tx:
        feat = tx.get("tasks.feat-d")
    assert feat["status"] == "completed" and "feature_d.py" in names(feat["artifacts"])


@pending("lifecycle")
def test_repeated_empty_completion_becomes_needs_review(team, api):
    run, turns = claim_completion_twice(team, api, [(say("It really is done.\nSTATUS: completed"),)])
    assert len(turns) == 2  # never a second push back: stop_hook_active is respected
    with team.state() as tx:
        feat = tx.get("tasks.feat-d")
    assert feat["status"] == "needs_review"
    assert not (team.repo / "feature_d.py").exists()


# -- 4. gates deny the Agent call and say why -----------------------------------------------------------

def denial(request) -> str:
    [result] = request.tool_results()
    assert result["is_error"], result
    return result["text"]


@pending("lifecycle")
def test_dependency_gate_denies_delegation_and_names_the_blocker(team, api):
    seed_sprint(team, task("dep-1"), task("dep-2", dependencies=["dep-1"]))
    main = api.script.on(MAIN).reply(delegate("fullstack-eng", "[task:dep-2] Build on dep-1.", "Build dep-2")) \
                              .reply(say("Waiting for dep-1."))
    member = api.script.on(MEMBER).reply(say("STATUS: completed"))

    run = team.run(api, "Build dep-2.")

    assert run.returncode == 0, run.describe()
    assert not api.problems(), api.problems()
    assert "dep-1" in denial(api.conversation(main)[1])
    assert api.conversation(member) == [] and run.subagents() == []
    with team.state() as tx:
        assert tx.get("tasks.dep-2")["status"] == "queued"
    assert any(a["event"] == "PreToolUse" and a["tool"] == "Agent" and a["decision"] == "deny"
               for a in team.audit())


@pending("lifecycle")
def test_capacity_gate_denies_delegation_and_names_who_is_running(team, api):
    team.edit_teams(lambda doc: member_settings(doc, "fullstack-eng").update(capacity=1))
    seed_sprint(team, task("busy-1"), task("cap-2"))
    main = api.script.on(MAIN)
    main.reply(delegate("fullstack-eng", "[task:busy-1] Build the busy feature.", "Busy feature", background=True)) \
        .reply(delegate("fullstack-eng", "[task:cap-2] Build one more.", "One more")) \
        .reply(say("fullstack-eng is at capacity.")) \
        .reply(say("The busy feature is done."))
    busy = api.script.on(MEMBER, "[task:busy-1]")
    # The first member stays busy until the main thread has seen the denial.
    busy.reply(in_worktree(team, "busy.py", "BUSY = 1\n"), after=main.asked(2)) \
        .reply(say("STATUS: completed\nARTIFACTS: busy.py"))
    extra = api.script.on(MEMBER, "[task:cap-2]").reply(say("STATUS: completed"))

    run = team.run(api, "Build both features.")

    assert run.returncode == 0, run.describe()
    assert not api.problems(), api.problems()
    [busy_run] = run.subagents()
    reason = denial(api.conversation(main)[2])
    assert "busy-1" in reason or busy_run["agent_id"] in reason, reason
    assert api.conversation(extra) == []
    with team.state() as tx:
        assert tx.get("tasks.cap-2")["status"] == "queued"
        assert tx.get("tasks.busy-1")["status"] == "completed"
