"""Worktree settings from the optional `.claude/worktrees.yaml` (schema: schemas/worktrees.json).

```yaml
root: .worktrees                 # where worktrees go; relative to the project root, or absolute
base: main                       # branch new worktree branches start from (default: the checked-out one)
copy: [.env.example, .tool-versions]   # files or globs copied from the project into a new worktree
copy_secrets: false              # copy files the security policy calls secrets (.env, *.pem, ...) too
setup: uv sync                   # command run in a new worktree (shell; ORCHESTRA_WORKTREE is its path)
setup_timeout_seconds: 600
lock_ttl_seconds: 28800          # a lock older than this is stale whoever holds it
```
Without the file: `.worktrees/` under the project root, the checked-out branch as base, nothing
copied, no setup command, locks stale after 8 hours. The file is read only when a worktree is
created or inspected, never on an ordinary tool call.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import atomic, paths
from ..record import Record

CONFIG_NAME = "worktrees.yaml"
DEFAULT_ROOT = paths.WORKTREE_ROOT


class WorktreeConfigError(ValueError):
    """`.claude/worktrees.yaml` is malformed; the message names file:line and what to change."""


class WorktreeConfig(Record):
    root: Path
    base: str | None = None
    copy: tuple[str, ...] = ()
    copy_secrets: bool = False
    setup: str | None = None
    setup_timeout: float = 600.0
    lock_ttl: float = 8 * 3600.0
    source: str = "built-in defaults"


def config_file(root: Path) -> Path:
    return paths.claude_dir(root) / CONFIG_NAME


def _raw(path: Path, root: Path) -> dict[str, Any]:
    """The parsed file, from a JSON cache in the state dir while the file is unchanged (delegations read
    it; parsing YAML and checking the schema costs more than the rest of the hook)."""
    stat = path.stat()
    key = f"{stat.st_mtime_ns}:{stat.st_size}"
    cache = paths.state_dir(root) / paths.WORKTREE_CACHE  # `paths.configured_worktree_root` reads it too
    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if cached.get("key") == key:
            return cached["raw"]
    except (OSError, ValueError, KeyError, AttributeError):
        pass
    from ..yamlcheck import read_mapping, validate_yaml

    raw, text = read_mapping(path, WorktreeConfigError)
    validate_yaml(raw, text, path, "worktrees", WorktreeConfigError)
    atomic.write_cache(cache, json.dumps({"key": key, "raw": raw}))
    return raw


def load(root: Path) -> WorktreeConfig:
    """The project's worktree settings (defaults when there is no `.claude/worktrees.yaml`)."""
    path = config_file(root)
    raw = _raw(path, root) if path.exists() else {}
    where = Path(raw.get("root") or DEFAULT_ROOT).expanduser()
    where = (where if where.is_absolute() else Path(root) / where).resolve()
    if Path(root).resolve().is_relative_to(where):
        line = next((n for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                     if text.startswith("root:")), 1)
        raise WorktreeConfigError(f"{path}:{line}: root: {raw['root']} is the project itself or a directory above "
                                  "it; worktrees need a directory of their own (the default is .worktrees)")
    base = WorktreeConfig(root=Path(root))
    return WorktreeConfig(
        root=where,
        base=raw.get("base"),
        copy=tuple(raw.get("copy") or ()),
        copy_secrets=bool(raw.get("copy_secrets", False)),
        setup=raw.get("setup") or None,
        setup_timeout=float(raw.get("setup_timeout_seconds", base.setup_timeout)),
        lock_ttl=float(raw.get("lock_ttl_seconds", base.lock_ttl)),
        source=str(path) if path.exists() else base.source,
    )
