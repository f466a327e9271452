"""Carry out a plan: every step first checks the file still holds the bytes the plan saw, so a file
changed between planning and writing stops the run instead of being overwritten."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .. import atomic
from .errors import InstallError
from .plan import Notice, Plan, Step


def apply(plan: Plan) -> list[Notice]:
    """Apply `plan` in order; returns what had to be left in place (directories holding other files)."""
    root = plan.target
    for rel, mode in plan.make_dirs:
        path = root / rel
        path.mkdir(parents=True, exist_ok=True, mode=mode)
        os.chmod(path, mode)  # mkdir's mode is filtered by the umask
    for step in plan.steps:
        _check_unchanged(root, step, plan.command)
        path = root / step.path
        if step.kind == "write":
            # A symlinked settings.json (dotfiles) keeps its link: the file it points to is rewritten.
            atomic.write_bytes(path.resolve() if path.is_symlink() else path, step.after or b"", step.mode)
        elif step.kind == "delete":
            path.unlink(missing_ok=True)
        else:
            dest = root / (step.dest or "")
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, dest)
    left = []
    for rel in plan.remove_dirs:
        path = root / rel
        if not path.is_dir() or path.is_symlink():
            continue
        for cache in sorted(path.rglob("__pycache__"), reverse=True):  # bytecode our own code left behind
            shutil.rmtree(cache, ignore_errors=True)
        try:
            path.rmdir()
        except OSError:
            left.append(Notice("left", rel, "holds files that are not the pack's; kept"))
    # Report the innermost directories: that is where the other files are; their parents stay because of them.
    return [n for n in left if not any(o.path.startswith(n.path + "/") for o in left)]


def _check_unchanged(root: Path, step: Step, command: str) -> None:
    path = root / step.path
    try:
        now: bytes | None = path.read_bytes()
    except FileNotFoundError:
        now = None
    if now != step.before:
        raise InstallError(f"{path}: changed while the plan was being applied; nothing more was written. "
                           f"Run `orchestra {command}` again to plan from the new state")
