"""Claude Code's own agent-team features, mirrored: TaskCreated / TaskCompleted / TeammateIdle as events.

Native tasks live in Claude Code's shared task list, not here; we record that they happened and,
when the subject or description carries `[task:<id>]` naming one of ours, link the event to it
(and list the native id on our task) so `orchestra task show` tells the whole story.
"""

from __future__ import annotations

from .. import teams
from ..hookio import Allow, HookContext, HookEvent, Verdict
from .ledger import Ledger
from .protocol import task_tag

EVENT_TYPES = {"TaskCreated": "native_task_created", "TaskCompleted": "native_task_completed",
               "TeammateIdle": "native_teammate_idle"}
FIELDS = ("task_id", "task_subject", "task_description", "teammate_name", "team_name")


def mirror(event: HookEvent, ctx: HookContext) -> Verdict:
    data = {k: event.get(k) for k in FIELDS if isinstance(event.get(k), str)}
    if "task_description" in data:
        data["task_description"] = data["task_description"][:1000]
    with ctx.store.transaction() as tx:
        led = Ledger(tx, teams.load(ctx.root))
        ours = task_tag(data.get("task_subject"), data.get("task_description"))
        task = led.get("tasks", ours)
        if task is not None and data.get("task_id") and data["task_id"] not in task.setdefault("native_tasks", []):
            task["native_tasks"] = [*task["native_tasks"], data["task_id"]]
            led.put("tasks", task)
        led.event(EVENT_TYPES.get(event.name, "native_" + event.name.lower()), data, agent_id=event.agent_id,
                  task_id=task["id"] if task else None, session_id=event.session_id)
        led.flush()
    ctx.audit["task"] = task["id"] if task else None
    return Allow()
