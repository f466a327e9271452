"""The values Claude Code 2.1.328 takes for agent frontmatter keys, and the hooks it can place: what it would
drop or refuse in an agent file, for `orchestra teams check` (through `agentfiles.agent_problems`)."""

from __future__ import annotations

import difflib
import re
from typing import Any

COLORS = ("red", "blue", "green", "yellow", "purple", "orange", "pink", "cyan")
EFFORTS = ("low", "med", "medium", "high", "xhigh", "max")  # `med` is read as medium
PERMISSION_MODES = ("acceptEdits", "auto", "bypassPermissions", "default", "dontAsk", "plan", "manual")
AUTO_COMPACT_MIN = 100_000
# Hook events of 2.1.328; hooks of the two guard events it cannot place keep the whole agent from loading.
HOOK_EVENTS = (
    "PreToolUse", "PostToolUse", "PostToolUseFailure", "PostToolBatch", "Notification", "UserPromptSubmit",
    "UserPromptExpansion", "SessionStart", "SessionEnd", "Stop", "StopFailure", "SubagentStart", "SubagentStop",
    "PreCompact", "PostCompact", "PreModelSwitch", "PostModelSwitch", "PermissionRequest", "PermissionDenied", "Setup",
    "TeammateIdle", "TaskCreated", "TaskCompleted", "Elicitation", "ElicitationResult", "ConfigChange",
    "WorktreeCreate", "WorktreeRemove", "InstructionsLoaded", "CwdChanged", "FileChanged", "DirectoryAdded",
    "MessageDisplay",
)
GUARD_EVENTS = frozenset({"PreToolUse", "PermissionRequest"})
UNSCANNED = ("metadata", "mcpServers", "lspServers")  # keys whose contents Claude Code does not search for hooks
UNLOADED = "; Claude Code 2.1.328 does not load this agent at all, so a delegation to it fails"
YAML11_BOOLEANS = frozenset({"yes", "no", "on", "off", "y", "n"})


def _whole(value: Any, least: int) -> bool:
    """A whole number of at least `least`, written as a number or as digits (Claude Code reads `'12'` as 12)."""
    if isinstance(value, str) and re.fullmatch(r"\s*\+?\d+\s*", value):
        value = int(value)
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _effort(value: Any) -> bool:
    """A level in any case (`med` for medium), or a number (Claude Code parses `'3'`, and a float, as an integer)."""
    if isinstance(value, bool) or value is None:
        return False
    return isinstance(value, int | float) or str(value).lower() in EFFORTS or bool(re.match(r"\s*[+-]?\d", str(value)))


# Values Claude Code 2.1.328 takes for these keys; any other it drops (a debug-log line, none for `color`), so the
# agent runs as if the key were not there: (test, what it takes).
AGENT_VALUES: dict[str, tuple[Any, str]] = {
    "color": (lambda v: v in COLORS, f"a color Claude Code 2.1.328 shows ({', '.join(COLORS)})"),
    "effort": (_effort, "low, medium, high, xhigh, max or a whole number"),
    "permissionMode": (lambda v: v in PERMISSION_MODES, f"{', '.join(PERMISSION_MODES[:-1])} or {PERMISSION_MODES[-1]}"),
    "maxTurns": (lambda v: _whole(v, 1), "a whole number of at least 1"),
    "memory": (lambda v: v in ("user", "project", "local"), "user, project or local"),
    "isolation": (lambda v: v in ("worktree", "remote"), "worktree or remote"),
    "background": (lambda v: isinstance(v, bool) or v in ("true", "false"), "true or false"),
    "omitClaudeMd": (lambda v: isinstance(v, bool) or v in ("true", "false"), "true or false"),
    "autoCompactWindow": (lambda v: _whole(v, AUTO_COMPACT_MIN), f"a whole number of at least {AUTO_COMPACT_MIN}"),
}


def value_problem(key: str, value: Any) -> str | None:
    """Why Claude Code 2.1.328 would drop `value` of agent frontmatter key `key`; None when it takes it."""
    test, takes = AGENT_VALUES[key]
    if test(value):
        return None
    if key == "color":
        return f"color: {value!r} is not {takes}; it is ignored"
    return f"{key}: {value!r} is not {takes}; Claude Code 2.1.328 ignores it"


def _holds_guards(value: Any, depth: int = 3) -> bool:
    """Whether `value` holds PreToolUse or PermissionRequest hooks (an event key with something under it, or a
    matcher with hooks), down to `depth` levels, as Claude Code 2.1.328 looks for them outside `hooks:`."""
    if isinstance(value, dict):
        if any(key in GUARD_EVENTS and item not in (None, []) for key, item in value.items()) or _matcher(value):
            return True
        return depth > 0 and any(_holds_guards(item, depth - 1) for item in value.values())
    return depth > 0 and isinstance(value, list) and any(_holds_guards(item, depth - 1) for item in value)


def _matcher(value: Any) -> bool:
    """A matcher entry (`matcher:` with `hooks:` under it, or hooks of a type) rather than a mapping of events."""
    if not isinstance(value, dict) or "matcher" not in value and any(key in HOOK_EVENTS for key in value):
        return False
    hooks = value.get("hooks")
    return bool(hooks) if isinstance(hooks, list) else isinstance(hooks, dict) and (
        "matcher" in value or isinstance(hooks.get("type"), str))


def hooks_problems(meta: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, problem) for hooks Claude Code 2.1.328 cannot place: PreToolUse or PermissionRequest hooks outside
    `hooks:`, or a `hooks:` not shaped as events to matcher lists, make it leave the whole agent unloaded (a guard
    it cannot apply may be what keeps the agent in bounds); an unknown event under `hooks:` it ignores."""
    found = [(str(key), f"{key}: PreToolUse/PermissionRequest hooks outside `hooks:`{UNLOADED}")
             for key, value in meta.items() if key not in ("hooks", *UNSCANNED)
             and (key in GUARD_EVENTS and value not in (None, []) or _holds_guards(value))]
    hooks = meta.get("hooks")
    if isinstance(hooks, list) and any(map(_matcher, hooks)) or _matcher(hooks):
        found.append(("hooks", f"hooks: a list of matchers where a mapping of event names to matcher lists "
                               f"belongs{UNLOADED}"))
    elif isinstance(hooks, dict):
        for event, matchers in hooks.items():
            where = f"hooks.{event}"
            if event not in HOOK_EVENTS:
                meant = difflib.get_close_matches(str(event), HOOK_EVENTS, n=1, cutoff=0.75)
                found.append((where, f"{where}: not a hook event of Claude Code 2.1.328 (it is ignored)"
                                     + (f"; write {meant[0]}" if meant else "")))
            elif not isinstance(matchers, list) and (event in GUARD_EVENTS and matchers is not None
                                                     or _holds_guards(matchers)):
                found.append((where, f"{where}: a mapping where a list of matchers (`- matcher: ...`) "
                                     f"belongs{UNLOADED}"))
    return found
