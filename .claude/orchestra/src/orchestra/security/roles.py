"""Role decisions on delegation (Agent/Task) and on the orchestra MCP tools that change state.

Spawning needs can_spawn_agents; an orchestrator (or any spawner inside a team) delegates only to
its own team's members and to other orchestrators. State changes through MCP need
can_modify_state: `True` allows all, `own_tasks` only the caller's own tasks, `reviews` review
verdicts on tasks awaiting review plus the caller's own tasks.
"""

from __future__ import annotations

from typing import Any

from ..paths import MCP_SERVER, PLUGIN_MCP_SERVER
from ..store.document import is_entity_id
from ..teams import Organization, normalize_agent_type
from .decisions import Decision
from .policy import Caller, Policy

DEFAULT_SUBAGENT = "general-purpose"
# Tools that write nothing: delegate_task and plan_sprint only compute (their CLI twins are open to all too).
MCP_READS = frozenset({"get_state", "list_tasks", "get_task", "inbox", "sprint_status", "delegate_task", "plan_sprint"})
MCP_MESSAGING = frozenset({"send_message", "ask", "answer", "ack", "handoff"})
MCP_TASK_CHANGES = frozenset({"update_task", "report_status"})
MCP_TOOLS = MCP_READS | MCP_MESSAGING | MCP_TASK_CHANGES | {"assign_worktree", "release_worktree"}
# The server names whose tools the identity hook (pre_mcp.py) stamps: .mcp.json's and the plugin's.
STAMPED_SERVERS = (MCP_SERVER, PLUGIN_MCP_SERVER)
# A review verdict moves a task out of needs_review and carries nothing but the verdict.
REVIEW_OUTCOMES = frozenset({"completed", "in_progress", "queued", "blocked"})
REVIEW_FIELDS = frozenset({"task_id", "id", "task", "status", "verdict", "review", "findings", "comment",
                           "comments", "note", "notes", "reason", "summary", "caller"})


def spawn_decision(policy: Policy, org: Organization, caller_agent_type: str | None,
                   target_agent_type: str | None) -> Decision | None:
    caller = policy.caller(org, caller_agent_type)
    target = normalize_agent_type(target_agent_type or DEFAULT_SUBAGENT)
    if not caller.permissions.can_spawn_agents:
        boss = _orchestrator_of(org, caller)
        return Decision("spawn", "spawn", target, "can_spawn_agents", (
            f"Orchestra policy: {caller.label} (role {caller.role}) may not start other agents "
            f"(can_spawn_agents is false), so `{target}` was not started. Do the work yourself, or ask "
            f"{boss} to delegate it (send_message to {boss}); if you cannot go on, finish with "
            "`STATUS: blocked` and say what you need."))
    if caller.agent_type is None or caller.team is None:
        return None  # the main thread starts the organisation's work
    member = org.member(target)
    if member is not None and (member.team == caller.team or member.role == "orchestrator"):
        return None
    from ..agentfiles import session_agent_type  # a denial only: it reads the agent files in plugin form

    team = org.teams[caller.team]
    allowed = (*team.members, *sorted(o for o in org.orchestrators().values() if o != caller.agent_type))
    mine = ", ".join(session_agent_type(name) for name in allowed)
    where = (f"`{target}` belongs to team {member.team}; ask {org.teams[member.team].orchestrator} to delegate it"
             if member is not None else f"`{target}` is not an agent of this organisation (teams.yaml)")
    return Decision("spawn", "spawn", target, "own_team", (
        f"Orchestra policy: {caller.label} (role {caller.role}, team {caller.team}) delegates only to its "
        f"own team's members and to other orchestrators: {mine}. {where}, or pick one of those."))


def mcp_decision(policy: Policy, org: Organization, caller_agent_type: str | None, caller_agent_id: str | None,
                 tool_name: str, tool_input: dict[str, Any], tx) -> Decision | None:
    """Deny (a Decision) or allow (None) one call of an orchestra MCP tool; `tx` reads tasks."""
    caller = policy.caller(org, caller_agent_type)
    tool = tool_name.rsplit("__", 1)[-1]
    scope = caller.permissions.can_modify_state
    if tool in MCP_READS or tool in MCP_MESSAGING or scope is True:
        return None
    if tool not in MCP_TASK_CHANGES or scope is False:
        return Decision("mcp", tool, tool, "can_modify_state", (
            f"Orchestra policy: `{tool}` changes shared plans or resources, and {caller.label} (role "
            f"{caller.role}) has can_modify_state `{scope}`. Ask your orchestrator ({_orchestrator_of(org, caller)})"
            " with send_message, or report what you found in your final message."))
    task_id = next((v for k in ("task_id", "id", "task") if isinstance(v := tool_input.get(k), str) and v), None)
    task = tx.get(f"tasks.{task_id}", None) if task_id and _plain_id(task_id) else None
    if task is not None and _owns(tx, task, task_id, caller, caller_agent_id):
        return None
    if scope == "reviews" and task is not None and _is_verdict(task, tool_input):
        return None
    whose = (f"it is assigned to {task.get('assignee') or 'nobody'}" if task is not None
             else "no such task in state" if task_id else "no task_id was given")
    allowed = ("your own tasks, and review verdicts (status completed / in_progress / queued / blocked, with "
               "verdict or comment) on tasks in needs_review" if scope == "reviews" else "your own tasks")
    return Decision("mcp", tool, f"tasks.{task_id}" if task_id else tool, str(scope), (
        f"Orchestra policy: {caller.label} (role {caller.role}) may change only {allowed}; `{tool}` on "
        f"task {task_id or '?'} was refused ({whose}). Send a message to the task's assignee or to your "
        "orchestrator instead."))


def self_named_decision(tool_name: str, tool_input: dict[str, Any]) -> Decision | None:
    """Deny a call that names its own `caller` to an orchestra tool of a server the identity hook does not stamp
    (Orchestra's server added again under another name): nothing would replace that caller before the server."""
    server, _, tool = tool_name.removeprefix("mcp__").rpartition("__")
    if not tool_name.startswith("mcp__") or server in STAMPED_SERVERS or tool not in MCP_TOOLS \
            or "caller" not in tool_input:
        return None
    from ..agentfiles import mcp_tool  # a denial only

    return Decision("identity", tool, tool_name, "unstamped_caller", (
        f"Orchestra: `{tool_name}` goes to an MCP server registered here as `{server}`, and Orchestra stamps who "
        "is calling only into the tools of the server named `orchestra` (`plugin_orchestra_orchestra` in plugin "
        "form), so the `caller` written into this call would be taken as it stands. The call was refused. Use "
        f"`{mcp_tool(tool)}` without `caller`; if `{server}` is Orchestra's server, ask the human to register "
        "it as `orchestra` instead (.mcp.json or ~/.claude.json; `orchestra doctor` names it)."))


def _owns(tx, task: dict[str, Any], task_id: str, caller: Caller, agent_id: str | None) -> bool:
    if agent_id and task.get("agent_id"):
        return task["agent_id"] == agent_id
    if agent_id and (run := tx.get(f"agents.{agent_id}", None)) and run.get("task") == task_id:
        return True
    assignee = task.get("assignee")
    return bool(caller.agent_type and assignee and normalize_agent_type(assignee) == caller.agent_type)


def _is_verdict(task: dict[str, Any], tool_input: dict[str, Any]) -> bool:
    if task.get("status") != "needs_review" or set(tool_input) - REVIEW_FIELDS:
        return False
    status = tool_input.get("status")
    return status in REVIEW_OUTCOMES or (status is None and any(k in tool_input for k in ("verdict", "review")))


def _orchestrator_of(org: Organization, caller: Caller) -> str:
    team = org.teams.get(caller.team) if caller.team else None
    return team.orchestrator if team else "your orchestrator"


def _plain_id(task_id: str) -> bool:
    """An id the store can hold (`task-b ` or `a.b` names no task): anything else is no task, not a failed guard."""
    return is_entity_id(task_id)
