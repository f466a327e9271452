"""Disks that refuse writes, for real: a directory made read-only for this process, root included."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def read_only(directory: Path) -> Iterator[Path]:
    """`directory` (and what it holds) read-only while the block runs.

    Root ignores file modes, so as root the directory is bind-mounted read-only over itself (the
    test is skipped where mounting is not allowed); otherwise its write bits are taken away."""
    directory = Path(directory)
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in [directory, *directory.rglob("*")]}
        for path, mode in modes.items():
            path.chmod(stat.S_IMODE(mode) & ~0o222)
        try:
            yield directory
        finally:
            for path, mode in modes.items():
                path.chmod(stat.S_IMODE(mode))
        return
    bind = subprocess.run(["mount", "--bind", str(directory), str(directory)], capture_output=True, text=True)
    if bind.returncode != 0:
        pytest.skip(f"cannot make a read-only mount here: {bind.stderr.strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(directory)], check=True, capture_output=True)
        yield directory
    finally:
        subprocess.run(["umount", str(directory)], check=True, capture_output=True)
