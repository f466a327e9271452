"""Our entries in someone's `.claude/settings.json`: merge the hook wiring and status line in, take
them out again, and validate the result against the hook schema before anything is written.

A handler is ours when it runs a script under `.claude/orchestra/hooks/` (any pack version), so an
upgrade replaces stale entries instead of stacking new ones beside them; every other hook, permission,
env entry and key stays exactly where it was.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import wiring
from . import jsondoc, managed
from .errors import InstallError
from .source import is_our_statusline

HINT = "fix or remove .claude/settings.json, then run the install again"
UNINSTALL_HINT = "fix .claude/settings.json (an object whose `hooks` maps events to lists), then run the uninstall again"


@dataclass
class Merge:
    settings: dict[str, Any]
    owned: list[dict[str, Any]]  # {"event", "matcher"?, "handler"} for the manifest
    statusline: dict[str, Any] | None = None  # ours, when we set it
    displaced_statusline: Any = None  # the user's, when --statusline replaced it
    kept_statusline: bool = False
    notices: list[str] = field(default_factory=list)


def _hook_lists(settings: dict[str, Any], where: str, hint: str) -> dict[str, Any]:
    hooks = settings.get("hooks", {})
    if not isinstance(hooks, dict):
        raise InstallError(f"{where}: `hooks` is {jsondoc.json_type(hooks)}, not an object; {hint}")
    for event, groups in hooks.items():
        if not isinstance(groups, list):
            raise InstallError(f"{where}: hooks.{event} is not a list of matcher groups; {hint}")
    return hooks


def strip_hooks(hooks: dict[str, Any], drop_empty: bool = True) -> dict[str, Any]:
    """`hooks` without our handlers; groups and events that only held ours go too (keys keep their order)."""
    out: dict[str, Any] = {}
    for event, groups in hooks.items():
        kept_groups = []
        for group in groups:
            handlers = group.get("hooks") if isinstance(group, dict) else None
            if not isinstance(handlers, list):
                kept_groups.append(group)
                continue
            kept = [h for h in handlers if not (isinstance(h, dict) and wiring.is_ours(h))]
            if kept or not handlers:
                kept_groups.append({**group, "hooks": kept} if len(kept) != len(handlers) else group)
        if kept_groups or not groups or not drop_empty:
            out[event] = kept_groups
    return out


def merge(current: dict[str, Any], fragment: dict[str, list[dict[str, Any]]], statusline: dict[str, Any] | None,
          replace_statusline: bool, previously_displaced: Any = None, where: str = ".claude/settings.json") -> Merge:
    settings = copy.deepcopy(current)
    hooks = strip_hooks(_hook_lists(settings, where, HINT), drop_empty=False)
    owned = []
    for event, groups in fragment.items():
        hooks.setdefault(event, []).extend(copy.deepcopy(groups))
        for group in groups:
            owned += [{"event": event, **({"matcher": group["matcher"]} if "matcher" in group else {}),
                       "handler": handler} for handler in group["hooks"]]
    previous = current.get("hooks", {})
    hooks = {event: groups for event, groups in hooks.items() if groups or not previous.get(event, groups)}
    if hooks or "hooks" in settings:
        settings["hooks"] = hooks
    result = Merge(settings, owned, displaced_statusline=previously_displaced)
    if statusline is None:
        return result
    existing = settings.get("statusLine")
    if existing is None or is_our_statusline(existing):
        settings["statusLine"] = copy.deepcopy(statusline)
        result.statusline = statusline
    elif replace_statusline:
        result.displaced_statusline = existing
        settings["statusLine"] = copy.deepcopy(statusline)
        result.statusline = statusline
    else:
        result.kept_statusline = True
    return result


def unmerge(current: dict[str, Any], displaced_statusline: Any = None, where: str = ".claude/settings.json") -> dict[str, Any]:
    """`current` without our hooks and status line; the status line we displaced comes back."""
    settings = copy.deepcopy(current)
    if "hooks" in settings:
        hooks = strip_hooks(_hook_lists(settings, where, UNINSTALL_HINT))
        if hooks or not current["hooks"]:
            settings["hooks"] = hooks
        else:
            del settings["hooks"]
    if is_our_statusline(settings.get("statusLine")):
        if displaced_statusline is not None:
            settings["statusLine"] = displaced_statusline
        else:
            del settings["statusLine"]
    return settings


def has_ours(settings: dict[str, Any]) -> bool:
    return unmerge(settings) != settings


def scopes(root: Path) -> list[Path]:
    """The settings files Claude Code reads for `root`, highest precedence first: the project's local one,
    the project's, the user's."""
    config = Path(os.environ.get("CLAUDE_CONFIG_DIR") or Path.home() / ".claude")
    return [root / ".claude" / "settings.local.json", root / ".claude" / "settings.json", config / "settings.json"]


def read_key(path: Path, key: str) -> Any:
    """`key` of the settings file `path`; None when unset or when the file cannot be read (as Claude Code
    skips it)."""
    try:
        return jsondoc.read(path, "").data.get(key)
    except InstallError:
        return None


@dataclass(frozen=True)
class HooksOff:
    """A settings file Claude Code reads for the project whose `disableAllHooks` stops hooks from running."""

    path: Path
    value: Any
    stops_pack: bool  # the pack's hooks do not run because of it
    key: str = "disableAllHooks"
    managed: bool = False  # the organisation's managed settings: only whoever manages the machine changes them

    def describe(self) -> str:
        if self.key == "allowManagedHooksOnly":
            return (f'{self.path}: `"allowManagedHooksOnly": true` in the managed settings: Claude Code runs only '
                    "the hooks and status line those settings define, so none of the pack's (no tracking, no guards)")
        if self.managed:
            return (f'{self.path}: `"disableAllHooks": true` in the managed settings turns every hook off, so no hook '
                    "of the pack runs (no tracking, no guards)")
        if self.value is True:
            return (f'{self.path}: `"disableAllHooks": true` turns every hook off, so no hook of the pack runs '
                    "(no tracking, no guards)")
        shown = f'`"disableAllHooks": {json.dumps(self.value)[:40]}` is not true or false, so Claude Code rejects this '
        if self.stops_pack:
            return (f"{self.path}: {shown}whole file (`claude doctor` lists it under Invalid settings) and runs none of "
                    "the hooks it wires, the pack's included (no tracking, no guards)")
        return (f"{self.path}: {shown}whole file (`claude doctor` lists it under Invalid settings): it turns no hook "
                "off, and nothing else it sets applies")


def hooks_off(root: Path, project_wired: bool = True) -> list[HooksOff]:
    """The settings files whose `disableAllHooks` stops hooks in `root`. `true` turns every hook off, the pack's
    included; the first file that sets it to a boolean decides (seen with Claude Code 2.1.328: `false` in a file
    of higher precedence turns hooks back on). Any other value (`"yes"`, `1`, `"false"`) makes Claude Code
    reject that whole file, hooks and all (seen with 2.1.328), so it decides nothing. The managed settings come
    first: their `disableAllHooks` decides over every file, and their `allowManagedHooksOnly: true` keeps the
    pack's hooks from running too (see `managed`). `project_wired`: the
    project's settings.json wires the pack's hooks (an install; not a project that uses the plugin)."""
    found: list[HooksOff] = []
    for key in ("disableAllHooks", "allowManagedHooksOnly"):
        held = managed.setting(key, bool)
        if held is not None and held.value:
            found.append(HooksOff(held.path, True, True, key, managed=True))
    decided = managed.setting("disableAllHooks", bool) is not None  # a managed true or false beats every file
    for path in scopes(root):
        try:
            data = jsondoc.read(path, "").data
        except InstallError:
            continue  # a file Claude Code cannot read is skipped as a whole
        if "disableAllHooks" not in data:
            continue
        value = data["disableAllHooks"]
        if not isinstance(value, bool):
            project = project_wired and path == root / ".claude" / "settings.json"
            found.append(HooksOff(path, value, project or _wires_pack(data)))
        elif not decided:
            decided = True
            if value:
                found.append(HooksOff(path, True, True))
    return found


def _wires_pack(data: dict[str, Any]) -> bool:
    try:
        return has_ours({"hooks": data.get("hooks", {})})
    except InstallError:
        return False


def validate(settings: dict[str, Any], where: str, hint: str = HINT,
             subject: str = "the merged settings would not be") -> None:
    """Refuse settings Claude Code would reject or partly ignore (schemas/settings-fragment.json)."""
    import jsonschema

    from ..validation import load_schema

    validator = jsonschema.Draft202012Validator(load_schema("settings-fragment"))
    # dict.fromkeys: a value several branches of the schema reject (a handler that is not an object) is
    # named once, so the five shown are five different problems.
    problems = list(dict.fromkeys(
        f"{_where(error.absolute_path)}: {error.message}"
        for error in sorted(validator.iter_errors(settings), key=lambda e: list(map(str, e.absolute_path)))))
    if problems:
        listed = "; ".join(problems[:5])
        raise InstallError(f"{where}: {subject} valid for Claude Code ({listed}); {hint}")


def _where(parts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out or "<top>"
