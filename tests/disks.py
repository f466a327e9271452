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


class Unprivileged:
    """A directory owned by a user file modes apply to (this one, or `nobody` under root), and Orchestra's
    CLI run there as that user. Skips where `nobody` cannot run this Python."""

    def __init__(self, tmp_path: Path) -> None:
        import shutil
        import sys
        import sysconfig
        import tempfile

        self.env = {**os.environ}
        self.prefix: list[str] = []
        self.python = sys.executable
        if os.geteuid() != 0:
            self.dir = tmp_path / "own"
            self.dir.mkdir()
            return
        # pytest's temp dirs are root's alone: a directory of nobody's own under /tmp, and a Python it may run
        self.dir = Path(tempfile.mkdtemp(prefix="orchestra-nobody-"))
        self.dir.chmod(0o755)
        shutil.chown(self.dir, "nobody")
        self.prefix = ["runuser", "-u", "nobody", "--"]
        src = Path(__file__).resolve().parents[1] / ".claude" / "orchestra" / "src"
        self.env["PYTHONPATH"] = os.pathsep.join([str(src), sysconfig.get_paths()["purelib"]])
        self.env["HOME"] = str(self.dir)
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        for python in (sys.executable, os.path.realpath(sys.executable), shutil.which(version) or "",
                       f"/usr/bin/{version}"):
            if python and self._run([python, "-c", "import orchestra.store, filelock"]).returncode == 0:
                self.python = python
                return
        shutil.rmtree(self.dir, ignore_errors=True)
        pytest.skip("user nobody cannot run this Python and its packages here")

    def _run(self, argv: list[str], **env: str) -> subprocess.CompletedProcess:
        return subprocess.run([*self.prefix, *argv], capture_output=True, text=True, cwd=self.dir,
                              env={**self.env, **env}, timeout=120)

    def cli(self, url: str, *args: str) -> subprocess.CompletedProcess:
        return self._run([self.python, "-c", "from orchestra.cli import run; run()", *args],
                         ORCHESTRA_STATE_URL=url, CLAUDE_PROJECT_DIR=str(self.dir))

    def cleanup(self) -> None:
        if self.prefix:
            import shutil

            shutil.rmtree(self.dir, ignore_errors=True)
