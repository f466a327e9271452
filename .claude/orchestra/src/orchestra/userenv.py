"""The environment for a user's own command (a task's acceptance check), run from a hook or the CLI.

Hooks and the CLI run under `uv run --script`, which puts the script's cached environment first on PATH
and sets VIRTUAL_ENV to it. A command run with that environment would get the pack's Python, not the
project's: `python -m pytest` and `pytest` would run from an environment without the project's packages,
and `pip install` would install into it. What uv added for the script is taken out again.
Leaf module: imports nothing of ours.
"""

from __future__ import annotations

import os


def user_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    venv = env.get("VIRTUAL_ENV")
    if not venv or not env.get("UV_RUN_RECURSION_DEPTH"):
        return env  # not run by `uv run`: the environment is the user's own
    ours = {os.path.join(venv, "bin"), os.path.join(venv, "Scripts")}
    env["PATH"] = os.pathsep.join(part for part in env.get("PATH", "").split(os.pathsep) if part not in ours)
    del env["VIRTUAL_ENV"]
    depth = env.pop("UV_RUN_RECURSION_DEPTH")
    if depth.isdigit() and int(depth) > 1:  # Claude Code itself was started with `uv run`
        env["UV_RUN_RECURSION_DEPTH"] = str(int(depth) - 1)
    return env
