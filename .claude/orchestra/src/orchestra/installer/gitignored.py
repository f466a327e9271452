"""Files the pack keeps out of git (its `.gitignore`) that git tracks all the same: an earlier pack
did not ignore its bytecode and the installer's backups, so a repo that committed after installing it
tracks them, and an ignore rule never untracks a file. A restore point of `.mcp.json` can hold secrets.

And the other way round: pack files a rule of the project's own (`bin/`, `static/`) keeps out of git, so
a clone lacks them while the settings it shares still run them. The install manifest too (`*.json`): a
clone without it cannot be uninstalled."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

from .source import BACKUP_DIR, CODE_DIR, MANIFEST


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


def ignored(root: Path, files: Iterable[str]) -> dict[str, list[str]]:
    """Pack files (of `files`, and the install manifest) git leaves out of a commit, by the rule that does it
    (`.gitignore:3: bin/`). None outside git, nor when it leaves out every one (a `.claude/` the repo keeps
    to itself on purpose)."""
    files = sorted({*files, MANIFEST})
    try:
        proc = subprocess.run(["git", "-C", str(root), "check-ignore", "-v", "-z", "--stdin"],
                              input="\0".join(files).encode(), capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return {}
    fields = proc.stdout.decode("utf-8", "replace").split("\0")
    found: dict[str, list[str]] = {}
    for source, line, pattern, path in zip(*[iter(fields)] * 4, strict=False):
        if not pattern.startswith("!"):  # -v names a rule that takes a path back too
            found.setdefault(f"{source}:{line}: {pattern}", []).append(path)
    return {} if proc.returncode != 0 or sum(map(len, found.values())) == len(files) else found


def ignored_advice(found: dict[str, list[str]]) -> str:
    rules, files, manifest = [], False, False
    for rule, paths in found.items():
        pack = [p for p in paths if p != MANIFEST]
        take_back = []
        if pack:
            common = os.path.commonpath(pack)
            take_back += [f"`!/{common}`"] if len(pack) == 1 else [f"`!/{common}/`", f"`!/{common}/**`"]
        if MANIFEST in paths and not (len(pack) > 1 and MANIFEST.startswith(common + "/")):
            take_back.append(f"`!/{MANIFEST}`")
        what = ["the install manifest"] if MANIFEST in paths else []
        what += [f"{len(pack)} pack file{'s' if len(pack) > 1 else ''}"] if pack else []
        shown = ", ".join(([MANIFEST] if MANIFEST in paths else []) + pack[:3])
        shown += " ..." if len(pack) > 3 else ""
        rules.append(f"{rule} keeps {' and '.join(what)} out of git ({shown}); add {' and '.join(take_back)} "
                     "after it")
        files, manifest = files or bool(pack), manifest or MANIFEST in paths
    tail = []
    if files:
        tail.append("A clone of the repo lacks them while its settings still run them")
    if manifest:
        tail.append("A clone without the manifest cannot be uninstalled (`orchestra uninstall` refuses it: "
                    "nothing tells the pack's files from yours, nor what the install replaced)")
    return "; ".join(rules) + ". " + ". ".join(tail)
