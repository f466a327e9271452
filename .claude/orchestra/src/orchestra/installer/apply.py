"""Carry out a plan as one transaction: every step first checks the file still holds the bytes the plan
saw and a move never lands on an existing file; when a step fails, the steps already taken are undone
in reverse order (bytes, modes, moves, new directories), so the target is left as it was."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import atomic
from .errors import InstallError, Interrupted
from .plan import Notice, Plan, Step


def apply(plan: Plan) -> list[Notice]:
    """Apply `plan` in order; returns what had to be left in place (directories holding other files)."""
    root, done = plan.target, _Undo()
    doing = f"{root}: cannot start"
    try:
        for rel, mode in plan.make_dirs:
            doing = f"{root / rel}: cannot create the directory"
            done.make_dirs(root / rel, mode)
        for step in plan.steps:
            doing = _doing(root, step)
            _check_unchanged(root, step)
            done.take(root, step)
    except (InstallError, OSError) as exc:
        failed = done.rollback()
        again = f"run `orchestra {plan.command}` again"
        if failed:
            raise InstallError(f"{_reason(exc, doing)}; undoing the steps before it failed too "
                               f"({'; '.join(failed[:3])}), so {root} is partly changed: fix that, then {again}") from None
        if isinstance(exc, InstallError):  # the target is not what the plan saw
            raise InstallError(f"{exc}; nothing was changed. {again.capitalize()} to plan from the new state") from None
        raise InstallError(f"{_reason(exc, doing)}; nothing was changed") from None
    except KeyboardInterrupt:  # Ctrl-C: undone as a failed step is, instead of leaving half a pack
        failed = done.rollback()
        if failed:
            raise Interrupted(f"{root}: interrupted; undoing the steps already taken failed too "
                              f"({'; '.join(failed[:3])}): run `orchestra {plan.command}` again") from None
        raise Interrupted(f"{root}: interrupted; nothing was changed") from None
    return _remove_dirs(plan)


class _Undo:
    """The steps taken so far, each as the action that takes it back."""

    def __init__(self) -> None:
        self.actions: list[Callable[[], None]] = []

    def take(self, root: Path, step: Step) -> None:
        path = root / step.path
        if step.kind == "write":
            # A symlinked settings.json (dotfiles) keeps its link: the file it points to is rewritten.
            target = path.resolve() if path.is_symlink() else path
            self.make_dirs(target.parent)
            before = _Saved.of(target)
            _remove_leftover_temp_files(target)
            self._recorded(lambda: before.put_back(target),
                           lambda: atomic.write_bytes(target, step.after or b"", step.mode))
        elif step.kind == "delete":
            before = _Saved.of(path)
            self._recorded(lambda: before.put_back(path), lambda: path.unlink(missing_ok=True))
        else:
            dest = root / (step.dest or "")
            if os.path.lexists(dest):
                raise InstallError(f"{dest}: already exists, and a move never overwrites a file")
            self.make_dirs(dest.parent)
            os.replace(path, dest)
            self.actions.append(lambda: os.replace(dest, path))

    def _recorded(self, undo: Callable[[], None], change: Callable[[], None]) -> None:
        """Record `undo` before `change` runs: Ctrl-C in a write's closing fsync must not leave a changed file
        unrecorded. A change that fails (OSError) left the file as it was, and takes its record back."""
        self.actions.append(undo)
        try:
            change()
        except OSError:
            self.actions.pop()
            raise

    def make_dirs(self, path: Path, mode: int | None = None) -> None:
        missing = []
        while not path.is_dir() and path != path.parent:
            missing.append(path)
            path = path.parent
        for folder in reversed(missing):
            folder.mkdir()
            if mode is not None and folder == missing[0]:
                os.chmod(folder, mode)  # mkdir's mode is filtered by the umask
            self.actions.append(folder.rmdir)

    def rollback(self) -> list[str]:
        """Undo every step taken, newest first; what could not be undone."""
        failed = []
        for action in reversed(self.actions):
            try:
                action()
            except OSError as exc:
                failed.append(f"{exc.filename}: {exc.strerror}")
        self.actions.clear()
        return failed


@dataclass(frozen=True)
class _Saved:
    """A file as it was before a step: its bytes and mode, a symlink's target, or absent."""
    data: bytes | None
    mode: int = 0o644
    link: str | None = None

    @classmethod
    def of(cls, path: Path) -> _Saved:
        if path.is_symlink():
            return cls(None, link=os.readlink(path))
        try:
            return cls(path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
        except FileNotFoundError:
            return cls(None)

    def put_back(self, path: Path) -> None:
        if self.link is not None:
            path.unlink(missing_ok=True)
            os.symlink(self.link, path)
        elif self.data is None:
            path.unlink(missing_ok=True)
        else:
            atomic.write_bytes(path, self.data, self.mode)


def _remove_leftover_temp_files(path: Path) -> None:
    """The temp files `atomic.write_bytes` leaves beside `path` when an earlier install or uninstall was
    killed mid-write: the file itself was never replaced, so this step writes it again; they go now,
    instead of staying in the repo as untracked files."""
    prefix = f".{path.name}."
    for entry in os.scandir(path.parent):
        if entry.name.startswith(prefix) and entry.name.endswith(".tmp") and entry.is_file(follow_symlinks=False):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)


def _reason(exc: Exception, doing: str) -> str:
    return str(exc) if isinstance(exc, InstallError) else f"{doing} ({getattr(exc, 'strerror', None) or exc})"


def _doing(root: Path, step: Step) -> str:
    if step.kind == "move":
        return f"{root / step.path}: cannot move it to {root / (step.dest or '')}"
    return f"{root / step.path}: cannot {step.kind}"


def _check_unchanged(root: Path, step: Step) -> None:
    path = root / step.path
    try:
        now: bytes | None = path.read_bytes()
    except FileNotFoundError:
        now = None
    if now != step.before:
        raise InstallError(f"{path}: changed while the plan was being applied")


def _remove_dirs(plan: Plan) -> list[Notice]:
    left = []
    for rel in plan.remove_dirs:
        path = plan.target / rel
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
