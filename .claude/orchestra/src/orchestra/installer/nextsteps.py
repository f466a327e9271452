"""What to do after an install that changed something: check it, brief the main thread, start a session."""

from __future__ import annotations

import shlex
from pathlib import Path

from .orgchecks import append_snippet, memory_file_about_orchestra
from .source import CODE_DIR


def next_steps(root: Path, clone: Path) -> list[str]:
    """The steps, each one line; `clone` is the checkout the pack was installed from."""
    steps = [f"check the install: `{shlex.quote(str(root / CODE_DIR / 'bin' / 'orchestra'))} doctor`"]
    if memory_file_about_orchestra(root) is None:
        steps.append("tell the main thread to work through the teams (CLAUDE.md does not mention Orchestra): "
                     + append_snippet(root, clone))
    steps.append(f"start Claude Code at the repo root (`cd {shlex.quote(str(root))} && claude`) and choose "
                 "\"Use this MCP server\" when it asks about `orchestra`")
    return steps
