"""`plan_sprint`: the delegation batches an orchestrator runs, with critical path, slack and ready queue.

Works on the remaining work: finished tasks are left out and satisfy their dependents, tasks already
running go into the first wave their dependencies allow. Made again mid-sprint (`/sprint:start` run to
resume it), it offers every task that can be delegated now, the started ones nobody holds any more
too (`holders`), and says for each other task why not now. The output is the stable JSON of
`orchestra sprint plan ID --json` and of the MCP tool `plan_sprint` (README, "Sprints and epics").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from ..lifecycle.assignment import picked_line, workload
from ..lifecycle.config import load as lifecycle_config
from ..lifecycle.views import Unassigned, delegation_arguments, pool_finder
from .capacity import PLANNED_ANYWAY, capacity_dict, parallel_capacity
from .graph import Capacity, Pools, TaskGraph
from .holders import occupied, over_capacity, with_holders
from .holds import hand_hold, hold_text
from .sharing import shared_worktrees, worktree_waits
from .view import SprintView, doer, outside_done, sprint_view


def _round(value: float) -> float:
    return round(value, 4)


class Offer(NamedTuple):
    """What a sprint's plan offers now: the graph of the work left, its waves (all, or only the first), the
    ready queue, and in a started sprint the first wave's tasks that can be delegated now (`startable`) and
    those the capacity gate would refuse, or that wait for a worktree another task holds or takes first
    (`crowded`, each with why), with the members each task that names nobody goes to.
    `idle`: the work nobody takes (capacity 0), in no wave; `waived`: while the capacity gate is off, the work
    planned although its member or team takes no work (each with why); `limits`: the capacity the waves
    were spread by (`capacity`, or with the gate off `Capacity.ungated`)."""

    graph: TaskGraph
    capacity: Capacity
    limits: Capacity
    idle: dict[str, str]
    waived: dict[str, str]
    pools: Pools
    able: dict[str, tuple[list[str], str]]
    waves: list[list[str]]
    ready: list[str]
    finished: set[str]
    started: bool
    hold: str | None
    startable: set[str]
    crowded: dict[str, str]

    def picked(self, org, task: dict[str, Any]) -> tuple[str, str] | None:
        """The plan's pick for a task that names nobody, and why (the words `delegate_task` uses)."""
        if task["id"] not in self.able:
            return None
        member = self.pools.picks[task["id"]]
        return member, picked_line(org, task, member, self.able[task["id"]][1], self.pools.hands[task["id"]])


def offer(tx, view: SprintView, org, *, whole: bool = True) -> Offer:
    """The plan's offer now; without `whole`, only its first wave is made (what `planned_arguments` reads)."""
    finished_elsewhere = outside_done(tx, view)
    pool_of = pool_finder(org)
    graph = view.remaining_graph(finished_elsewhere, org, pool_of)
    capacity = parallel_capacity(org, view.capacity)
    gate = lifecycle_config(org).capacity_gate
    running, blocked = set(view.running), view.blocked
    # Work awaiting review holds no member's slot (the gate counts live runs): like blocked work, it leaves
    # the first wave's places to work that can start.
    review = {t["id"] for t in view.tasks if t.get("status") == "needs_review"}
    pools, able = spread(tx, org, view, graph, running, pool_of)
    # tasks sharing a worktree run one at a time: the delegation gate locks it to one run
    shared = shared_worktrees(tx, org, ((t, graph.nodes[graph.index[t["id"]]].assignee) for t in view.tasks
                                        if t["id"] in graph.index))
    waves = graph.batches(capacity, first=running - review, held=blocked | review, pools=pools,
                          stop_after=None if whole else 1, gate=gate, shared=shared)
    finished = view.done | finished_elsewhere
    idle, waived = graph.staffing(capacity, pools, gate)
    ready = graph.ready(done=finished, exclude=running | blocked | set(idle))
    # Only the first wave is launched now; later waves are briefed when they come up (re-plan).
    started = view.source == "state" and view.status in ("active", "blocked")
    hold = hold_text(view.id, view.record) if started else None  # blocked by hand: nothing starts until unblocked
    startable = set(waves[0]) & set(ready) if started and waves and not hold else set()
    # with the gate off nothing refuses a delegation for capacity, work on leave included
    crowded = gate_capacity(tx, org, view, waves[0], startable, ready, pools, able) \
        if started and waves and not hold and gate else {}
    startable -= set(crowded)
    if started and waves and not hold:  # the wave's tasks take their worktrees first, then the ready ones waiting
        by_id = {t["id"]: t for t in view.tasks}
        asking = [t for t in waves[0] if t in startable] + [t for t in ready if t not in startable and t in shared
                                                            and t not in crowded]
        crowded.update(worktree_waits(tx, org, [(by_id[t], who(org, by_id[t], pools)) for t in asking]))
        startable -= set(crowded)
    return Offer(graph, capacity, capacity if gate else capacity.ungated(), idle, waived, pools, able, waves, ready,
                 finished, started, hold, startable, crowded)


def plan_view(tx, view: SprintView, org) -> dict[str, Any]:
    """The plan of one sprint view. In a started sprint, the first wave's tasks that can start now
    carry their ready `Agent` tool input (what `orchestra task delegate` prints); its brief names
    finished dependencies' artifacts, so later waves get theirs when they come up."""
    now = offer(tx, view, org)
    graph, capacity, pools, able, waves, ready = now.graph, now.capacity, now.pools, now.able, now.waves, now.ready
    finished, started, hold, startable, crowded = now.finished, now.started, now.hold, now.startable, now.crowded
    running, blocked = set(view.running), view.blocked
    slack = graph.slack()
    critical = graph.critical_path()
    on_path = set(critical)
    by_id = {t["id"]: t for t in view.tasks}
    done = view.done
    # What `not_now` reads, built once: who runs what, statuses, and who fills the first wave.
    statuses = {t["id"]: t.get("status", "queued") for t in view.tasks}
    held = Held(running, blocked, statuses, view.holders, hold)
    in_first: dict[tuple[str, str | None], list[str]] = {}
    for tid in waves[0] if started and waves else ():
        in_first.setdefault(("team", by_id[tid].get("team")), []).append(tid)
        in_first.setdefault(("member", who(org, by_id[tid], pools)), []).append(tid)

    def item(task_id: str) -> dict[str, Any]:
        task = by_id[task_id]
        status = task.get("status", "queued")
        args, why = None, None
        try:
            args = delegation_arguments(tx, org, task_id, now.picked(org, task)) if task_id in startable else None
        except Unassigned as refused:  # a team with auto_assign: false picks nobody: the orchestrator names one
            why = str(refused)
        if started and task_id not in startable:
            members = able[task_id][0] if task_id in able else [who(org, task, pools)]
            why = crowded.get(task_id) or not_now(tx, held, task, finished, now.limits, in_first, members)
        return {
            "id": task_id, "title": task.get("title", ""), "status": status, "team": task.get("team"),
            "assignee": task.get("assignee"), "estimate": _round(float(task.get("estimate", 1.0) or 0.0)),
            "priority": task.get("priority", "normal"), "dependencies": list(task.get("dependencies") or ()),
            "slack": _round(slack[task_id]), "critical": task_id in on_path, "agent": args, "not_now": why,
            "acceptance": checked(task),
        }

    batches = []
    for number, wave in enumerate(waves, start=1):
        items = [item(t) for t in wave]
        batches.append({"wave": number, "points": _round(sum(i["estimate"] for i in items)), "tasks": items})
    return {
        "sprint": view.id,
        "status": view.status,
        "source": view.source,
        "hold": hand_hold(view.record) if started else None,
        "points": view.points,
        "critical_path": {"tasks": critical, "length": _round(graph.length)},
        "capacity": capacity_dict(capacity, (t.get("team") for t in view.tasks),
                                  (who(org, t, pools) for t in view.tasks)),
        "order": graph.topological_order(),
        "ready": ready,
        "running": view.running,
        "done": sorted(done),
        "batches": batches,
        "idle": [{"id": tid, "title": by_id[tid].get("title", ""), "team": by_id[tid].get("team"),
                  "assignee": by_id[tid].get("assignee"), "why": why}
                 for tid, why in now.idle.items()],
        "warnings": [{"id": tid, "title": by_id[tid].get("title", ""), "team": by_id[tid].get("team"),
                      "assignee": by_id[tid].get("assignee"), "why": f"{why}; {PLANNED_ANYWAY}"}
                     for tid, why in now.waived.items()],
    }


def spread(tx, org, view: SprintView, graph, running: set[str],
           pool_of=None) -> tuple[Pools, dict[str, tuple[list[str], str]]]:
    """The members each task of the plan that names nobody may go to (`views.auto_pool`, the same as
    `delegation_arguments` picks from; `pool_of`: a `views.pool_finder` of `org`), with the work they have in hand
    outside the plan (`assignment`): the waves give each such task to the least busy of them. A running task
    stays with the agent type running it."""
    pool_of = pool_of or pool_finder(org)
    work = workload(tx, org)
    pools, able = Pools(), {}
    holder = {task: name for name, held in work.running.items() for _, task in held}
    for task in view.tasks:
        tid = task["id"]
        if tid not in graph.index:
            continue
        if tid in running:
            if not task.get("assignee") and org.member(holder.get(tid)):
                pools.members[tid] = (holder[tid],)
        elif (pool := pool_of(task)) is not None:
            pools.members[tid], able[tid] = pool[0], pool
    ours = set(graph.index)
    names = {m for members in pools.members.values() for m in members}
    if work.gate:
        pools.busy = {m: sum(task not in ours for _, task in work.running.get(m, ())) for m in names}
    pools.load = {m: work.hand(m, ours) for m in names}
    return pools, able


def who(org, task: dict[str, Any], pools: Pools) -> str | None:
    """The member whose place `task` takes: the plan's pick for a task that names nobody, else `doer`."""
    return pools.picks.get(task["id"]) or doer(org, task)


def gate_capacity(tx, org, view: SprintView, wave: list[str], startable: set[str], ready: list[str],
                  pools: Pools, able: dict[str, tuple[list[str], str]]) -> dict[str, str]:
    """The capacity gate's reason for each task it would refuse now: the first wave's startable tasks,
    delegated one after another in wave order, and, while work outside this sprint runs, the other ready
    tasks (one that names nobody, when every member able to take it is refused). The gate counts every live
    run and waiting delegation by the agent type that has it, other sprints' and ad-hoc work included; the
    waves count only this sprint's tasks."""
    busy = occupied(tx, org)
    by_id = {t["id"]: t for t in view.tasks}
    refused: dict[str, str] = {}
    for tid in wave:
        if tid in startable:
            member = who(org, by_id[tid], pools)
            why = over_capacity(org, view.capacity, member, busy)
            if why and tid in able:  # the plan's pick is full: another able member, or say that all are
                whys = {m: over_capacity(org, view.capacity, m, busy) for m in able[tid][0]}
                member = next((m for m, w in whys.items() if not w), member)
                why = None if not whys[member] else "; ".join(dict.fromkeys(w for w in whys.values() if w))
                pools.picks[tid] = member
            if why:
                refused[tid] = why
            else:
                busy.append((member, tid, tid))
    if any(task not in by_id for _, _, task in busy):
        for tid in ready:
            if tid in startable:
                continue
            members = able[tid][0] if tid in able else [who(org, by_id[tid], pools)]
            whys = [over_capacity(org, view.capacity, member, busy) for member in members]
            if all(whys) and whys:
                refused.setdefault(tid, "; ".join(dict.fromkeys(w for w in whys if w)))
    return refused


def checked(task: dict[str, Any]) -> bool:
    """Whether the task says when it is done: acceptance criteria or an acceptance command."""
    acceptance = task.get("acceptance") or {}
    return bool(acceptance.get("criteria") or acceptance.get("command"))


class Held(NamedTuple):
    """A started sprint's tasks that cannot start whatever the capacity, with the statuses they show."""

    running: set[str]
    blocked: set[str]
    statuses: dict[str, str]
    holders: dict[str, str]
    hold: str | None = None  # why nothing starts in a sprint blocked by hand (`holds.hold_text`)


def not_now(tx, held: Held, task: dict[str, Any], finished: set[str], capacity: Capacity,
            in_first: dict[tuple[str, str | None], list[str]], members: list[str | None] | None = None) -> str:
    """Why a task of a started sprint cannot be delegated now: who has it, the sprint's hand block, its blocker,
    the dependencies it waits on, or the capacity the first wave already fills (`in_first`: its tasks by team
    and by member; `members`: who may take it, its assignee or those able to when it names nobody)."""
    tid, status = task["id"], task.get("status", "queued")
    if tid in held.running:
        if status == "needs_review":
            waiting = task.get("review_reason") or "awaiting review"
            return f"{waiting}; the review waits too: {held.hold}" if held.hold else waiting
        return f"{status}: {held.holders.get(tid) or 'running'}"
    if held.hold:
        own = f"; its own blocker: {task.get('blocker') or 'no reason given'}" if tid in held.blocked else ""
        return held.hold + own
    if tid in held.blocked:
        return (f"blocked: {task.get('blocker') or 'no reason given'}; once that is resolved, "
                f"`orchestra task set-status {tid} queued` makes it ready again")
    waiting = [d for d in task.get("dependencies") or () if d not in finished]
    if waiting:
        listed = ", ".join(f"{d} ({held.statuses.get(d) or tx.get(f'tasks.{d}.status', None) or 'not in state'})"
                           for d in waiting)
        return f"waits on {listed}"
    team = task.get("team")
    mates = in_first.get(("team", team), [])
    if len(mates) >= capacity.team_limit(team):
        return f"waits for a free slot: team {team or '(none)'} runs {capacity.team_limit(team)} at once " \
               f"({', '.join(mates)})"
    waits = []
    for member in [m for m in members or [task.get("assignee")] if m]:
        theirs = in_first.get(("member", member), [])
        if not theirs or len(theirs) < capacity.member_limit(member):
            return "waits for the next wave"
        waits.append(f"{member}, who takes {capacity.member_limit(member):g} at once ({', '.join(theirs)})")
    return f"waits for {' or '.join(waits)}" if waits else "waits for the next wave"


def planned_arguments(tx, org, task: dict[str, Any]) -> dict[str, Any] | None:
    """The ready Agent arguments the plan of the task's started sprint gives it now (in its first wave, to the
    member the wave spreads it to), or None: the plan offers it nothing now, or cannot be made. So a batch
    fetched task by task before any of it is launched (`delegate_task` for each) is spread as the plan is.
    Only the first wave is made, and only this task briefed: what `plan_view` gives it, at a fraction of the cost."""
    if not task.get("sprint"):
        return None
    try:
        view = with_holders(tx, sprint_view(tx, task["sprint"]), org)
        if view.source != "state" or view.status not in ("active", "blocked"):
            return None
        now = offer(tx, view, org, whole=False)
        if task["id"] not in now.startable:
            return None
        ours = next((t for t in view.tasks if t["id"] == task["id"]), task)
        return delegation_arguments(tx, org, task["id"], now.picked(org, ours))
    except (ValueError, OSError):  # Unassigned too: the plan gives such a task no arguments (`agent: null`)
        return None


def plan_sprint(store, sprint_id: str, root: Path | None = None) -> dict[str, Any]:
    """The plan of `sprint_id` (read-only): waves, critical path, slack, ready queue, capacity."""
    from .sprints import organization

    org = organization(root)
    with store.snapshot() as tx:
        view = with_holders(tx, sprint_view(tx, sprint_id, root), org)
        return plan_view(tx, view, org)
