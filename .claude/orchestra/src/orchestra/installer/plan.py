"""A plan is data: the file steps an install or uninstall would take, with the bytes before and after,
and what it leaves alone and why. It renders as a unified diff (`--dry-run`) or as JSON."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

StepKind = Literal["write", "delete", "move"]
NoticeKind = Literal["kept", "adopted", "backed-up", "restored", "left"]


@dataclass(frozen=True)
class Step:
    kind: StepKind
    path: str  # relative to the target, posix
    before: bytes | None  # what is there now (None: nothing)
    after: bytes | None = None  # write: the new bytes
    mode: int | None = None  # write: file mode (None keeps the current one)
    dest: str | None = None  # move: where the current file goes
    why: str = ""

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "path": self.path, "why": self.why}
        if self.dest:
            out["dest"] = self.dest
        return out


@dataclass(frozen=True)
class Notice:
    kind: NoticeKind
    path: str
    message: str


@dataclass
class Plan:
    command: Literal["install", "uninstall"]
    target: Path
    steps: list[Step] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    make_dirs: list[tuple[str, int]] = field(default_factory=list)  # created before the steps, with this mode
    remove_dirs: list[str] = field(default_factory=list)  # removed after the steps when empty, deepest first
    scripts: list[str] = field(default_factory=list)  # uv scripts whose environments an install warms
    version: str = ""
    next_steps: list[str] = field(default_factory=list)  # install: what to do once it is done (one line each)

    @property
    def noop(self) -> bool:
        return not self.steps and not self.make_dirs and not any((self.target / d).exists() for d in self.remove_dirs)

    def count(self, kind: StepKind, why: str | None = None) -> int:
        return sum(1 for s in self.steps if s.kind == kind and (why is None or s.why == why))

    def diff(self) -> str:
        chunks = [f"# {self.command} {self.target}: " + ("nothing to change" if self.noop else
                                                         f"{len(self.steps)} file change(s)")]
        chunks += [f"# {n.kind}: {n.path}: {n.message}" for n in self.notices]
        chunks += [f"# mkdir {d} (mode {mode:o})" for d, mode in self.make_dirs]
        chunks += [_render(step, self.target) for step in self.steps]
        return "\n".join(c.rstrip("\n") for c in chunks if c) + "\n"

    def describe(self) -> dict[str, Any]:
        out = {
            "command": self.command,
            "target": str(self.target),
            "version": self.version,
            "noop": self.noop,
            "steps": [s.describe() for s in self.steps],
            "notices": [{"kind": n.kind, "path": n.path, "message": n.message} for n in self.notices],
        }
        if self.command == "install":
            out["next_steps"] = self.next_steps
        return out


def _render(step: Step, target: Path) -> str:
    if step.kind == "move":
        return (f"diff --git a/{step.path} b/{step.dest}\nsimilarity index 100%\n"
                f"rename from {step.path}\nrename to {step.dest}")
    old_name = f"a/{step.path}" if step.before is not None else "/dev/null"
    new_name = f"b/{step.path}" if step.kind == "write" else "/dev/null"
    head = f"diff --git a/{step.path} b/{step.path}\n"
    if step.kind == "write" and step.before is None:
        head += f"new file mode 100{step.mode or 0o644:o}\n"
    elif step.kind == "delete":
        head += f"deleted file mode 100{_mode(target / step.path):o}\n"
    old, new = _text(step.before), _text(step.after if step.kind == "write" else None)
    if old is None or new is None:
        return head + f"Binary files {old_name} and {new_name} differ"
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True), old_name, new_name)
    return head + "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                          for line in lines)


def _text(data: bytes | None) -> str | None:
    if data is None:
        return ""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _mode(path: Path) -> int:
    try:
        return 0o755 if path.stat().st_mode & 0o111 else 0o644
    except OSError:
        return 0o644
