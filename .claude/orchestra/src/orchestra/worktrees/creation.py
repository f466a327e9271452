"""Putting a worktree on disk for a scope: `git worktree add --no-checkout` under the worktree root (the
only step serialised across processes), the root kept out of git, then its checkout and the new-worktree
preparation, which parallel creators do side by side. Idempotent: a worktree already there is reused; one
whose preparation was cut short is removed and made afresh when nothing of anyone's work can be in it
(`repair`), else refused.

The worktree root ignores itself (a `.gitignore` holding `*` inside it, as `.claude/state/` does),
so no file of the user's (`.gitignore`, `.git/info/exclude`) is touched and removing the root
leaves nothing behind.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import paths
from . import git, preparation
from .config import WorktreeConfig
from .naming import Scope

CREATION_WAIT_S = 60  # how long a creator from the CLI waits for another creator or pruner


class WorktreeError(ValueError):
    """A worktree cannot be made or changed; the message says where and what to do."""


def repository(project: Path) -> Path | None:
    """The git repository worktrees are made from (its main working tree), if it has a commit yet."""
    repo = git.toplevel(project)
    return repo if repo is not None and git.has_commits(repo) else None


def base_of(checkout: Path, cfg: WorktreeConfig) -> tuple[str, str]:
    """(base ref, its commit): the configured base, else the branch checked out in the project's own
    checkout (a linked worktree's branch, not the main working tree's). On a detached HEAD: a branch that
    holds HEAD's commit, so that work merged into it later counts as merged; only without one, the commit."""
    ref = cfg.base or git.current_branch(checkout) or "HEAD"
    commit = git.commit_of(checkout, git.qualified(checkout, ref))  # the branch, not a tag of its name
    if commit is None:
        raise WorktreeError(f"base {ref!r} ({cfg.source}) is not a branch or commit of {checkout}; set `base:` in "
                            ".claude/worktrees.yaml to one that exists")
    if ref == "HEAD":
        ref = branch_holding(checkout, commit) or commit
    return ref, commit


def branch_holding(checkout: Path, commit: str) -> str | None:
    """The local branch whose history has `commit`: the default branch (origin's HEAD, init.defaultBranch,
    main, master) when it does, else the one branch that does; None when no branch or several do."""
    holding = git.run(checkout, "for-each-ref", "--contains", commit, "--format=%(refname:short)",
                      "refs/heads").split()
    remote_head = git.run(checkout, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD", check=False)
    configured = git.run(checkout, "config", "--get", "init.defaultBranch", check=False)
    defaults = (remote_head.strip().removeprefix("origin/"), configured.strip(), "main", "master")
    return next((name for name in defaults if name and name in holding), holding[0] if len(holding) == 1 else None)


def ignore_root(project: Path, cfg: WorktreeConfig) -> None:
    """Make the root and its self-ignoring `.gitignore`. Refused for a directory holding files of the
    project (`root: src`): ignoring it would hide new files there from git."""
    marker = cfg.root / ".gitignore"
    # an empty marker is one whose write was cut short (a kill, a full disk): it is written again
    if cfg.root.is_relative_to(project.resolve()) and not (marker.is_file() and marker.stat().st_size):
        if cfg.root.is_dir() and git.run(project, "ls-files", "--", str(cfg.root)).strip():
            raise WorktreeError(f"root {cfg.root} ({cfg.source}) holds files of the project; worktrees need a "
                                "directory of their own (the default is .worktrees), which ignores itself")
        cfg.root.mkdir(parents=True, exist_ok=True)
        paths.write_self_ignore(cfg.root)
    cfg.root.mkdir(parents=True, exist_ok=True)


def creation_lock(project: Path):
    """The file lock under which git's records of worktrees are added or removed, so a creator and a pruner
    never race. A new worktree's checkout happens after it is released (`check_out`)."""
    from filelock import FileLock

    return FileLock(str(preparation.state_subdir(project) / "create.lock"), timeout=CREATION_WAIT_S)


def registered(repo: Path, path: Path) -> git.Listed | None:
    wanted = str(path.resolve())
    return next((w for w in git.worktrees(repo) if str(Path(w.path).resolve()) == wanted), None)


def moved(project: Path, repo: Path, record: dict[str, Any]) -> git.Listed | None:
    """Where git now has the record's worktree when its directory is no checkout any more because it was moved
    by hand (`git worktree move`): the linked worktree that has the record's branch checked out."""
    if (Path(record["path"]) / ".git").is_file() or not record.get("branch"):
        return None
    own = {str(project.resolve()), str(repo.resolve()), str(Path(record["path"]).resolve())}
    return next((w for w in git.worktrees(repo)[1:] if w.branch == record["branch"] and not w.prunable
                 and str(Path(w.path).resolve()) not in own and _admin_name(Path(w.path)) == Path(record["path"]).name),
                None)


def _admin_name(worktree: Path) -> str | None:
    """The name of git's record of a linked worktree (`.git/worktrees/<name>`): the directory name it was
    made with, which `git worktree move` keeps; another worktree switched to the branch has its own."""
    try:
        pointer = (worktree / ".git").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return Path(pointer.removeprefix("gitdir:").strip()).name if pointer.startswith("gitdir:") else None


def relocate(tx, record: dict[str, Any], path: str) -> dict[str, Any]:
    """Record the worktree at `path`, where it was moved: its record, its tasks and the runs working in it."""
    old = record["path"]
    for collection, ids in (("tasks", record.get("tasks") or []),
                            ("agents", [a["id"] for a in tx.find("agents", worktree=old) if a.get("id")])):
        for ident in ids:
            if (tx.get(f"{collection}.{ident}", None) or {}).get("worktree") == old:
                tx.set(f"{collection}.{ident}.worktree", path)
    return tx.update(f"worktrees.{record['id']}", {"path": path, "moved_from": old})


def forget(repo: Path, path: Path, entry: git.Listed) -> None:
    """Drop git's record of the worktree at `path`, whose directory was deleted by hand, and only that one
    (`git worktree prune` would drop every such record, also one whose detached HEAD holds the only ref to
    commits). Refused when its detached HEAD holds such commits; a locked one stays (git then says so)."""
    from .losses import survey

    if entry.locked:
        return
    if kept := survey(repo, path, entry).binding():
        raise WorktreeError(f"{path} was deleted, but git still lists it as a worktree with {'; '.join(kept)}")
    try:
        git.remove(repo, path)
    except git.GitError as exc:
        raise WorktreeError(str(exc)) from None


def materialise(project: Path, repo: Path, scope: Scope, cfg: WorktreeConfig, *, now: str, created_by: str,
                stored: dict[str, Any] | None) -> dict[str, Any]:
    """The worktree for `scope` registered in git, as a state record (without lock; `reused` when it was
    there). Run under `creation_lock`; adds a missing one without its files, which `check_out` then writes
    outside the lock, and `prepare` readies it. One whose preparation was cut short is removed and added afresh
    when nothing of anyone's work can be in it (`repaired`, on the record), else refused. `stored`: the scope's
    record in state, if any."""
    path = cfg.root / scope.name
    base, base_commit = base_of(project, cfg)
    record: dict[str, Any] = {
        "id": scope.name, "scope": scope.strategy, "scope_id": scope.ident, "branch": scope.branch,
        "path": str(path), "base": base, "base_commit": base_commit, "status": "active", "origin": "orchestra",
        "created_at": now, "created_by": created_by, "tasks": [], "sprints": [], "lock": None,
    }
    if scope.strategy == "sprint":
        record["sprints"] = [scope.ident]
    existing = registered(repo, path)
    if existing is not None and not path.is_dir():  # its directory was deleted by hand
        forget(repo, path, existing)
        existing = None
    if existing is not None:
        if existing.branch != scope.branch:
            raise WorktreeError(f"{path} is already a worktree of branch {existing.branch or '(detached)'}, not "
                                f"{scope.branch}; remove it (`orchestra worktree remove {scope.name}`) or move it away")
        if (repair := repaired(project, repo, scope, path, base_commit, stored)) is None:
            return {**record, "reused": True}
        record["repaired"] = repair
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise WorktreeError(f"{path} exists and is not a git worktree of {repo}; move it away or delete it "
                            "(Orchestra never deletes a directory git does not list as a worktree, prune included), "
                            "or set another `root:` in .claude/worktrees.yaml")
    ignore_root(project, cfg)
    from ..liveness import this_process

    # marked before the checkout: a creator stopped during it (a hook past its timeout on a big project)
    # leaves a worktree that is refused, not one handed out without all its files or its `copy:` files
    marker = preparation.preparing(project, scope.name)
    new_branch = not git.branch_exists(repo, scope.branch)
    marker.write_text(json.dumps({**this_process(), "new_branch": new_branch}), encoding="utf-8")
    try:  # a detached HEAD's base may be a branch ahead of it; a git without `hook run` checks out here
        git.add(repo, path, scope.branch, base_commit, checkout=not git.runs_hooks(repo))
    except git.GitError as exc:
        if path.is_dir() and registered(repo, path) is not None:  # checked out, then the user's post-checkout failed
            raise abandon(project, repo, path, scope.name, scope.branch if new_branch else None, str(exc)) from None
        marker.unlink(missing_ok=True)
        raise WorktreeError(str(exc)) from None
    return record


def check_out(project: Path, repo: Path, record: dict[str, Any]) -> None:
    """Write the files of the new worktree `materialise` added, outside the creation lock, so parallel
    creators check theirs out side by side. Its marker stays until `prepare` is done: meanwhile it is
    handed to nobody, and a creator stopped halfway leaves it refused. A checkout that fails (a smudge
    filter, the user's post-checkout hook) removes the worktree again, and WorktreeError gives git's message."""
    path = Path(record["path"])
    if not git.checkout_cut_short(path):
        return  # `git worktree add` checked it out already
    try:
        git.check_out(path)
    except git.GitError as exc:
        raise abandon(project, repo, path, record["id"], record["branch"] if made_branch(project, record["id"]) else None,
                      str(exc)) from None


def made_branch(project: Path, name: str) -> bool:
    """Whether the creator of the worktree `name` made its branch too (its marker says so)."""
    try:
        return json.loads(preparation.preparing(project, name).read_text(encoding="utf-8")).get("new_branch") is True
    except (OSError, ValueError, AttributeError):
        return False


def abandon(project: Path, repo: Path, path: Path, name: str, new_branch: str | None, why: str) -> WorktreeError:
    """The error for a new worktree that could not be made, once it is removed again (with `new_branch`, the
    branch made for it). When removing it fails too, its marker keeps the failure for `refuse_unprepared`."""
    marker = preparation.preparing(project, name)
    try:
        roll_back(repo, path, new_branch)
    except (git.GitError, OSError) as undo:
        marker.write_text(json.dumps({"error": why}), encoding="utf-8")
        return WorktreeError(f"{why}; removing the new worktree {path} again failed too ({undo}): remove it "
                             f"(`orchestra worktree remove {name} --force`) once that is fixed")
    marker.unlink(missing_ok=True)
    return WorktreeError(f"{why}; the new worktree {path} was removed again")


def unprepared(project: Path, name: str) -> str | None:
    """Why the worktree `name` is not ready: its preparation failed, or the process doing it stopped
    before it was done. None when it was prepared, or is being prepared right now."""
    from ..liveness import gone

    try:
        note = json.loads(preparation.preparing(project, name).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        note = {}
    if not isinstance(note, dict):
        note = {}
    if note.get("error"):
        return str(note["error"])
    if "pid" in note and not gone(note):
        return None
    return "the process preparing it stopped before it was done"


def preparing_elsewhere(project: Path, name: str) -> dict[str, Any] | None:
    """The marker's note ({pid, ...}) while a live process is preparing the worktree `name` (its copies and
    setup not done yet, so it is not ready to hand out); None when nobody is."""
    from ..liveness import gone

    try:
        note = json.loads(preparation.preparing(project, name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(note, dict) or note.get("error") or "pid" not in note or gone(note):
        return None
    return note


def await_preparation(project: Path, name: str, seconds: float = CREATION_WAIT_S) -> dict[str, Any] | None:
    """Wait, up to `seconds`, while another live process checks out and prepares the worktree `name` (as a
    second creator of one scope waits on the creation lock for the first one's `git worktree add`). The
    marker's note when that process is still at it, None once it is done or gone."""
    import time

    deadline = time.monotonic() + seconds
    while (note := preparing_elsewhere(project, name)) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    return note


def half_made(project: Path, repo: Path | None, cfg: WorktreeConfig, name: str) -> dict[str, Any] | None:
    """A record for the worktree `name` that git lists under the root but state lacks, because its creator
    stopped before recording it (its marker says so): what `orchestra worktree remove` then works on."""
    if repo is None or Path(name).name != name or name in (".", "..") or unprepared(project, name) is None:
        return None
    if (entry := registered(repo, cfg.root / name)) is None:
        return None
    return {"id": name, "scope": None, "branch": entry.branch, "path": str(cfg.root / name),
            "base": base_of(project, cfg)[0], "status": "active", "origin": "orchestra", "lock": None,
            "unrecorded": True}


def unprepared_why(project: Path, name: str, path: Path | str) -> str | None:
    """Why the worktree `name` was made but never made ready: its creator stopped or failed, or (no marker,
    nobody preparing it) git has no index for it, so its files were never all written. None when it is ready or
    a live process is preparing it."""
    why = unprepared(project, name)
    if git.checkout_cut_short(Path(path)) and (why is not None or preparing_elsewhere(project, name) is None):
        why = f"its checkout was cut short: {why or 'git has no index for it'}"
    return why


def refuse_unprepared(project: Path, name: str, path: Path | str, kept: str | None = None) -> None:
    """Raise, saying what to do, when the worktree `name` was made but never made ready (`unprepared_why`);
    `kept`: why it was not repaired by itself (`repair`)."""
    if (why := unprepared_why(project, name, path)) is not None:
        raise _refusal(name, path, why, kept)


def _refusal(name: str, path: Path | str, why: str, kept: str | None) -> WorktreeError:
    unrepaired = f"; it is not repaired by itself because {kept}" if kept else ""
    return WorktreeError(f"{path} was made but never prepared (its checkout, the `copy:` files and `setup:` of "
                         f".claude/worktrees.yaml): {why}{unrepaired}; remove it (`orchestra worktree remove {name} "
                         "--force`; its branch stays when it has commits) and create it again")


def repaired(project: Path, repo: Path, scope: Scope, path: Path, base_commit: str,
             stored: dict[str, Any] | None) -> dict[str, Any] | None:
    """Under the creation lock, for the worktree of `scope` git has at `path`: None when it is ready (or a live
    process is preparing it); when its preparation was cut short, what `repair` did to remove it so that it is
    made afresh, or the refusal (WorktreeError) saying why it could hold someone's work. `stored`: its record in
    state, if any."""
    if (why := unprepared_why(project, scope.name, path)) is None:
        return None
    from .repair import remove_cut_short, unsafe

    if stored is not None and Path(stored.get("path") or "").resolve() != path.resolve():
        stored = None  # the scope's record is of a worktree elsewhere
    if (kept := unsafe(repo, scope.branch, base_commit, stored)) is not None:
        raise _refusal(scope.name, path, why, kept)
    try:
        return remove_cut_short(project, repo, path, scope.name, scope.branch, why)
    except (git.GitError, OSError) as exc:
        raise _refusal(scope.name, path, why, f"removing it failed: {exc}") from None


def prepare(project: Path, repo: Path, record: dict[str, Any], cfg: WorktreeConfig, *, wait_for_setup: bool) -> None:
    """Copy the configured files into a new worktree and run its setup command (fields land on `record`).
    When that fails, the new worktree is removed again (its branch too when that loses no commit) and
    WorktreeError says why; when even that fails, the failure stays noted for `refuse_unprepared`."""
    path = Path(record["path"])
    marker = preparation.preparing(project, record["id"])
    new_branch = made_branch(project, record["id"])
    try:
        record.update(preparation.copy_files(project, path, cfg))
        record["setup"] = preparation.run_setup(project, path, record["id"], cfg, wait=wait_for_setup)
    except OSError as exc:
        why = f"preparing it failed: {exc}"
        try:
            roll_back(repo, path, record["branch"] if new_branch else None)
        except (git.GitError, OSError) as undo:
            marker.write_text(json.dumps({"error": why}), encoding="utf-8")
            raise WorktreeError(f"{path}: {why}; removing it again failed too ({undo}): remove it "
                                f"(`orchestra worktree remove {record['id']} --force`) once that is fixed") from None
        marker.unlink(missing_ok=True)
        raise WorktreeError(f"{path}: {why}; the new worktree was removed again. Fix that (or the `copy:` list of "
                            ".claude/worktrees.yaml) and create it again") from None
    marker.unlink(missing_ok=True)


def roll_back(repo: Path, path: Path, new_branch: str | None) -> None:
    """Remove a worktree just added, whose files are a checkout and copies only; the branch `git worktree
    add` made for it (`new_branch`) goes too unless it holds commits no other branch, tag or remote does."""
    git.remove(repo, path, force=True)
    if new_branch and git.branch_exists(repo, new_branch) and not git.branch_only_commits(repo, new_branch):
        git.delete_branch(repo, new_branch, force=True)
