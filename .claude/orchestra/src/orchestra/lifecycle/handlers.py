"""The lifecycle's hook handlers, one per hook script: event in, verdict out, state through one transaction.

Slow work (reading a transcript, git, an acceptance command) happens outside the transaction so
concurrent hooks do not wait on it; everything that decides is re-read inside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import briefing, teams
from ..hookio import AddContext, Allow, BlockStop, Deny, HookContext, HookEvent, Verdict
from ..worktrees.allocation import WorktreeToMake, make_for_delegation, record_unused
from ..worktrees.locks import locked_for_run
from . import acceptance, completion, transcript
from . import config as lifecycle_config
from .delegation import BadDelegation, delegate, record, request_from, resolve_task
from .ledger import Ledger
from .protocol import parse_report, task_tag
from .session import end_gone
from .stopped import task_stop
from .tasks import task_for_tag

UNTRACKED = "Orchestra: {event} without agent_id; this run is not tracked (Claude Code sends agent_id for subagents)"


def pre_agent(event: HookEvent, ctx: HookContext) -> Verdict:
    """PreToolUse(Agent|Task): gates, then record the delegation and append the task brief."""
    from ..security import spawn_guard  # here, not at the top: the other lifecycle hooks do not need it

    if (denied := spawn_guard(event, ctx)) is not None:
        return denied
    org = teams.load(ctx.root)
    try:
        req = request_from(event, org, ctx.root)
    except BadDelegation as exc:
        return Deny(f"Orchestra: {exc}")
    req.make_later = True
    try:
        with ctx.store.transaction() as tx:
            verdict = delegate(req, _ledger(tx, org, ctx))
    except WorktreeToMake as need:  # git and the `copy:` files outside the transaction, then decide again
        if (verdict := make_for_delegation(req, need)) is None:
            req.make_later = False
            with ctx.store.transaction() as tx:
                led = _ledger(tx, org, ctx)
                if isinstance(verdict := delegate(req, led), Deny):
                    record_unused(req, led)
    ctx.audit.update(subagent_type=req.subagent_type, task=(req.task or {}).get("id"))
    return verdict


def _ledger(tx, org, ctx: HookContext) -> Ledger:
    """The delegation's ledger, once every session killed outright (no SessionEnd) is ended: another session
    may have been open all along, and the dead one's runs must not hold capacity, tasks or worktrees."""
    led = Ledger(tx, org)
    if gone := end_gone(led):
        ctx.audit["sessions_gone"] = gone
    return led


def post_agent(event: HookEvent, ctx: HookContext) -> Verdict:
    """PostToolUse(Agent|Task): the launch (background) or the end (foreground) of a delegation; links agentId.
    PostToolUse(TaskStop): the subagent it stopped (`stopped.task_stop`)."""
    if event.get("tool_name") == "TaskStop":
        return task_stop(event, ctx)
    response = event.get("tool_response")
    response = response if isinstance(response, dict) else {}
    agent_id = response.get("agentId") if isinstance(response.get("agentId"), str) else None
    if not event.tool_use_id:
        return Allow(system_message="Orchestra: PostToolUse(Agent) without tool_use_id; the delegation is not linked")
    org = teams.load(ctx.root)
    with ctx.store.transaction() as tx:
        led = Ledger(tx, org)
        if led.get("delegations", event.tool_use_id) is None and not _record_late(event, org, ctx.root, led):
            return Allow()
        if agent_id:
            led.link(event.tool_use_id, agent_id, "definitive")
            run = led.run(agent_id, response.get("agentType"), event.session_id)
            run.setdefault("launched_at", led.now)
            run["response"] = response.get("status")
        led.settle()
    ctx.audit["linked"] = agent_id
    return Allow()


def _record_late(event: HookEvent, org, root: Path, led: Ledger) -> bool:
    """PostToolUse came first (events out of order): record the delegation the way PreToolUse would."""
    try:
        req = request_from(event, org, root)
    except BadDelegation:
        return False
    if resolve_task(req, led) is not None:
        return False
    record(req, led)
    return True


def subagent_start(event: HookEvent, ctx: HookContext) -> Verdict:
    """SubagentStart: the run is active; guess its delegation; brief it on who it is, plus its inbox."""
    if not event.agent_id:
        return Allow(system_message=UNTRACKED.format(event="SubagentStart"))
    org = teams.load(ctx.root)
    with ctx.store.transaction() as tx:
        led = Ledger(tx, org)
        run = led.run(event.agent_id, event.agent_type, event.session_id)
        run.setdefault("started_at", led.now)
        if run.get("ended_at") and (run.get("resumed_at") or "") <= run["ended_at"]:  # not its hook run again
            run["resumed_at"] = led.now  # continued after it ended (SendMessage to its agent id): reads its messages
        led.link_provisional(event.agent_id)
        if not run.get("worktree") and (assigned := locked_for_run(led.find, event.agent_id)) is not None:
            run["worktree"] = assigned["path"]  # assigned to it by hand before it started: confined from now on
        led.settle()
        # this start of the run, the same for its hook run again on it: the messages it took are shown again
        start = f"start@{run.get('resumed_at') or run['started_at']}"
        text = _run_context(led, run, event.session_id, inbox=_inbox(tx, run, org, start, ctx))
    ctx.audit["task"] = run.get("task")
    return AddContext(text)


def compacted_run(tx, event: HookEvent, ctx: HookContext) -> Verdict:
    """SessionStart inside a compacted subagent: its context again, also with a broken teams.yaml, read then as
    no teams (its messages still delivered, its brief built without team data), whose error (file:line) is
    shown to the user."""
    from ..bus.hooks import delivery_org, receipt_for

    org, broken = delivery_org(ctx)
    text = compacted_run_context(tx, event, org, receipt_for(ctx))
    alert = f"Orchestra: {broken}" if broken else None
    return AddContext(text, system_message=alert) if text else Allow(system_message=alert)


def compacted_run_context(tx, event: HookEvent, org, receipt=None) -> str | None:
    """SessionStart inside a subagent (Claude Code sends one, with the run's agent_id and `source` "compact",
    after it compacts that run's context): the run's own open messages again and, as the prompt that carried
    its brief is gone, SubagentStart's context with the brief, from the task and worktree the run has now;
    `receipt`: the hook's, confirmed once its output is written (`bus.hooks.receipt_for`)."""
    from ..bus.delivery import CONTEXT_LOST, subagent_session_inbox

    inbox = subagent_session_inbox(tx, event.agent_id, event.agent_type, event.session_id,
                                   source=event.get("source"), org=org, receipt=receipt).text
    led = Ledger(tx, org)
    run = led.get("agents", event.agent_id)
    if run is None or event.get("source") not in CONTEXT_LOST:
        return inbox  # a run Orchestra does not track, or a context that still holds its brief
    if run.get("link") != "definitive" and (launch := transcript.launch_id(event.get("transcript_path"), run["id"])):
        led.link(launch, run["id"], "definitive")  # its launch, not SubagentStart's guess: the brief is its own
        led.settle()
        run = led.get("agents", run["id"]) or run
    return _run_context(led, run, event.session_id, inbox=inbox, again=True)


def _run_context(led: Ledger, run: dict[str, Any], session_id: str | None, *, inbox: str | None,
                 again: bool = False) -> str:
    """Who the run is and its task when known for sure; `again`: with the task's brief (its context lost it)."""
    # a guess is certain when no other delegation of this type is waiting in the session, nor taken by
    # another run's guess (that run may be this one's, and this one's delegation that run's)
    others = [d for d in [*led.find("delegations", status="pending", session_id=session_id),
                          *led.find("delegations", link="provisional", session_id=session_id)]
              if d.get("subagent_type") == run.get("agent_type") and d["id"] != run.get("tool_use_id")]
    certain = run.get("link") == "definitive" or (run.get("link") == "provisional" and not others)
    task = led.get("tasks", run.get("task"))
    brief = (briefing.task_brief(led.tx, task, worktree=run.get("worktree")) if task and certain
             else briefing.PROTOCOL) if again else None
    return briefing.run_context(run, task, certain=certain, inbox=inbox, brief=brief)


def _inbox(tx, run: dict[str, Any], org, start: str, ctx: HookContext) -> str | None:
    try:
        from ..bus.delivery import inbox_text
        from ..bus.hooks import receipt_for
    except ImportError:
        return None
    return inbox_text(tx, run["id"], run.get("agent_type"), run.get("session_id"), org=org, event=start,
                      receipt=receipt_for(ctx))


def subagent_stop(event: HookEvent, ctx: HookContext) -> Verdict:
    """SubagentStop: judge the report (false-completion gate), settle run and task, notify the parent."""
    if not event.agent_id:
        return Allow(system_message=UNTRACKED.format(event="SubagentStop"))
    if _compaction_fork(event, ctx):
        return Allow()
    until = acceptance.deadline()  # the checks end in time for Claude Code's hook timeout
    org = teams.load(ctx.root)
    cfg = lifecycle_config.load(org)
    seen = transcript.read(event.get("agent_transcript_path"))
    message = event.get("last_assistant_message")
    # an empty last message (the final turn said nothing) leaves the report to the transcript's last words
    report = parse_report(message if isinstance(message, str) and message.strip() else seen.last_text)
    active = bool(event.get("stop_hook_active"))
    with ctx.store.snapshot() as tx:
        led = Ledger(tx, org)
        run = led.get("agents", event.agent_id) or {"id": event.agent_id}
        task, worktree = _stop_task(led, run, seen)
    replayed = completion.fingerprint(active, report.text) in (run.get("stops") or {})
    if replayed or (run.get("outcome") and not completion.resumed(run, seen, active, report.text)):
        evidence = completion.NO_EVIDENCE  # decided before: the decision is replayed, nothing is re-checked
    else:
        evidence = completion.gather(Path(worktree) if worktree else ctx.root, worktree, task, run, report,
                                     seen.writes, cfg, until=until,
                                     run_acceptance=cfg.completion_gate and report.status in (None, "completed"))
    with ctx.store.transaction() as tx:
        led = Ledger(tx, org)
        decision = completion.settle_stop(led, event, seen, report, evidence, cfg, active)
    ctx.audit.update(task=decision.get("task"), outcome=decision.get("outcome"))
    if decision.get("push_back"):
        return BlockStop(completion.push_back_text(decision.get("task"), decision["push_back"]))
    return Allow()


def _compaction_fork(event: HookEvent, ctx: HookContext) -> bool:
    """Claude Code's own fork that writes the summary when it compacts a context (the main thread's or a
    subagent's): its SubagentStop has agent_type "" and no SubagentStart came before it. No one delegated it,
    so it is no run (recorded, it would be listed as a run of no type after every compaction)."""
    if event.get("agent_type") != "":
        return False
    with ctx.store.snapshot() as tx:
        return tx.get(f"agents.{event.agent_id}", None) is None


def _stop_task(led: Ledger, run: dict[str, Any], seen: transcript.Transcript) -> tuple[dict | None, str | None]:
    """The stopping run's task and worktree: from its link, else the transcript's launch id or tag."""
    # the transcript's launch id beats a guessed link (SubagentStart's, among same-type delegations)
    guessed = run.get("link") != "definitive" and seen.tool_use_id
    delegation = led.get("delegations", seen.tool_use_id if guessed else run.get("tool_use_id") or seen.tool_use_id)
    task_id = ((delegation or {}).get("task") if guessed else None) or run.get("task") or \
        (delegation or {}).get("task") or task_for_tag(led, task_tag(seen.prompt))
    task = led.get("tasks", task_id)
    return task, (delegation or {}).get("worktree") or (task or {}).get("worktree")


def post_write(event: HookEvent, ctx: HookContext) -> Verdict:
    """PostToolUse(Write|Edit|NotebookEdit), async: record the file on the calling run and its task."""
    path = event.tool_input.get("file_path") or event.tool_input.get("notebook_path")
    if not event.agent_id or not isinstance(path, str) or not path:
        return Allow()
    with ctx.store.transaction() as tx:
        led = Ledger(tx, teams.load(ctx.root))
        run = led.run(event.agent_id, event.agent_type, event.session_id)
        run.setdefault("seen_at", led.now)
        delegation = led.get("delegations", run.get("tool_use_id")) or {}
        worktree = delegation.get("worktree") or (led.get("tasks", run.get("task")) or {}).get("worktree")
        artifact = completion.relative(path, Path(worktree) if worktree else ctx.root)
        run["artifacts"] = sorted({*run.get("artifacts", []), artifact})
        led.settle()
    return Allow()
