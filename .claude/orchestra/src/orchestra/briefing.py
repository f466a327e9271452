"""Texts the hooks inject into agents' context: the session summary (kept short: it costs tokens)."""

from __future__ import annotations

from collections import Counter
from typing import Any

MORE_LINE = 80  # room kept for the line that says how many sprints are not listed


def sprint_summary(tx, room: int | None = None) -> str | None:
    """One line per active sprint: name and task counts by status, in at most `room` characters (then a
    last line says how many more there are). None when nothing is active."""
    sprints = [s for s in tx.items("sprints").values() if s.get("status") in ("active", "ready", "blocked", "review")]
    if not sprints:
        return None
    lines = []
    for sprint in sorted(sprints, key=lambda s: s["id"]):
        counts: Counter[str] = Counter(t.get("status", "queued") for t in tx.find("tasks", sprint=sprint["id"]))
        shown = ", ".join(f"{counts[k]} {k}" for k in ("in_progress", "assigned", "queued", "blocked",
                                                       "needs_review", "completed") if counts[k])
        if sprint.get("status") == "ready":  # loaded: its tasks enter state when it starts
            planned = len(sprint.get("tasks") or ())
            shown = f"{planned} task{'' if planned == 1 else 's'}, not started"
        lines.append(f"- {sprint['id']} ({sprint.get('status')}): {shown or 'no tasks'}")
    head, used, kept = "Orchestra sprints:", 0, []
    for line in lines:
        if room is not None and len(head) + used + len(line) + 1 > room - MORE_LINE:
            kept.append(f"- ... {len(lines) - len(kept)} more: `orchestra sprint status` lists them all")
            break
        kept.append(line)
        used += len(line) + 1
    return head + "\n" + "\n".join(kept)


def session_context(tx, extra: list[str | None] | None = None) -> str | None:
    """The sprint summary, then `extra` (the inbox): the summary is cut to leave the whole of `extra`
    within what one hook may inject, as the messages in it are recorded as shown."""
    from .hookio import CONTEXT_LIMIT

    shown = [p for p in (extra or []) if p]
    parts: list[Any] = [sprint_summary(tx, CONTEXT_LIMIT - sum(len(p) + 2 for p in shown)), *shown]
    text = "\n\n".join(p for p in parts if p)
    return text or None


# -- delegation briefs ------------------------------------------------------------------------------

BRIEF_MARK = "--- Orchestra task brief ---"
PROTOCOL = (
    "When you finish, end your final message with these lines:\n"
    "STATUS: completed | blocked | needs_review\n"
    "ARTIFACTS: path, path   (files you created or changed)\n"
    "BLOCKER: what stops you (only with STATUS: blocked)\n"
    "Orchestra checks a completed claim against your artifacts and the task's acceptance check."
)


def task_brief(tx, task: dict[str, Any], *, worktree: str | None = None, extra: list[str] | None = None) -> str:
    """What a member needs beyond the orchestrator's prompt: the task's facts, finished inputs, the protocol."""
    tid = task["id"]
    head = f"[task:{tid}] {task.get('title') or tid} ({task.get('type') or 'implementation'}"
    head += f", priority {task.get('priority') or 'normal'}" + (f", sprint {task['sprint']}" if task.get("sprint") else "")
    lines = [BRIEF_MARK, head + ")"]
    if task.get("spec"):
        lines.append(f"Spec: {task['spec']}")
    acceptance = task.get("acceptance") or {}
    criteria = acceptance.get("criteria") or []
    if criteria:
        lines.append("Acceptance criteria:")
        lines += [f"- {c}" for c in criteria]
    if acceptance.get("command"):
        lines.append(f"Acceptance check (run by Orchestra when you report completed): `{acceptance['command']}`")
    deps = []
    for dep_id in task.get("dependencies") or []:
        dep = tx.get(f"tasks.{dep_id}", None) or {}
        if dep.get("status") == "completed":
            shown = ", ".join((dep.get("artifacts") or [])[:12]) or "no files recorded"
            deps.append(f"- {dep_id} {dep.get('title') or ''}".rstrip() + f": {shown}")
    if deps:
        lines.append("Completed dependencies and their artifacts:")
        lines += deps
    handed = handoffs(tx, tid)
    if handed:
        lines.append(handed)
    lines += sent_back(task, tx)
    if worktree:
        lines.append(f"Worktree: {worktree} (work and commit only inside it)")
    lines += [text for text in (extra or []) if text]
    lines.append(PROTOCOL)
    return "\n".join(lines)


def sent_back(task: dict[str, Any], tx=None) -> list[str]:
    """The verdict that sent the task back, with its findings: the reply on the bus goes to the agent type, so
    another run of that type may read and close it first."""
    review = task.get("review") or {}
    if review.get("verdict") not in ("changes_requested", "rejected") or task.get("status") == "completed":
        return []
    findings = review.get("findings") or []
    head = f"Review: {review['verdict']} by {reviewer(tx, review.get('by'))}"
    return [head + ("; address these findings:" if findings else "."), *(f"- {f}" for f in findings)]


def reviewer(tx, by: str | None, *, run_id: bool = False) -> str:
    """Who gave a verdict, the way people see agents: a run (`agent:<id>`) by its agent type (`tech-lead`),
    with its run id when `run_id` asks for it; the main thread and people as such."""
    if not by:
        return "a reviewer"
    if not by.startswith("agent:"):
        return {"main": "the main thread", "human": "a person (human)"}.get(by, by)
    agent_id = by.removeprefix("agent:")
    run = (tx.get(f"agents.{agent_id}", None) if tx is not None and agent_id and "." not in agent_id else None)
    kind = run.get("agent_type") if isinstance(run, dict) else None
    if not kind:
        return f"agent run {agent_id}"
    return f"{kind} (run {agent_id})" if run_id else kind


def handoffs(tx, task_id: str) -> str | None:
    """Artifacts other agents handed to this task over the bus (artifact_ready), as brief lines."""
    from .bus.handoffs import handoff_brief

    return handoff_brief(tx, task_id)


def with_brief(prompt: str, brief: str) -> str:
    """The prompt with `brief` appended once; an earlier Orchestra brief in it is replaced, not repeated."""
    original = prompt.split(BRIEF_MARK, 1)[0].rstrip()
    return f"{original}\n\n{brief}" if original else brief


def run_context(run: dict[str, Any], task: dict[str, Any] | None, *, certain: bool, inbox: str | None,
                brief: str | None = None) -> str:
    """SubagentStart: who this run is in the organisation, its task when known for sure, and its inbox. After
    Claude Code compacted the run's context, the prompt that carried the task's `brief` is gone: the brief itself
    (the completion protocol alone for a run whose task is not known for sure) then follows, cut (keeping the completion protocol) to leave the whole inbox within what one hook may inject,
    as the messages in it are recorded as shown."""
    from .hookio import CONTEXT_LIMIT

    who = f"Orchestra: you are agent run {run['id']} ({run.get('agent_type') or 'agent'}"
    if run.get("team"):
        who += f", team {run['team']}"
    who += f", role {run.get('role') or 'team_member'})."
    parts = [who]
    if task is not None and certain and brief:
        parts.append(f"Claude Code compacted your context, so here again is the brief of your task "
                     f"[task:{task['id']}] (its status now: {task.get('status') or 'queued'}).")
    elif task is not None and certain:
        parts.append(f"Your task is [task:{task['id']}] {task.get('title') or ''}".rstrip() + "; your brief is in "
                     "your prompt. Report with the STATUS / ARTIFACTS / BLOCKER lines it describes.")
    elif brief:  # compacted, and which waiting delegation is its own is not known for sure
        parts.append("Claude Code compacted your context: your task is the one tagged [task:<id>] in the prompt you "
                     "were given (the transcript Claude Code names holds it).")
    else:
        parts.append("Your task is the one tagged [task:<id>] in your prompt; report with the STATUS / ARTIFACTS "
                     "/ BLOCKER lines described there.")
    text = " ".join(parts)
    if brief:
        text += "\n\n" + fitted(brief, task["id"] if task is not None and certain else "<id>",
                                CONTEXT_LIMIT - len(text) - len(inbox or "") - 4)
    return f"{text}\n\n{inbox}" if inbox else text


def fitted(brief: str, task_id: str, room: int) -> str:
    """`brief` in at most `room` characters: its middle is cut, its head and the completion protocol stay."""
    if len(brief) <= room:
        return brief
    cut = f"\n[... brief cut; `orchestra task show {task_id}` or the get_task tool shows the task whole]\n"
    head = brief[: brief.rindex(PROTOCOL)] if PROTOCOL in brief else brief
    return head[: max(0, room - len(cut) - len(PROTOCOL))].rstrip() + cut + PROTOCOL
