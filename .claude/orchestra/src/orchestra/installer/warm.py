"""Build the uv environments of an installed repo's scripts now, so the first real hook is not the one
that pays for resolving and installing the package (uv keeps one environment per script path)."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .plan import Notice

# Unbuilt, a hook's `uv run --script` tries the index itself, and exits 2 where it cannot reach it: Claude
# Code takes that for a hook blocking the prompt or tool call it ran for.
UNBUILT = ("until it is built, each run of the script tries the package index itself and, where it cannot reach "
           "it, fails, blocking the prompt or tool call its hook runs for; once uv can reach the index, run the "
           "install again (it builds what is missing)")

INTERRUPTED = "the scripts' uv environments not all built: interrupted"


def warm(root: Path, scripts: list[str], workers: int = 6, built_first: bool = False) -> list[Notice]:
    """`uv sync --script` each script; a failure is reported, not fatal. Without a package index (offline),
    the environment is built from what uv's cache holds: built once, the hooks then run without reaching
    the index at all. `built_first` (an install that changed nothing): try the cache first, so environments
    built before cost no index round trip."""
    def run(rel: str, offline: bool) -> subprocess.CompletedProcess:
        return subprocess.run(["uv", "sync", "--quiet", *(["--offline"] if offline else []), "--script",
                               str(root / rel)], capture_output=True, text=True, timeout=600, check=False, cwd=root)

    def sync(rel: str) -> Notice | None:
        try:
            first = run(rel, offline=built_first)
            if first.returncode == 0:
                return None
            second = run(rel, offline=not built_first)
        except (OSError, subprocess.SubprocessError) as exc:
            return Notice("left", rel, f"environment not built ({exc}); {UNBUILT}")
        if second.returncode == 0:
            return None
        online = second if built_first else first  # why the index could not be used says the most
        reason = (online.stderr.strip().splitlines() or ["uv sync failed"])[-1].strip()
        return Notice("left", rel, f"environment not built ({reason}); {UNBUILT}")

    # The first script alone: it builds the package wheel every other script then reuses from uv's cache.
    # The rest mostly wait on index revalidation, not the CPU, hence more workers than cores.
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        first = [sync(scripts[0])] if scripts else []
        rest = list(pool.map(sync, scripts[1:]))
    except KeyboardInterrupt:  # Ctrl-C: the files are in place; say so, and what is left to build
        pool.shutdown(cancel_futures=True)
        return [Notice("left", ".claude/orchestra/hooks", f"{INTERRUPTED}; {UNBUILT}")]
    pool.shutdown()
    return [n for n in first + rest + [compile_package(root)] if n is not None]


def compile_package(root: Path) -> Notice | None:
    """Write the package's bytecode now. Hooks import it on every tool call; where the environment sets
    PYTHONDONTWRITEBYTECODE, Python never caches it itself and every hook would compile from source."""
    src = root / ".claude" / "orchestra" / "src"
    try:
        proc = subprocess.run(["uv", "run", "--quiet", "--no-project", "python", "-m", "compileall", "-q", str(src)],
                              capture_output=True, text=True, timeout=300, check=False, cwd=root)
    except (OSError, subprocess.SubprocessError) as exc:
        return Notice("left", ".claude/orchestra/src", f"bytecode not compiled ({exc})")
    if proc.returncode != 0:
        return Notice("left", ".claude/orchestra/src", "bytecode not compiled (compileall failed)")
    return None
