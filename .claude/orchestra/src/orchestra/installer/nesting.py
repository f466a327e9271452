"""Other copies of the pack Claude Code meets from a project. Claude Code 2.1.328 reads project settings (the
hooks) only in the directory it starts in, but lists the agents and commands of every `.claude/` above it
(seen with the pinned CLI): so of two installs one inside the other, only the one Claude Code starts in
runs, each with its own state. A `.claude/` that is the user's config dir is another matter: hooks in its
settings.json run in every project, and block every prompt where the project has no pack."""

from __future__ import annotations

import os
from pathlib import Path

from .. import wiring
from ..paths import PLUGIN_NAME
from . import settings
from .errors import InstallError


def user_config_dirs() -> set[Path]:
    """The user's Claude Code config dirs: `$CLAUDE_CONFIG_DIR` when set, and `~/.claude`."""
    found = {Path.home() / ".claude"}
    if os.environ.get("CLAUDE_CONFIG_DIR"):
        found.add(Path(os.environ["CLAUDE_CONFIG_DIR"]))
    return {path.resolve() for path in found}


def check_not_user_config(root: Path) -> None:
    """Refuse a target whose `.claude/` is the user's config dir (the home directory, usually)."""
    claude = (root / ".claude").resolve()
    if claude in user_config_dirs():
        raise InstallError(f"{root / '.claude'} is your Claude Code user config dir: its settings.json applies to "
                           "every project, so the pack's hooks would run in all of them and block every prompt "
                           "in those that do not have the pack; install into the root of a project instead")


def has_pack(root: Path) -> bool:
    """Whether `root` has the pack: its hooks, or settings that wire them."""
    claude = root / ".claude"
    return (claude / "orchestra" / "hooks").is_dir() or any(
        wiring.wired_scripts(claude / name) for name in ("settings.json", "settings.local.json"))


def enclosing_installs(root: Path) -> list[Path]:
    """Directories above `root` that have the pack, nearest first (the user's config dir and the project
    `root` is a git worktree of are not other installs)."""
    users = user_config_dirs()
    main = _main_worktree(root)
    return [parent for parent in root.parents
            if parent != main and (parent / ".claude").resolve() not in users and has_pack(parent)]


def nested_advice(root: Path, outer: Path) -> str:
    return (f"{outer}, a directory above {root}, has Orchestra too. Claude Code runs the hooks of the directory "
            f"it starts in only: started in {root}, this one's hooks and state; started in {outer}, that one's, "
            "and no hook of this one. Started here it lists that one's agents and commands as well. Start "
            "Claude Code in the project you mean, or uninstall one of the two")


def enabled_plugin(root: Path) -> tuple[Path, str] | None:
    """The settings file Claude Code reads for `root` that turns the Orchestra plugin on, and its key there
    (`orchestra@claude-orchestra`); the first file that names the plugin decides."""
    for path in settings.scopes(root):
        plugins = settings.read_key(path, "enabledPlugins")
        named = [(key, on) for key, on in (plugins.items() if isinstance(plugins, dict) else ())
                 if key.split("@")[0] == PLUGIN_NAME]
        if named:
            return (path, named[0][0]) if named[0][1] is True else None
    return None


def plugin_advice(path: Path, key: str) -> str:
    return (f"{path}: `enabledPlugins` turns the Orchestra plugin ({key}) on as well: where this install's hooks "
            "run, the plugin's copies stand aside, but both MCP servers run and write the same store, and both "
            f"sets of agents and commands are listed (`{PLUGIN_NAME}:<name>` beside `<name>`). Keep the two at one "
            f'version, or turn the plugin off here: `"enabledPlugins": {{"{key}": false}}` in '
            ".claude/settings.local.json")


def _main_worktree(root: Path) -> Path | None:
    """The main checkout whose linked git worktree `root` is (its `.git` is a file naming the gitdir)."""
    try:
        text = (root / ".git").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    gitdir = Path(text.removeprefix("gitdir:").strip())
    gitdir = gitdir if gitdir.is_absolute() else (root / gitdir)
    parts = gitdir.resolve().parts
    return Path(*parts[:parts.index(".git")]) if ".git" in parts else None
