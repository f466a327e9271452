"""Fixtures for the installer tests: a frozen copy of the pack to install from, target repos whose
paths hold spaces, the real `orchestra` CLI run in-process, and whole-tree snapshots to compare."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from orchestra.cli import main as cli_main
from orchestra.installer.source import SETTINGS, load_pack

REPO = Path(__file__).resolve().parents[2]
# The status line the frozen pack wires when the checkout does not wire one yet (the tests need one).
STATUSLINE = {"type": "command",
              "command": 'uv run --quiet --script "$CLAUDE_PROJECT_DIR/.claude/orchestra/status_line.py"'}


def write_pack(pack, dest: Path, settings: dict | None = None) -> Path:
    """Write `pack`'s files under `dest` as a source checkout (teams.yaml where a checkout keeps it)."""
    for item in pack.files:
        path = dest / item.rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(item.data)
        path.chmod(item.mode)
    if settings is not None:
        (dest / SETTINGS).write_text(json.dumps(settings, indent=2) + "\n")
    return dest


@pytest.fixture(scope="session")
def pack_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout's pack, copied once: other work in the checkout cannot change it mid-test."""
    pack = load_pack(REPO)
    settings = json.loads((REPO / SETTINGS).read_text())
    dest = write_pack(pack, tmp_path_factory.mktemp("pack") / "pack source", settings)
    (dest / "templates").mkdir(exist_ok=True)  # the snippet an install's next steps point to, as in a clone
    (dest / "templates/CLAUDE.md").write_bytes((REPO / "templates/CLAUDE.md").read_bytes())
    if pack.statusline is None:
        settings["statusLine"] = STATUSLINE
        (dest / SETTINGS).write_text(json.dumps(settings, indent=2) + "\n")
        (dest / ".claude/orchestra/status_line.py").write_text('print("Orchestra")\n')
    return dest


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty git repo under a path with spaces, the way users' projects often are."""
    root = tmp_path / "my repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    for name in ("ORCHESTRA_STATE_URL", "ORCHESTRA_STATE_DIR", "CLAUDE_PROJECT_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ORCHESTRA_MANAGED_SETTINGS_DIR", str(tmp_path / "managed"))  # not this machine's
    return root


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> dict:
        return json.loads(self.out)


@pytest.fixture
def orchestra(capsys: pytest.CaptureFixture[str], pack_source: Path):
    """Run `orchestra ...` in-process; `install` defaults to the frozen pack and no env warming."""
    def run(*argv: str | Path) -> Result:
        args = [str(a) for a in argv]
        if args[0] == "install":
            args += ["--no-warm"] if "--warm" not in args else []
            args = [a for a in args if a != "--warm"]
            args += ["--source", str(pack_source)] if "--source" not in args else []
        capsys.readouterr()
        code = cli_main(args)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def snapshot(root: Path, mtimes: bool = True) -> dict[str, tuple]:
    """Every file (bytes, mode and, unless told not to, mtime) and directory under `root`, .git aside."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not (Path(dirpath) == root and d == ".git")]
        for name in dirnames:
            out[os.path.relpath(os.path.join(dirpath, name), root) + "/"] = ("dir",)
        for name in filenames:
            path = Path(dirpath, name)
            stat = path.lstat()
            out[os.path.relpath(path, root)] = (path.read_bytes(), stat.st_mode, stat.st_mtime_ns if mtimes else 0)
    return out


def contents(root: Path) -> dict[str, bytes]:
    return {rel: entry[0] for rel, entry in snapshot(root).items() if not rel.endswith("/")}
