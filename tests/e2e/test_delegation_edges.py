"""Delegations at the edges of the lifecycle, through the real CLI: Claude Code's own `isolation: worktree`
next to an Orchestra worktree, a delegation a gate refused, retried once the gate clears, a team's task
delegated without an agent type, a background member that reports after the director that launched it has
stopped, a session killed outright while another one is open, and a delegation another PreToolUse hook refused,
made again."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from tests.e2e.fake_api import MAIN, FakeAPI, Request, ToolUse, Turn, bash, delegate, say, write
from tests.e2e.harness import MODEL
from tests.e2e.test_delegation import (
    DIRECTOR,
    MEMBER,
    assert_legal_history,
    denial,
    event_types,
    in_worktree,
    member_settings,
    messages,
    seed_sprint,
    task,
    team,
)

__all__ = ["team"]  # the fixture, shared with the delegation scenarios


def in_own_directory(name: str, content: str):
    """A reply block source: Write `name` in the working directory Claude Code gave the subagent."""
    def block(request):
        cwd = re.search(r"Primary working directory: (.+)", request.first_user_text).group(1).strip()
        return write(f"{cwd}/{name}", content)
    return block


def test_an_isolated_member_beside_one_in_an_orchestra_worktree_records_the_files_it_wrote(team, api):
    seed_sprint(team, task("feat-n"), task("feat-o"))
    isolated = ToolUse("Agent", {"description": "Build N", "prompt": "[task:feat-n] Build feature N.",
                                 "subagent_type": "fullstack-eng", "run_in_background": False,
                                 "isolation": "worktree"})
    api.script.on(MAIN).reply(isolated, delegate("fullstack-eng", "[task:feat-o] Build feature O.", "Build O")) \
                       .reply(say("Both are built."))
    n = api.script.on(MEMBER, "[task:feat-n]")
    o = api.script.on(MEMBER, "[task:feat-o]")
    n.reply(in_own_directory("feature_n.py", "N = 1\n")) \
     .reply(say("Built N.\nSTATUS: completed\nARTIFACTS: feature_n.py"))
    o.reply(in_worktree(team, "feature_o.py", "O = 1\n")) \
     .reply(say("Built O.\nSTATUS: completed\nARTIFACTS: feature_o.py"))

    run = team.run(api, "Build N and O.")

    assert run.returncode == 0, run.describe()
    assert not api.problems(), api.problems()
    with team.state() as tx:
        feat_n, feat_o = tx.get("tasks.feat-n"), tx.get("tasks.feat-o")
        worktrees = tx.items("worktrees")
    native = [w for w in worktrees.values() if w.get("origin") == "native"]
    assert len(native) == 1 and (team.repo / native[0]["path"] / "feature_n.py").exists(), worktrees
    assert feat_n["status"] == "completed" and not feat_n.get("worktree"), feat_n
    # every artifact names a file that is there, relative to the project (the run has no Orchestra worktree)
    assert feat_n["artifacts"] and all((team.repo / a).is_file() for a in feat_n["artifacts"]), feat_n["artifacts"]
    assert feat_o["status"] == "completed" and feat_o["artifacts"] == ["feature_o.py"], feat_o
    assert worktrees["task-feat-o"]["lock"] is None  # released when its run reported


def test_a_delegation_a_gate_refused_goes_through_once_the_gate_clears(team, api):
    seed_sprint(team, task("dep-1"), task("dep-2", dependencies=["dep-1"]))
    main = api.script.on(MAIN)
    main.reply(delegate("fullstack-eng", "[task:dep-2] Build on dep-1.", "Build dep-2")) \
        .reply(delegate("fullstack-eng", "[task:dep-1] Build dep-1 first.", "Build dep-1")) \
        .reply(delegate("fullstack-eng", "[task:dep-2] Now build on dep-1.", "Build dep-2 again")) \
        .reply(say("Both are done."))
    api.script.on(MEMBER, "[task:dep-1]").reply(in_worktree(team, "one.py", "ONE = 1\n")) \
        .reply(say("STATUS: completed\nARTIFACTS: one.py"))
    api.script.on(MEMBER, "[task:dep-2]").reply(in_worktree(team, "two.py", "TWO = 1\n")) \
        .reply(say("STATUS: completed\nARTIFACTS: two.py"))

    run = team.run(api, "Build dep-2.")

    assert run.returncode == 0, run.describe()
    assert not api.problems(), api.problems()
    assert "dep-1" in denial(api.conversation(main)[1])
    with team.state() as tx:
        assert tx.get("tasks.dep-1")["status"] == "completed"
        assert tx.get("tasks.dep-2")["status"] == "completed"
        assert len(tx.items("delegations")) == 2  # the refused call left nothing behind
        assert_legal_history(event_types(tx, "dep-2"))
    agent_calls = [a["decision"] for a in team.audit() if a["event"] == "PreToolUse" and a["tool"] == "Agent"]
    assert agent_calls[0] == "deny" and agent_calls.count("deny") == 1, agent_calls
    assert team.verify_audit()[1] is None


def test_a_team_task_delegated_without_an_agent_type_is_refused_naming_the_member_and_goes_through_named(team, api):
    seed_sprint(team, task("feat-g"))
    untyped = ToolUse("Agent", {"description": "Build G", "prompt": "[task:feat-g] Build feature G.",
                                "run_in_background": False})  # Claude Code would run general-purpose
    main = api.script.on(MAIN)
    main.reply(untyped).reply(delegate("fullstack-eng", "[task:feat-g] Build feature G.", "Build G")) \
        .reply(say("G is built."))
    api.script.on(MEMBER, "[task:feat-g]").reply(in_worktree(team, "g.py", "G = 1\n")) \
        .reply(say("STATUS: completed\nARTIFACTS: g.py"))

    run = team.run(api, "Build G.")

    assert run.returncode == 0, run.describe()
    assert not api.problems(), api.problems()
    assert 'subagent_type: "fullstack-eng"' in denial(api.conversation(main)[1])
    with team.state() as tx:
        assert tx.get("tasks.feat-g")["status"] == "completed"
        assert [d["subagent_type"] for d in tx.items("delegations").values()] == ["fullstack-eng"]


def test_a_background_member_reporting_after_its_director_stopped_is_told_to_the_main_thread(team, api):
    seed_sprint(team, task("lead-1", type="planning", assignee="engineering-director"), task("feat-c"))
    main = api.script.on(MAIN)
    main.reply(delegate("engineering-director", "[task:lead-1] Run the batch.", "Run batch")) \
        .reply(say("The director handed feature C off.")) \
        .reply(say("Feature C is done."))
    api.script.on(DIRECTOR).reply(delegate("fullstack-eng", "[task:feat-c] Build feature C.", "Build C",
                                           background=True)) \
                           .reply(say("Feature C is being built in the background.\nSTATUS: completed"))
    # the member works on only once the director has stopped and the main thread has its report
    api.script.on(MEMBER).reply(in_worktree(team, "feature_c.py", "C = 1\n"), after=main.asked(1)) \
                         .reply(say("Built C.\nSTATUS: completed\nARTIFACTS: feature_c.py"))

    run = team.run(api, "Run the batch.")

    assert run.returncode == 0, run.describe()
    assert not api.problems(), api.problems()
    director = next(s["agent_id"] for s in run.subagents() if s["agent_type"] == "engineering-director")
    with team.state() as tx:
        assert tx.get("tasks.feat-c")["status"] == "completed"
        assert tx.get(f"agents.{director}")["status"] == "completed"
        [told] = [m for m in messages(tx, "task_completed") if m["task"] == "feat-c"]
    assert told["to"] == f"agent:{director}", told
    # the director has stopped and will never read it: the main thread is shown it instead
    shown = api.conversation(main)[2].last_user_text
    assert told["id"] in shown and "Built C." in shown, shown
    assert f"main:{run.init['session_id']}" in told["delivered"], told


def test_a_session_killed_outright_frees_its_capacity_for_a_session_already_running(team, api):
    team.edit_teams(lambda doc: member_settings(doc, "fullstack-eng").update(capacity=1))
    seed_sprint(team, task("long-1"), task("next-2"))
    never, go = api.script.on("[e2e:never]").reply(say("unused")), api.script.on("[e2e:go]").reply(say("unused"))
    api.script.on(MAIN, "[killed]") \
        .reply(delegate("fullstack-eng", "[task:long-1] Build the long feature.", "Long feature", background=True)) \
        .reply(say("It runs in the background."))
    api.script.on(MEMBER, "[task:long-1]").reply(say("STATUS: completed"), after=never.asked(0))
    other = api.script.on(MAIN, "[other]")
    other.reply(bash("echo waiting"), after=go.asked(0)) \
         .reply(delegate("fullstack-eng", "[task:next-2] Build the next feature.", "Next feature")) \
         .reply(say("Done."))
    api.script.on(MEMBER, "[task:next-2]").reply(in_worktree(team, "next.py", "NEXT = 1\n")) \
        .reply(say("STATUS: completed\nARTIFACTS: next.py"))
    cmd = [str(team.claude), "-p", f"{MAIN} [killed] Build the long feature.", "--output-format", "stream-json",
           "--verbose", "--model", MODEL, "--allowedTools", "Bash Read Write Edit Agent"]
    killed = subprocess.Popen(cmd, cwd=team.repo, env=team.env(api), stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    with ThreadPoolExecutor(1) as pool:
        try:
            assert api.wait_for_hold(), "the member never started"
            running = pool.submit(team.run, api, "[other] Build the next feature.")  # open before the kill
            deadline = time.monotonic() + 30
            while not api.conversation(other) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert api.conversation(other), "the other session never started"
        finally:
            os.killpg(killed.pid, signal.SIGKILL)  # no SessionEnd runs
            killed.wait(timeout=30)
        release(api, go)
        run = running.result(timeout=60)

    assert run.returncode == 0, run.describe()
    assert not api.problems(), api.problems()
    assert not api.conversation(other)[2].tool_results()[0]["is_error"], api.conversation(other)[2].last_user_text
    with team.state() as tx:
        assert tx.get("tasks.next-2")["status"] == "completed"
        assert tx.get("tasks.long-1")["status"] == "blocked"
        [dead] = [r for r in tx.items("agents").values() if r["task"] == "long-1"]
        assert dead["status"] == "stopped"
        assert tx.get(f"sessions.{dead['session_id']}")["end_reason"] == "process_gone"


def release(api: FakeAPI, rule) -> None:
    """Let replies held on `rule`'s first request go, as if that conversation had asked."""
    with api._lock:
        api.requests.append(Request({}, rule, 0, Turn((say("released"),))))
        api._lock.notify_all()


REFUSE_ONCE = """import json, pathlib, sys
flag = pathlib.Path(sys.argv[1])
json.load(sys.stdin)
if not flag.exists():
    flag.write_text("refused")
    print(json.dumps({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
                                             "permissionDecisionReason": "not before the standup"}}))
"""


def test_a_delegation_another_hook_refused_goes_through_when_the_call_is_made_again(team, api, tmp_path):
    """The user's own PreToolUse hook refuses the first Agent call after Orchestra recorded it: no hook event
    says so, only the main thread's transcript. The same call made again is not refused as running twice.
    The model takes half a second to make it again: Claude Code writes the transcript every 100 ms, and a
    real model's next call comes after its request's round trip (the fake API's would come at once)."""
    hook = tmp_path / "refuse_once.py"
    hook.write_text(REFUSE_ONCE)
    settings = {"hooks": {"PreToolUse": [{"matcher": "Agent", "hooks": [
        {"type": "command", "command": "python3", "args": [str(hook), str(tmp_path / "refused.flag")]}]}]}}
    seed_sprint(team, task("feat-r"))
    main = api.script.on(MAIN)
    main.reply(delegate("fullstack-eng", "[task:feat-r] Build feature R.", "Build R")) \
        .reply(delegate("fullstack-eng", "[task:feat-r] Build feature R.", "Build R again"), thinking=0.5) \
        .reply(say("R is built."))
    api.script.on(MEMBER, "[task:feat-r]").reply(in_worktree(team, "r.py", "R = 1\n")) \
        .reply(say("STATUS: completed\nARTIFACTS: r.py"))

    run = team.run(api, "Build R.", extra_args=("--settings", json.dumps(settings)))

    assert run.returncode == 0, run.describe()
    assert not api.problems(), api.problems()
    assert "not before the standup" in denial(api.conversation(main)[1])
    assert not api.conversation(main)[2].tool_results()[0]["is_error"], api.conversation(main)[2].tool_results()
    with team.state() as tx:
        assert tx.get("tasks.feat-r")["status"] == "completed"
        delegations = sorted(tx.items("delegations").values(), key=lambda d: d["seq"])
        assert [d["status"] for d in delegations] == ["dropped", "linked"], delegations
        assert_legal_history(event_types(tx, "feat-r"))
