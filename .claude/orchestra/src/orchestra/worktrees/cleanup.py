"""Taking worktrees away safely: `remove` one, `release` a lock, and `prune` what nobody needs.

Neither loses anything of the user's (`losses.survey`): commits only a detached HEAD holds, submodule
commits on none of the submodule's remotes, and the user's `git worktree lock` stop `remove` even
forced, and make `prune` keep the worktree; uncommitted and ignored files stop `remove` unless forced.
Files Orchestra copied in and rebuildable caches do not count. A branch is merged when its base has its
changes (merged, squash-merged, rebased or cherry-picked: `git.unmerged_commits`). Even forced, a branch
with unmerged commits is kept (only the directory goes); a merged one is deleted unless a commit of it
is on no other ref (its own squash-merged or rebased commits aside). `prune` compares git's worktree
list with state: it drops git's records of vanished directories, recovers stale locks, closes state
records whose directory is gone, removes clean orphans under the worktree root (in git, not in state,
and no live process still making it) and clean, merged, unheld worktrees whose task, sprint or epic is
finished; a git failure on one is reported and the others go on. It never touches a worktree a live run
holds, one it would lose work with, or one outside the worktree root (Claude Code's own
`.claude/worktrees/` included): those are reported; the project's own checkout is not. Both take the
store's write transaction and then the creation lock, the order `worktree create` takes them in (a
delegation takes the creation lock alone, outside any transaction), so no run can take a worktree while
it is being removed, and no two of them wait on each other. `remove` also takes a worktree whose
creator stopped before recording it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..clock import now_iso
from ..store import entity
from . import config as worktree_config
from . import git
from .creation import (
    WorktreeError,
    creation_lock,
    half_made,
    moved,
    preparing_elsewhere,
    registered,
    relocate,
    repository,
)
from .locks import TxReader, describe, release, stale_reason
from .losses import Losses, survey

FINISHED = {"task": ("tasks", ("completed", "cancelled")), "sprint": ("sprints", ("complete",)),
            "epic": ("epics", ("completed", "complete", "done"))}


def lookup(tx, name: str) -> dict[str, Any]:
    """A worktree record by id, branch or path (active ones first; `.` is the worktree you are in)."""
    if not name.strip():
        raise WorktreeError("name a worktree: its id, branch or path (`orchestra worktree list` shows them)")
    record = entity(tx, "worktrees", name)
    if record is not None:
        return record
    path = Path(name).expanduser()
    try:
        wanted = str(path.resolve()) if "/" in name or path.exists() else None  # a deleted directory's path too
    except OSError:  # a name longer than any file name is no path
        wanted = None
    found = sorted(tx.items("worktrees").values(), key=lambda r: r.get("status") != "active")
    for record in found:
        if record.get("branch") == name or (wanted and str(Path(record.get("path", "")).resolve()) == wanted):
            return record
    raise WorktreeError(f"no worktree {name!r} in state; `orchestra worktree list` shows them")


def release_named(store, name: str, why: str = "released by hand") -> dict[str, Any]:
    with store.transaction() as tx:
        record = lookup(tx, name)
        lock = release(record, now_iso(), why)
        tx.set(f"worktrees.{record['id']}", record)
        if lock:
            tx.append_event("worktree_released", {"worktree": record["id"], "why": why},
                            agent_id=lock.get("agent_id"), task_id=lock.get("task"), session_id=lock.get("session_id"))
    return record


def _live_holder(tx, record: dict[str, Any], ttl: float) -> str | None:
    lock = record.get("lock")
    if lock and stale_reason(TxReader(tx), lock, now_iso(), ttl) is None:
        return describe(TxReader(tx), lock)
    return None


def remove(store, project: Path, name: str, force: bool = False) -> dict[str, Any]:
    """Remove one worktree (its directory, and its branch when merged). Refusals change nothing."""
    cfg = worktree_config.load(project)
    repo = repository(project)
    with store.snapshot() as tx:
        try:
            record = lookup(tx, name)
        except WorktreeError:
            if (record := half_made(project, repo, cfg, name)) is None:  # its creator stopped before recording it
                raise
        holder = _live_holder(tx, record, cfg.lock_ttl)
    if record.get("status") != "active":
        raise WorktreeError(f"worktree {record['id']} is already {record.get('status')}")
    if holder:
        raise WorktreeError(f"worktree {record['id']} is held by {holder}; it is not removed while that run "
                            f"works there (`orchestra worktree release {record['id']}` if the run is gone)")
    if repo is not None and (elsewhere := moved(project, repo, record)) is not None:  # `git worktree move` by hand
        record = {**record, "path": elsewhere.path}
    path, branch = Path(record["path"]), record.get("branch")
    entry = registered(repo, path) if repo else None
    unlisted = entry is None and path.is_dir()  # not a git worktree any more: a directory of the user's, left alone
    losses = survey(repo, path, entry, record.get("copied") or [], project) if repo and not unlisted else Losses(str(path))
    if binding := losses.binding():
        raise WorktreeError(f"worktree {record['id']} has {'; '.join(binding)}. --force does not override this")
    unmerged = git.unmerged_commits(repo, branch, record["base"]) if repo and branch and git.branch_exists(repo, branch) \
        and git.commit_of(repo, record["base"]) else []
    if (losses.files() or unmerged) and not force:
        parts = [*losses.discardable(),
                 *([f"{len(unmerged)} commit(s) not in {record['base']} ({'; '.join(unmerged[:3])})"] if unmerged else [])]
        raise WorktreeError(f"worktree {record['id']} has {' and '.join(parts)}; commit and merge (or move the files "
                            "away) first, or pass --force to discard uncommitted and ignored files (a branch with "
                            "unmerged commits is kept)")
    # Lock order everywhere: the store's write transaction first, then the creation lock (as a
    # delegation making a worktree does), so a run cannot take the worktree while it is removed.
    with store.transaction() as tx, creation_lock(project):
        current = tx.get(f"worktrees.{record['id']}", None) or record
        if current.get("status") != "active" or (holder := _live_holder(tx, current, cfg.lock_ttl)):
            raise WorktreeError(f"worktree {record['id']} was just taken by {holder or 'someone else'}; not removed")
        try:
            if repo is not None and path.is_dir() and not unlisted:
                git.remove(repo, path, force=force or losses.needs_force)
            elif entry is not None:  # its directory was deleted by hand: git's record of it (only) goes
                git.remove(repo, path)
        except git.GitError as exc:
            raise WorktreeError(str(exc)) from None
        kept = "unmerged commits" if unmerged else None
        if repo is not None and branch and not unmerged and git.branch_exists(repo, branch):
            kept = _delete_branch(repo, branch, record["base"])
        current.update(status="removed", removed_at=now_iso(), lock=None, branch_kept=kept is not None,
                       branch_kept_why=kept, discarded=losses.files() if force else [],
                       **({"left": str(path)} if unlisted else {}))
        if not current.get("unrecorded"):  # a half-made one was never in state, and its name stays free
            tx.set(f"worktrees.{record['id']}", current)
        tx.append_event("worktree_removed", {"worktree": record["id"], "forced": force, "branch_kept": kept is not None,
                                             "discarded": len(losses.files()) if force else 0})
    return current


def _delete_branch(repo: Path, branch: str, base: str) -> str | None:
    """Delete a merged branch unless a commit of it is on no other ref; None when deleted, else why it is kept.
    Its own commits whose changes `base` has (squash-merged, rebased) do not count: they are only on it.
    (`git branch -d` would judge "merged" by the branch checked out in the project instead of the base.)"""
    if (only := git.branch_only_commits(repo, branch)) and git.commit_of(repo, base) \
            and not git.unmerged_commits(repo, branch, base):
        only = git.shared_only_commits(repo, branch, base)
    if only:
        return f"{len(only)} commit(s) on no other branch"
    try:
        git.delete_branch(repo, branch, force=True)
    except git.GitError as exc:
        return str(exc)
    return None


def _finished(tx, record: dict[str, Any]) -> bool:
    collection, done = FINISHED.get(record.get("scope"), (None, ()))
    if collection is None:
        return False
    subject = tx.get(f"{collection}.{record.get('scope_id')}", None)
    return subject is not None and subject.get("status") in done


def prune(store, project: Path, dry_run: bool = False) -> dict[str, Any]:
    """Orphans and finished worktrees out, stale locks off; see the module doc for what is left alone."""
    cfg = worktree_config.load(project)
    repo = repository(project)
    report: dict[str, list] = {"removed": [], "closed": [], "locks_released": [], "kept": [], "foreign": [],
                               "moved": []}
    if repo is None:
        return report
    listed = _drop_vanished(repo, project, report, dry_run)
    now = now_iso()
    with store.snapshot() as tx:
        records = {r["id"]: r for r in tx.find("worktrees", status="active")}
        stale = {rid: stale_reason(TxReader(tx), r.get("lock"), now, cfg.lock_ttl) for rid, r in records.items()
                 if r.get("lock")}
        finished = {rid for rid, r in records.items() if _finished(tx, r)}
    held = {rid for rid, why in stale.items() if why is None}
    on_disk = {str(Path(w.path).resolve()): w for w in listed}
    by_path = _follow_moves(project, repo, records, on_disk, report)
    orphans, forced = _judge_orphans(project, repo, cfg.root, on_disk, by_path, report)
    finishing = []
    for rid, record in records.items():
        key = str(Path(record["path"]).resolve())
        if rid in held:
            if key not in on_disk or rid in finished:
                report["kept"].append({"worktree": rid, "why": "held by a live run"})
        elif key not in on_disk:
            report["closed"].append({"worktree": rid, "why": "its directory is gone" if not Path(key).exists() else
                                     f"git no longer lists it as a worktree; {record['path']} is left as it is"})
        elif not Path(key).is_dir():  # git keeps it registered: locked, or its detached HEAD has commits
            reasons = survey(repo, Path(key), on_disk[key]).binding()
            report["kept"].append({"worktree": rid, "why": f"its directory is gone but it has {'; '.join(reasons)}"})
        elif rid in finished:
            if why := _why_finished_stays(repo, project, cfg.root, record, on_disk[key], forced):
                report["kept"].append({"worktree": rid, "why": why})
            else:
                finishing.append(record)
        elif record.get("lock"):
            report["locks_released"].append({"worktree": rid, "why": stale[rid]})
    if dry_run:
        report["removed"] += [{"worktree": r["id"], "path": r["path"], "why": f"its {r['scope']} is finished"}
                              for r in finishing]
        return report
    with store.transaction() as tx, creation_lock(project):  # same lock order as a delegation and `remove`
        for entry in report["moved"]:
            if (current := tx.get(f"worktrees.{entry['worktree']}", None)) and current.get("status") == "active":
                relocate(tx, current, entry["path"])
        _remove_orphans(tx, project, repo, orphans, forced, on_disk, report)
        _remove_finished(tx, repo, finishing, forced, cfg.lock_ttl, report)
        _record_prune(tx, report, now, cfg.lock_ttl)
    return report


def _drop_vanished(repo: Path, project: Path, report: dict[str, list], dry_run: bool) -> list:
    """git's records of deleted directories dropped (`git worktree prune`), but not one whose detached
    HEAD holds the last ref to commits: it stays until they are on a branch (reported as kept later).
    Returns the worktrees git still lists, the project's own checkout left out."""
    own = {str(project.resolve()), str(repo.resolve())}  # a bare repository's or linked checkout's project
    entries = [w for w in git.worktrees(repo)[1:] if str(Path(w.path).resolve()) not in own]
    risky = {w.path for w in entries if w.prunable and w.branch is None and w.head and git.unique_commits(repo, w.head)}
    if not dry_run and not risky:
        git.prune(repo)
    elif not dry_run:
        for entry in entries:
            if entry.prunable and entry.path not in risky:
                try:
                    git.remove(repo, Path(entry.path))
                except git.GitError as exc:
                    report["kept"].append({"path": entry.path, "why": f"git kept its record of it: {exc}"})
    return [w for w in entries if not w.prunable or w.path in risky]


def _follow_moves(project: Path, repo: Path, records: dict[str, dict], on_disk: dict[str, Any],
                  report: dict[str, list]) -> dict[str, dict]:
    """Records of worktrees moved by hand (`git worktree move`) follow their branch to the new path
    (in `records`, and reported as moved); returns the records by resolved path."""
    by_path = {str(Path(r["path"]).resolve()): r for r in records.values()}
    for rid, record in records.items():
        if str(Path(record["path"]).resolve()) not in on_disk and (entry := moved(project, repo, record)) is not None \
                and str(Path(entry.path).resolve()) not in by_path:
            report["moved"].append({"worktree": rid, "path": entry.path, "why": f"moved by hand from {record['path']}"})
            records[rid] = {**record, "path": entry.path}
            by_path[str(Path(entry.path).resolve())] = records[rid]
    return by_path


def _judge_orphans(project: Path, repo: Path, root: Path, on_disk: dict[str, Any], by_path: dict[str, dict],
                   report: dict[str, list]) -> tuple[list[str], set[str]]:
    """Worktrees git lists and state does not: foreign outside the root, kept while being made or when
    they would lose anything, else to remove. Returns their paths, and those that need `--force`."""
    orphans: list[str] = []
    forced: set[str] = set()
    for key, entry in on_disk.items():
        if key in by_path:
            continue
        if not Path(key).is_relative_to(root):
            report["foreign"].append({"path": entry.path, "branch": entry.branch,
                                      "why": "not under the worktree root (Claude Code's own, or made by hand)"})
            continue
        if (note := preparing_elsewhere(project, Path(key).name)) is not None:
            report["kept"].append({"path": entry.path, "why": f"being made by process {note.get('pid')}; it is "
                                   "recorded once its `copy:` files and setup are done"})
            continue
        losses = survey(repo, Path(key), entry)
        if reasons := [*losses.binding(), *losses.discardable()]:
            report["kept"].append({"path": entry.path, "why": f"orphan with {'; '.join(reasons)}"})
        else:
            orphans.append(key)
            if losses.needs_force:
                forced.add(key)
            report["removed"].append({"path": entry.path, "branch": entry.branch, "why": "orphan: in git, not in state"})
    return orphans, forced


def _why_finished_stays(repo: Path, project: Path, root: Path, record: dict[str, Any], entry: Any,
                        forced: set[str]) -> str | None:
    """Why a finished, unheld worktree is kept, else None (it goes; added to `forced` when it needs it)."""
    key = str(Path(record["path"]).resolve())
    if not Path(key).is_relative_to(root):  # moved out of the root by hand
        return (f"its {record['scope']} is finished but it was moved out of the worktree root to "
                f"{record['path']}, which prune leaves alone (`orchestra worktree remove {record['id']}` removes it)")
    losses = survey(repo, Path(key), entry, record.get("copied") or [], project)
    # What the worktree has checked out: its branch may have been renamed, or another switched to.
    tip = entry.branch or entry.head or record["branch"]
    if why := _still_needed(repo, record, tip, losses):
        return f"its {record['scope']} is finished but {why}"
    if losses.needs_force:
        forced.add(key)
    return None


def _remove_orphans(tx, project: Path, repo: Path, orphans: list[str], forced: set[str],
                    on_disk: dict[str, Any], report: dict[str, list]) -> None:
    recorded = {str(Path(r["path"]).resolve()) for r in tx.find("worktrees", status="active")}
    for key in orphans:
        gone = [e for e in report["removed"] if e.get("path") == on_disk[key].path]
        if key in recorded or preparing_elsewhere(project, Path(key).name):  # a delegation took it meanwhile
            report["removed"] = [e for e in report["removed"] if e not in gone]
            continue
        try:
            git.remove(repo, Path(key), force=key in forced)
        except git.GitError as exc:
            report["removed"] = [e for e in report["removed"] if e not in gone]
            report["kept"].append({"path": on_disk[key].path, "why": f"git refused to remove it: {exc}"})


def _remove_finished(tx, repo: Path, finishing: list[dict[str, Any]], forced: set[str], ttl: float,
                     report: dict[str, list]) -> None:
    for record in finishing:
        current = tx.get(f"worktrees.{record['id']}")
        if current.get("status") != "active" or _live_holder(tx, current, ttl):
            report["kept"].append({"worktree": record["id"], "why": "taken by a run while pruning"})
            continue
        try:
            git.remove(repo, Path(record["path"]), force=str(Path(record["path"]).resolve()) in forced)
        except git.GitError as exc:
            report["kept"].append({"worktree": record["id"], "why": f"git refused to remove it: {exc}"})
            continue
        why = f"its {record['scope']} is finished"
        if git.branch_exists(repo, record["branch"]) and \
                (kept := _delete_branch(repo, record["branch"], record["base"])):
            why += f"; branch {record['branch']} kept: {kept}"
        report["removed"].append({"worktree": record["id"], "path": record["path"], "why": why})


def _still_needed(repo: Path, record: dict[str, Any], tip: str, losses: Losses) -> str | None:
    """Why prune keeps a finished worktree (what removing it would lose, or that its base is gone), else None."""
    base_ok = git.commit_of(repo, record["base"]) is not None
    unmerged = git.unmerged_commits(repo, tip, record["base"]) if base_ok else []
    reasons = [*losses.binding(), *losses.discardable(), *([f"{len(unmerged)} unmerged commit(s)"] if unmerged else [])]
    why = [f"it has {'; '.join(reasons)}"] if reasons else []
    if not base_ok:
        why.append(f"its base {record['base']} is gone, so nothing tells whether its work is merged: `orchestra "
                   f"worktree remove {record['id']}` removes it, keeping its branch if a commit of it is on no other "
                   "branch")
    return " and ".join(why) or None


def _record_prune(tx, report: dict[str, list], now: str, ttl: float) -> None:
    """Record what prune did, inside its transaction; a record a run took meanwhile is left as it is."""
    view = TxReader(tx)
    for key in ("closed", "locks_released"):
        still = []
        for entry in report[key]:
            record = tx.get(f"worktrees.{entry['worktree']}")
            if record.get("status") == "active" and stale_reason(view, record.get("lock"), now, ttl) is not None:
                still.append(entry)
            else:
                report["kept"].append({"worktree": entry["worktree"], "why": "taken by a run while pruning"})
        report[key] = still
    for entry in [*report["removed"], *report["closed"]]:
        if "worktree" in entry:
            record = tx.get(f"worktrees.{entry['worktree']}")
            record.update(status="removed", removed_at=now, lock=None, why=entry["why"])
            tx.set(f"worktrees.{record['id']}", record)
            tx.append_event("worktree_removed", {"worktree": record["id"], "why": entry["why"], "by": "prune"})
    for entry in report["locks_released"]:
        record = tx.get(f"worktrees.{entry['worktree']}")
        lock = release(record, now, f"stale: {entry['why']}")
        tx.set(f"worktrees.{record['id']}", record)
        tx.append_event("worktree_lock_recovered", {"worktree": record["id"], "why": entry["why"]},
                        agent_id=(lock or {}).get("agent_id"), session_id=(lock or {}).get("session_id"))
    tx.append_event("worktrees_pruned", {k: len(v) for k, v in report.items()})
