"""PostToolUse(TaskStop): a subagent Claude Code's TaskStop tool stopped before it reported.

Claude Code 2.1.328 sends no SubagentStop for such a run; the successful TaskStop call, whose
`tool_response` names the stopped task (`task_type: local_agent`, `task_id` = the agent id), is the
one certain sign. The run becomes `stopped`, its task `blocked` with the reason (delegable again, as
after a session's end), and the capacity and worktree it held are free. A run that already reported
keeps its report; one resumed later (SendMessage) is live again.
"""

from __future__ import annotations

from .. import teams
from ..hookio import Allow, HookContext, HookEvent, Verdict
from ..worktrees.locks import release_run
from .ledger import Ledger

STOPPED_AGENT = "local_agent"  # TaskStop's `task_type` for a subagent (shells are `local_bash`, ...)


def task_stop(event: HookEvent, ctx: HookContext) -> Verdict:
    response = event.get("tool_response")
    response = response if isinstance(response, dict) else {}
    agent_id = response.get("task_id")
    if response.get("task_type") != STOPPED_AGENT or not isinstance(agent_id, str) or not agent_id:
        return Allow()
    with ctx.store.transaction() as tx:
        led = Ledger(tx, teams.load(ctx.root))
        run = led.get("agents", agent_id)
        if run is None or run.get("kill_call") == event.tool_use_id:
            return Allow()  # a subagent Orchestra never saw start, or this very call replayed
        run.update(killed_at=led.now, killed_by=event.agent_id or "main", kill_call=event.tool_use_id)
        led.put("agents", run)
        led.runs.add(agent_id)
        led.settle()
        if run["status"] == "stopped":
            release_run(tx, run, led.now)
    ctx.audit.update(stopped=agent_id, status=run["status"])
    return Allow()
