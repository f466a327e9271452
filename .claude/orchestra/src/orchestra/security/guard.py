"""The security checks as hook steps: identity from the event, the decision, audit fields, alerts.

`tool_guard` is in `toolcall.GUARDS` (ordinary tools), `spawn_guard` runs first in the Agent/Task
hook and `mcp_verdict` in the orchestra MCP hook. Errors propagate: those hooks are guards, so
the runner blocks the call (exit 2) when the policy cannot be read.
"""

from __future__ import annotations

from .. import teams
from ..hookio import Deny, HookContext, HookEvent
from . import alerts, roles, tools
from . import policy as policies
from .decisions import Decision, clip
from .policy import Caller, Policy

_ACTIONS = {**{t: "read" for t in tools.READ_TOOLS}, **{t: "write" for t in tools.WRITE_TOOLS},
            **{t: "exec" for t in tools.SHELL_TOOLS}}


def tool_guard(event: HookEvent, ctx: HookContext) -> Deny | None:
    """Secrets, protected and organisation files on Read/Write/Edit/NotebookEdit/Grep/Bash/Monitor, for the
    calling agent's role; a `caller` of its own written into an orchestra tool the identity hook does not stamp."""
    policy, org = policies.load(ctx.root), teams.load(ctx.root)
    caller = policy.caller(org, event.agent_type, event.agent_id)
    ctx.audit.update(role=caller.role, action=_ACTIONS.get(event.tool_name or "", "call"),
                     resource=_resource(event.tool_input))
    decision = (roles.self_named_decision(event.tool_name or "", event.tool_input)
                or tools.decide(policy, caller, ctx.root, event.tool_name, event.tool_input, event.cwd))
    return None if decision is None else deny(event, ctx, decision, caller, policy, org)


def spawn_guard(event: HookEvent, ctx: HookContext) -> Deny | None:
    """May the caller start this subagent type? (PreToolUse on Agent/Task)."""
    policy, org = policies.load(ctx.root), teams.load(ctx.root)
    caller = policy.caller(org, event.agent_type)
    target = event.tool_input.get("subagent_type")
    ctx.audit.update(role=caller.role, action="spawn", resource=target or roles.DEFAULT_SUBAGENT)
    decision = roles.spawn_decision(policy, org, event.agent_type, target if isinstance(target, str) else None)
    return None if decision is None else deny(event, ctx, decision, caller, policy, org)


def spawn_verdict(org: teams.Organization, caller_agent_type: str | None, target_agent_type: str | None,
                  policy: Policy | None = None) -> Deny | None:
    """Pure check for callers that already hold the organisation; the policy defaults to the project's."""
    policy = policy or policies.load()
    decision = roles.spawn_decision(policy, org, caller_agent_type, target_agent_type)
    return None if decision is None else decision.verdict()


def mcp_verdict(event: HookEvent, ctx: HookContext) -> Deny | None:
    """May the caller use this orchestra MCP tool on this task? (PreToolUse on mcp__orchestra__*)."""
    policy, org = policies.load(ctx.root), teams.load(ctx.root)
    caller = policy.caller(org, event.agent_type)
    tool = (event.tool_name or "").rsplit("__", 1)[-1]
    ctx.audit.update(role=caller.role, action=tool, resource=_task_of(event.tool_input) or tool)
    if tool in roles.MCP_READS or tool in roles.MCP_MESSAGING or caller.permissions.can_modify_state is True:
        return None  # decided without opening the store
    with ctx.store.snapshot() as tx:
        decision = roles.mcp_decision(policy, org, event.agent_type, event.agent_id, event.tool_name or "",
                                      event.tool_input, tx)
    return None if decision is None else deny(event, ctx, decision, caller, policy, org)


def deny(event: HookEvent, ctx: HookContext, decision: Decision, caller: Caller, policy: Policy,
         org: teams.Organization) -> Deny:
    """The verdict for a denial, after counting it and raising an alert when the run looks suspicious."""
    ctx.audit.update(decision.audit_fields())
    alert = None
    try:
        with ctx.store.transaction() as tx:
            alert = alerts.record(tx, decision, caller, policy, org, agent_id=event.agent_id,
                                  session_id=event.session_id)
    except Exception as exc:  # noqa: BLE001 - the denial stands even when it cannot be counted
        ctx.audit["alert_error"] = f"{exc.__class__.__name__}: {exc}"[:300]
    if alert is not None:
        ctx.audit.update(alert=alert.why, notified=list(alert.notified))
    return decision.verdict(alert.system_message if alert else None)


def _resource(tool_input: dict) -> str | None:
    for key in ("file_path", "notebook_path", "path", "command"):
        value = tool_input.get(key)
        if isinstance(value, str) and value:
            return clip(value, 200)
    return None


def _task_of(tool_input: dict) -> str | None:
    value = next((tool_input.get(k) for k in ("task_id", "id", "task") if tool_input.get(k)), None)
    return f"tasks.{value}" if isinstance(value, str) else None
