"""What removing a worktree would lose, found before anything is removed: uncommitted and ignored
files, commits only its detached HEAD holds, submodule commits kept only in its git directory, and
the user's own `git worktree lock`. `cleanup` refuses, or keeps, a worktree on these.

Not losses: the files Orchestra copied in (`copy:`; their originals stay) and the rebuildable
caches in CACHES (the setup command makes them again): untracked or ignored files there, not changes to files
the project commits.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..record import Record, default
from . import git

CACHES = frozenset({"node_modules", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".tox",
                    ".nox"})


class Losses(Record):
    """What would go with a worktree. `locked`, `detached` and `submodules` are never overridden by --force."""

    path: str
    uncommitted: list[str] = default(list)
    ignored: list[str] = default(list)
    detached: list[str] = default(list)  # commits only the worktree's detached HEAD holds
    rebasing: bool = False
    submodules: list[str] = default(list)  # one phrase per submodule whose commits would go
    locked: str | None = None  # git's lock reason ("" when none was given); None when not locked
    needs_force: bool = False  # git would refuse although nothing is lost: copied files or submodules are there

    def files(self) -> list[str]:
        """Files that --force discards."""
        return [*self.uncommitted, *self.ignored]

    def binding(self) -> list[str]:
        """What --force does not override, as noun phrases ("it has ...")."""
        where = f"'{self.path}'"
        phrases = []
        if self.locked is not None:
            phrases.append(f"a `git worktree lock` ({self.locked or 'no reason given'}): `git worktree unlock "
                           f"{where}` lets it go")
        if self.detached:
            keep = f"git -C {where} switch -c NAME" if Path(self.path).is_dir() else \
                f"git branch NAME {self.detached[0].split()[0]}"  # the directory is gone: name its tip
            phrases.append(f"{len(self.detached)} commit(s) on its detached HEAD that no branch holds "
                           f"({'; '.join(self.detached[:3])}): `{keep}` keeps them"
                           + (f", after the rebase in progress there (`git -C {where} rebase --continue` or --abort)"
                              if self.rebasing else ""))
        return phrases + self.submodules

    def discardable(self) -> list[str]:
        """What --force discards, one phrase each."""
        return [f"{len(items)} {kind} ({', '.join(items[:5])}{', ...' if len(items) > 5 else ''})"
                for kind, items in (("uncommitted change(s)", self.uncommitted), ("ignored file(s)", self.ignored))
                if items]


def survey(repo: Path, path: Path, registered: git.Listed | None, copied: Sequence[str] = (),
           source: Path | None = None) -> Losses:
    """Losses of removing the worktree at `path` (`registered`: git's entry for it, if any). A file under
    `copied` (what `copy:` copied from the project `source`) counts as a copy only while it is the same as
    its original there: one written into a copied directory, or a copy edited in the worktree, is work."""
    locked = registered.lock_reason if registered and registered.locked else None
    detached = git.unique_commits(repo, registered.head) if registered and registered.branch is None \
        and registered.head else []
    rebasing = bool(detached) and path.is_dir() and git.rebasing(path)
    if not path.is_dir():
        return Losses(str(path), detached=detached, locked=locked)
    copied = tuple(c.rstrip("/") for c in copied) if source is not None else ()
    changes, ignored, untracked = git.status(path, ignored=True)
    loose = set(untracked)  # a cache is files nobody committed: a tracked file changed there is work
    uncommitted = [f for f in changes if not _copied(f, copied, path, source) and not (f in loose and _cache(f))]
    ignored = [f for f in ignored if not _cache(f) and not _all_copied(path, f, copied, source)]
    submodules = []
    populated = git.populated_submodules(path)
    for sub, recorded in populated:
        ignored += [f"{sub}/{f}" for f in git.status(path / sub, ignored=True)[1] if not _cache(f)]
        # A submodule's repository lives in the worktree's git directory and goes with it: only the
        # commits its remotes have survive, whatever branch the superproject keeps.
        commits = git.commits_only_in(path / sub, ["HEAD", "--branches", recorded], ["--remotes", "--tags"])
        if commits:
            submodules.append(f"submodule {sub} with {len(commits)} commit(s) on none of its remotes "
                              f"({'; '.join(commits[:3])}): `git -C '{path / sub}' push` them")
    return Losses(str(path), uncommitted, ignored, detached, rebasing, submodules, locked,
                  needs_force=len(changes) > len(uncommitted) or bool(populated))


def _copied(name: str, copied: tuple[str, ...], path: Path, source: Path | None) -> bool:
    """The file `name` of the worktree at `path` is a copy Orchestra made, as it made it (a directory entry:
    every file in it is)."""
    name = name.rstrip("/")
    if source is None or not any(name == c or name.startswith(c + "/") for c in copied):
        return False
    copy = path / name
    if copy.is_dir() and not copy.is_symlink():
        return all(_copied(f.relative_to(path).as_posix(), copied, path, source) for f in copy.rglob("*")
                   if f.is_symlink() or not f.is_dir())
    return _same(copy, source / name)


def _same(copy: Path, original: Path) -> bool:
    """`copy` is still what was copied from `original`: the same symlink, or a file with the same bytes."""
    import filecmp

    if copy.is_symlink() or original.is_symlink():
        return copy.is_symlink() and original.is_symlink() and os.readlink(copy) == os.readlink(original)
    try:
        return copy.is_file() and original.is_file() and filecmp.cmp(copy, original, shallow=False)
    except OSError:
        return False


def _all_copied(path: Path, name: str, copied: tuple[str, ...], source: Path | None) -> bool:
    """An ignored file Orchestra copied in; a wholly ignored directory when every file in it was copied."""
    if _copied(name, copied, path, source):
        return True
    if not name.endswith("/") or not any(c.startswith(name) for c in copied):
        return False
    return all(_copied(f.relative_to(path).as_posix(), copied, path, source) for f in (path / name).rglob("*")
               if f.is_symlink() or not f.is_dir())


def _cache(name: str) -> bool:
    return any(part in CACHES for part in name.rstrip("/").split("/"))
