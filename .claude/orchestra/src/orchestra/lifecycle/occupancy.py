"""Who is working right now: live runs and delegations still waiting to start, as the capacity gate and
the "already running" check count them."""

from __future__ import annotations

from typing import Any

from ..clock import seconds_between
from .config import LifecycleConfig
from .ledger import Ledger
from .transitions import LIVE_RUN_STATUSES, run_status


def live_attempts(led: Ledger, cfg: LifecycleConfig) -> list[tuple[str, str, str]]:
    """(agent type, run or delegation id, label) of every run still working and every delegation still
    waiting to start. Runs silent past `stale_run_seconds` and delegations pending past `pending_seconds`
    or left by an ended session no longer count."""
    out = []
    for status in LIVE_RUN_STATUSES:
        for run in led.find("agents", status=status):
            if working(led, run, cfg):
                task = f" ({run['task']})" if run.get("task") else ""
                out.append((run.get("agent_type"), run["id"], f"run {run['id']}{task}"))
    for delegation in led.find("delegations", status="pending"):
        if seconds_between(delegation.get("requested_at"), led.now) < cfg.pending_seconds \
                and not led.ended(delegation):
            task = f" ({delegation['task']})" if delegation.get("task") else ""
            out.append((delegation.get("subagent_type"), delegation["id"], f"starting {delegation['id']}{task}"))
    return sorted(out)


def working(led: Ledger, run: dict[str, Any], cfg: LifecycleConfig) -> bool:
    """Is the run still working: live, and not silent past `stale_run_seconds` (its session was killed
    outright, so no SessionEnd stopped it)?"""
    last = max([v for v in (run.get("status_at"), run.get("started_at"), run.get("created_at")) if v] or [""])
    return run_status(run, led.ended(run)) in LIVE_RUN_STATUSES and seconds_between(last, led.now) < cfg.stale_run_seconds


def early_run(led: Ledger, task_id: str, session_id: str, agent_type: str) -> dict[str, Any] | None:
    """A run already seen for this task, agent type and session but linked to no delegation: its
    SubagentStop (or Start) was processed before the PreToolUse that launched it."""
    for run in led.find("agents", task=task_id, tool_use_id=None):
        if run.get("session_id") == session_id and run.get("agent_type") == agent_type:
            return run
    return None


def current_holder(led: Ledger, task: dict[str, Any], cfg: LifecycleConfig) -> str | None:
    """Who is working on `task` right now (a live run or a fresh pending delegation), if anyone."""
    delegation = led.get("delegations", task.get("delegation"))
    run = led.get("agents", (delegation or {}).get("agent_id") or task.get("agent_id"))
    if run is not None and working(led, run, cfg):
        return f"agent {run['id']} ({run.get('agent_type')})"
    if delegation is not None and delegation.get("status") == "pending" \
            and seconds_between(delegation.get("requested_at"), led.now) < cfg.pending_seconds:
        return f"delegation {delegation['id']} ({delegation.get('subagent_type')}, not started yet)"
    return None
