"""SubagentStop: parse the member's report, check a completed claim, and settle its run and task.

The false-completion gate: a member that claims `completed` on a file-producing task must show
artifacts (files it wrote, per its transcript and the PostToolUse hooks, or existing files it
lists under ARTIFACTS) or a change in its worktree, and the task's `acceptance.command` must
pass. The first failure blocks the stop once with the reason (the agent keeps working); the next
one, or any failure while `stop_hook_active` is set, makes the task needs_review and tells the
orchestrator. Task types that produce no files (config `report_only_types`) are judged by their
report alone. Every stop is remembered by a fingerprint, so a replayed event gets the same answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..clock import utc_moment
from ..record import Record
from ..worktrees.locks import release_run
from . import acceptance
from .config import LifecycleConfig
from .protocol import Report, task_tag


class Evidence(Record):
    artifacts: tuple[str, ...]  # what the run demonstrably produced (relative to its worktree or the project)
    claimed_missing: tuple[str, ...]  # listed under ARTIFACTS but not on disk
    changed: bool | None  # its worktree has uncommitted or new commits; None when it has no worktree
    acceptance: tuple[bool, str] | None  # (passed, detail) of acceptance.command; None when there is none
    out_of_time: bool = False  # the stop's deadline cut a check short: checking again would not help


NO_EVIDENCE = Evidence((), (), None, None)


class Judgement(Record):
    outcome: str | None  # completed | blocked | needs_review; None when pushing back
    reason: str | None = None
    push_back: bool = False


def completion_problems(report: Report, task: dict[str, Any] | None, evidence: Evidence,
                        cfg: LifecycleConfig) -> list[str]:
    problems = []
    if report.unfinished:
        problems.append(f"its STATUS says `{report.stated}`: the work is not finished")
    if task is None or task.get("type") in cfg.report_only_types:
        if not report.summary:
            problems.append("the final report is empty")
    else:
        if report.status is None and not report.unfinished:
            problems.append(f"its STATUS `{report.stated}` is not one of completed, blocked, needs_review"
                            if report.stated else "the final message has no STATUS line")
        if not evidence.artifacts and not evidence.changed:
            missing = f" (listed but missing: {', '.join(evidence.claimed_missing[:5])})" if evidence.claimed_missing else ""
            where = "its worktree has no change" if evidence.changed is False else "it has no worktree to inspect"
            problems.append(f"no artifacts: no file was written, ARTIFACTS names no existing file{missing}, and {where}")
    if evidence.acceptance is not None and not evidence.acceptance[0]:
        problems.append(f"the acceptance check failed: {evidence.acceptance[1]}")
    return problems


def judge(report: Report, task: dict[str, Any] | None, evidence: Evidence, cfg: LifecycleConfig, *,
          pushbacks: int, stop_hook_active: bool) -> Judgement:
    """The decision on one stop: an outcome, or one push-back when a completed claim does not hold."""
    if report.status == "blocked":
        return Judgement("blocked", report.blocker or report.summary or "reported blocked without a BLOCKER line")
    if report.status == "needs_review":
        return Judgement("needs_review", report.blocker or report.summary or "the agent asked for a review")
    problems = completion_problems(report, task, evidence, cfg) if cfg.completion_gate else []
    if not problems:
        return Judgement("completed")
    reason = "; ".join(problems)
    if pushbacks == 0 and not stop_hook_active and not evidence.out_of_time:
        return Judgement(None, reason, push_back=True)
    return Judgement("needs_review", f"completion not verified: {reason}")


def push_back_text(task_id: str | None, reason: str) -> str:
    what = f"[task:{task_id}]" if task_id else "your task"
    return (f"Orchestra: your report for {what} cannot be accepted yet: {reason}. Finish the work and report "
            "again; if you cannot, end with `STATUS: blocked` and `BLOCKER: <why>`. List what you created or "
            "changed as `ARTIFACTS: path, path`.")


def fingerprint(stop_hook_active: bool, message: str | None) -> str:
    import hashlib  # imported where used: most hooks never get here

    return hashlib.sha1(f"{bool(stop_hook_active)}|{message or ''}".encode()).hexdigest()[:16]


def resumed(run: dict[str, Any], seen, stop_hook_active: bool, text: str | None) -> bool:
    """A stop after the run's outcome that is no replay: the agent was resumed (SendMessage) after it
    reported, its transcript went on, and it reported anew. That round is judged like a first one."""
    return bool(run.get("outcome") and seen.found and run.get("decided_turns") is not None
                and seen.turns > run["decided_turns"]
                and fingerprint(stop_hook_active, text) not in (run.get("stops") or {}))


# -- gathering evidence (files, git, the acceptance command) -----------------------------------------

def relative(path: str, base: Path) -> str:
    """`path` relative to `base`; a relative path is already one (as recorded), never one of the hook's cwd,
    which is the agent's own (a Claude Code worktree of an isolated agent, a directory it went to)."""
    try:
        return (base / path).resolve().relative_to(base.resolve()).as_posix()
    except (ValueError, OSError):
        return path


def gather(base: Path, worktree: str | None, task: dict[str, Any] | None, run: dict[str, Any], report: Report,
           writes: list[str], cfg: LifecycleConfig, *, run_acceptance: bool, until: float | None = None) -> Evidence:
    """What the run produced, seen from `base` (its worktree, or the project root without one); the
    checks end by the monotonic time `until` (acceptance.deadline())."""
    recorded = {relative(p, base) for p in [*(run.get("artifacts") or []), *writes]}
    existing, missing = [], []
    for claimed in report.artifacts:
        target = Path(claimed) if Path(claimed).is_absolute() else base / claimed
        shown = relative(str(target), base)
        if Path(shown).is_absolute():  # outside the worktree or project: not what this run produced
            missing.append(f"{claimed} (outside {'its worktree' if worktree else 'the project'})")
        else:
            (existing if target.exists() else missing).append(shown)
    since = run.get("started_at") or run.get("created_at")
    changed = worktree_changed(Path(worktree), since, until) if worktree else None
    command = ((task or {}).get("acceptance") or {}).get("command")
    checked = acceptance.check(command, base, cfg.acceptance_timeout, until) if command and run_acceptance else None
    return Evidence(tuple(sorted(recorded | set(existing))), tuple(missing), changed,
                    (checked.passed, checked.detail) if checked else None, bool(checked and checked.out_of_time))


def worktree_changed(path: Path, since: str | None, until: float | None = None) -> bool:
    """Uncommitted changes in the worktree, or a commit made since the run started."""
    import subprocess

    def git(*args: str) -> str:
        try:
            out = subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True, errors="replace",
                                 timeout=acceptance.left(until, 30) or 0.01, check=False)
        except subprocess.TimeoutExpired:
            return ""
        return out.stdout.strip() if out.returncode == 0 else ""

    if not path.is_dir():
        return False
    if git("status", "--porcelain"):
        return True
    committed = git("log", "-1", "--format=%cI")
    if not committed or not since:
        return False
    try:
        return utc_moment(committed) >= utc_moment(since)
    except ValueError:
        return False


# -- applying a stop ---------------------------------------------------------------------------------

def settle_stop(led, event, seen, report: Report, evidence: Evidence, cfg: LifecycleConfig,
                stop_hook_active: bool) -> dict[str, Any]:
    """Record one SubagentStop on its run (inside the transaction) and return the decision taken."""
    from .tasks import task_for_tag

    run = led.run(event.agent_id, event.agent_type, event.session_id)
    run.setdefault("seen_at", led.now)
    if seen.tool_use_id and led.get("delegations", seen.tool_use_id) is not None:
        led.link(seen.tool_use_id, run["id"], "definitive")
    elif run.get("link") != "definitive" and (task_id := task_for_tag(led, task_tag(seen.prompt))):
        match = [d for d in led.find("delegations", session_id=run.get("session_id"), task=task_id)
                 if d.get("subagent_type") == run.get("agent_type") and d.get("agent_id") in (None, run["id"])]
        if len(match) == 1:
            led.link(match[0]["id"], run["id"], "definitive")
        elif not run.get("tool_use_id"):
            run["task"] = task_id  # its delegation is not recorded yet; PreToolUse will adopt this run
    run["artifacts"] = sorted({*(run.get("artifacts") or []), *evidence.artifacts})
    run["report"] = {"status": report.status, "summary": report.summary, "artifacts": list(report.artifacts),
                     "blocker": report.blocker}
    stops = run.setdefault("stops", {})
    key = fingerprint(stop_hook_active, report.text)
    decision = stops.get(key)
    if decision is None and resumed(run, seen, stop_hook_active, report.text):
        rounds = [*(run.get("rounds") or []), {k: run.get(k) for k in ("outcome", "reason", "ended_at")}]
        run.update(outcome=None, reason=None, notified=False, pushbacks=0, rounds=rounds)
        led.event("agent_resumed", {"after": rounds[-1]["outcome"]}, agent_id=run["id"], task_id=run.get("task"),
                  session_id=run.get("session_id"))
    if decision is None:
        if run.get("outcome"):
            decision = {"outcome": run["outcome"], "after_outcome": True}
        else:
            verdict = judge(report, led.get("tasks", run.get("task")), evidence, cfg,
                            pushbacks=run.get("pushbacks") or 0, stop_hook_active=stop_hook_active)
            if verdict.push_back:
                run.update(pushbacks=(run.get("pushbacks") or 0) + 1, reason=verdict.reason)
                decision = {"push_back": verdict.reason}
                led.event("agent_pushed_back", {"reason": verdict.reason}, agent_id=run["id"],
                          task_id=run.get("task"), session_id=run.get("session_id"))
            else:
                run.update(outcome=verdict.outcome, reason=verdict.reason, ended_at=led.now, decided_turns=seen.turns)
                decision = {"outcome": verdict.outcome}
        stops[key] = decision
    led.put("agents", run)
    led.settle()
    if run.get("outcome"):
        release_run(led.tx, run, led.now)  # it reported: its worktree is free for the next run
    return {**decision, "task": run.get("task")}
