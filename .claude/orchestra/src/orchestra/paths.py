"""Where things live: project root, pack dir, state dir and the state URL (stdlib only)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

STATE_URL_ENV = "ORCHESTRA_STATE_URL"
STATE_DIR_ENV = "ORCHESTRA_STATE_DIR"
PROJECT_ENV = "CLAUDE_PROJECT_DIR"
PLUGIN_ENV = "CLAUDE_PLUGIN_ROOT"  # set for a plugin's hooks only
MCP_SERVER = "orchestra"  # the MCP server's name in .mcp.json: its tools are mcp__orchestra__<tool>
PLUGIN_NAME = "orchestra"  # the plugin's name: the agents it ships are orchestra:<name>
PLUGIN_MCP_SERVER = f"plugin_{PLUGIN_NAME}_{MCP_SERVER}"  # the server's name when the plugin brings it

# src/orchestra/paths.py -> .claude/orchestra
PACK_DIR = Path(__file__).resolve().parents[2]
WORKTREE_ROOT = ".worktrees"  # where the pack makes worktrees unless `.claude/worktrees.yaml` sets a `root:`
WORKTREE_CACHE = "worktrees.cache.json"  # the parsed `.claude/worktrees.yaml`, in the state dir


def _git_toplevel(start: Path) -> Path | None:
    import subprocess  # here: hooks get CLAUDE_PROJECT_DIR and never need it, and it costs an import

    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=start, capture_output=True, text=True, timeout=5, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None


@lru_cache(maxsize=8)
def project_root(cwd: str | None = None) -> Path:
    """`CLAUDE_PROJECT_DIR` (`owning_project`) > a `.claude/` above cwd > git toplevel > cwd."""
    env = os.environ.get(PROJECT_ENV)
    if env:
        return owning_project(Path(env).resolve())
    start = Path(cwd or os.getcwd()).resolve()
    for candidate in (start, *start.parents):
        if (candidate / ".claude" / "orchestra").is_dir():
            return _main_checkout(candidate) or candidate
    top = _git_toplevel(start) or start
    return _main_checkout(top) or top


def owning_project(root: Path) -> Path:
    """The project of a Claude Code session started in `root` (its CLAUDE_PROJECT_DIR, the status line's
    `workspace.project_dir`): `root`, or the main checkout (`_main_checkout`) when `root` is one of the pack's
    worktrees, right inside that project's `.worktrees` or the root `.claude/worktrees.yaml` sets, so its hooks
    and status line use the state the `orchestra` CLI uses there. Any other worktree keeps its own directory.
    A few stats and file reads, no git process: every hook and status line comes this way."""
    main = _main_checkout(root)
    if main is None:
        return root
    try:
        parent = root.resolve().parent
        ours = parent == (main / WORKTREE_ROOT).resolve() or parent == configured_worktree_root(main)
        return main if ours else root
    except (OSError, ValueError):
        return root


def configured_worktree_root(project: Path) -> Path | None:
    """The `root:` of `project`'s `.claude/worktrees.yaml` as the pack last read it (`worktrees.config` keeps
    the parsed file in the state dir), None when it never read one that sets it. Until the pack reads the file
    again, a root changed since still counts: it holds the worktrees the pack made there."""
    import json  # here: only a session in a linked worktree comes this far

    try:
        cached = json.loads((state_dir(project) / WORKTREE_CACHE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    raw = cached.get("raw") if isinstance(cached, dict) else None
    where = raw.get("root") if isinstance(raw, dict) else None
    if not isinstance(where, str) or not where:
        return None
    where = Path(where).expanduser()
    return (where if where.is_absolute() else project / where).resolve()


def _main_checkout(root: Path) -> Path | None:
    """The main working tree when `root` is a linked git worktree (its `.git` is a file naming
    `<main>/.git/worktrees/<name>`) and the main tree is an Orchestra project: it carries the pack, or
    (the plugin form) Orchestra's state or teams.yaml. The worktree's state is then the main checkout's.
    A bare repository (`repo.git` beside its checkouts) has no main working tree: there it is the
    checkout of the same repository that holds `root` (as `<checkout>/.worktrees/<name>`)."""
    gitdir = _linked_gitdir(root)
    if gitdir is None or gitdir.parent.name != "worktrees":
        return None
    common = gitdir.parent.parent
    if common.name != ".git":
        return next((parent for parent in root.parents if _is_project(parent) and (linked := _linked_gitdir(parent))
                     and linked.parent.parent == common), None)
    return common.parent if _is_project(common.parent) else None


def _linked_gitdir(root: Path) -> Path | None:
    """The git directory a linked worktree's `.git` file names, None for anything else."""
    marker = root / ".git"
    if not marker.is_file():
        return None
    try:
        text = marker.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not text.startswith("gitdir:"):
        return None
    return (root / text[len("gitdir:"):].strip()).resolve()


def _is_project(root: Path) -> bool:
    claude = root / ".claude"
    return any((claude / part).exists() for part in ("orchestra", "state", "teams.yaml"))


def claude_dir(root: Path | None = None) -> Path:
    return (root or project_root()) / ".claude"


def state_dir(root: Path | None = None) -> Path:
    env = os.environ.get(STATE_DIR_ENV)
    if env:
        # A relative one is the project's, whatever the working directory (a subagent's is its worktree):
        # resolved against that, each hook and command would keep a store of its own.
        path = Path(env)
        return (path if path.is_absolute() else (root or project_root()) / path).resolve()
    return claude_dir(root) / "state"


def ensure_state_dir(root: Path | None = None) -> Path:
    """Create the runtime state dir (mode 0700) with a self-ignoring .gitignore."""
    path = state_dir(root)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_self_ignore(path)
    return path


def write_self_ignore(directory: Path) -> None:
    """A `.gitignore` holding `*` in `directory`, so git shows nothing in it. One left empty (its write cut
    short by a kill or a full disk: git would then show, and `git add -A` take, everything in the directory)
    is written again. Written whole or not at all; an OSError names the file."""
    ignore = directory / ".gitignore"
    try:
        if ignore.stat().st_size:
            return
    except FileNotFoundError:
        pass
    from . import atomic  # here: every hook comes this way, and finds the file written

    try:
        atomic.write_text(ignore, "*\n")
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(ignore)) from None


def state_url(root: Path | None = None) -> str:
    env = os.environ.get(STATE_URL_ENV)
    if env:
        return env
    return f"sqlite://{os.path.abspath(state_dir(root) / 'orchestration.db')}"  # sqlite:// + /abs/path


def audit_log(root: Path | None = None) -> Path:
    return state_dir(root) / "audit.jsonl"


def file_trouble(exc: OSError) -> str:
    """What went wrong with which file or directory (the state directory, teams.yaml, a worktree...)."""
    if exc.filename is None:
        return f"a file of the project cannot be used: {exc}"
    if isinstance(exc, FileExistsError):  # what `mkdir(exist_ok=True)` raises over a file
        return f"cannot make the directory {exc.filename}: a file of that name is in the way"
    return f"cannot make, read or write {exc.filename}: {exc.strerror or exc.__class__.__name__}"
