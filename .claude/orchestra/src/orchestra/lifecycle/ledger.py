"""The lifecycle's working set inside one store transaction: runs, delegations, tasks, sessions.

A handler loads what it needs, records facts, links runs to delegations, and calls `settle()`,
which re-derives statuses (see `transitions`), writes what changed, emits events for real changes
only, and tells a finished run's parent. Everything is idempotent: replaying any hook event
changes nothing and emits nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..models import OUTCOMES, IllegalTransition, check_task_transition
from ..teams import Organization, normalize_agent_type
from ..workflow.states import sync_blocked
from . import review, transitions

GENERIC_TYPES = ("general-purpose", "claude")  # what an Agent call without subagent_type launches


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Ledger:
    def __init__(self, tx, org: Organization, now: str | None = None) -> None:
        self.tx = tx
        self.org = org
        self.now = now or now_iso()
        self._cache: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._dirty: set[tuple[str, str]] = set()
        self.runs: set[str] = set()  # runs to settle
        self.tasks: set[str] = set()  # tasks to settle
        self.sprints: set[str] = set()  # sprints whose tasks changed status
        self.reviews: dict[str, tuple[tuple[str, ...], str | None]] = {}  # task -> (reviewers, worker) to ask

    # -- records -----------------------------------------------------------------------------------
    def get(self, collection: str, key: str | None) -> dict[str, Any] | None:
        if not key:
            return None
        if (collection, key) not in self._cache:
            self._cache[(collection, key)] = self.tx.get(f"{collection}.{key}", None)
        return self._cache[(collection, key)]

    def put(self, collection: str, record: dict[str, Any]) -> dict[str, Any]:
        self._cache[(collection, record["id"])] = record
        self._dirty.add((collection, record["id"]))
        return record

    def find(self, collection: str, **equals: Any) -> list[dict[str, Any]]:
        """Stored records matching `equals`, seen through this ledger's unsaved changes."""
        found = {r["id"]: r for r in self.tx.find(collection, **equals)}
        for (coll, key), record in self._cache.items():
            if coll != collection:
                continue
            found.pop(key, None)
            if record is not None and all(record.get(k) == v for k, v in equals.items()):
                found[key] = record
        return [self.get(collection, key) or record for key, record in sorted(found.items())]

    def run(self, agent_id: str, agent_type: str | None = None, session_id: str | None = None) -> dict[str, Any]:
        """The run of `agent_id`, created on first sight from whatever event saw it first."""
        run = self.get("agents", agent_id)
        if run is None:
            run = {"id": agent_id, "agent_type": None, "status": None, "team": None, "role": None,
                   "parent": None, "session_id": None, "task": None, "tool_use_id": None, "link": None,
                   "child_agents": [], "artifacts": [], "pushbacks": 0, "stops": {}, "report": {},
                   "created_at": self.now}
        if agent_type and not run.get("agent_type"):
            bare = normalize_agent_type(agent_type)
            member = self.org.member(bare)
            run.update(agent_type=bare, team=member.team if member else None, role=self.org.role_of(bare))
        if session_id and not run.get("session_id"):
            run["session_id"] = session_id
        self.runs.add(agent_id)
        return self.put("agents", run)

    def session(self, session_id: str) -> dict[str, Any]:
        """The session's record; an event without a session_id gets a scratch one that is never stored."""
        record = self.get("sessions", session_id) or {"id": session_id, "child_agents": [], "created_at": self.now}
        return self.put("sessions", record) if session_id else record

    def session_ended(self, session_id: str | None, since: str | None = None) -> bool:
        """Is the session over now, or did it end at or after `since` (the time a run or delegation was
        first seen)? A resumed session (`--resume`, `--continue`) is open again for what it starts
        anew, while what its earlier end stopped stays stopped."""
        record = self.get("sessions", session_id)
        if not record:
            return False
        return bool(record.get("ended_at")) or bool(since and any(end >= since for end in record.get("ends") or []))

    def ended(self, record: dict[str, Any] | None) -> bool:
        """Did the session of this run or delegation end while it was there?"""
        record = record or {}
        return self.session_ended(record.get("session_id"), record.get("created_at") or record.get("requested_at"))

    def event(self, type: str, data: dict[str, Any] | None = None, *, agent_id: str | None = None,
              task_id: str | None = None, session_id: str | None = None) -> int:
        return self.tx.append_event(type, data or {}, agent_id=agent_id, task_id=task_id, session_id=session_id)

    # -- linking runs to the delegations that launched them -----------------------------------------
    def link(self, tool_use_id: str, agent_id: str, how: str) -> None:
        """Join a delegation and a run. A definitive link (PostToolUse agentId, transcript meta) overrides a
        provisional one (SubagentStart's guess) and re-guesses for the run it displaced."""
        delegation = self.get("delegations", tool_use_id)
        if delegation is None:
            return
        run = self.run(agent_id, delegation.get("subagent_type"), delegation.get("session_id"))
        if delegation.get("agent_id") == agent_id and run.get("tool_use_id") == tool_use_id:
            if how == "definitive" and run.get("link") != "definitive":
                run["link"] = delegation["link"] = "definitive"
                self.put("delegations", delegation)
            return
        if how == "provisional" and (delegation.get("agent_id") or run.get("tool_use_id")):
            return
        if run.get("link") == "definitive" and run.get("tool_use_id") not in (None, tool_use_id):
            return  # already definitively linked elsewhere; a later contradicting guess is ignored
        displaced = self._unlink(delegation.get("agent_id"), run.get("tool_use_id"))
        delegation.update(agent_id=agent_id, link=how, status="linked")
        self.put("delegations", delegation)
        # the worktree travels with the link: the boundary guard reads it from the run alone
        run.update(tool_use_id=tool_use_id, link=how, task=delegation.get("task"), worktree=delegation.get("worktree"))
        self._set_parent(run, delegation.get("caller") or "main", delegation.get("session_id"))
        self.tasks.update(t for t in (delegation.get("task"),) if t)
        self.event("delegation_linked", {"tool_use_id": tool_use_id, "how": how},
                   agent_id=agent_id, task_id=delegation.get("task"), session_id=delegation.get("session_id"))
        for other in displaced:
            if other != agent_id:
                self.link_provisional(other)

    def _unlink(self, old_agent: str | None, old_delegation: str | None) -> list[str]:
        displaced = []
        if old_agent and (other := self.get("agents", old_agent)) is not None:
            other.update(tool_use_id=None, link=None, task=None, worktree=None)
            self.put("agents", other)
            self.runs.add(old_agent)
            displaced.append(old_agent)
        if old_delegation and (stale := self.get("delegations", old_delegation)) is not None:
            stale.update(agent_id=None, link=None, status="pending")
            self.put("delegations", stale)
            self.tasks.update(t for t in (stale.get("task"),) if t)
        return displaced

    def _set_parent(self, run: dict[str, Any], parent: str, session_id: str | None) -> None:
        old = run.get("parent")
        if old and old != parent:
            holder = self.get("agents", old) if old != "main" else self.get("sessions", run.get("session_id"))
            if holder is not None and run["id"] in holder.get("child_agents", []):
                holder["child_agents"] = [c for c in holder["child_agents"] if c != run["id"]]
                self.put("agents" if old != "main" else "sessions", holder)
        run["parent"] = parent
        session_id = session_id or run.get("session_id") or "unknown"
        holder = self.session(session_id) if parent == "main" else self.run(parent, None, session_id)
        if run["id"] not in holder.setdefault("child_agents", []):
            holder["child_agents"] = sorted([*holder["child_agents"], run["id"]])

    def link_provisional(self, agent_id: str) -> None:
        """SubagentStart knows only the child's id and type: guess the oldest pending delegation of that
        type in the session. PostToolUse or the transcript confirms or corrects the guess later."""
        run = self.get("agents", agent_id)
        if run is None or run.get("tool_use_id") or not run.get("session_id"):
            return
        pending = [d for d in self.find("delegations", status="pending", session_id=run["session_id"])
                   if d.get("subagent_type") == run.get("agent_type")
                   or (not d.get("type_given") and run.get("agent_type") in GENERIC_TYPES)]
        if pending:
            oldest = min(pending, key=lambda d: (d.get("seq") or 0, d["id"]))
            self.link(oldest["id"], agent_id, "provisional")

    def adopt(self, delegation: dict[str, Any]) -> None:
        """A delegation recorded after its run was already seen (events out of order): find that run."""
        if delegation.get("agent_id"):
            return
        for run in self.find("agents", session_id=delegation.get("session_id"), tool_use_id=None):
            same_task = delegation.get("task") and run.get("task") == delegation.get("task")
            if same_task and run.get("agent_type") == delegation.get("subagent_type"):
                self.link(delegation["id"], run["id"], "definitive")
                return
        for run in self.find("agents", session_id=delegation.get("session_id"), tool_use_id=None):
            if run.get("started_at") and not run.get("task"):
                self.link_provisional(run["id"])

    # -- deriving statuses -------------------------------------------------------------------------
    def settle(self) -> None:
        """Re-derive every touched run and task, write the changes, let a sprint whose tasks moved block itself
        when stuck on blockers (or go on when one clears, `workflow.sync_blocked`), then notify parents."""
        for agent_id in sorted(self.runs):
            run = self.get("agents", agent_id)
            if run is None:
                continue
            status = transitions.run_status(run, self.ended(run))
            if status != run.get("status"):
                run.update(status=status, status_at=self.now)
                if status in OUTCOMES or status == "stopped":
                    run.setdefault("ended_at", self.now)
                self.put("agents", run)
                self.event(transitions.RUN_EVENTS[status], {"agent_type": run.get("agent_type")},
                           agent_id=agent_id, task_id=run.get("task"), session_id=run.get("session_id"))
            if run.get("task"):
                self.tasks.add(run["task"])
        for task_id in sorted(self.tasks):
            self._settle_task(task_id)
        self.flush()
        for sprint_id in sorted(self.sprints):  # stuck on blockers: blocked; one can go on: active again
            sync_blocked(self.tx, sprint_id)
            self._cache.pop(("sprints", sprint_id), None)
        self.sprints.clear()
        for agent_id in sorted(self.runs):
            self._notify(agent_id)
        self.flush()
        for task_id, (names, worker) in sorted(self.reviews.items()):
            task = self.get("tasks", task_id)
            task["review_requests"] = review.request(self.tx, self.org, task, names, worker=worker)
            self.put("tasks", task)
        self.reviews.clear()
        self.flush()

    def _attempt(self, task: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        delegation = self.get("delegations", task.get("delegation"))
        run = self.get("agents", (delegation or {}).get("agent_id"))
        if run is None and delegation is None:  # runs seen before their delegation was recorded
            runs = [r for r in self.find("agents", task=task["id"]) if not r.get("tool_use_id")]
            run = max(runs, key=lambda r: (r.get("created_at") or "", r["id"])) if runs else None
        return delegation, run

    def _settle_task(self, task_id: str) -> None:
        task = self.get("tasks", task_id)
        if task is None:
            return
        delegation, run = self._attempt(task)
        session = (delegation or run or {}).get("session_id")
        status, reason = transitions.attempt_status(delegation, run, self.ended(run or delegation))
        # a completion someone else already recorded by hand (an orchestrator, a verdict) stands
        redirect = status == "completed" and task.get("status") != "completed"
        names = review.reviewers(self.org, task, (run or {}).get("role") or "team_member",
                                 (run or {}).get("agent_type")) if redirect else ()
        if names:
            status, reason = "needs_review", review.reason(names)
        artifacts = sorted(set(task.get("artifacts") or []).union(*(
            r.get("artifacts") or [] for r in self.find("agents", task=task_id))))
        changed = artifacts != (task.get("artifacts") or [])
        task["artifacts"] = artifacts
        if status is not None and status != task.get("lifecycle_status"):
            fields = transitions.task_fields(status, reason, delegation, run)
            if status == "assigned" and task.get("status") == "in_progress":
                fields["status"] = "in_progress"  # sent back by a verdict and delegated again: no step back
            elif task.get("status") != status:
                try:
                    check_task_transition(task_id, task.get("status") or "queued", status)
                except IllegalTransition as exc:
                    # A human moved the task meanwhile (e.g. cancelled it): record and leave it.
                    self.event("transition_refused", {"wanted": status, "reason": str(exc)}, task_id=task_id)
                    task["lifecycle_status"] = status
                    self.put("tasks", task)
                    return
                self.event(transitions.TASK_EVENTS[status], {"from": task.get("status"), "reason": reason},
                           task_id=task_id, agent_id=fields.get("agent_id"), session_id=session)
            if task.get("sprint") and fields["status"] != task.get("status"):
                self.sprints.add(task["sprint"])
            task.update(fields)
            changed = True
            if names:
                self.reviews[task_id] = (names, (run or {}).get("agent_type"))
        elif status is not None and status == task.get("status"):
            # same status, better-known reason (a push-back recorded after the run was already judged)
            fields = transitions.task_fields(status, reason, delegation, run)
            for key in ("blocker", "review_reason"):
                if task.get(key) != fields[key]:
                    task[key], changed = fields[key], True
        if changed:
            self.put("tasks", task)

    def _notify(self, agent_id: str) -> None:
        """Tell the parent (the caller's run, or the main thread) that a child reported."""
        run = self.get("agents", agent_id)
        if run is None or run.get("notified") or run.get("outcome") not in OUTCOMES or not run.get("tool_use_id"):
            return
        from .notify import notify_parent

        notify_parent(self, run)
        run["notified"] = True
        self.put("agents", run)

    def flush(self) -> None:
        for collection, key in sorted(self._dirty):
            record = self._cache[(collection, key)]
            if record is not None:
                self.tx.set(f"{collection}.{key}", record)
        self._dirty.clear()
