"""Texts the hooks inject into agents' context: the session summary (kept short: it costs tokens)."""

from __future__ import annotations

from collections import Counter
from typing import Any


def sprint_summary(tx) -> str | None:
    """One line per active sprint: name and task counts by status. None when nothing is active."""
    sprints = [s for s in tx.items("sprints").values() if s.get("status") in ("active", "ready", "blocked", "review")]
    if not sprints:
        return None
    lines = []
    for sprint in sorted(sprints, key=lambda s: s["id"]):
        counts: Counter[str] = Counter(t.get("status", "queued") for t in tx.find("tasks", sprint=sprint["id"]))
        shown = ", ".join(f"{counts[k]} {k}" for k in ("in_progress", "assigned", "queued", "blocked",
                                                       "needs_review", "completed") if counts[k])
        lines.append(f"- {sprint['id']} ({sprint.get('status')}): {shown or 'no tasks'}")
    return "Orchestra sprints:\n" + "\n".join(lines)


def session_context(tx, extra: list[str | None] | None = None) -> str | None:
    parts: list[Any] = [sprint_summary(tx), *(extra or [])]
    text = "\n\n".join(p for p in parts if p)
    return text or None
