"""Files the pack keeps out of git (its `.gitignore`) that git tracks all the same: an earlier pack
did not ignore its bytecode and the installer's backups, so a repo that committed after installing it
tracks them, and an ignore rule never untracks a file. A restore point of `.mcp.json` can hold secrets."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .source import BACKUP_DIR, CODE_DIR


def tracked(root: Path) -> list[str]:
    """Paths under the pack's folder that git tracks and the pack's `.gitignore` keeps out (none outside git)."""
    try:
        proc = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--", CODE_DIR], capture_output=True,
                              timeout=30, check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return []
    if proc.returncode != 0:
        return []
    paths = [p for p in proc.stdout.decode("utf-8", "replace").split("\0") if p]
    return [p for p in paths if _is_backup(p) or _is_bytecode(p)]


def advice(paths: list[str]) -> str:
    kinds = [what for what, found in (
        ("the installer's backups (a restore point of .mcp.json can hold secrets)",
         any(map(_is_backup, paths))),
        ("bytecode (__pycache__/)", any(map(_is_bytecode, paths)))) if found]
    return (f"git tracks {len(paths)} file{'s' if len(paths) > 1 else ''} the pack keeps out of git: "
            f"{' and '.join(kinds)}, committed while an earlier pack did not ignore them; untrack them with "
            f"`git rm -r -q --cached {CODE_DIR} && git add {CODE_DIR}` and commit")


def _is_backup(path: str) -> bool:
    return path.startswith(BACKUP_DIR + "/")


def _is_bytecode(path: str) -> bool:
    return "__pycache__" in path.split("/")
