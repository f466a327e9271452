"""Refusals checked before planning: a target we may write into, paths that stay inside it, a usable uv."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from .errors import InstallError

# The hooks are `uv run --script` files with PEP 723 path sources, warmed with `uv sync --script`;
# 0.8 is the oldest uv line the pack's own build backend (uv_build>=0.8) belongs to. CI runs 0.13.
MIN_UV = (0, 8, 0)


def check_target(target: Path, uninstall: bool = False) -> Path:
    """The target's resolved root, or a refusal saying why it cannot take the pack (or, for `uninstall`,
    why nothing can be taken out of it)."""
    target = Path(target)
    if not target.exists():
        raise InstallError(f"{target}: no such directory; " + ("give the root of the project Orchestra is installed in"
                           if uninstall else f"create the project first (e.g. `git init {target}`)"))
    if not target.is_dir():
        raise InstallError(f"{target}: not a directory; give the root of the project to "
                           f"{'uninstall from' if uninstall else 'install into'}")
    root = target.resolve()
    if not uninstall:
        _utf8_path(root)
    claude = target / ".claude"
    if claude.is_symlink() and not _inside(claude.resolve(), root):
        if uninstall:
            raise InstallError(f"{claude}: a symlink to {claude.resolve()}, outside {root}; uninstalling would "
                               "change files there. Uninstall from the link's target if the pack is installed there")
        raise InstallError(f"{claude}: a symlink to {claude.resolve()}, outside {root}; installing would write "
                           "there. Replace the link with a directory (or install into the link's target)")
    if claude.exists() and not claude.is_dir():
        raise InstallError(f"{claude}: a file, not a directory, so Orchestra is not installed in {root}" if uninstall
                           else f"{claude}: a file, not a directory; move it aside and run the install again")
    return root


def _utf8_path(root: Path) -> None:
    """A project path holding a byte that is not UTF-8 (Python reads it as U+DC80..U+DCFF): uv writes the path
    into each script environment's .pth file, which Python reads as UTF-8, so no script could start there."""
    for index, char in enumerate(str(root)):
        if "\udc80" <= char <= "\udcff":
            raise InstallError(f"{root}: character {index + 1} of the path is the byte 0x{ord(char) - 0xdc00:02x}, "
                               "which is not UTF-8; Python cannot load the pack from there (uv writes the path into "
                               "each script's environment): rename the directory, then install")


def check_inside(root: Path, rel: str, is_file: bool = True) -> Path:
    """`root/rel`, refusing when a symlink on the way leads outside the target."""
    path = root / rel
    if not _inside(path.resolve(), root):
        link = next((p for p in reversed([path, *path.parents]) if p.is_relative_to(root) and p.is_symlink()
                     and not _inside(p.resolve(), root)), None)
        if link is None:
            raise InstallError(f"{path}: resolves to {path.resolve()}, outside {root}; Orchestra changes files "
                               "only inside the project")
        raise InstallError(f"{link}: a symlink to {link.resolve()}, outside {root}; Orchestra changes files only "
                           "inside the project: replace the link with a copy of what it points to, then run the "
                           "command again")
    if is_file and path.is_dir():
        raise InstallError(f"{path}: a directory where the pack has a file; move it aside and run the install again")
    blocking = None if path.parent.is_dir() else next(
        (p for p in path.parents if p.is_relative_to(root) and p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise InstallError(f"{blocking}: a file where the pack needs a directory (for {path.relative_to(root)}); "
                           "move it aside and try again")
    return path


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def uv_version(uv: str | None = None) -> tuple[int, ...]:
    uv = uv or shutil.which("uv")
    if uv is None:
        raise InstallError("uv: not found on PATH; the hooks run through it. Install it "
                           "(https://docs.astral.sh/uv/getting-started/installation/) and run the install again")
    try:
        out = subprocess.run([uv, "--version"], capture_output=True, text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise InstallError(f"{uv}: could not run `uv --version` ({exc})") from None
    match = re.search(r"\buv (\d+)\.(\d+)\.(\d+)", out)
    if match is None:
        raise InstallError(f"{uv}: `uv --version` printed {out.strip()!r}, not a uv version")
    return tuple(int(part) for part in match.groups())


def check_uv() -> tuple[int, ...]:
    found = uv_version()
    if found < MIN_UV:
        raise InstallError(f"uv {'.'.join(map(str, found))} is too old: the hooks need uv "
                           f"{'.'.join(map(str, MIN_UV))} or newer. Run `uv self update` (or upgrade uv the way "
                           "you installed it), then run the install again")
    return found
