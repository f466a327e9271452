"""Lifecycle settings from teams.yaml's optional `lifecycle:` block, with the defaults used without one.

```yaml
lifecycle:
  gates: {capacity: true, dependencies: true, false_completion: true}
  report_only_types: [research, analysis, review, planning, orchestration, general]  # judged by the report alone
  repeatable_types: [orchestration]        # a completed task of these types may be delegated again
  external_agent_types: [my-helper]        # agent types outside teams.yaml that may be delegated to
  acceptance_timeout_seconds: 300          # a task's acceptance.command is stopped after this (at most 480)
  pending_seconds: 600                     # a delegation not started by then stops holding capacity
  stale_run_seconds: 14400                 # a run silent this long (crashed session) stops holding capacity
```
Team `settings.max_parallel_agents` and member `capacity` stay where teams.yaml already has them.
"""

from __future__ import annotations

from typing import Any

from ..record import Record
from ..teams import Organization

BUILTIN_AGENT_TYPES = frozenset({"claude", "general-purpose", "Explore", "Plan", "statusline-setup"})
# Task type of an ad-hoc task, by the agent type it was delegated to (members: from their role).
BUILTIN_TASK_TYPES = {"Explore": "research", "Plan": "planning"}
ROLE_TASK_TYPES = {"orchestrator": "orchestration", "reviewer": "review"}


class LifecycleConfig(Record):
    capacity_gate: bool = True
    dependency_gate: bool = True
    completion_gate: bool = True
    report_only_types: frozenset[str] = frozenset({"research", "analysis", "review", "planning", "orchestration",
                                                   "general"})
    repeatable_types: frozenset[str] = frozenset({"orchestration"})
    external_agent_types: frozenset[str] = frozenset()
    acceptance_timeout: float = 300.0
    pending_seconds: float = 600.0
    stale_run_seconds: float = 14400.0


def load(org: Organization) -> LifecycleConfig:
    raw: dict[str, Any] = (org.raw or {}).get("lifecycle") or {}
    gates = raw.get("gates") or {}
    base = LifecycleConfig()

    def types(key: str, default: frozenset[str]) -> frozenset[str]:
        value = raw.get(key)
        return frozenset(str(v) for v in value) if isinstance(value, list) else default

    return LifecycleConfig(
        capacity_gate=bool(gates.get("capacity", True)),
        dependency_gate=bool(gates.get("dependencies", True)),
        completion_gate=bool(gates.get("false_completion", True)),
        report_only_types=types("report_only_types", base.report_only_types),
        repeatable_types=types("repeatable_types", base.repeatable_types),
        external_agent_types=types("external_agent_types", base.external_agent_types),
        acceptance_timeout=float(raw.get("acceptance_timeout_seconds", base.acceptance_timeout)),
        pending_seconds=float(raw.get("pending_seconds", base.pending_seconds)),
        stale_run_seconds=float(raw.get("stale_run_seconds", base.stale_run_seconds)),
    )
