"""The git commands worktrees need, run as real subprocesses (`git -C <dir> ...`), nothing cached.

Every failure is a `GitError` carrying the command and git's own message.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from ..record import Record

TIMEOUT = 120
TORN_AFTER_S = 10  # a worktree's records git is still writing are younger than this


class GitError(ValueError):
    """A git command failed; the message has the command and git's stderr."""


def run(cwd: Path | str, *args: str, check: bool = True, timeout: float = TIMEOUT) -> str:
    import subprocess  # only when git really runs: hooks without worktrees never pay its import

    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        proc = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, timeout=timeout,
                              check=False, env=env, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"git {' '.join(args)} in {cwd}: {exc}") from None
    if check and proc.returncode != 0:
        message = (proc.stderr or proc.stdout).strip().splitlines()
        raise GitError(f"git {' '.join(args)} in {cwd} failed: {message[-1] if message else f'exit {proc.returncode}'}")
    return proc.stdout


def toplevel(path: Path) -> Path | None:
    """The repository's main working tree, or None when `path` is not in a git repository."""
    try:
        common = run(path, "rev-parse", "--path-format=absolute", "--git-common-dir").strip()
    except GitError:
        return None
    common_dir = Path(common)
    if common_dir.name == ".git":
        return common_dir.parent
    try:
        return Path(run(path, "rev-parse", "--show-toplevel").strip())
    except GitError:
        return None


def has_commits(repo: Path) -> bool:
    return bool(run(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False).strip())


def current_branch(repo: Path) -> str | None:
    """The checked-out branch, None when HEAD is detached."""
    name = run(repo, "symbolic-ref", "--quiet", "--short", "HEAD", check=False).strip()
    return name or None


def commit_of(repo: Path, ref: str) -> str | None:
    return run(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False).strip() or None


def branch_exists(repo: Path, branch: str) -> bool:
    return commit_of(repo, f"refs/heads/{branch}") is not None


def qualified(repo: Path, name: str) -> str:
    """`refs/heads/<name>` when a branch of that name exists, else `name` (a commit, or a ref given in full):
    git reads a bare name as the tag of that name before the branch (`git tag task-x` beside branch task-x)."""
    return f"refs/heads/{name}" if not name.startswith("refs/") and branch_exists(repo, name) else name


class Listed(Record):
    """One entry of `git worktree list --porcelain`."""

    path: str
    head: str | None
    branch: str | None  # short name; None when detached
    locked: bool = False
    prunable: bool = False
    lock_reason: str = ""


def worktrees(repo: Path) -> list[Listed]:
    """Every worktree git knows of, the main one first."""
    try:
        listing = run(repo, "worktree", "list", "--porcelain")
    except GitError:
        if not drop_torn_records(repo):
            raise
        listing = run(repo, "worktree", "list", "--porcelain")
    out, entry = [], {}
    for line in [*listing.splitlines(), ""]:
        if not line:
            if entry.get("worktree"):
                branch = entry.get("branch")
                out.append(Listed(entry["worktree"], entry.get("HEAD"),
                                  branch.removeprefix("refs/heads/") if branch else None,
                                  "locked" in entry, "prunable" in entry, entry.get("locked", "")))
            entry = {}
            continue
        key, _, value = line.partition(" ")
        entry[key] = value
    return out


def drop_torn_records(repo: Path) -> bool:
    """Remove git's records of a worktree whose `git worktree add` was killed (SIGKILL, a power cut) while it
    wrote them: still locked "initializing", its `commondir` empty. git then lists no worktree at all ("failed
    to read .../commondir"), and `git worktree prune` keeps locked ones. git writes those records in
    milliseconds, so one older than TORN_AFTER_S is nobody's work in progress. Its directory, if one was made,
    is left as it is. True when a record was removed."""
    import shutil
    import time

    try:
        admin = Path(run(repo, "rev-parse", "--path-format=absolute", "--git-common-dir").strip()) / "worktrees"
        entries = list(admin.iterdir()) if admin.is_dir() else []
    except (GitError, OSError):
        return False
    torn = []
    for entry in entries:
        try:
            common = (entry / "commondir").stat()
            if (common.st_size == 0 and time.time() - common.st_mtime > TORN_AFTER_S
                    and (entry / "locked").read_text(encoding="utf-8").strip() == "initializing"):
                torn.append(entry)
        except (OSError, UnicodeDecodeError):
            continue
    for entry in torn:
        shutil.rmtree(entry, ignore_errors=True)
    return bool(torn)


def add(repo: Path, path: Path, branch: str, base: str, *, checkout: bool = True) -> None:
    """Check `branch` out at `path`, creating the branch from `base` when it does not exist yet. Without
    `checkout`, only git's records of the worktree, its HEAD and its sparse-checkout patterns are written
    (`--no-checkout`, milliseconds): `check_out` then writes its files."""
    flags = [] if checkout else ["--no-checkout"]
    try:
        if branch_exists(repo, branch):
            run(repo, "worktree", "add", *flags, str(path), branch)
        else:
            run(repo, "worktree", "add", *flags, "-b", branch, str(path), base)
    except GitError:
        wanted = str(path.resolve())
        stuck = next((w for w in worktrees(repo) if w.locked and str(Path(w.path).resolve()) == wanted), None)
        if stuck is None:
            raise
        raise GitError(f"{path} is still registered in git as a locked worktree ({stuck.lock_reason or 'no reason given'})"
                       f" whose directory is gone; `git worktree unlock '{path}'` and `git worktree prune` clear it "
                       "if nobody needs it") from None


def check_out(path: Path) -> None:
    """Write the files and index of a worktree added with `--no-checkout`, as `git worktree add` itself
    does: `reset --hard` leaving submodules to `git submodule update` and keeping to the sparse-checkout
    patterns, then the post-checkout hook with a new worktree's arguments (null, its commit, 1)."""
    run(path, "reset", "--hard", "--quiet", "--no-recurse-submodules")
    head = run(path, "rev-parse", "--verify", "HEAD").strip()
    run(path, "hook", "run", "--ignore-missing", "post-checkout", "--", "0" * len(head), head, "1")


def runs_hooks(repo: Path) -> bool:
    """Whether this git can run a hook on its own (`git hook run`, git 2.36 on), which `check_out` needs."""
    import re

    found = re.search(r"(\d+)\.(\d+)", run(repo, "version", check=False))
    return found is not None and (int(found[1]), int(found[2])) >= (2, 36)


def checkout_cut_short(worktree: Path) -> bool:
    """Whether a linked worktree has no index: added with `--no-checkout` and its checkout never finished
    (`reset --hard` writes the index last). Read from git's files, no git run: delegations ask it often."""
    try:
        pointer = (worktree / ".git").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return False
    if not pointer.startswith("gitdir:"):
        return False
    admin = Path(pointer.removeprefix("gitdir:").strip())
    admin = admin if admin.is_absolute() else worktree / admin
    return admin.is_dir() and not (admin / "index").exists()


def remove(repo: Path, path: Path, force: bool = False) -> None:
    """`git worktree remove`; `force` once at most: twice would override the user's `git worktree lock`."""
    run(repo, "worktree", "remove", *(["--force"] if force else []), str(path))


def delete_branch(repo: Path, branch: str, force: bool = False) -> None:
    run(repo, "branch", "-D" if force else "-d", branch)


def prune(repo: Path) -> None:
    run(repo, "worktree", "prune")


class Status(NamedTuple):
    """A worktree's `git status`: uncommitted changes and untracked files, ignored files, and which of the
    changes are untracked files (`??`, not in the index)."""

    changes: list[str]
    ignored: list[str]
    untracked: list[str]


def status(path: Path, ignored: bool = False) -> Status:
    """(uncommitted changes and untracked files, ignored files, untracked files) of a worktree, as `git status`
    paths.

    A rename counts under both names. An ignored directory that an ignore pattern names is one entry
    (`node_modules/`); submodules with changes inside count as changed.
    """
    found = Status([], [], [])
    fields = iter(run(path, "status", "--porcelain", "-z", "--untracked-files=all", "--ignore-submodules=none",
                      *(["--ignored=matching"] if ignored else [])).split("\0"))
    for field in fields:
        if not field:
            continue
        (found.ignored if field.startswith("!!") else found.changes).append(field[3:])
        if field.startswith("??"):
            found.untracked.append(field[3:])
        if field[0] in "RC":
            old = next(fields, "")  # a rename's or copy's second field is its source
            if field[0] == "R":
                found.changes.append(old)
    return found


def dirty_files(path: Path) -> list[str]:
    """Uncommitted changes and untracked files in a worktree (`git status --porcelain` paths)."""
    return status(path)[0]


def commits_only_in(cwd: Path, tips: list[str], kept: list[str]) -> list[str]:
    """Commits reachable from `tips` but from none of `kept` (one line each); missing tips are skipped."""
    return run(cwd, "log", "--format=%h %s", "--ignore-missing", *tips, "--not", *kept, "--").splitlines()


def unique_commits(repo: Path, tip: str) -> list[str]:
    """Commits of `tip` that no branch, tag or remote-tracking branch holds: lost once `tip` goes."""
    return commits_only_in(repo, [tip], ["--branches", "--tags", "--remotes"])


def branch_only_commits(repo: Path, branch: str) -> list[str]:
    """Commits only `branch` holds: lost if it were deleted. (`--exclude` before `--branches` takes the
    name without `refs/heads/`; branch names hold no glob characters.)"""
    return commits_only_in(repo, [f"refs/heads/{branch}"], [f"--exclude={branch}", "--branches", "--tags", "--remotes"])


def shared_only_commits(repo: Path, branch: str, base: str) -> list[str]:
    """Commits `branch` shares with `base` (up to where it left it) that only `branch` holds of all
    branches, tags and remote-tracking branches: `base` is a commit rather than a branch."""
    fork = run(repo, "merge-base", qualified(repo, base), f"refs/heads/{branch}", check=False).strip()
    if not fork:
        return ["no history in common with " + base]
    return commits_only_in(repo, [fork], [f"--exclude={branch}", "--branches", "--tags", "--remotes"])


def populated_submodules(path: Path) -> list[tuple[str, str]]:
    """(path relative to `path`, commit the superproject records) of each checked-out submodule, nested too."""
    if not (path / ".gitmodules").exists():
        return []
    out = run(path, "submodule", "foreach", "--quiet", "--recursive", 'printf "%s %s\\0" "$displaypath" "$sha1"')
    return [tuple(line.rsplit(" ", 1)) for line in out.split("\0") if line]


def rebasing(path: Path) -> bool:
    out = run(path, "rev-parse", "--path-format=absolute", "--git-path", "rebase-merge", "--git-path", "rebase-apply")
    return any(Path(p).exists() for p in out.splitlines())


def unmerged_commits(repo: Path, branch: str, base: str) -> list[str]:
    """Commits on `branch` whose changes `base` lacks (one line each, newest first). None when `base`
    contains them, or has their very patches (whitespace counts; a merge commit or one changing nothing
    never matches): the patch of each (rebased or cherry-picked onto it), or their sum as one commit, or
    all they change (squash-merged, see `squashed_into`)."""
    branch, base = qualified(repo, branch), qualified(repo, base)
    commits = [line.split(" ", 1) for line in run(repo, "log", "--format=%H %h %s", f"{base}..{branch}").splitlines()]
    if not commits:
        return []
    paths = sorted({p for p in run(repo, "log", "--format=", "--name-only", "--no-renames", "-z",
                                   f"{base}..{branch}").split("\0") if p})
    theirs = set(patch_ids(repo, f"{branch}..{base}", *(["--", *paths] if len(paths) <= 1000 else [])).values())
    ours = patch_ids(repo, f"{base}..{branch}") if theirs else {}
    missing = [line for commit, line in commits if ours.get(commit) not in theirs]
    if missing and theirs and (whole := _patch_ids(repo, "diff", f"{base}...{branch}", "--")):
        missing = [] if whole[0][0] in theirs else missing
    return [] if missing and squashed_into(repo, branch, base) else missing


def patch_ids(repo: Path, *log_args: str) -> dict[str, str]:
    """{commit: patch id} of the commits `git log <log_args>` lists that change something (merges left out)."""
    return {commit: patch for patch, commit in _patch_ids(repo, "log", "-p", "--no-merges", "--format=commit %H",
                                                          *log_args)}


def _patch_ids(repo: Path, command: str, *args: str) -> list[tuple[str, str]]:
    """(patch id, commit or zeros) of each patch `git <command>` prints, whitespace counted (`git patch-id
    --verbatim`, git 2.39 on; an older git gives none). The diffs go from one git to the other as bytes:
    file contents need not be UTF-8."""
    import subprocess

    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    shown = ["git", "-C", str(repo), "--literal-pathspecs", command, "--no-renames", "--binary", "--no-color",
             "--no-ext-diff", "--no-textconv", *args]
    try:
        diffs = subprocess.run(shown, capture_output=True, timeout=TIMEOUT, check=False, env=env,
                               stdin=subprocess.DEVNULL)
        if diffs.returncode != 0:
            message = diffs.stderr.decode(errors="replace").strip().splitlines()
            raise GitError(f"git {command} {' '.join(args)} in {repo} failed: {message[-1] if message else diffs.returncode}")
        ids = subprocess.run(["git", "-C", str(repo), "patch-id", "--verbatim"], input=diffs.stdout,
                             capture_output=True, timeout=TIMEOUT, check=False, env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"git {command} {' '.join(args)} | git patch-id in {repo}: {exc}") from None
    if ids.returncode != 0:
        return []
    return [tuple(line.split()) for line in ids.stdout.decode().splitlines()]


def squashed_into(repo: Path, branch: str, base: str) -> bool:
    """Whether `branch` changes something since it left `base` and merging it into `base` would change
    nothing: its work is there already. A conflict, or a git older than 2.38 (no `merge-tree --write-tree`),
    says no."""
    try:
        merged = run(repo, "merge-tree", "--write-tree", "--no-messages", base, branch).split("\n", 1)[0]
    except GitError:
        return False
    own = run(repo, "rev-parse", "--verify", "--quiet", f"{base}^{{tree}}", check=False).strip()
    return merged == own and bool(changed_files(repo, branch, base))


def changed_files(repo: Path, branch: str, base: str) -> list[str]:
    """Files `branch` changed since it left `base` (three-dot diff: against the merge base), a rename
    under both its names."""
    branch, base = qualified(repo, branch), qualified(repo, base)
    return [f for f in run(repo, "diff", "--name-only", "--no-renames", "-z", f"{base}...{branch}").split("\0") if f]
