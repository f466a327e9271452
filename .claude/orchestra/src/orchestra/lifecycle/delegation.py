"""PreToolUse(Agent|Task): decide a delegation, record it, and rewrite its prompt with the task brief.

The decision is a sequence of small steps over a `DelegationRequest` (see `STEPS`): each returns
a verdict to stop with (a `Deny` naming what blocks and what to do) or None to go on, and may
fill in the request (the resolved task, a worktree). Nothing of the delegation is written unless every step
passes; the caller's earlier calls that came back refused are dropped first (`drop_refused`).
A replayed PreToolUse for a tool_use_id already recorded gets the same rewrite again and changes
nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import agentfiles, briefing
from ..hookio import Deny, HookEvent, Rewrite, Verdict
from ..record import Record, default
from ..store.document import long_id
from ..teams import Organization, normalize_agent_type
from ..workflow.holds import hold_text
from ..worktrees.allocation import allocate_for_delegation
from . import config as lifecycle_config
from . import occupancy, review, tasks, transcript
from .ledger import Ledger
from .protocol import task_tag
from .views import (
    delegation_arguments,
    gone_assignee,
    sprint_closed_to,
    unassigned_text,
    unfinished_dependencies,
    unstarted_text,
)


class BadDelegation(ValueError):
    """The Agent call's input cannot be tracked (missing tool_use_id or prompt)."""


class DelegationRequest(Record, frozen=False):
    tool_use_id: str
    session_id: str
    caller: str  # the calling run's agent_id, or "main"
    caller_type: str | None
    subagent_type: str  # bare agent type (plugin prefix removed)
    type_given: bool
    tool_input: dict[str, Any]
    org: Organization
    config: lifecycle_config.LifecycleConfig
    root: Path
    task: dict[str, Any] | None = None
    new_task: bool = False  # the task is created by this delegation (ad hoc, or a sprint's orchestration)
    worktree: str | None = None  # absolute path, when a step allocated one
    make_later: bool = False  # a worktree still to make is left to the caller, outside the transaction
    made: dict[str, Any] | None = None  # the worktree the caller made for this request (its state record)
    brief_extra: list[str] = default(list)
    transcript: str | None = None  # the calling agent's transcript (the session's for the main thread)

    @property
    def prompt(self) -> str:
        return self.tool_input.get("prompt") or ""

    @property
    def description(self) -> str:
        return self.tool_input.get("description") or ""


def request_from(event: HookEvent, org: Organization, root: Path) -> DelegationRequest:
    if not event.tool_use_id:
        raise BadDelegation("the Agent call has no tool_use_id, so it cannot be tracked; this Claude Code "
                            "version does not send what Orchestra needs (2.1.328 or newer does)")
    if not isinstance(event.tool_input.get("prompt"), str) or not event.tool_input["prompt"].strip():
        raise BadDelegation("the Agent call has no prompt; give the subagent a prompt naming its task as [task:<id>]")
    raw_type = event.tool_input.get("subagent_type")
    if raw_type is not None and (not isinstance(raw_type, str) or not raw_type.strip()):
        raise BadDelegation(f"subagent_type {raw_type!r} is not an agent type name")
    return DelegationRequest(
        tool_use_id=event.tool_use_id, session_id=event.session_id, caller=event.caller,
        caller_type=normalize_agent_type(event.agent_type) if event.agent_type else None,
        subagent_type=normalize_agent_type(raw_type.strip()) if raw_type else "general-purpose",
        type_given=bool(raw_type), tool_input=dict(event.tool_input), org=org,
        config=lifecycle_config.load(org), root=root,
        transcript=transcript.caller_transcript(event.get("transcript_path"), event.caller),
    )


Step = Callable[[DelegationRequest, Ledger], Verdict | None]


# -- steps ------------------------------------------------------------------------------------------

def check_agent_type(req: DelegationRequest, led: Ledger) -> Verdict | None:
    name = req.subagent_type
    raw = req.tool_input.get("subagent_type") or ""
    if (req.org.member(name) or name in lifecycle_config.BUILTIN_AGENT_TYPES or name in req.config.external_agent_types
            or ":" in raw or agentfiles.agent_file_exists(req.root, name)):
        return None
    known = ", ".join(sorted(req.org.agents)) or "none"
    return Deny(f"Orchestra: unknown agent type {name!r}: it is not in teams.yaml, not a built-in agent, and no "
                f".claude/agents/**/{name}.md exists. Team agents: {known}.")


def resolve_task(req: DelegationRequest, led: Ledger) -> Verdict | None:
    """`[task:<id>]` names the task (or a sprint: its orchestration task); no tag makes an ad-hoc task."""
    task_id = task_tag(req.prompt, req.description)
    if task_id is None or task_id == tasks.ad_hoc_task_id(req.tool_use_id):
        # the second case: PostToolUse, seeing the rewritten input, arrived before PreToolUse was recorded
        req.task = tasks.ad_hoc_task(led, req.org, req.tool_use_id, req.subagent_type, req.description, req.prompt)
        req.new_task = led.get("tasks", req.task["id"]) is None
        return None
    if too_long := long_id(task_id, "task"):
        return Deny(f"Orchestra: the [task:<id>] tag of this delegation names no task: {too_long}. Check the id "
                    "with `orchestra task list`, or drop the tag to delegate ad hoc.")
    req.task = led.get("tasks", task_id)
    if req.task is None and led.get("sprints", task_id) is not None:
        req.task = led.get("tasks", tasks.orchestration_task_id(task_id))
        if req.task is None:
            req.task, req.new_task = tasks.orchestration_task(led, req.org, task_id, req.subagent_type), True
    planned = unstarted_text(led, task_id) if req.task is None else None
    if planned:  # loaded, not started (or reopened and loaded again): its tasks are not in state yet
        return Deny(f"Orchestra: {planned}.")
    if req.task is None:
        return Deny(f"Orchestra: [task:{task_id}] names no task or sprint in state. Check the id with "
                    "`orchestra task list`, create the task first, or drop the tag to delegate ad hoc.")
    return None


def check_task_open(req: DelegationRequest, led: Ledger) -> Verdict | None:
    task = req.task or {}
    status, tid = task.get("status") or "queued", task.get("id")
    if status == "needs_review" and task.get("review_requests") and not req.new_task:
        names = review.reviewers(req.org, task, "team_member", task.get("assignee"))
        if req.subagent_type in names:
            return Deny(f"Orchestra: task {tid} is waiting for review by {', '.join(names)}; delegate the review "
                        f"without the [task:{tid}] tag (tagged, the reviewer's report would settle the task, not its "
                        "verdict), and give the verdict with update_task.")
    if req.new_task or status in ("queued", "blocked", "needs_review"):
        return None
    if status == "cancelled":
        return Deny(f"Orchestra: task {tid} is cancelled; `orchestra task set-status {tid} queued` to revive it.")
    if status == "completed":
        if task.get("type") in req.config.repeatable_types or _early_run(req, led) is not None:
            return None
        return Deny(f"Orchestra: task {tid} is already completed; `orchestra task set-status {tid} queued` to redo it.")
    if _early_run(req, led) is not None:
        return None  # the run of this very delegation reported before PreToolUse was processed
    holder = occupancy.current_holder(led, task, req.config)
    if holder:
        return Deny(f"Orchestra: task {tid} is already {status} with {holder}; wait for its report "
                    f"(`orchestra task show {tid}`) instead of delegating it twice.")
    return None


def check_assignee(req: DelegationRequest, led: Ledger) -> Verdict | None:
    """A team with `auto_assign: false` picks nobody: its unassigned task goes to the member the call names."""
    task = req.task or {}
    team = req.org.teams.get(task.get("team") or "")
    if req.new_task or task.get("assignee") or team is None or team.settings.auto_assign:
        return None
    if req.subagent_type in team.members:
        return None
    return Deny(f"Orchestra: {unassigned_text(req.org, task)}.")


def check_sprint_started(req: DelegationRequest, led: Ledger) -> Verdict | None:
    """Work runs only in an active (or blocked) sprint: a planned or closed sprint's task waits, and so does
    every task of a sprint blocked by hand, and the orchestration of it, until it is unblocked."""
    task = req.task or {}
    if task.get("sprint") or task.get("orchestrates"):
        sprint_id = task.get("sprint") or task["orchestrates"]
        why = hold_text(sprint_id, led.get("sprints", sprint_id))
        if why:
            part = "belongs to" if task.get("sprint") else "orchestrates"
            return Deny(f"Orchestra: task {task['id']} {part} sprint {sprint_id}; {why}.")
    sprint_id = task.get("sprint")
    if req.new_task or not sprint_id:
        return None
    closed = sprint_closed_to(task, (led.get("sprints", sprint_id) or {}).get("status"))
    return Deny(f"Orchestra: {closed}") if closed else None


def check_dependencies(req: DelegationRequest, led: Ledger) -> Verdict | None:
    if not req.config.dependency_gate or req.task is None:
        return None
    waiting = unfinished_dependencies(req.task, lambda dep_id: led.get("tasks", dep_id))
    return Deny(f"Orchestra: {waiting}") if waiting else None


def check_agent_named(req: DelegationRequest, led: Ledger) -> Verdict | None:
    """A task of a team (or assigned to a member) is a member's work: an Agent call without subagent_type would
    run it as general-purpose, outside the team's roles and capacity. Refused, naming the agent
    `orchestra task delegate` hands it to (its assignee, else auto-assign's pick)."""
    task = req.task or {}
    team = task.get("team")
    if req.type_given or req.new_task or not (team in req.org.teams or task.get("assignee")):
        return None
    whose = f"task {task['id']} of team {team}" if team else f"task {task['id']} (assigned to {task['assignee']})"
    why = (f"Orchestra: this Agent call names no subagent_type, so Claude Code would run {whose} as "
           "general-purpose, outside the team's roles and capacity.")
    try:
        agent = delegation_arguments(led.tx, req.org, task["id"])["subagent_type"]
    except ValueError as exc:  # nobody to name: not auto-assigned, an assignee gone, every able member busy
        return Deny(f"{why} {exc}")
    return Deny(f'{why} Call Agent again with the same prompt and subagent_type: "{agent}" (the agent '
                f"`orchestra task delegate {task['id']}` hands it to).")


def check_capacity(req: DelegationRequest, led: Ledger) -> Verdict | None:
    if not req.config.capacity_gate:
        return None
    member = req.org.member(req.subagent_type)
    if member is None:
        return None
    early = (_early_run(req, led) or {}).get("id")
    busy = [(agent_type, label) for agent_type, key, label in occupancy.live_attempts(led, req.config) if key != early]
    mine = [label for agent_type, label in busy if agent_type == req.subagent_type]
    if member.capacity == 0:
        return Deny(f"Orchestra: {req.subagent_type} takes no work (capacity 0 in teams.yaml, e.g. on leave). "
                    f"Delegate to another member of team {member.team}, or set its capacity above 0 in teams.yaml.")
    if len(mine) >= member.capacity:
        return Deny(f"Orchestra: {req.subagent_type} is at its capacity of {member.capacity} (teams.yaml): "
                    f"running {', '.join(mine)}. Wait for one to report, or pick another member.")
    team = req.org.teams.get(member.team)
    # max_parallel_agents counts the team's members; the orchestrator running their waves is not one.
    if team is not None and member.name in team.members:
        theirs = [f"{label} [{agent_type}]" for agent_type, label in busy if agent_type in team.members]
        sprint_id = (req.task or {}).get("sprint")
        override = ((led.get("sprints", sprint_id) if sprint_id else None) or {}).get("capacity") or {}
        limit = override.get(team.name, team.settings.max_parallel_agents)
        if limit == 0:
            return Deny(f"Orchestra: team {team.name} takes no work in sprint {sprint_id} (capacity {{{team.name}: 0}} "
                        f"in its sprint file). Move the task to another team or a later sprint, or raise that capacity.")
        if len(theirs) >= limit:
            where = (f"{limit} agent{'s' if limit != 1 else ''} at once, the capacity sprint {sprint_id} gives it"
                     if team.name in override
                     else f"max_parallel_agents {limit} (teams.yaml)")
            return Deny(f"Orchestra: team {team.name} is at {where}: running "
                        f"{', '.join(theirs)}. Wait for one to report before delegating more to this team.")
    return None


# Order matters: cheap identity checks first, then the task, then what depends on the whole state.
STEPS: list[Step] = [check_agent_type, resolve_task, check_task_open, check_assignee, check_sprint_started,
                     check_dependencies, check_agent_named, check_capacity, allocate_for_delegation]


def _early_run(req: DelegationRequest, led: Ledger) -> dict[str, Any] | None:
    if req.task is None or req.new_task:
        return None
    return occupancy.early_run(led, req.task["id"], req.session_id, req.subagent_type)


# -- recording and rewriting ------------------------------------------------------------------------

def record(req: DelegationRequest, led: Ledger) -> dict[str, Any]:
    """Write the delegation, start a new attempt on its task, and link any run seen before this event."""
    task = req.task
    assert task is not None
    if req.new_task and led.get("tasks", task["id"]) is None:
        led.put("tasks", task)
        led.event("task_created", {"ad_hoc": bool(task.get("ad_hoc")), "type": task.get("type")},
                  task_id=task["id"], session_id=req.session_id)
    seq = led.event("delegation_requested", {"tool_use_id": req.tool_use_id, "subagent_type": req.subagent_type,
                                             "caller": req.caller},
                    agent_id=None if req.caller == "main" else req.caller, task_id=task["id"],
                    session_id=req.session_id)
    delegation = {
        "id": req.tool_use_id, "session_id": req.session_id, "caller": req.caller, "caller_type": req.caller_type,
        "subagent_type": req.subagent_type, "type_given": req.type_given, "task": task["id"],
        "description": req.description, "background": req.tool_input.get("run_in_background"),
        "requested_at": led.now, "seq": seq, "status": "pending", "agent_id": None, "link": None,
        "worktree": req.worktree, "name": req.tool_input.get("name"),  # SendMessage may address the run by it
    }
    led.put("delegations", delegation)
    task = led.get("tasks", task["id"]) or task
    task.update(delegation=req.tool_use_id, agent_id=None, lifecycle_status=None)
    team = req.org.teams.get(task.get("team") or "")
    if team is not None and not team.settings.auto_assign and not task.get("assignee"):
        task["assignee"] = req.subagent_type  # the call named who does it (check_assignee took members only)
    elif (member := req.org.member(req.subagent_type)) is not None and (team is None or member.team == team.name) \
            and gone_assignee(req.org, task):
        task["assignee"] = member.name  # its assignee was renamed or removed in teams.yaml: the member called takes it
    led.put("tasks", task)
    led.session(req.session_id)
    if req.caller != "main":
        caller = led.run(req.caller, req.caller_type, req.session_id)
        caller.setdefault("seen_at", led.now)
    led.tasks.add(task["id"])
    led.adopt(delegation)
    led.settle()
    return delegation


def rewritten_input(req: DelegationRequest, led: Ledger) -> dict[str, Any]:
    brief = briefing.task_brief(led.tx, req.task or {}, worktree=req.worktree, extra=req.brief_extra)
    return {**req.tool_input, "prompt": briefing.with_brief(req.prompt, brief)}


def drop_refused(req: DelegationRequest, led: Ledger) -> None:
    """The caller's earlier Agent calls that never launched: a permission rule, the user or another PreToolUse
    hook refused them (Claude Code sends no hook event then; the error is in the caller's transcript), or
    they failed at once. Such a delegation stops holding its task and capacity, and its task is queued again,
    so the call made again is not refused as running twice."""
    waiting = {d["id"]: d for d in led.find("delegations", status="pending", session_id=req.session_id)
               if d.get("caller") == req.caller and not d.get("agent_id") and d["id"] != req.tool_use_id}
    refused = sorted(transcript.refused_calls(req.transcript, set(waiting)))
    for tool_use_id in refused:
        delegation = waiting[tool_use_id]
        delegation.update(status="dropped", dropped_at=led.now)
        led.put("delegations", delegation)
        led.event("delegation_dropped", {"tool_use_id": tool_use_id}, task_id=delegation.get("task"), session_id=req.session_id,
                  agent_id=None if req.caller == "main" else req.caller)
        led.tasks.update(t for t in (delegation.get("task"),) if t)
    if refused:
        led.settle()


def delegate(req: DelegationRequest, led: Ledger) -> Verdict:
    """Run the steps, record the delegation, and return the rewritten Agent input."""
    existing = led.get("delegations", req.tool_use_id)
    if existing is not None:  # a replayed event: same answer, nothing new
        req.task, req.worktree = led.get("tasks", existing.get("task")), existing.get("worktree")
        return Rewrite(rewritten_input(req, led))
    drop_refused(req, led)
    for step in STEPS:
        verdict = step(req, led)
        if verdict is not None:
            return verdict
    record(req, led)
    return Rewrite(rewritten_input(req, led))
