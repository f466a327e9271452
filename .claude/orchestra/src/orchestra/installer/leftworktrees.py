"""The pack's git worktrees uninstall leaves: they may hold work, so they stay, and once the pack is gone
`orchestra worktree remove` is too. Uninstall names each one, says whether it holds uncommitted changes
or commits its branch alone has, and how to remove it."""

from __future__ import annotations

import shlex
from pathlib import Path

from .plan import Notice


def notices(root: Path) -> list[Notice]:
    from ..worktrees import git
    from ..worktrees.creation import repository

    homes = _roots(root)
    try:
        repo = repository(root)
        listed = git.worktrees(repo) if repo is not None else []
    except (git.GitError, OSError):
        return []
    out = []
    for entry in listed:
        path = Path(entry.path).resolve()
        if entry.prunable or not any(path != home and path.is_relative_to(home) for home in homes):
            continue
        out.append(Notice("left", _shown(root, path), _message(repo, path, entry)))
    return out


def _roots(root: Path) -> set[Path]:
    """Where the pack makes worktrees: `.worktrees/`, the `root:` of `.claude/worktrees.yaml`, and the root
    the pack last read from it. Read only: uninstall plans write nothing, not even the pack's cache."""
    from .. import paths
    from ..worktrees.config import DEFAULT_ROOT, config_file
    from ..yamlcheck import read_mapping

    homes = {(root / DEFAULT_ROOT).resolve()}
    if (cached := paths.configured_worktree_root(root)) is not None:
        homes.add(cached)
    try:
        where = read_mapping(config_file(root), ValueError)[0].get("root") if config_file(root).is_file() else None
    except ValueError:  # a broken worktrees.yaml: the other roots still count
        where = None
    if isinstance(where, str) and where:
        where = Path(where).expanduser()
        homes.add((where if where.is_absolute() else root / where).resolve())
    return {home for home in homes if not root.resolve().is_relative_to(home)}


def _message(repo: Path, path: Path, entry) -> str:
    from ..worktrees import git

    held = []
    try:
        if dirty := git.dirty_files(path):
            held.append(f"{len(dirty)} uncommitted change(s)")
        if entry.branch and (only := git.commits_only_in(repo, [entry.branch], ["HEAD"])):
            held.append(f"{len(only)} commit(s) not on the checked-out branch")
    except (git.GitError, OSError):
        held.append("its state could not be read")
    branch = entry.branch or "a detached HEAD"
    removal = f"git worktree remove {shlex.quote(str(path))}" + (
        f" && git branch -d {shlex.quote(entry.branch)}" if entry.branch else "")
    return (f"worktree {path.name} of the pack, on {branch}" + (f", with {' and '.join(held)}" if held else "")
            + "; kept with its branch. Before uninstalling, `orchestra worktree remove "
            + f"{path.name}` (or `orchestra worktree prune`) removes it; afterwards: {removal}")


def _shown(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
