"""The pack as the installer sees it: which files a checkout ships, with what bytes and modes, plus
the hook wiring, status line, MCP server entry and version that go with them."""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from .. import wiring
from ..paths import MCP_SERVER, PACK_DIR
from .errors import InstallError

# The checkout this package runs from: a clone of the repo, `uvx --from` of it, or an installed repo.
SOURCE_ROOT = PACK_DIR.parent.parent
PACK_TREES = (".claude/agents", ".claude/commands", ".claude/skills", ".claude/orchestra")
CODE_DIR = ".claude/orchestra"  # the pack's code: hooks, package, CLI; it runs as one version or not at all
MANIFEST = ".claude/orchestra/install-manifest.json"
BACKUP_DIR = ".claude/orchestra/backup"
IGNORE = ".claude/orchestra/.gitignore"  # keeps the backups and the bytecode out of git
TEAMS = ".claude/teams.yaml"
SETTINGS = ".claude/settings.json"
LOCAL_SETTINGS = ".claude/settings.local.json"  # the project's settings kept out of git
MCP_CONFIG = ".mcp.json"
STATE_DIR = ".claude/state"
SERVER_NAME = MCP_SERVER
# Build and tool caches appear inside the pack while it runs; they are never part of it.
_SKIP_DIRS = {"__pycache__", ".venv", ".pytest_cache", ".ruff_cache", ".mypy_cache", "build", "dist"}
_SKIP_SUFFIXES = (".pyc", ".pyo", ".egg-info", ".swp")
_SKIP_NAMES = {".DS_Store", "uv.lock"}  # a lock uv may leave when run inside the pack dir


@dataclass(frozen=True)
class PackFile:
    rel: str  # posix path relative to the repository root, e.g. ".claude/agents/qa/tester.md"
    data: bytes
    mode: int
    kind: Literal["pack", "config"] = "pack"  # config (teams.yaml) is only written where absent


@dataclass(frozen=True)
class Pack:
    root: Path
    version: str
    files: tuple[PackFile, ...]
    hooks: dict[str, list[dict[str, Any]]]
    statusline: dict[str, Any] | None

    def file(self, rel: str) -> PackFile | None:
        return next((f for f in self.files if f.rel == rel), None)

    def scripts(self) -> list[str]:
        """Pack files that are uv scripts (a PEP 723 block): hooks, bin/orchestra, the status line."""
        return [f.rel for f in self.files if b"\n# /// script" in b"\n" + f.data[:2000]]


def mcp_server_entry(root_expr: str = "${CLAUDE_PROJECT_DIR:-.}", windows: bool = os.name == "nt") -> dict[str, Any]:
    """The `orchestra` MCP server (stdio). `.mcp.json` needs the `:-.` default, a plugin passes its root.
    `bin/orchestra-mcp` runs `orchestra mcp` in uv's environment, as the process Claude Code started (README,
    "The end of a session"). Windows has no `sh`, and there Claude Code ends a server by closing its stdin,
    which reaches it through `uv run` at once."""
    bin_dir = f"{root_expr}/.claude/orchestra/bin"
    if windows:
        return {"type": "stdio", "command": "uv", "args": ["run", "--quiet", "--script", f"{bin_dir}/orchestra", "mcp"]}
    return {"type": "stdio", "command": "sh", "args": [f"{bin_dir}/orchestra-mcp"]}


def is_our_server(entry: Any) -> bool:
    if not isinstance(entry, dict):
        return False
    args = entry.get("args")
    return any(".claude/orchestra/bin/orchestra" in str(a)
               for a in [entry.get("command"), *(args if isinstance(args, list) else [])])


def is_our_statusline(value: Any) -> bool:
    return isinstance(value, dict) and ".claude/orchestra/" in str(value.get("command", ""))


def load_pack(root: Path = SOURCE_ROOT, files: bool = True) -> Pack:
    """The pack in checkout `root`; without `files`, only what wires it (an installed repo rewiring itself)."""
    root = Path(root).resolve()
    pack_dir = root / ".claude" / "orchestra"
    if not (pack_dir / "hooks").is_dir():
        raise InstallError(f"{root}: not an Orchestra checkout (no .claude/orchestra/hooks); install from a "
                           "clone: `uvx --from <path of the clone> orchestra install TARGET`, or `--source <clone>` "
                           "(`uvx --from git+URL` installs the package without the pack)")
    found: list[PackFile] = []
    installed = _installed_files(root) if files else None
    if installed is not None:
        found = [_pack_file(root, root / rel, kind) for rel, kind in installed.items()]
    elif files:
        found = [_pack_file(root, path) for path in _walk(root)]
        teams = _teams_file(root)
        if teams is not None:
            found.append(teams)
    return Pack(root, _version(pack_dir), tuple(sorted(found, key=lambda f: f.rel)),
                wiring.hooks_block(wiring.PROJECT_VAR, pack_dir / "hooks"), _statusline(root))


def _walk(root: Path) -> list[Path]:
    found = []
    for tree in PACK_TREES:
        base = root / tree
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            rel = PurePosixPath(path.relative_to(root).as_posix())
            if not path.is_file() or _skipped(rel):
                continue
            found.append(path)
    return found


def _installed_files(root: Path) -> dict[str, Literal["pack", "config"]] | None:
    """In a repo the pack was installed into, the pack is what the manifest lists (path -> kind), not the
    user's agents; and only while it is whole and unchanged: otherwise installing from it would pass the
    user's edits on as the pack's, or leave out the files a file of the user's kept from being installed."""
    manifest = root / MANIFEST
    if not manifest.is_file():
        return None
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        listed = {rel: (entry["sha256"], "config" if entry.get("kind") == "config" else "pack")
                  for rel, entry in data["files"].items()}
        left_out = [str(rel) for rel in data.get("not_installed", [])]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise InstallError(f"{manifest}: not a readable install manifest; install from a clone of the repository "
                           "(or `uvx --from <repo>`)") from None
    changed = {rel: _changed(root / rel, digest) for rel, (digest, _) in sorted(listed.items())}
    problems = [f"{rel} ({how})" for rel, how in changed.items() if how]
    problems += [f"{rel} (not installed here: a file of yours took its place)" for rel in left_out]
    if problems:
        more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise InstallError(f"{root}: the pack installed here is not the pack as shipped: {', '.join(problems[:5])}"
                           f"{more}. Install from a clone of the repository (or `uvx --from <repo>`) instead")
    return {rel: kind for rel, (_, kind) in sorted(listed.items())}


def _changed(path: Path, digest: str) -> str | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return "missing"
    return None if hashlib.sha256(data).hexdigest() == digest else "edited"


def _skipped(rel: PurePosixPath) -> bool:
    text = rel.as_posix()
    if text == MANIFEST or text.startswith(BACKUP_DIR + "/"):
        return True
    if any(part in _SKIP_DIRS or part.endswith(_SKIP_SUFFIXES) for part in rel.parts[:-1]):
        return True
    return rel.name in _SKIP_NAMES or rel.name.endswith(_SKIP_SUFFIXES)


def _pack_file(root: Path, path: Path, kind: Literal["pack", "config"] = "pack", rel: str | None = None) -> PackFile:
    mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
    return PackFile(rel or path.relative_to(root).as_posix(), path.read_bytes(), mode, kind)


def _teams_file(root: Path) -> PackFile | None:
    for candidate in (root / "templates" / "teams.yaml", root / TEAMS):
        if candidate.is_file():
            return _pack_file(root, candidate, "config", TEAMS)
    return None


def _version(pack_dir: Path) -> str:
    try:
        return tomllib.loads((pack_dir / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    except (OSError, ValueError, KeyError):
        return "unknown"


def _statusline(root: Path) -> dict[str, Any] | None:
    """The status line the checkout wires for itself, if it is ours (only that key is taken)."""
    try:
        value = json.loads((root / SETTINGS).read_text(encoding="utf-8")).get("statusLine")
    except (OSError, ValueError, AttributeError):
        return None
    return value if is_our_statusline(value) else None
