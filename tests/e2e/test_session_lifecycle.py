"""Sessions resumed, killed and continued. A session resumed with `claude --resume <id>`: Claude Code keeps the session id, so the
pack must open the ended session again instead of taking everything the resumed session starts for
stopped. A subagent resumed with SendMessage after it reported: it works in its worktree under its lock
again, and its new report settles the task again.
A session killed outright runs no SessionEnd: the next session's start ends it in its place. With two
terminals open at once, what a session's runs report is told to that session's main thread only."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor

from tests.e2e.fake_api import MAIN, bash, delegate, say, tool
from tests.e2e.harness import MODEL
from tests.e2e.test_delegation import (
    MEMBER,
    denial,
    event_types,
    in_worktree,
    member_settings,
    seed_sprint,
    task,
    team,
)

__all__ = ["team"]  # the fixture, shared with the delegation scenarios


def test_resumed_session_tracks_its_delegations_as_live(team, api):
    team.edit_teams(lambda doc: member_settings(doc, "fullstack-eng").update(capacity=1))
    seed_sprint(team, task("busy-1"), task("cap-2"))
    main = api.script.on(MAIN).reply(say("Nothing to build yet."))
    first = team.run(api, "Look around.")
    assert first.returncode == 0, first.describe()
    session = first.init["session_id"]

    main.reply(delegate("fullstack-eng", "[task:busy-1] Build the busy feature.", "Busy feature", background=True)) \
        .reply(delegate("fullstack-eng", "[task:cap-2] Build one more.", "One more")) \
        .reply(say("fullstack-eng is at capacity.")) \
        .reply(say("The busy feature is done."))
    busy = api.script.on(MEMBER, "[task:busy-1]")
    busy.reply(in_worktree(team, "busy.py", "BUSY = 1\n"), after=main.asked(3)) \
        .reply(say("STATUS: completed\nARTIFACTS: busy.py"))
    extra = api.script.on(MEMBER, "[task:cap-2]").reply(say("STATUS: completed"))

    run = team.run(api, "Build both features.", extra_args=("--resume", session))

    assert run.returncode == 0, run.describe()
    assert not api.problems(), api.problems()
    assert run.init["session_id"] == session
    assert [h["outcome"] for h in run.hook_responses("SessionStart")] == ["success"]
    # the run started in the resumed session holds fullstack-eng's one slot
    reason = denial(api.conversation(main)[3])
    assert "busy-1" in reason, reason
    assert api.conversation(extra) == []
    with team.state() as tx:
        assert tx.get("tasks.busy-1")["status"] == "completed"
        assert tx.get("tasks.cap-2")["status"] == "queued"
        assert "task_blocked" not in event_types(tx, "busy-1")
        assert not [e for e in tx.events_after(0, limit=10000) if e["type"] == "agent_stopped"]
        assert tx.get(f"sessions.{session}")["ended_at"]  # and ended again with the resumed session


def test_subagent_resumed_with_send_message_settles_its_task_with_its_new_report(team, api):
    seed_sprint(team, task("pay-1"))

    def resume(request):
        agent_id = re.search(r"agentId: (\w+)", "\n".join(r["text"] for r in request.tool_results())).group(1)
        return tool("SendMessage", to=agent_id, message="The key is in place now; finish the payments.")

    main = api.script.on(MAIN)
    main.reply(delegate("fullstack-eng", "[task:pay-1] Integrate payments.", "Payments")).reply(resume) \
        .reply(say("Resumed.")).reply(say("Payments are done."))
    member = api.script.on(MEMBER, "[task:pay-1]")
    member.reply(say("I cannot.\nSTATUS: blocked\nBLOCKER: the payments key is missing")) \
        .reply(in_worktree(team, "payments.py", "PAY = 1\n")) \
        .reply(say("Payments work.\nSTATUS: completed\nARTIFACTS: payments.py"))

    run = team.run(api, "Integrate payments.", allowed_tools="Bash Read Write Edit Agent SendMessage")

    assert run.returncode == 0, run.describe()
    assert not api.problems(), api.problems()
    assert len(run.hook_responses("SubagentStop")) == 2, run.describe()
    with team.state() as tx:
        pay = tx.get("tasks.pay-1")
        types = event_types(tx, "pay-1")
        told = [m["type"] for m in tx.items("communication.messages").values() if m.get("task") == "pay-1"]
    assert pay["status"] == "completed" and not pay["blocker"], pay
    assert any(a.endswith("payments.py") for a in pay["artifacts"]), pay
    assert types.index("task_blocked") < types.index("task_completed"), types
    assert sorted(told) == ["task_blocked", "task_completed"]
    # the blocked report let go of its worktree; the SendMessage took it back for the resumed run
    locks = [t for t in types if t in ("worktree_locked", "worktree_released")]
    assert locks == ["worktree_locked", "worktree_released", "worktree_locked", "worktree_released"], types


def test_next_session_ends_a_session_killed_outright_and_frees_what_it_held(team, api):
    team.edit_teams(lambda doc: member_settings(doc, "fullstack-eng").update(capacity=1))
    seed_sprint(team, task("long-1"))
    never = api.script.on("[e2e:never]").reply(say("unused"))
    killed = api.script.on(MAIN, "[killed]")
    killed.reply(delegate("fullstack-eng", "[task:long-1] Build the long feature.", "Long feature", background=True)) \
          .reply(say("It runs in the background."))
    api.script.on(MEMBER, "[task:long-1] Build the long feature.").reply(say("STATUS: completed"), after=never.asked(0))
    cmd = [str(team.claude), "-p", f"{MAIN} [killed] Build the long feature.", "--output-format", "stream-json",
           "--verbose", "--model", MODEL, "--allowedTools", "Bash Read Write Edit Agent"]
    proc = subprocess.Popen(cmd, cwd=team.repo, env=team.env(api), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert api.wait_for_hold(), "the member never started"
        with team.state() as tx:
            assert tx.get("tasks.long-1")["status"] == "in_progress"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # no SessionEnd runs
        proc.wait(timeout=30)
    with team.state() as tx:
        [dead] = tx.items("agents").values()
        assert dead["status"] == "active" and tx.get("tasks.long-1")["status"] == "in_progress"

    again = api.script.on(MAIN, "[again]")
    again.reply(delegate("fullstack-eng", "[task:long-1] Build it again.", "Long again")).reply(say("Done."))
    api.script.on(MEMBER, "[task:long-1] Build it again.").reply(in_worktree(team, "long.py", "LONG = 1\n")) \
        .reply(say("STATUS: completed\nARTIFACTS: long.py"))
    run = team.run(api, "[again] Build the long feature again.")

    assert run.returncode == 0, run.describe()
    with team.state() as tx:
        assert tx.get(f"agents.{dead['id']}")["status"] == "stopped"
        assert tx.get(f"sessions.{dead['session_id']}")["end_reason"] == "process_gone"
        assert tx.get("tasks.long-1")["status"] == "completed"
        types = event_types(tx, "long-1")
    assert types.index("task_blocked") < types.index("task_completed"), types


def test_a_completion_is_told_to_the_terminal_that_delegated_not_to_another_one_open_at_once(team, api):
    seed_sprint(team, task("two-1"))
    a = api.script.on(MAIN, "[terminal-a]")
    b = api.script.on(MAIN, "[terminal-b]")
    a.reply(delegate("fullstack-eng", "[task:two-1] Build the second feature.", "Second feature")) \
     .reply(bash("echo a-next"), after=b.asked(1)) \
     .reply(say("Done."))
    api.script.on(MEMBER, "[task:two-1]").reply(in_worktree(team, "two.py", "TWO = 1\n")) \
        .reply(say("STATUS: completed\nARTIFACTS: two.py"))
    b.reply(bash("echo b-first")).reply(say("Nothing here."))

    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(team.run, api, "[terminal-a] Build the second feature.")
        assert api.wait_for_hold(), "terminal A never got its member's report"  # A is open, its member done
        other = team.run(api, "[terminal-b] Look around.")
        run = first.result(timeout=120)

    assert run.returncode == 0 and other.returncode == 0, (run.describe(), other.describe())
    assert not api.problems(), api.problems()
    shown_b = "\n".join(r.last_user_text for r in api.conversation(b))  # its start, prompt and tool call
    assert "b-first" in shown_b and "task_completed" not in shown_b, shown_b
    shown_a = api.conversation(a)[2].last_user_text
    assert "a-next" in shown_a and "task_completed" in shown_a and "two-1" in shown_a, shown_a
