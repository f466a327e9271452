"""Giving work a worktree: by strategy for a delegation (the PreToolUse(Agent) step), for a task from
the CLI or MCP (`assign`), for a scope named by id (`create`), and for every task of a sprint when it
starts (`provision_sprint`).

State: `worktrees.<name>` = {id, scope, scope_id, branch, path, base, base_commit, status, origin,
tasks, sprints, lock, ...}; the task's `worktree` is the absolute path it works in, and so is the
agent run's (`agents.<id>.worktree`, copied from its delegation when the lifecycle links them):
that one field is all the boundary guard reads. Git work happens outside store transactions, also
for a delegation whose worktree does not exist yet (`WorktreeToMake`, `make_for_delegation`): `git
worktree add` and the `copy:` files of a big project take seconds, and every hook waits for that lock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..clock import now_iso
from ..models import check_unfinished
from ..store.document import long_id
from . import config as worktree_config
from .creation import (
    WorktreeError,
    await_preparation,
    check_out,
    creation_lock,
    materialise,
    moved,
    prepare,
    preparing_elsewhere,
    refuse_unprepared,
    relocate,
    repository,
    unprepared_why,
)
from .locks import Owner, TxReader, WorktreeBusy, acquire
from .naming import UNCONFINED_ROLES, Scope, scope_for, strategy_for


def scope_of_task(view, org, task: dict[str, Any], agent_type: str | None = None) -> Scope | None:
    """The scope `task` works in when done by `agent_type` (default: its assignee); None: no worktree.
    Orchestrators and reviewers work across worktrees and get none. A task whose team teams.yaml no longer
    has (renamed there) follows the team of the member doing it, so that member is still confined."""
    member = org.member(agent_type or task.get("assignee"))
    if member is not None and member.role in UNCONFINED_ROLES:
        return None
    team = org.teams.get(task.get("team") or "") or org.teams.get(member.team if member else "")
    strategy = strategy_for(task, team.settings.worktree_strategy if team else None)
    return scope_for(task, strategy, view.get("sprints", task.get("sprint")), team.name if team else None)


def find_record(find, scope: Scope) -> dict[str, Any] | None:
    found = find("worktrees", scope=scope.strategy, scope_id=scope.ident, status="active")
    return found[0] if found else None


def claim(view, scope: Scope) -> Scope:
    """`scope` under the name its worktree has, or may take: the plain name unless a record of another scope
    has it (ids that slug alike: tasks `foo` and `task-foo`), then the distinct one. Another scope's record
    is never reused or overwritten, so two scopes never share a worktree, its branch or its lock."""
    named = (scope, scope.distinct())
    records = [view.get("worktrees", candidate.name) for candidate in named]
    for candidate, record in zip(named, records, strict=True):
        if record is not None and candidate.serves(record):
            return candidate
    for candidate, record in zip(named, records, strict=True):
        if record is None:
            return candidate
    raise WorktreeError(f"the names {scope.name} and {named[1].name} are both taken by worktrees of other scopes "
                        f"({records[0].get('scope')}:{records[0].get('scope_id')}, "
                        f"{records[1].get('scope')}:{records[1].get('scope_id')}); remove one (`orchestra "
                        "worktree remove NAME`) or give the task another `worktree_strategy`")


def checked_out(record: dict[str, Any]) -> bool:
    """The record's directory is still a linked worktree (its `.git` file is there). A directory that came
    back after `git worktree remove` is not: work committed there would land in the main checkout."""
    return (Path(record["path"]) / ".git").is_file()


def attach(record: dict[str, Any], task: dict[str, Any] | None) -> None:
    """Note on the record which task (and sprint) it served, for listing and conflict checks."""
    if task is None:
        return
    record["tasks"] = sorted({*(record.get("tasks") or []), task["id"]})
    if task.get("sprint"):
        record["sprints"] = sorted({*(record.get("sprints") or []), task["sprint"]})


class CreationBusy(WorktreeError):
    """Another process held the creation lock for longer than the caller could wait: try again."""


def on_disk(project: Path, repo: Path, scope: Scope, cfg, *, wait_for_setup: bool, now: str,
            created_by: str, stored: dict[str, Any] | None, wait: float | None = None) -> dict[str, Any]:
    """The scope's worktree made (or found) with `git worktree add --no-checkout` serialised across processes,
    so two creators of one scope share it; only the one that made it checks it out and prepares it (copies,
    setup), after the lock, so creators of other scopes go on meanwhile. One cut short is made afresh when it
    is safe (`repaired` on the record). `stored`: the scope's record in state, if any. `wait`: how long to wait
    for another creator or pruner (default: the creation lock's own 60 s)."""
    from filelock import Timeout

    lock = creation_lock(project)
    try:
        with lock.acquire(timeout=wait):
            record = materialise(project, repo, scope, cfg, now=now, created_by=created_by, stored=stored)
    except Timeout:
        raise CreationBusy(f"another worktree of {project} was being added or removed for longer than "
                            f"{lock.timeout if wait is None else wait:g}s; try again in a moment") from None
    if not record.get("reused"):
        check_out(project, repo, record)
        prepare(project, repo, record, cfg, wait_for_setup=wait_for_setup)
    return record


def merged(stored: dict[str, Any] | None, fresh: dict[str, Any]) -> dict[str, Any]:
    """A freshly (re)created record keeps what state knew: its tasks, sprints and lock."""
    made = {k: v for k, v in fresh.items() if k not in ("reused", "repaired")}
    if stored is None:
        return made
    keep = {k: stored[k] for k in ("tasks", "sprints", "lock", "created_at", "last_lock") if k in stored}
    return {**made, **keep}


def note_repaired(append, fresh: dict[str, Any], **where) -> None:
    """Record (`append(kind, data, **where)`, an event) that a worktree cut short was removed and made afresh."""
    if repair := fresh.get("repaired"):
        append("worktree_repaired", repair, **where)


# -- the PreToolUse(Agent) step -----------------------------------------------------------------------

class WorktreeToMake(Exception):  # noqa: N818 - a signal, not an error
    """The delegation step's task has no worktree yet: raised inside the hook's transaction (which it rolls
    back) when the request may have it made outside (`req.make_later`); `make_for_delegation` makes it,
    then the hook decides again, gates and all, with the worktree on disk (`req.made`)."""

    def __init__(self, scope: Scope, stored: dict[str, Any] | None) -> None:
        super().__init__(scope.name)
        self.scope, self.stored = scope, stored


def make_for_delegation(req, need: WorktreeToMake):
    """Make and prepare the worktree `need` names, outside any store transaction, for `req`'s next decision.
    Returns a Deny when it cannot be made, or another process is preparing it right now."""
    from ..hookio import STORE_WAIT_S, Deny

    task_id, scope = (req.task or {}).get("id"), need.scope
    try:
        fresh = on_disk(req.root, repository(req.root), scope, worktree_config.load(req.root), wait_for_setup=False,
                        now=now_iso(), created_by="delegation", stored=need.stored, wait=STORE_WAIT_S)
    except CreationBusy as exc:
        return Deny(f"Orchestra: task {task_id} is not delegated yet: {exc}.")
    except WorktreeError as exc:
        return Deny(f"Orchestra: task {task_id} needs the {scope.strategy} worktree {scope.name}, and it cannot "
                    f"be made: {exc}. Fix that, or set the task's `worktree_strategy: none`.")
    if fresh.get("reused") and (denied := _preparing(req, fresh)) is not None:
        return denied
    req.made = fresh
    return None


def _preparing(req, record: dict[str, Any]):
    """A Deny while another process is still preparing the worktree (its `copy:` files, its setup)."""
    from ..hookio import Deny

    note = preparing_elsewhere(req.root, record["id"])
    if note is None:
        return None
    return Deny(f"Orchestra: task {(req.task or {}).get('id')} is not delegated yet: its worktree {record['path']} is "
                f"still being prepared by process {note.get('pid')} (its checkout, the `copy:` files and `setup:` of "
                ".claude/worktrees.yaml); delegate it again once that is done.")


def record_unused(req, led) -> None:
    """A worktree made for a delegation that was then denied (a gate closed meanwhile): kept in state
    unlocked, so it is listed, pruned and handed to the next delegation like any other."""
    made = req.made
    if made is None or made.get("reused"):
        return
    note_repaired(led.event, made, task_id=(req.task or {}).get("id"), session_id=req.session_id)
    if led.get("worktrees", made["id"]) is not None:
        return
    led.tx.set(f"worktrees.{made['id']}", merged(None, made))
    led.event("worktree_created", {"worktree": made["id"], "branch": made["branch"], "path": made["path"]},
              task_id=(req.task or {}).get("id"), session_id=req.session_id)


def allocate_for_delegation(req, led):
    """Delegation step: give the delegated run its task's worktree, locked to this delegation, and put the
    absolute path into its brief. Denies when a live run holds that worktree, another process is still
    preparing it, or git cannot make it."""
    from ..hookio import Deny

    task = req.task
    if task is None or req.tool_input.get("isolation"):  # `isolation: worktree`: Claude Code makes its own
        return None
    scope = scope_of_task(led, req.org, task, req.subagent_type)
    if scope is None:
        return None
    cfg = worktree_config.load(req.root)
    record, recovered, renew = find_record(led.find, scope), None, False
    owner = Owner(delegation=req.tool_use_id, session_id=req.session_id, task=task["id"])
    if record is not None:
        record = dict(record)
        if not checked_out(record) and (repo := repository(req.root)) and (entry := moved(req.root, repo, record)):
            record["path"] = entry.path  # moved by hand (`git worktree move`): it goes on where git has it now
        # cut short, or just made again for this delegation: made (repaired, if safe) as if it were not there
        renew = checked_out(record) and (unprepared_why(req.root, record["id"], record["path"]) is not None
                                         or bool(req.made and req.made.get("repaired") and req.made["id"] == record["id"]))
        try:
            if renew and Path(record["path"]) != cfg.root / record["id"]:  # moved by hand: not made again there
                refuse_unprepared(req.root, record["id"], record["path"])
        except WorktreeError as exc:
            return Deny(f"Orchestra: task {task['id']} is not delegated: its worktree {exc}.")
        if checked_out(record) and not renew and (denied := _preparing(req, record)) is not None:
            return denied
        try:
            if not renew:
                recovered = acquire(led, record, owner, led.now, cfg.lock_ttl, req.config.pending_seconds)
        except WorktreeBusy as exc:
            return Deny(f"Orchestra: task {task['id']} is not delegated: its {exc} Or give the task its own worktree "
                        "(`worktree_strategy: task`).")
    if record is None or not checked_out(record) or renew:
        repo = repository(req.root)
        if repo is None:
            return None  # not a git repository, or no commit yet: nothing to branch from
        try:
            scope = claim(led, scope)
            fresh = req.made if req.made and req.made["id"] == scope.name and checked_out(req.made) else None
            if fresh is None and req.make_later:
                raise WorktreeToMake(scope, record)  # made outside the transaction, then decided again
            fresh = fresh or on_disk(req.root, repo, scope, cfg, wait_for_setup=False, now=led.now,
                                     created_by="delegation", stored=record)
        except WorktreeError as exc:
            return Deny(f"Orchestra: task {task['id']} needs the {scope.strategy} worktree {scope.name}, and it "
                        f"cannot be made: {exc}. Fix that, or set the task's `worktree_strategy: none`.")
        created = not fresh.get("reused")
        note_repaired(led.event, fresh, task_id=task["id"], session_id=req.session_id)
        record = merged(record, fresh)
        if created:
            led.event("worktree_created", {"worktree": record["id"], "branch": record["branch"], "path": record["path"]},
                      task_id=task["id"], session_id=req.session_id)
            if record.get("setup"):
                req.brief_extra.append(f"The worktree's setup (`{record['setup']['command']}`) is still running; its "
                                       f"log {record['setup']['log']} ends with `orchestra: setup exited <code>` when "
                                       "it is done.")
        recovered = acquire(led, record, owner, led.now, cfg.lock_ttl, req.config.pending_seconds) or recovered
    attach(record, task)
    led.put("worktrees", record)
    led.event("worktree_locked", {"worktree": record["id"], "delegation": req.tool_use_id,
                                  **({"recovered": recovered} if recovered else {})},
              task_id=task["id"], session_id=req.session_id)
    req.worktree = task["worktree"] = record["path"]
    return None


# -- CLI and MCP ------------------------------------------------------------------------------------

def create(store, project: Path, scope: Scope, *, task: dict[str, Any] | None = None,
           created_by: str = "cli") -> dict[str, Any]:
    """The worktree for `scope`, made (with setup run to completion) when it does not exist yet."""
    cfg = worktree_config.load(project)
    repo = repository(project)
    if repo is None:
        raise WorktreeError(f"{project} is not a git repository with a commit; worktrees branch from one")
    with store.snapshot() as tx:
        stored = find_record(tx.find, scope)
        claimed = claim(TxReader(tx), scope)
    if stored is not None and (entry := moved(project, repo, stored)) is not None:  # by hand: `git worktree move`
        with store.transaction() as tx:
            stored = relocate(tx, stored, entry.path)
    if stored is not None and checked_out(stored):
        if unprepared_why(project, stored["id"], stored["path"]) is None:
            return stored
        if Path(stored["path"]) != cfg.root / stored["id"]:  # moved by hand: not made again there
            refuse_unprepared(project, stored["id"], stored["path"])
    # `git worktree add` outside the store's transaction (every hook waits for that lock), and its checkout
    # outside the creation lock too (a big one takes seconds); the marker `materialise` writes first keeps
    # delegations and prune off it meanwhile. One cut short is made afresh there when that is safe.
    fresh = _made(project, repo, claimed, cfg, created_by, stored)
    with store.transaction() as tx:
        stored = find_record(tx.find, scope)
        if stored is not None and checked_out(stored) and (fresh.get("reused") or stored["id"] != fresh["id"]):
            return stored  # recorded by another creator meanwhile
        taken = tx.get(f"worktrees.{fresh['id']}", None)
        if not checked_out(fresh) or (taken is not None and not claimed.serves(taken)):
            raise WorktreeError(f"{fresh['path']} was removed or taken by another worktree while it was being made; "
                                "try again")
        record = merged(stored, fresh)
        attach(record, task)
        tx.set(f"worktrees.{record['id']}", record)
        note_repaired(tx.append_event, fresh, task_id=(task or {}).get("id"))
        if not fresh.get("reused"):
            tx.append_event("worktree_created", {"worktree": record["id"], "branch": record["branch"],
                                                 "path": record["path"]}, task_id=(task or {}).get("id"))
    if fresh.get("reused"):
        return record
    repair = {"repaired": fresh["repaired"]} if fresh.get("repaired") else {}
    try:
        prepare(project, repo, record, cfg, wait_for_setup=True)  # outside the transaction: setup may take minutes
    except WorktreeError:
        if not checked_out(record):  # rolled back: the record goes with the worktree
            with store.transaction() as tx:
                tx.update(f"worktrees.{record['id']}", {"status": "removed", "removed_at": now_iso(), "lock": None})
        raise
    with store.transaction() as tx:
        fields = {k: record[k] for k in ("copied", "skipped_secrets", "skipped_special", "setup") if k in record}
        record = tx.update(f"worktrees.{record['id']}", fields)
    return {**record, **repair}


def _made(project: Path, repo: Path, scope: Scope, cfg, created_by: str,
          stored: dict[str, Any] | None) -> dict[str, Any]:
    """The scope's worktree added (and checked out) under the creation lock, or found; one another process is
    still preparing is waited for. When that process stopped before it was done, the creation lock is taken
    once more to make it afresh (`materialise` repairs it when that is safe, else refuses it)."""
    for last in (False, True):
        with creation_lock(project):
            fresh = materialise(project, repo, scope, cfg, now=now_iso(), created_by=created_by, stored=stored)
        if not fresh.get("reused"):
            check_out(project, repo, fresh)
            return fresh
        if (note := await_preparation(project, fresh["id"])) is not None:
            raise WorktreeError(f"{fresh['path']} is still being prepared by process {note.get('pid')}; try again "
                                "once that is done")
        if not checked_out(fresh) or unprepared_why(project, fresh["id"], fresh["path"]) is None or last:
            break  # its creator finished meanwhile, or was stopped again
    if checked_out(fresh):
        refuse_unprepared(project, fresh["id"], fresh["path"])
    return fresh


def scope_named(store, org, ident: str, strategy: str | None = None) -> tuple[Scope, dict[str, Any] | None]:
    """What `orchestra worktree create ID` means: the worktree of a task (by its strategy), else of the
    sprint, epic or team of that id. `strategy` says which kind of scope: an id of that kind names it
    directly, and a task id names the task's own sprint, epic or team (with the usual fallbacks: no
    epic -> its sprint, no sprint -> the task). Returns the scope and the task it is made for (if any)."""
    with store.snapshot() as tx:
        view = TxReader(tx)
        task, sprint = view.get("tasks", ident), view.get("sprints", ident)
        named = {"sprint": sprint is not None, "epic": view.get("epics", ident) is not None,
                 "team": ident in org.teams}
        if task is not None and strategy is None:
            return scope_of_task(view, org, task) or Scope("task", ident), task
        if task is not None and not named.get(strategy, False):
            member = org.member(task.get("assignee"))
            team = task.get("team") or (member.team if member else None)
            return scope_for(task, strategy, view.get("sprints", task.get("sprint")), team), task
    if strategy is None:
        strategy = next((kind for kind, exists in named.items() if exists), None)
        if strategy is None:
            raise WorktreeError(f"{ident!r} is no task, sprint or epic in state and no team in teams.yaml; name "
                                "one, or say which with --strategy epic|sprint|task|team")
    if not named.get(strategy, False):
        raise WorktreeError(f"--strategy {strategy}: {ident!r} is {_KNOWN[strategy]}"
                            + (f" (known teams: {', '.join(sorted(org.teams)) or 'none'})" if strategy == "team" else ""))
    label = sprint.get("name") or "" if strategy == "sprint" else ""
    return Scope(strategy, ident, label), None


_KNOWN = {
    "task": "no task in state (`orchestra task list`)",
    "sprint": "no sprint in state and no task (`orchestra sprint status` lists the sprints)",
    "epic": "no epic in state and no task (`orchestra epic status` lists the epics)",
    "team": "no team in teams.yaml and no task in state",
}


def assign(store, project: Path, org, task_id: str, owner: Owner) -> dict[str, Any]:
    """Lock the worktree `task_id` works in (made if needed) for `owner`; the task (and the owner's run,
    when it is in state, or from its SubagentStart on) then work there. Raises FinishedTask for a completed or
    cancelled task, before anything is made, and WorktreeBusy when a live owner holds it."""
    with store.snapshot() as tx:
        task = TxReader(tx).get("tasks", task_id)
        if task is None:
            raise WorktreeError(long_id(task_id, "task")
                                or f"task {task_id!r} is not in state; see `orchestra task list`")
        check_unfinished(task_id, task, "worktree")  # before the worktree is made on disk
        scope = scope_of_task(TxReader(tx), org, task) or Scope("task", task_id)
    record = create(store, project, scope, task=task, created_by="cli")
    repair = {"repaired": record["repaired"]} if record.get("repaired") else {}
    cfg = worktree_config.load(project)
    with store.transaction() as tx:
        record = tx.get(f"worktrees.{record['id']}")
        now = now_iso()
        recovered = acquire(TxReader(tx), record, owner, now, cfg.lock_ttl)
        attach(record, tx.get(f"tasks.{task_id}"))
        tx.set(f"worktrees.{record['id']}", record)
        tx.set(f"tasks.{task_id}.worktree", record["path"])
        if owner.agent_id and tx.get(f"agents.{owner.agent_id}", None) is not None:
            tx.set(f"agents.{owner.agent_id}.worktree", record["path"])
        tx.append_event("worktree_locked", {"worktree": record["id"], "by": owner.by,
                                            **({"recovered": recovered} if recovered else {})},
                        agent_id=owner.agent_id, task_id=task_id, session_id=owner.session_id)
    return {**record, **repair}


def awaiting_member(store, sprint_id: str, project: Path, org=None) -> list[str]:
    """Tasks of the sprint that sprint start gives no worktree because nothing names whose work they are: no
    team, no assignee teams.yaml knows, no `worktree_strategy` of their own. Delegating one gives it the
    worktree the strategy of the team of the member it goes to names. [] outside a git repository."""
    from .. import teams

    if repository(project) is None:
        return []
    org = org or teams.load(project)
    if all(strategy_for({}, team.settings.worktree_strategy) == "none" for team in org.teams.values()):
        return []  # no team works in worktrees: delegating gives none either
    with store.snapshot() as tx:
        return sorted(t["id"] for t in tx.find("tasks", sprint=sprint_id)
                      if not t.get("worktree") and not t.get("worktree_strategy") and not t.get("team")
                      and org.member(t.get("assignee")) is None)


def provision_sprint(store, sprint_id: str, project: Path, org=None) -> dict[str, Any]:
    """Sprint start: every task of the sprint gets the worktree its strategy names (made now, setup run,
    not locked). Returns {task id: {worktree, branch, path, setup (when there is one)} or {error}}; {}
    outside a git repository."""
    from .. import teams

    org = org or teams.load(project)
    repo = repository(project)
    if repo is None:
        return {}
    with store.snapshot() as tx:
        view = TxReader(tx)
        sprint_tasks = sorted(tx.find("tasks", sprint=sprint_id), key=lambda t: t["id"])
        scopes = {t["id"]: scope_of_task(view, org, t) for t in sprint_tasks}
    out: dict[str, Any] = {}
    made: dict[Scope, dict[str, Any]] = {}
    for task in sprint_tasks:
        scope = scopes[task["id"]]
        if scope is None:
            continue
        try:
            record = made.get(scope) or create(store, project, scope, task=task, created_by="sprint")
        except (WorktreeError, worktree_config.WorktreeConfigError) as exc:  # the sprint starts all the same
            out[task["id"]] = {"error": str(exc)}
            continue
        made[scope] = record
        out[task["id"]] = {"worktree": record["id"], "branch": record["branch"], "path": record["path"],
                           **({"setup": record["setup"]} if record.get("setup") else {}),
                           **({"repaired": record["repaired"]} if record.get("repaired") else {})}
    with store.transaction() as tx:
        for task_id, entry in out.items():
            if "path" not in entry:
                continue
            record = tx.get(f"worktrees.{entry['worktree']}")
            attach(record, tx.get(f"tasks.{task_id}"))
            tx.set(f"worktrees.{record['id']}", record)
            tx.set(f"tasks.{task_id}.worktree", entry["path"])
    return out
