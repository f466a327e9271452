"""System metrics over the state store and the audit log: agents, throughput, task time, error rate,
utilization, quality reported by agents, hook latency, and the status line's summary.

Sprint metrics (burndown, velocity, cycle time, blockers, completion) are `workflow.metrics`; this
package adds what spans sprints and reads them through `workflow.sprint_status`. The names below
load on first use, so the status line imports only `statusline` and the store.
"""

from __future__ import annotations

_EXPORTS: dict[str, tuple[str, str]] = {
    "collect": ("system", "collect"),
    "current_sprint": ("current", "current_sprint"),
    "AuditWindow": ("auditlog", "AuditWindow"),
    "describe_event": ("eventtext", "describe"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):  # -> Any; typing is not imported on the status line's path
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    import importlib  # here, not at the top: the status line imports this package and none of these names

    value = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
    globals()[name] = value
    return value
