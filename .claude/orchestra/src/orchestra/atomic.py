"""Crash-safe file replacement: temp file in the same dir, fsync, os.replace, mode kept (stdlib only)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def write_bytes(path: Path, data: bytes, mode: int | None = None) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o644
    import tempfile  # here: modules on every hook's import path import this one, few of them write

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def write_text(path: Path, text: str, mode: int | None = None) -> None:
    write_bytes(path, text.encode("utf-8"), mode)


def write_cache(path: Path, text: str) -> None:
    """Keep a cache file (mode 0600) where the disk lets us. A cache that cannot be written (a read-only
    or full disk, its directory gone) only makes the next read slower: never an error of the caller's."""
    if path.parent.is_dir() and os.access(path.parent, os.W_OK):
        with contextlib.suppress(OSError):
            write_text(path, text, mode=0o600)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
