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


@contextmanager
def full(directory: Path, size: str = "1m") -> Iterator[Path]:
    """A small disk mounted on `directory` while the block runs; `fill(directory)` then takes its last
    free block. Needs root (the test is skipped where mounting is not allowed)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small disk here: {mounted.stderr.strip()}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=True, capture_output=True)


def fill(directory: Path) -> None:
    """Write into `directory` until its disk has no room left (ENOSPC)."""
    with open(Path(directory) / "filler", "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
        except OSError:
            pass
    assert os.statvfs(directory).f_bavail == 0
