"""The message bus and team review through the real CLI: what running agents are shown, and what is kept.

Messages a person sends with `orchestra msg` while a session runs reach the main thread and running
agents at their next tool call, highest priority first; a handoff reaches the receiving task's run at
its start (its brief) and at its next tool call (its inbox). A `require_review` team's completed work
goes to the reviewer, whose verdict sends it back to the member with the findings, then completes it.
"""

from __future__ import annotations

import re
import subprocess

from tests.e2e.fake_api import MAIN, agent_marker, bash, delegate, say, tool
from tests.e2e.landed import pending
from tests.e2e.test_delegation import assert_legal_history, event_types, in_worktree, seed_sprint, task

MEMBER, QA, LEAD = agent_marker("fullstack-eng"), agent_marker("qa-engineer"), agent_marker("tech-lead")


def orchestra(sandbox, *args: str) -> str:
    """The sandbox's own `orchestra` CLI, as a person runs it beside the session."""
    out = subprocess.run([str(sandbox.repo / ".claude" / "orchestra" / "bin" / "orchestra"), *args], cwd=sandbox.repo,
                         env=sandbox.env(), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def sending(sandbox, block, *messages: tuple[str, ...]):
    """A reply block source that first sends `messages` with `orchestra msg send`, while the session runs."""
    def source(request):
        for message in messages:
            orchestra(sandbox, "msg", "send", *message)
        return block
    return source


def shown_ids(kind: str):
    """A reply block source: ack the first `kind` message the model was just shown."""
    def source(request):
        match = re.search(rf"\] {kind} (\S+) from\b", request.last_user_text)
        assert match, f"no {kind} shown: {request.last_user_text[-1500:]}"
        return tool("mcp__orchestra__ack", message_id=match.group(1))
    return source


def order_of(text: str, *needles: str) -> list[int]:
    return [text.find(n) for n in needles]


@pending("lifecycle", "bus", "mcp")
def test_messages_sent_during_a_session_reach_running_agents_highest_priority_first(sandbox, api):
    sandbox.add_tools("fullstack-eng", "mcp__orchestra__handoff")
    sandbox.mark_agents()
    sandbox.commit("agents")
    seed_sprint(sandbox, task("build-1"), task("qa-1", team="qa", assignee="qa-engineer", type="test"))
    orchestra(sandbox, "msg", "handoff", "qa-engineer", "docs/spec.md", "--task", "qa-1", "--note", "SPEC-NOTE v2")

    main = api.script.on(MAIN)
    member = api.script.on(MEMBER)
    qa = api.script.on(QA)
    main.reply(sending(sandbox, bash("echo main-first"), ("main", "state_updated", "--text", "HUMAN-NOTE ship friday"))) \
        .reply(delegate("fullstack-eng", "[task:build-1] Build the store.", "Build"),
               delegate("qa-engineer", "[task:qa-1] Test the store.", "Test")) \
        .reply(say("Built and tested."))
    member.reply(in_worktree(sandbox, "store.py", "S = 1\n"), after=qa.asked(0)) \
          .reply(tool("mcp__orchestra__handoff", artifacts=["store.py"], task="qa-1", note="HANDOFF-NOTE wal on")) \
          .reply(say("Built.\nSTATUS: completed\nARTIFACTS: store.py"))
    # qa works on once the handoff is stored, and a person sends three messages of three priorities meanwhile
    qa.reply(sending(sandbox, bash("echo qa-first"),
                     ("broadcast", "state_updated", "--text", "BCAST-LOW freeze", "--priority", "low"),
                     ("team:qa", "state_updated", "--text", "TEAM-QA retest"),
                     ("qa-engineer", "state_updated", "--text", "CRIT-STOP halt", "--priority", "critical")),
             after=member.asked(2)) \
      .reply(shown_ids("artifact_ready")) \
      .reply(in_worktree(sandbox, "test_store.py", "def test_store(): pass\n")) \
      .reply(say("Tested.\nSTATUS: completed\nARTIFACTS: test_store.py"))

    run = sandbox.run(api, "Build and test the store.",
                      allowed_tools="Bash Read Write Edit Agent mcp__orchestra__handoff mcp__orchestra__ack")

    assert run.returncode == 0, run.describe()
    assert not api.problems(), api.problems()
    told = api.conversation(main)[1].last_user_text  # the person's message, with the next tool result
    assert "main-first" in told and "HUMAN-NOTE ship friday" in told and "from human" in told
    start = api.conversation(qa)[0].last_user_text  # the brief and the inbox at the run's start
    assert "Artifacts handed to this task:" in start and "docs/spec.md" in start and "SPEC-NOTE v2" in start
    shown = api.conversation(qa)[1].last_user_text
    assert "qa-first" in shown
    positions = order_of(shown, "CRIT-STOP halt", "HANDOFF-NOTE wal on", "TEAM-QA retest", "BCAST-LOW freeze")
    assert -1 not in positions and positions == sorted(positions), shown
    assert "SPEC-NOTE" not in shown  # shown once, at the start
    assert "store.py (in " in shown and "task-build-1" in shown  # the member's worktree, where the file is

    qa_run = next(s["agent_id"] for s in run.subagents() if s["agent_type"] == "qa-engineer")
    with sandbox.state() as tx:
        stored = {m["payload"].get("text") or m["payload"].get("note"): m
                  for m in tx.items("communication.messages").values()}
        delivered = {d["message"] for d in tx.items("communication.deliveries").values() if d["run"] == qa_run}
        assert tx.get("tasks.qa-1.status") == "completed"
    handoff = stored["HANDOFF-NOTE wal on"]
    assert (handoff["type"], handoff["to"], handoff["task"]) == ("artifact_ready", "qa-engineer", "qa-1")
    assert handoff["status"] == "acknowledged"  # the ack confirmed the handoff
    assert {stored[k]["id"] for k in ("CRIT-STOP halt", "TEAM-QA retest", "BCAST-LOW freeze", "SPEC-NOTE v2")
            } <= delivered
    assert stored["HUMAN-NOTE ship friday"]["from"] == "human"
    assert any(a["tool"] == "mcp__orchestra__ack" and a["agent_id"] == qa_run for a in sandbox.audit())


@pending("lifecycle", "bus", "mcp")
def test_a_review_round_sends_work_back_with_the_findings_then_completes_it(sandbox, api):
    sandbox.mark_agents()
    sandbox.commit("agents")
    seed_sprint(sandbox, task("build-1"))  # engineering has require_review: true in the shipped teams.yaml
    main = api.script.on(MAIN)
    main.reply(delegate("fullstack-eng", "[task:build-1] Build the order store.", "Build")) \
        .reply(delegate("tech-lead", "[task:build-1] Review it.", "Review tagged")) \
        .reply(delegate("tech-lead", "Review the work waiting for you.", "Review")) \
        .reply(delegate("fullstack-eng", "[task:build-1] Rework the order store.", "Rework")) \
        .reply(delegate("tech-lead", "Review the rework.", "Review again")) \
        .reply(say("Reviewed and done."))
    build = api.script.on(MEMBER, "Build the order store")
    build.reply(in_worktree(sandbox, "store.py", "S = 1\n")) \
         .reply(say("Built.\nSTATUS: completed\nARTIFACTS: store.py"))
    review = api.script.on(LEAD, "Review the work waiting")
    review.reply(tool("mcp__orchestra__update_task", task_id="build-1", verdict="changes_requested",
                      reason="not safe yet", findings=["store.py:1 turn on WAL mode"])) \
          .reply(say("Changes requested.\nSTATUS: completed"))
    rework = api.script.on(MEMBER, "Rework the order store")
    rework.reply(in_worktree(sandbox, "store_wal.py", "WAL = True\n")) \
          .reply(say("Reworked.\nSTATUS: completed\nARTIFACTS: store_wal.py"))
    again = api.script.on(LEAD, "Review the rework")
    again.reply(tool("mcp__orchestra__update_task", task_id="build-1", verdict="approved")) \
         .reply(say("Approved.\nSTATUS: completed"))

    run = sandbox.run(api, "Build the order store and have it reviewed.",
                      allowed_tools="Bash Read Write Edit Agent mcp__orchestra__update_task")

    assert run.returncode == 0, run.describe()
    assert not api.problems(), api.problems()
    [refusal] = api.conversation(main)[2].tool_results()  # tagged, the review would settle the task itself
    assert refusal["is_error"] and "without the [task:build-1] tag" in refusal["text"], refusal
    for conversation in (review, again):  # each reviewer run starts with the request and how to answer it
        start = api.conversation(conversation)[0].last_user_text
        assert "review_request" in start and "[task:build-1]" in start
        assert "update_task (task_id build-1, verdict" in start
        assert ".worktrees/task-build-1" in start  # where the work under review is
        [result] = api.conversation(conversation)[1].tool_results()
        assert not result["is_error"], result
    start = api.conversation(rework)[0].last_user_text  # the member reworks knowing what to change
    assert "verdict: changes_requested" in start and "not safe yet" in start and "turn on WAL mode" in start
    brief = api.conversation(rework)[0].first_user_text  # the prompt's brief, whoever closed the reply
    assert "Review: changes_requested" in brief and "- store.py:1 turn on WAL mode" in brief
    with sandbox.state() as tx:
        done = tx.get("tasks.build-1")
        types = event_types(tx, "build-1")
        stored = tx.items("communication.messages").values()
        requests = [m for m in stored if m["type"] == "review_request"]
        sent_back = {m["payload"]["verdict"]: m for m in stored if m["type"] == "review_complete"}
    assert done["status"] == "completed" and done["review"]["verdict"] == "approved"
    assert done["agent_id"] == next(s["agent_id"] for s in run.subagents() if "Rework" in (s["prompt"] or ""))
    assert {"store.py", "store_wal.py"} <= {p.rsplit("/", 1)[-1] for p in done["artifacts"]}
    assert sorted(m.get("verdict") for m in requests) == ["approved", "changes_requested"]
    assert sent_back["changes_requested"]["status"] == "acknowledged"  # closed when the rework was handed in
    rounds = [t for t in types if t in ("task_needs_review", "task_status_set", "task_reviewed")]
    assert rounds == ["task_needs_review", "task_status_set", "task_reviewed"] * 2, types
    assert_legal_history(types)  # the rework's delegation is no step back from in_progress
    verdicts = [a for a in sandbox.audit() if a["tool"] == "mcp__orchestra__update_task"]
    assert [(a["role"], a["resource"]) for a in verdicts] == [("reviewer", "tasks.build-1")] * 2


@pending("lifecycle", "bus")
def test_a_subagent_whose_context_is_compacted_is_shown_its_open_messages_again(sandbox, api):
    """Claude Code compacts a long-running subagent's context by itself (here: the fake API reports a context over
    the auto-compact window) and then sends a SessionStart with that run's agent_id: the run is given its task's brief
    again (the prompt that carried it is gone) and shown its own open messages again, not the main thread's."""
    sandbox.mark_agents()
    sandbox.commit("agents")
    seed_sprint(sandbox, task("build-1"))
    orchestra(sandbox, "msg", "send", "fullstack-eng", "state_updated", "--text", "MEMBER-NOTE use v2", "--priority",
              "high")
    orchestra(sandbox, "msg", "send", "main", "state_updated", "--text", "MAIN-NOTE ship friday")
    compacted = api.summary.split("<summary>")[1].split("<")[0]

    def once_compacted(block):
        return lambda request: say("Built.\nSTATUS: completed\nARTIFACTS: store.py") \
            if compacted in str(request.messages) else block

    main = api.script.on(MAIN)
    member = api.script.on(MEMBER)
    main.reply(delegate("fullstack-eng", "[task:build-1] Build the store.", "Build")).reply(say("Built."))
    member.reply(in_worktree(sandbox, "store.py", "S = 1\n")) \
          .reply(once_compacted(bash("echo long-work")), input_tokens=90_000) \
          .reply(once_compacted(bash("echo more-work")))

    run = sandbox.run(api, "Build the store.", extra_env={"CLAUDE_CODE_AUTO_COMPACT_WINDOW": "100000"})

    assert run.returncode == 0, run.describe()
    assert not api.problems(), api.problems()
    assert len(api.compactions) == 1 and MEMBER in api.compactions[0].system
    assert "MAIN-NOTE ship friday" in api.conversation(main)[0].last_user_text  # the main thread's, at its start
    member_requests = api.conversation(member)
    assert "MEMBER-NOTE use v2" in member_requests[0].last_user_text  # the run's start
    after = next(r for r in member_requests if compacted in str(r.messages))
    context = after.first_user_text + "\n".join(str(m) for m in after.messages)
    assert "MEMBER-NOTE use v2" in context and "shown before and still open" in context, context[-3000:]
    assert "MAIN-NOTE" not in context and "Orchestra sprints:" not in context
    member_id = next(s["agent_id"] for s in run.subagents() if s["agent_type"] == "fullstack-eng")
    # the prompt that carried the brief is gone: the run is given it again, worktree and completion protocol too
    assert "--- Orchestra task brief ---" not in after.first_user_text.split("Compacted by the fake API.")[0]
    assert f"you are agent run {member_id} (fullstack-eng" in context
    assert "the brief of your task [task:build-1]" in context and "STATUS: completed | blocked | needs_review" in context
    assert f"Worktree: {sandbox.repo / '.worktrees' / 'task-build-1'} (work and commit only inside it)" in context
    with sandbox.state() as tx:
        deliveries = tx.items("communication.deliveries").values()
        runs = list(tx.items("agents"))
    assert runs == [member_id]  # the fork that wrote the summary is no run
    assert [d["via"] for d in deliveries if d["run"] == member_id] == ["session_start"]
    assert [d["via"] for d in deliveries if d["run"].startswith("main:")] == ["session_start"]


@pending("lifecycle", "bus")
def test_a_finished_subagent_continued_with_sendmessage_reads_what_is_sent_to_it(sandbox, api):
    """Claude Code offers to continue a finished subagent (SendMessage to its agentId): while it works again, a
    message to that run is its own, and whoever sends one is not told it has ended."""
    sandbox.mark_agents()
    sandbox.commit("agents")
    seed_sprint(sandbox, task("build-1"))
    told: dict[str, str] = {}

    def continue_it(request):
        told["id"] = re.search(r"agentId: (\w+)", request.last_user_text).group(1)
        return tool("SendMessage", to=told["id"], message="Also add a docstring.", summary="add a docstring")

    def send_to_run(request):
        told["send"] = orchestra(sandbox, "msg", "send", f"agent:{told['id']}", "state_updated", "--text",
                                 "RESUMED-NOTE keep v2")
        return bash("echo docstring")

    main = api.script.on(MAIN)
    member = api.script.on(MEMBER)
    main.reply(delegate("fullstack-eng", "[task:build-1] Build the store.", "Build")) \
        .reply(continue_it).reply(say("It is adding the docstring.")) \
        .reply(say("Built, with a docstring."))  # told when the continued run reports
    member.reply(in_worktree(sandbox, "store.py", "S = 1\n")) \
          .reply(say("Built.\nSTATUS: completed\nARTIFACTS: store.py")) \
          .reply(send_to_run).reply(bash("echo more")) \
          .reply(say("Docstring added.\nSTATUS: completed\nARTIFACTS: store.py"))

    run = sandbox.run(api, "Build the store.", allowed_tools="Bash Read Write Edit Agent SendMessage")

    assert run.returncode == 0, run.describe()
    assert not api.problems(), api.problems()
    assert "has ended" not in told["send"], told["send"]
    shown = api.conversation(member)[3].last_user_text  # with the result of its next tool call
    assert "docstring" in shown and "RESUMED-NOTE keep v2" in shown
    assert not any("RESUMED-NOTE" in r.last_user_text for r in api.conversation(main))
    with sandbox.state() as tx:
        [note] = [m for m in tx.items("communication.messages").values() if m["to"] == f"agent:{told['id']}"]
    assert list(note["delivered"]) == [told["id"]]
