"""What people and other tools ask of the lifecycle: ready Agent arguments for a task, the live agent
tree, the task list, one task's whole story, a human's status change and an agent's progress report."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .. import agentfiles, briefing, liveness, teams
from ..models import (
    TASK_STATES_BY_SPRINT,
    TASK_STATUSES,
    TERMINAL_TASK_STATUSES,
    check_task_transition,
    check_unfinished,
)
from ..store import entity
from ..store.document import long_id
from ..teams import Organization
from . import review
from .protocol import tag
from .transitions import LIVE_RUN_STATUSES, TASK_EVENTS

TASK_HISTORY_TYPES = (*TASK_EVENTS.values(), "task_created", "task_status_set", "task_team_set",
                      "delegation_requested", "delegation_linked", "delegation_dropped", "agent_pushed_back", "parent_notified",
                      "parent_notify_failed", "transition_refused", "native_task_created", "native_task_completed",
                      "task_reported", "task_reviewed")
TASK_LIST_FIELDS = ("id", "status", "type", "title", "sprint", "team", "assignee", "agent_id", "priority", "artifacts",
                    "dependencies", "blocker", "review_reason", "progress")
REPORTS_KEPT = 20  # a task keeps its latest reports; every one stays in the event log


def task_record(tx, task_id: str) -> dict[str, Any]:
    """The task `task_id` names. An id is one segment of a state path: `t1.acceptance` names a part of
    task t1, which a command must not take for a task (nor write a status or team into)."""
    task = entity(tx, "tasks", task_id)
    if task is None:
        raise ValueError(long_id(task_id, "task") or unstarted_text(tx, task_id)
                         or f"task {task_id!r}: no such task in state; `orchestra task list` shows the ids")
    return task


def unstarted_text(tx, task_id: str) -> str | None:
    """Why a task is not in state yet when the file of a sprint loaded but not running lists it (its tasks
    enter state when it starts); None when no sprint lists it. `tx` is a transaction or a Ledger."""
    planned = next((s for s in tx.find("sprints") if task_id in (s.get("tasks") or ())), None)
    if planned is None:
        return None
    return (f"task {task_id} is in the file of sprint {planned['id']}, which is {planned.get('status')}, not "
            f"running: its tasks enter state when it starts (`orchestra sprint start {planned['id']}`)")


class Unassigned(ValueError):
    """The task names no assignee (or one teams.yaml no longer has) and its team picks none (`auto_assign: false`)."""


def pick_agent(org: Organization, task: dict[str, Any]) -> str | None:
    """Who should do `task`: its assignee, else (when its team auto-assigns) a member of its team able to do
    its type, else general-purpose (a task of no team, without teams.yaml). None when no assignee is named and
    its team has `auto_assign: false` or no members, or is a team teams.yaml no longer has (renamed or removed
    there): no agent of the organisation is its to take; None too when its assignee is a member teams.yaml no
    longer has. Of several able members this is the first by name; `delegation_arguments` and the plan pick
    the least busy of them (`assignment`)."""
    if task.get("assignee"):
        return None if gone_assignee(org, task) else task["assignee"]
    if task.get("type") == "orchestration" and task.get("team") in org.teams:
        return org.teams[task["team"]].orchestrator
    team = org.teams.get(task.get("team") or "")
    if team is not None and not team.settings.auto_assign:
        return None
    if team is None and task.get("team") and org.teams:
        return None
    able, _ = able_members(org, task)
    if team is not None and not able:  # its orchestrator delegates, and the guard keeps it to its members
        return None
    return able[0] if able else "general-purpose"


def able_members(org: Organization, task: dict[str, Any]) -> tuple[list[str], str]:
    """The members (not orchestrators) of the task's team, or of every team for a task of none, who may take
    it when it names nobody, by name: those whose capabilities include its type, else those whose specialties
    match its tags, else all; with what makes them able (for the words that say why one was picked)."""
    members = sorted((m for m in org.agents.values() if m.role != "orchestrator"
                      and task.get("team") in (None, m.team)), key=lambda m: m.name)
    able = [m.name for m in members if task.get("type") in m.capabilities]
    if able:
        return able, f"able to do {task.get('type')}"
    able = [m.name for m in members if set(task.get("tags") or []) & set(m.specialties)]
    if able:
        return able, "whose specialties match its tags"
    return [m.name for m in members], "(none able to do its type)"


def auto_pool(org: Organization, task: dict[str, Any]) -> tuple[list[str], str] | None:
    """The members the pick of an unassigned task of an auto-assigning team is made among (`able_members`), or
    None when nothing is to pick: an assignee named, an orchestration, or a pick `pick_agent` refuses or that
    goes to no member."""
    if task.get("assignee") or task.get("type") == "orchestration":
        return None
    picked = pick_agent(org, task)
    if org.member(picked) is None:
        return None
    return able_members(org, task)


def pool_finder(org: Organization) -> Callable[[dict[str, Any]], tuple[list[str], str] | None]:
    """`auto_pool` for the many tasks of one plan: tasks that name nobody and are alike in team, type and tags
    share one answer, worked out once."""
    memo: dict[tuple, tuple[list[str], str] | None] = {}

    def find(task: dict[str, Any]) -> tuple[list[str], str] | None:
        if task.get("assignee"):
            return auto_pool(org, task)
        key = (task.get("team"), task.get("type"), tuple(task.get("tags") or ()))
        try:
            return memo[key]
        except KeyError:
            memo[key] = auto_pool(org, task)
            return memo[key]
        except TypeError:  # a team, type or tag written into state as no plain value
            return auto_pool(org, task)

    return find


def gone_assignee(org: Organization, task: dict[str, Any]) -> str | None:
    """The task's assignee when no agent answers to it any more (see `gone_agent`)."""
    assignee = task.get("assignee")
    return assignee if assignee and gone_agent(org, assignee) else None


def gone_agent(org: Organization, agent_type: str) -> bool:
    """Whether no agent answers to `agent_type` any more (a member renamed or removed in teams.yaml): not a member,
    a built-in agent, one of `lifecycle: external_agent_types`, another plugin's agent or one with an agent file
    of its own (as the delegation gate takes them). False without a teams.yaml."""
    from .. import paths
    from . import config as lifecycle_config

    if not org.agents or org.member(agent_type) is not None:
        return False
    name = teams.normalize_agent_type(agent_type)
    known = lifecycle_config.BUILTIN_AGENT_TYPES | lifecycle_config.load(org).external_agent_types
    return not (name in known or ":" in name or agentfiles.agent_file_exists(paths.project_root(), name))


def unassigned_text(org: Organization, task: dict[str, Any]) -> str:
    """What to do with a task its team will not assign: the words the CLI, MCP and the delegation gate use."""
    if gone := gone_assignee(org, task):
        team = org.teams.get(task.get("team") or "")
        if task.get("type") == "orchestration":  # the work of whoever runs the team now
            able = [team.orchestrator] if team is not None else sorted(org.orchestrators().values())
        else:
            able = list(team.members) if team is not None else [m.name for m in org.agents.values()
                                                                if m.role != "orchestrator"]
        return (f"task {task['id']} is assigned to {gone}, which is not in teams.yaml (renamed or removed there): "
                f"assign it to one of {', '.join(able) or 'its members'} with `orchestra state set "
                f"tasks.{task['id']}.assignee '\"<member>\"'`")
    team = org.teams.get(task["team"])
    if team is None:
        return (f"task {task['id']} has no assignee and its team {task['team']!r} is not in teams.yaml (renamed or "
                f"removed there): move it to one of its teams ({', '.join(sorted(org.teams))}) with `orchestra task "
                f"set-team {task['id']} TEAM`, or name its assignee first (`orchestra state set "
                f"tasks.{task['id']}.assignee '\"<member>\"'`)")
    if team.settings.auto_assign and not team.members:
        return (f"task {task['id']} has no assignee and team {team.name} has no members to take it (its orchestrator "
                f"{team.orchestrator} delegates, to its members only): add members to team {team.name} in teams.yaml, "
                f"move the task with `orchestra task set-team {task['id']} TEAM`, or name its assignee first "
                f"(`orchestra state set tasks.{task['id']}.assignee '\"<agent>\"'`)")
    return (f"task {task['id']} has no assignee and team {team.name} does not pick one (auto_assign: false in "
            f"teams.yaml): delegate it with an Agent call whose subagent_type is one of its members "
            f"({', '.join(map(agentfiles.session_agent_type, team.members)) or 'none'}) and whose prompt starts with [task:{task['id']}], or name the "
            f"assignee first (`orchestra state set tasks.{task['id']}.assignee '\"<member>\"'`)")


def unfinished_dependencies(task: dict[str, Any], lookup: Callable[[str], dict[str, Any] | None]) -> str | None:
    """Why the dependency gate refuses `task` (its dependencies not completed or cancelled, each with its
    status), or None. `lookup` reads a task record by id. A dependency that can never finish (a task not in
    state, the task itself, a cycle: written into state directly) is named with the command that mends it."""
    deps = list(dict.fromkeys(task.get("dependencies") or []))
    found = {dep_id: None if dep_id == task["id"] else lookup(dep_id) for dep_id in deps}
    blockers, impossible = [], []
    for dep_id, dep in found.items():
        if dep_id == task["id"]:
            impossible.append(f"{dep_id} (the task itself)")
        elif dep is None:
            impossible.append(f"{dep_id} (not in state)")
        elif dep.get("status") not in TERMINAL_TASK_STATUSES:  # cancelled work is out of scope, as the plan has it
            who = f", agent {dep['agent_id']}" if dep.get("agent_id") and dep.get("status") == "in_progress" else ""
            blockers.append(f"{dep_id} ({dep.get('status') or 'queued'}{who})")
    if impossible:
        kept = [d for d, dep in found.items() if dep is not None]
        also = f"; it also waits on unfinished work: {', '.join(blockers)}" if blockers else ""
        return (f"task {task['id']} depends on work that can never be completed: {', '.join(impossible)}. Fix its "
                f"dependencies with `orchestra state set tasks.{task['id']}.dependencies '{json.dumps(kept)}'`{also}.")
    if not blockers:
        return None
    if cycle := _cycle_through(task, lookup):
        kept = [d for d in deps if d != cycle[1]]
        chain = ", ".join(f"{a} waits on {b}" for a, b in zip(cycle, cycle[1:], strict=False))
        return (f"task {task['id']} is in a dependency cycle: {chain}, so none of them can ever start. Remove one "
                f"of these dependencies, for this task with `orchestra state set tasks.{task['id']}.dependencies "
                f"'{json.dumps(kept)}'`.")
    return (f"task {task['id']} depends on unfinished work: {', '.join(blockers)}. "
            "Delegate those first; this one is ready when they are completed.")


def _cycle_through(task: dict[str, Any], lookup: Callable[[str], dict[str, Any] | None]) -> list[str] | None:
    """`[task, ..., task]` when its unfinished dependencies lead back to it, else None (a walk, not recursion:
    a long chain of work costs one read per task)."""
    parent: dict[str, str] = {}
    stack = [task]
    while stack:
        record = stack.pop()
        for dep_id in record.get("dependencies") or []:
            if dep_id == task["id"]:
                trail = [record["id"]]
                while trail[-1] != task["id"]:
                    trail.append(parent[trail[-1]])
                return [*reversed(trail), task["id"]]
            if dep_id in parent or (dep := lookup(dep_id)) is None or dep.get("status") in TERMINAL_TASK_STATUSES:
                continue
            parent[dep_id] = record["id"]
            stack.append(dep)
    return None


def sprint_closed_to(task: dict[str, Any], status: str | None) -> str | None:
    """Why the task of a sprint in `status` cannot run now (planned, under review or complete), or None."""
    if status is None or "assigned" in TASK_STATES_BY_SPRINT.get(status, frozenset({"assigned"})):
        return None
    sprint_id = task["sprint"]
    hint = (f"start it first (`orchestra sprint start {sprint_id}`)" if status in ("planning", "ready")
            else f"it is in {status}; reopen it or move the task to another sprint")
    return f"task {task['id']} belongs to sprint {sprint_id}, which is {status}: {hint}."


def takes_no_work(tx, org: Organization, task: dict[str, Any], agent: str) -> str | None:
    """Why `task` goes to nobody now: its team's capacity in its sprint is 0, or its assignee's in teams.yaml
    (on leave); the capacity gate refuses either delegation. None when neither is 0."""
    member = org.member(agent)
    team, sprint = task.get("team") or (member.team if member else None), task.get("sprint")
    limits = ((tx.get(f"sprints.{sprint}", None) or {}).get("capacity") or {}) if sprint else {}
    if team and limits.get(team) == 0:
        return (f"task {task['id']}: team {team} takes no work in sprint {sprint} (capacity {{{team}: 0}} in its "
                f"sprint file): move the task to another team (`orchestra task set-team {task['id']} TEAM`) or to "
                "a later sprint, or raise that capacity")
    if task.get("assignee") == agent and member is not None and member.capacity == 0:
        return (f"task {task['id']} is assigned to {agent}, who takes no work (capacity 0 in teams.yaml, e.g. on "
                f"leave): give it to another member (`orchestra state set tasks.{task['id']}.assignee '\"<member>\"'`), or "
                f"set {agent}'s capacity above 0")
    return None


def idle_despite_gate_off(tx, org: Organization, task_id: str) -> str | None:
    """Why `task_id` would go to nobody (`takes_no_work`) when the capacity gate is off and lets it through
    anyway; None when the gate is on (it refuses instead) or the member and team take work."""
    from . import config as lifecycle_config

    task = task_record(tx, task_id)
    agent = pick_agent(org, task)
    if lifecycle_config.load(org).capacity_gate or agent is None:
        return None
    return takes_no_work(tx, org, task, agent)


def delegation_arguments(tx, org: Organization, task_id: str,
                         picked: tuple[str, str] | None = None) -> dict[str, Any]:
    """The Agent tool input that delegates `task_id`: tagged, briefed, addressed to the right agent. A task
    that names nobody goes to the least busy member able to take it (`assignment`), or to `picked` (member,
    why: a plan's pick for its wave); the prompt says why.
    Raises Unassigned when nobody is named and the task's team does not auto-assign or is not in teams.yaml,
    and ValueError when its sprint was blocked by hand, is not running (planned, under review, complete), its
    dependencies are unfinished, its member or team takes no work (capacity 0) while the capacity gate is on,
    or every member able to take it is at its capacity (the delegation gate would refuse the call). A pick
    passes over members on leave whether the gate is on or off: that is choosing, not gating. A completed or
    cancelled task is refused (`models.FinishedTask`), except a completed one of `repeatable_types`, which the
    delegation gate lets through too."""
    from ..workflow.holds import hold_text
    from . import config as lifecycle_config

    gates = lifecycle_config.load(org)
    task = task_record(tx, task_id)
    if not (task.get("status") == "completed" and task.get("type") in gates.repeatable_types):
        check_unfinished(task_id, task, "delegation")
    held = hold_text(task["sprint"], tx.get(f"sprints.{task['sprint']}", None)) if task.get("sprint") else None
    if held:
        raise ValueError(f"task {task_id} is not to be delegated now: {held}")
    closed = sprint_closed_to(task, tx.get(f"sprints.{task['sprint']}.status", None)) if task.get("sprint") else None
    if closed:
        raise ValueError(closed)
    waiting = unfinished_dependencies(task, lambda dep: entity(tx, "tasks", dep)) if gates.dependency_gate else None
    if waiting:
        raise ValueError(waiting)
    agent = pick_agent(org, task)
    if agent is None:
        raise Unassigned(unassigned_text(org, task))
    idle = takes_no_work(tx, org, task, agent) if gates.capacity_gate else None
    if idle:
        raise ValueError(idle)
    why = None
    pool = auto_pool(org, task) if picked is None else None
    if picked is not None:
        agent, why = picked
    elif pool is not None:
        from ..workflow.planning import planned_arguments
        from .assignment import least_busy, workload

        if (planned := planned_arguments(tx, org, task)) is not None:
            return planned  # the plan's wave spreads a batch fetched before any of it is launched
        agent, why = least_busy(org, task, pool, workload(tx, org))
    title = task.get("title") or task_id
    words = f"{task_id} {title}".split()
    prompt = f"{tag(task_id)} {title}"
    if task.get("description"):
        prompt += f"\n\n{task['description']}"
    if why:
        prompt += f"\n\n{why}"
    return {"subagent_type": agentfiles.session_agent_type(agent), "description": " ".join(words[:5]),
            "prompt": briefing.with_brief(prompt, briefing.task_brief(tx, task, worktree=task.get("worktree")))}


def agent_tree(tx, *, everything: bool = False) -> list[dict[str, Any]]:
    """Sessions with their runs nested under the run (or main thread) that delegated them.
    Without `everything`, only sessions that have not ended and runs that are live or have live children."""
    runs = tx.items("agents")
    sessions = tx.items("sessions")

    def node(agent_id: str, seen: frozenset[str]) -> dict[str, Any] | None:
        run = runs.get(agent_id)
        if run is None or agent_id in seen:
            return None
        children = [c for c in (node(child, seen | {agent_id}) for child in run.get("child_agents") or []) if c]
        live = run.get("status") in LIVE_RUN_STATUSES
        if not (everything or live or children):
            return None
        return {"id": agent_id, "agent_type": run.get("agent_type"), "status": run.get("status"),
                "team": run.get("team"), "role": run.get("role"), "task": run.get("task"),
                "started_at": run.get("started_at"), "ended_at": run.get("ended_at"), "children": children}

    out = []
    for session_id in sorted({*sessions, *(r.get("session_id") for r in runs.values() if r.get("session_id"))}):
        session = sessions.get(session_id, {})
        if session.get("ended_at") and not everything:
            continue
        top = [r["id"] for r in runs.values() if r.get("session_id") == session_id
               and (r.get("parent") in (None, "main") or r.get("parent") not in runs)]
        children = [c for c in (node(a, frozenset()) for a in sorted(top)) if c]
        if children or everything:
            # killed outright (no SessionEnd): its runs still say live until the next session or delegation ends it
            gone = not session.get("ended_at") and liveness.gone(session)
            out.append({"session_id": session_id, "ended_at": session.get("ended_at"), "process_gone": gone,
                        "children": children})
    return out


def task_view(tx, task_id: str) -> dict[str, Any]:
    task = task_record(tx, task_id)
    history = [e for e in tx.events_after(0, limit=1_000_000, types=TASK_HISTORY_TYPES) if e.get("task_id") == task_id]
    return {"task": task, "delegations": tx.find("delegations", task=task_id), "runs": tx.find("agents", task=task_id),
            "events": history[-50:]}


RELEASING_STATUSES = ("queued", "cancelled")  # the work is taken back: the runs still on it stop counting


def _release_runs(tx, task_id: str, why: str) -> None:
    """Runs still live on a task taken back by hand (their session killed, say, so its SessionEnd never
    ran) become stopped: they no longer hold capacity or the task. One that still reports settles as usual."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    for run in tx.find("agents", task=task_id):
        if run.get("status") in LIVE_RUN_STATUSES and not run.get("outcome"):
            tx.update(f"agents.{run['id']}", {"status": "stopped", "status_at": now, "released_at": now,
                                              "ended_at": run.get("ended_at") or now, "release_reason": why})
            tx.append_event("agent_stopped", {"agent_type": run.get("agent_type"), "reason": why},
                            agent_id=run["id"], task_id=task_id, session_id=run.get("session_id"))


# Statuses whose reason the task keeps: the same status again with a new reason updates it.
KEPT_REASONS = frozenset({"blocked", "needs_review"})


class Unchanged(ValueError):
    """A status change that would change nothing: the task has that status already, or a worker's verdict on its
    own work goes to review instead."""


def set_status(tx, task_id: str, status: str, *, reason: str | None = None, by: str = "human",
               verdict: str | None = None, findings: list[str] | None = None, org: Organization | None = None,
               agent_type: str | None = None) -> dict[str, Any]:
    """A person or tool moves a task; the transition table decides. The lifecycle's own record
    (`lifecycle_status`) is kept, so replayed hook events do not undo this. A team member (`by` its run,
    `agent:<id>`, of `agent_type` when the run is not recorded) completing a task of a team with
    require_review sends it to review instead (`review.reviewers`); a task leaving needs_review ends its
    review round with `verdict`, whose reply tells the worker the reason and every finding not already in it.
    Refused, writing nothing: a verdict or findings `review.check_verdict` refuses, and (`Unchanged`) a status
    the task has already (the same blocked or needs_review with a new reason updates the reason) or a verdict
    a worker's completion would turn into a review."""
    task = task_record(tx, task_id)
    if status not in TASK_STATUSES:
        raise ValueError(f"status {status!r} is unknown; use one of: {', '.join(TASK_STATUSES)}")
    current = task.get("status") or "queued"
    review.check_verdict(task_id, task, verdict, findings)
    if status == "completed" and by.startswith("agent:") and org is None:
        org = teams.load()
    worker, role = review.author(tx, by, agent_type, org) if status == "completed" else (None, None)
    names = review.reviewers(org, task, role, worker) if org and role else ()
    requested, status = status, "needs_review" if names else status
    if verdict and status != requested:  # a worker's own approval would go to review instead
        raise Unchanged(f"task {task_id}: your verdict {verdict!r} was not taken, and nothing was changed: "
                        f"{review.reason(names)}. Its reviewer gives the verdict; report your own work with status "
                        "completed.")
    if current in (requested, status) and not (reason and current in KEPT_REASONS):
        raise Unchanged(f"task {task_id} is already {current}; nothing was changed (its history: `orchestra task "
                        f"show {task_id}`, or get_task)")
    check_task_transition(task_id, current, status)
    fields: dict[str, Any] = {"status": status}  # a blocker or review reason holds only in its own status
    fields["blocker"] = reason or task.get("blocker") if status == "blocked" else None
    fields["review_reason"] = (review.reason(names) if names else reason or task.get("review_reason")) \
        if status == "needs_review" else None
    if status == "queued":
        fields.update(delegation=None, agent_id=None, lifecycle_status=None, blocker=None, review_reason=None)
    tx.update(f"tasks.{task_id}", fields)
    tx.append_event("task_status_set", {"from": current, "to": status, "reason": reason, "by": by}, task_id=task_id)
    if status in RELEASING_STATUSES:
        _release_runs(tx, task_id, f"task {task_id} set to {status} by {by}")
    if org and names:
        fields["review_requests"] = review.request(tx, org, {**task, **fields}, names,
                                                   worker=worker or task.get("assignee"))
        tx.update(f"tasks.{task_id}", {"review_requests": fields["review_requests"]})
    elif current == "needs_review" and status != "needs_review" and task.get("review_requests"):
        notes = "; ".join([*([reason] if reason else []), *(f for f in findings or () if f not in (reason or ""))])
        review.close(tx, task, status, by=by, verdict=verdict, notes=notes or None)
        fields["review_requests"] = []
    return {**task, **fields}


def apply_review(tx, reply: dict[str, Any]) -> dict[str, Any] | None:
    """A review_complete reply to one of a task's open review requests: the task takes its verdict
    (`review.VERDICT_STATUS`). Edges that send review_complete call this in the same transaction;
    returns the task when it moved."""
    request = tx.get(f"communication.messages.{reply.get('reply_to')}", None) if reply.get("reply_to") else None
    if reply.get("type") != "review_complete" or request is None:
        return None
    task = tx.get(f"tasks.{request.get('task')}", None) if request.get("task") else None
    if task is None or task.get("status") != "needs_review" or request["id"] not in (task.get("review_requests") or []):
        return None
    verdict, notes = reply["payload"]["verdict"], reply["payload"].get("notes")
    try:
        moved = set_status(tx, task["id"], review.VERDICT_STATUS[verdict], reason=notes, by=reply["from"],
                           verdict=verdict)
    except Unchanged:  # the reply stays a message: a worker's own approval does not settle its review
        return None
    # kept as update_task keeps a verdict, so the member's next brief names this one, not an earlier round's
    moved["review"] = {"verdict": verdict, "findings": [notes] if notes else [], "by": reply["from"]}
    tx.update(f"tasks.{task['id']}", {"review": moved["review"]})
    tx.append_event("task_reviewed", moved["review"], task_id=task["id"])
    return moved


def task_list(tx, *, statuses: list[str] | None = None, sprint: str | None = None, team: str | None = None,
              assignee: str | None = None) -> list[dict[str, Any]]:
    """Tasks (the `TASK_LIST_FIELDS` of each) matching every filter given, by id."""
    rows = []
    for task_id, task in sorted(tx.items("tasks").items()):
        if ((statuses and (task.get("status") or "queued") not in statuses) or (sprint and task.get("sprint") != sprint)
                or (team and task.get("team") != team) or (assignee and task.get("assignee") != assignee)):
            continue
        rows.append({k: task_id if k == "id" else task.get(k) for k in TASK_LIST_FIELDS})
    return rows


def record_report(tx, task_id: str, report: dict[str, Any], *, by: str, agent_id: str | None = None,
                  session_id: str | None = None) -> dict[str, Any]:
    """An agent's progress report on a task (progress, summary, coverage, build, ...): kept on the task
    (`reports`, the latest REPORTS_KEPT; `progress`, the last percentage given) and as a `task_reported` event.
    It changes no status: a run's outcome comes from its final report (SubagentStop). Refused on a completed or
    cancelled task (`models.FinishedTask`)."""
    task = task_record(tx, task_id)
    check_unfinished(task_id, task, "report")
    entry = {**report, "by": by, "at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")}
    fields: dict[str, Any] = {"reports": [*(task.get("reports") or []), entry][-REPORTS_KEPT:]}
    if report.get("progress") is not None:
        fields["progress"] = report["progress"]
    tx.update(f"tasks.{task_id}", fields)
    tx.append_event("task_reported", entry, task_id=task_id, agent_id=agent_id, session_id=session_id)
    return entry
