"""A sprint blocked by hand (`orchestra sprint block`): no new work starts in it until `orchestra sprint
unblock`; work already running may finish. The delegation gate refuses its tasks and the plan offers none.

A sprint that blocked itself because every remaining task waits on a blocker is not held: work in it goes
on as soon as a blocker is resolved.
"""

from __future__ import annotations

from typing import Any

from .states import held


def hand_hold(sprint: dict[str, Any] | None) -> dict[str, Any] | None:
    """`{reason, at}` of a sprint blocked by hand, else None."""
    if not sprint or not held(sprint):
        return None
    last = (sprint.get("history") or [{}])[-1]  # a hand block recorded before `hold` was kept
    hold = sprint.get("hold") or {"reason": last.get("reason"), "at": last.get("at")}
    return {"reason": hold.get("reason") or "no reason given", "at": hold.get("at")}


def hold_text(sprint_id: str, sprint: dict[str, Any] | None) -> str | None:
    """Why no new work starts in `sprint_id` now, naming who blocked it, why, and how to go on; None when it may."""
    hold = hand_hold(sprint)
    if hold is None:
        return None
    since = f" at {hold['at']}" if hold.get("at") else ""
    return (f"sprint {sprint_id} was blocked by hand (`orchestra sprint block`{since}): {hold['reason']}; no new "
            f"work starts in it until `orchestra sprint unblock {sprint_id}` (work already running may finish)")
