"""The install manifest (`.claude/orchestra/install-manifest.json`): what an install wrote, so upgrades
can tell our untouched files from the user's edits and uninstall can remove exactly that.

Format 1: `files` {path: {sha256, mode, kind}}, `dirs` we created, `displaced` {path: backup} of user
files moved aside by --force, `not_installed`: pack files left out because a file of the user's holds
their path or agent name, and for settings.json / .mcp.json the sha256 of what we wrote, the backup
to restore byte for byte, and our entries. Fields missing from older manifests read as empty.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import InstallError
from .safety import check_inside
from .source import MANIFEST, PACK_TREES, STATE_DIR

FORMAT = 1
_FIX = "restore it from git, or remove it and reinstall with --force (your files are backed up)"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Manifest:
    pack_version: str = "unknown"
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    dirs: list[str] = field(default_factory=list)
    displaced: dict[str, str] = field(default_factory=dict)
    not_installed: list[str] = field(default_factory=list)
    settings: dict[str, Any] | None = None
    mcp: dict[str, Any] | None = None
    state_dir: str = STATE_DIR

    def to_bytes(self) -> bytes:
        return (json.dumps({"format": FORMAT, **asdict(self)}, indent=2, ensure_ascii=False) + "\n").encode()


def read(root: Path) -> Manifest | None:
    path = check_inside(root, MANIFEST)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise InstallError(f"{path}: unreadable install manifest ({exc}); {_FIX}") from None
    if not isinstance(data, dict) or not isinstance(data.get("files", {}), dict):
        raise InstallError(f"{path}: not an install manifest (expected an object with `files`); {_FIX}")
    version = data.get("format", 1)
    if not isinstance(version, int) or isinstance(version, bool):
        raise InstallError(f"{path}: `format` is {json.dumps(version)}, not a format number; {_FIX}")
    if version > FORMAT:
        raise InstallError(f"{path}: written by a newer installer (format {version}); "
                           "run that version's `orchestra install` or `uninstall`")
    if not all(isinstance(e, dict) and isinstance(e.get("sha256"), str) for e in data.get("files", {}).values()):
        raise InstallError(f"{path}: an entry of `files` has no `sha256`; {_FIX}")
    displaced = data.get("displaced", {}) if isinstance(data.get("displaced"), dict) else {}
    dirs = data.get("dirs", []) if isinstance(data.get("dirs"), list) else []
    for rel in [*data.get("files", {}), *displaced, *displaced.values(), *dirs, data.get("state_dir", STATE_DIR)]:
        if not isinstance(rel, str) or PurePosixPath(rel).is_absolute() or ".." in PurePosixPath(rel).parts:
            raise InstallError(f"{path}: names {rel}, a path outside the project, and the install changes files "
                               f"only inside it; {_FIX}")
    if "dirs" not in data:
        # Recorded since format 1; for a manifest without it, the pack's own trees count as ours
        # from each file's folder up (removed only when empty, like any other).
        data["dirs"] = sorted({parent.as_posix() for rel in data.get("files", {}) for tree in PACK_TREES
                               if rel.startswith(tree + "/")
                               for parent in PurePosixPath(rel).parents if parent.as_posix().startswith(tree)})
    known = Manifest.__dataclass_fields__
    return Manifest(**{key: value for key, value in data.items() if key in known})
