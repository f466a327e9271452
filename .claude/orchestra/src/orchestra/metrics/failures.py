"""PostToolUseFailure: a tool call that started and failed becomes a `tool_failed` event (its first
error line, tied to the calling run and its task), for `error_rate` and the dashboard's feed."""

from __future__ import annotations

from ..hookio import Allow, HookContext, HookEvent, Verdict

TOOL_FAILED = "tool_failed"
ERROR_LIMIT = 300


def first_line(error: object) -> str:
    lines = str(error or "").strip().splitlines()
    return lines[0][:ERROR_LIMIT] if lines else ""


def record_failure(event: HookEvent, ctx: HookContext) -> Verdict:
    error = first_line(event.get("error"))
    duration = event.get("duration_ms")
    data = {"tool": event.tool_name, "error": error, "interrupted": event.get("is_interrupt") is True,
            "duration_ms": duration if isinstance(duration, int | float) and not isinstance(duration, bool) else None,
            "tool_use_id": event.tool_use_id}
    ctx.audit["error"] = error
    with ctx.store.transaction() as tx:
        task = tx.get(f"agents.{event.agent_id}.task", None) if event.agent_id else None
        tx.append_event(TOOL_FAILED, data, session_id=event.session_id or None, agent_id=event.agent_id,
                        task_id=task if isinstance(task, str) else None)
    return Allow()
