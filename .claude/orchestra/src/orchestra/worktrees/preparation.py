"""Making a new worktree ready to work in: copy the configured untracked files (never secrets unless
`copy_secrets`, never a FIFO, socket or device: opening one for reading can hang), then run the
configured setup command inside it. A marker file `.claude/state/worktrees/<name>.preparing` lives
from `git worktree add` until the preparation is done, so a worktree whose preparation failed or was
cut short is never reused as if it were ready.

The setup command runs to completion when the CLI or a sprint start creates the worktree. When a
delegation creates it (inside a hook, under a hook's time limit) it runs detached, and its log ends
with `orchestra: setup exited <code>` once it is done. Either way the log is
`.claude/state/worktrees/<name>.setup.log`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from .. import paths
from .config import WorktreeConfig

EXIT_LINE = "orchestra: setup exited"


def special(path: Path) -> bool:
    """A FIFO, socket or device: not a regular file, directory or symlink (a symlink is copied as one)."""
    return not path.is_symlink() and not path.is_dir() and not path.is_file()


def copy_files(project: Path, worktree: Path, cfg: WorktreeConfig) -> dict[str, list[str]]:
    """Copy `cfg.copy` (files or globs, project-relative) into the worktree where it has nothing yet.
    Unless `copy_secrets`, every path the security policy calls a secret is left out, also one inside a
    copied directory, and listed in `skipped_secrets`. The worktree root inside a copied directory is left out. FIFOs, sockets and devices are never opened:
    they are left out and listed in `skipped_special`."""
    import shutil

    copied: list[str] = []
    secrets: list[str] = []
    specials: list[str] = []
    if not cfg.copy:
        return {"copied": copied, "skipped_secrets": secrets, "skipped_special": specials}
    from ..security.policy import load as load_policy

    policy = load_policy(project)

    def secret(path: Path) -> bool:
        relative = path.relative_to(project).as_posix()
        if cfg.copy_secrets or not policy.secrets.match(relative.lower(), str(path)):
            return False
        if relative not in secrets:
            secrets.append(relative)
        return True

    def unusual(path: Path) -> bool:
        if not special(path):
            return False
        specials.append(path.relative_to(project).as_posix())
        return True

    def worktrees(path: Path) -> bool:
        """The worktree root met inside a copied directory: copying it would copy the new worktree into itself."""
        return not path.is_symlink() and path.is_dir() and path.resolve() == cfg.root

    def left_out(directory: str, names: list[str]) -> set[str]:
        return {name for name in names if worktrees(Path(directory) / name) or secret(Path(directory) / name)
                or unusual(Path(directory) / name)}

    for pattern in cfg.copy:
        for source in sorted(project.glob(pattern)):
            relative = source.relative_to(project)
            if relative.parts and relative.parts[0] in (".git", ".claude") or source.is_relative_to(cfg.root):
                continue
            if secret(source) or unusual(source):
                continue
            target = worktree / relative
            if target.exists():
                continue
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                if source.is_dir():
                    shutil.copytree(source, target, symlinks=True, ignore=left_out)
                else:
                    shutil.copy2(source, target, follow_symlinks=False)
            except OSError as exc:
                raise OSError(f"cannot copy {relative.as_posix()} (`copy:` of .claude/worktrees.yaml): {exc}") from exc
            copied.append(relative.as_posix())
    return {"copied": copied, "skipped_secrets": sorted(secrets), "skipped_special": sorted(set(specials))}


def state_subdir(project: Path) -> Path:
    """`.claude/state/worktrees/`: setup logs and the lock that serialises creation."""
    directory = paths.ensure_state_dir(project) / "worktrees"
    directory.mkdir(exist_ok=True, mode=0o700)
    return directory


def preparing(project: Path, name: str) -> Path:
    """The marker of a worktree whose preparation has not finished: JSON {pid} while it runs, {error}
    once it failed and could not be rolled back."""
    return state_subdir(project) / f"{name}.preparing"


def setup_log(project: Path, name: str) -> Path:
    return state_subdir(project) / f"{name}.setup.log"


def run_setup(project: Path, worktree: Path, name: str, cfg: WorktreeConfig, *, wait: bool) -> dict[str, Any] | None:
    """Run `cfg.setup` in the worktree: to completion (`wait`) or detached. None when there is none."""
    import subprocess

    if not cfg.setup:
        return None
    log = setup_log(project, name)
    if not wait:
        subprocess.Popen([sys.executable, "-m", __name__, str(worktree), str(project), str(log), str(cfg.setup_timeout),
                          cfg.setup], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True, cwd=worktree)
        return {"command": cfg.setup, "log": str(log), "status": "running"}
    code = execute(worktree, project, log, cfg.setup_timeout, cfg.setup)
    return {"command": cfg.setup, "log": str(log), "status": "passed" if code == 0 else "failed", "exit": code}


def execute(worktree: Path, project: Path, log: Path, timeout: float, command: str) -> int:
    """Run the setup command with its output in `log`; the log's last line gives the exit code.

    The command runs in a session of its own, so a timeout stops everything it started (the shell's
    children and their children too), and nothing it started writes after that last line."""
    import contextlib
    import signal
    import subprocess

    from ..userenv import user_environment

    env = {**user_environment(), "ORCHESTRA_WORKTREE": str(worktree), "ORCHESTRA_PROJECT_DIR": str(project)}
    with open(log, "w", encoding="utf-8") as out:
        out.write(f"$ {command}\n")
        out.flush()
        proc = subprocess.Popen(command, shell=True, cwd=worktree, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the session's id is the shell's pid
            proc.wait()
            out.write(f"orchestra: setup stopped after {timeout:g}s (setup_timeout_seconds)\n")
            code = 124
        out.write(f"{EXIT_LINE} {code}\n")
    return code


if __name__ == "__main__":  # the detached setup run: worktree, project, log, timeout, command
    where, project_dir, log_file, seconds, setup_command = sys.argv[1:6]
    raise SystemExit(execute(Path(where), Path(project_dir), Path(log_file), float(seconds), setup_command))
