"""A sprint run the way a user runs it: `/sprint:start <id>` in `claude -p`, the main thread hands the
team's share to its orchestrator, the orchestrator launches waves of members, and the sprint is read
back and closed with the CLI.

The model is scripted; which task a gate refuses, what runs and what the sprint counts are the pack's.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from typing import Any

from tests.e2e.fake_api import FakeAPI, Request, agent_marker, delegate, say
from tests.e2e.harness import MODEL, RUN_TIMEOUT, Run, Sandbox, _parse_stream
from tests.e2e.landed import pending
from tests.e2e.test_delegation import in_worktree

SPRINT = """\
id: sprint-q
name: Two features and their join
goal: Features A, B and D work, and C joins A and B.
start: 2026-12-01
end: 2026-12-14
tasks:
  - {id: t-a, title: Feature A, team: engineering, assignee: fullstack-eng, estimate: 2}
  - {id: t-b, title: Feature B, team: engineering, assignee: api-engineer, estimate: 3}
  - {id: t-d, title: Feature D, team: engineering, assignee: ux-eng, estimate: 1}
  - {id: t-c, title: Join A and B, team: engineering, assignee: fullstack-eng, estimate: 1, dependencies: [t-a, t-b]}
"""
MEMBERS = {"t-a": "fullstack-eng", "t-b": "api-engineer", "t-c": "fullstack-eng", "t-d": "ux-eng"}
DIRECTOR = agent_marker("engineering-director")


def orchestra(box: Sandbox, *args: str) -> dict[str, Any]:
    out = subprocess.run([str(box.repo / ".claude/orchestra/bin/orchestra"), *args, "--json"], cwd=box.repo,
                         env=box.env(), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def slash(box: Sandbox, api: FakeAPI, line: str) -> Run:
    """A slash command as a user types it in `claude -p`, with the tools a sprint's agents use allowed."""
    cmd = [str(box.claude), "-p", line, "--output-format", "stream-json", "--verbose", "--include-hook-events",
           "--model", MODEL, "--allowedTools", "Bash Read Write Edit Agent"]
    started = time.monotonic()
    out = subprocess.run(cmd, cwd=box.repo, env=box.env(api), capture_output=True, timeout=RUN_TIMEOUT)
    return Run(out.returncode, _parse_stream(out.stdout), out.stderr.decode(errors="replace"),
               time.monotonic() - started)


def tag(text: str) -> str:
    return re.search(r"\[task:([\w-]+)\]", text).group(1)


def refused(request: Request) -> dict[str, str]:
    """Task id -> reason, for each Agent call of the model's last turn that a hook refused."""
    [*_, last] = (m for m in request.messages if m.get("role") == "assistant")
    calls = {b["id"]: tag(b["input"]["prompt"]) for b in last["content"]
             if isinstance(b, dict) and b.get("type") == "tool_use"}
    return {calls[r["tool_use_id"]]: r["text"] for r in request.tool_results() if r["is_error"]}


def relaunch_refused(request: Request):
    """The director's next wave: each task its last wave had refused, then C (A and B are done by then)."""
    again = sorted(refused(request))
    assert len(again) == 1, refused(request)
    return delegate(MEMBERS[again[0]], f"[task:{again[0]}] Build it now.", f"Retry {again[0]}")


@pending("lifecycle")
def test_sprint_start_runs_waves_through_the_orchestrator_under_the_gates(sandbox, api):
    box = sandbox
    box.edit_teams(lambda doc: doc["teams"]["engineering"]["settings"].update(require_review=False,
                                                                             max_parallel_agents=2))
    (box.repo / ".claude/sprints").mkdir(exist_ok=True)
    (box.repo / ".claude/sprints/sprint-q.yaml").write_text(SPRINT, encoding="utf-8")
    box.commit("sprint-q")

    main = api.script.on("Run sprint sprint-q through the team orchestrators")
    main.reply(delegate("engineering-director", "Run sprint sprint-q for the engineering team: plan_sprint, "
                        "delegate each batch, report with the completion protocol.", "Run sprint-q for engineering")) \
        .reply(say("Engineering finished sprint-q."))
    director = api.script.on(DIRECTOR)
    director.reply(delegate("fullstack-eng", "[task:t-c] Join A and B.", "Join too early")) \
            .reply(*(delegate(MEMBERS[t], f"[task:{t}] Build it.", f"Build {t}") for t in ("t-a", "t-b", "t-d"))) \
            .reply(relaunch_refused) \
            .reply(delegate("fullstack-eng", "[task:t-c] Join A and B.", "Join")) \
            .reply(say("All four tasks are done.\nSTATUS: completed"))
    for task_id, member in MEMBERS.items():
        api.script.on(agent_marker(member), f"[task:{task_id}]") \
           .reply(in_worktree(box, f"{task_id}.py", "DONE = True\n")) \
           .reply(say(f"Built {task_id}.\nSTATUS: completed\nARTIFACTS: {task_id}.py"))

    run = slash(box, api, "/sprint:start sprint-q")

    assert run.returncode == 0, run.describe()
    assert not api.problems(), api.problems()
    turns = api.conversation(director)
    # A task whose dependencies are not done is refused, naming them.
    assert list(refused(turns[1])) == ["t-c"]
    assert "t-a (queued)" in refused(turns[1])["t-c"] and "t-b (queued)" in refused(turns[1])["t-c"]
    # Three tasks launched at once on a team of max_parallel_agents 2: the orchestrator takes no slot,
    # so exactly two run and the third is refused, naming the two.
    [(late, reason)] = refused(turns[2]).items()
    assert "team engineering is at max_parallel_agents 2" in reason and "engineering-director" not in reason
    assert all(f"({t})" in reason for t in ("t-a", "t-b", "t-d") if t != late), reason
    assert refused(turns[3]) == {} and refused(turns[4]) == {}
    members = [s for s in run.subagents() if s["agent_type"] != "engineering-director"]
    assert sorted(tag(s["prompt"]) for s in members) == ["t-a", "t-b", "t-c", "t-d"]

    status = orchestra(box, "sprint", "status", "sprint-q")
    assert status["status"] == "active"
    assert {t["id"]: t["status"] for t in status["tasks"]} == dict.fromkeys(MEMBERS, "completed")
    assert status["points"]["total"] == 7 and status["points"]["completed"] == 7
    completion = status["metrics"]["completion"]
    assert (completion["tasks_completed"], completion["tasks_total"]) == (4, 4)
    metrics = orchestra(box, "metrics")["sprint"]
    assert metrics["points"] == status["points"] and metrics["counts"]["completed"] == 4
    [session] = orchestra(box, "agents", "--all")
    [lead] = session["children"]
    assert lead["agent_type"] == "engineering-director" and lead["status"] == "completed"
    assert sorted((run["task"], run["status"]) for run in lead["children"]) == \
        [(t, "completed") for t in sorted(MEMBERS)]

    closed = orchestra(box, "sprint", "close", "sprint-q")
    assert closed["status"] == "complete"
    retro = closed["retrospective"]
    assert retro["completed_points"] == 7 and retro["carried_over"] == []
    assert sorted(row["id"] for row in retro["completed"]) == sorted(MEMBERS)
