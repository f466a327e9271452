"""Running the wired hooks as Claude Code runs them, for the benchmarks: a throwaway project, the captured
2.1.328 session replayed through every hook whose matcher fires, and no-op `uv run --script` hooks.

Not a test module: imported by bench_hooks.py and bench_scale.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PACK = REPO / ".claude" / "orchestra"
HOOKS = PACK / "hooks"
FIXTURE = REPO / "tests" / "fixtures" / "claude-code-2.1.328" / "nested-delegation.jsonl"
sys.path.insert(0, str(PACK / "src"))

from orchestra.wiring import declarations  # noqa: E402

ORDINARY_TOOLS = ("Bash", "Read", "Write", "Edit")
# The two baselines every hook is compared with, measured in the same run.
NOOP_BARE = """#!/usr/bin/env -S uv run --quiet --script
# /// script
# requires-python = ">=3.11"
# dependencies = []
# ///
import sys
sys.stdin.buffer.read()
"""
NOOP_WITH_PACKAGE = f"""#!/usr/bin/env -S uv run --quiet --script
# /// script
# requires-python = ">=3.11"
# dependencies = ["claude-orchestra"]
#
# [tool.uv.sources]
# claude-orchestra = {{ path = "{PACK}", editable = true }}
# ///
import sys
sys.stdin.buffer.read()
"""
# The least a hook that decides anything can do: parse its input, read the state once, append one
# hash-chained line. What any Python hook pays on top of the no-op, whatever its code.
MINIMAL_HOOK = """#!/usr/bin/env -S uv run --quiet --script
# /// script
# requires-python = ">=3.11"
# dependencies = []
# ///
import json, os, sqlite3, sys
try:
    from _sha2 import sha256
except ImportError:
    from _sha256 import sha256
event = json.loads(sys.stdin.buffer.read() or b"{}")
state = os.path.join(os.environ["CLAUDE_PROJECT_DIR"], ".claude", "state")
conn = sqlite3.connect(os.path.join(state, "orchestration.db"), timeout=6)
conn.execute("SELECT count(*) FROM entities").fetchone()
conn.close()
line = json.dumps({"event": event.get("hook_event_name"), "tool": event.get("tool_name")}, sort_keys=True)
with open(os.path.join(state, "minimal-hook.jsonl"), "a") as log:
    log.write(json.dumps({"line": line, "hash": sha256(line.encode()).hexdigest()}) + "\\n")
"""
BASELINES = {"no-op hook (no dependencies)": NOOP_BARE, "no-op hook (same package dependency)": NOOP_WITH_PACKAGE,
             "minimal hook (json, one SQLite read, one hashed line)": MINIMAL_HOOK}
# The sample sprint the captured session delegates ([task:sprint-3], then [task:task-3]).
SEED = {
    "schema_version": 1,
    "projects": {"acme-shop": {"name": "Acme shop"}},
    "sprints": {"sprint-3": {"name": "Payments", "status": "active", "tasks": ["task-3"],
                             "team_assignments": {"engineering": ["task-3"]}}},
    "tasks": {"task-3": {"title": "OAuth2 flow", "status": "queued", "type": "implementation", "sprint": "sprint-3",
                         "team": "engineering", "priority": "high", "estimate": 3, "dependencies": []}},
}


@dataclass(frozen=True)
class Hook:
    script: str
    event: str
    matcher: str | None
    is_async: bool
    rule: str | None

    @property
    def label(self) -> str:
        return f"{self.script} ({self.event}{' ' + self.matcher if self.matcher else ''}{', async' if self.is_async else ''})"


def wired_hooks() -> list[Hook]:
    return [Hook(script, d["event"], d.get("matcher"), bool(d.get("async")), d.get("if"))
            for script, d in declarations()]


_MATCHED_FIELD = {"PreToolUse": "tool_name", "PostToolUse": "tool_name", "PostToolUseFailure": "tool_name",
                  "PermissionRequest": "tool_name", "PermissionDenied": "tool_name", "SubagentStart": "agent_type",
                  "SubagentStop": "agent_type", "SessionStart": "source", "SessionEnd": "reason"}


def matcher_fires(matcher: str | None, value: str) -> bool:
    """Claude Code's matcher rules (reference/claude-code.md §1.8), `Task` standing for `Agent`."""
    if matcher in (None, "", "*"):
        return True
    values = {value, "Task"} if value == "Agent" else {value}
    if re.fullmatch(r"[A-Za-z0-9_\- ,|]+", matcher):
        return bool(values & {part.strip() for part in re.split(r"[|,]", matcher)})
    return any(re.search(matcher, v) for v in values)


def _rule_fires(rule: str | None, payload: dict[str, Any]) -> bool:
    if not rule:
        return True
    tool, _, pattern = rule.partition("(")
    if tool != payload.get("tool_name"):
        return False
    pattern = pattern.rstrip(")")
    tool_input = payload.get("tool_input") or {}
    subject = tool_input.get("command") or tool_input.get("file_path") or ""
    return not pattern or fnmatch(subject, pattern.replace(":*", "*"))


def hooks_for(payload: dict[str, Any], hooks: list[Hook]) -> list[Hook]:
    """The wired hooks Claude Code would run for this event."""
    field = _MATCHED_FIELD.get(payload["hook_event_name"])
    value = str(payload.get(field) or "") if field else ""
    return [h for h in hooks if h.event == payload["hook_event_name"]
            and (field is None or matcher_fires(h.matcher, value)) and _rule_fires(h.rule, payload)]


# -- the project and its session --------------------------------------------------------------------

def make_project(work: Path, name: str) -> Path:
    project = work / name
    project.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    (project / ".claude").mkdir()
    shutil.copy(REPO / ".claude" / "teams.yaml", project / ".claude" / "teams.yaml")
    if (REPO / ".claude" / "agents").is_dir():
        shutil.copytree(REPO / ".claude" / "agents", project / ".claude" / "agents")
    return project


def workdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def session(project: Path) -> list[dict[str, Any]]:
    """The captured nested-delegation session, moved into `project`, plus the ordinary tools and native
    task events it lacks (Read and Edit calls, TaskCreated/TaskCompleted/TeammateIdle), shaped as §1.4."""
    text = FIXTURE.read_text()
    text = text.replace("/home/dev/acme-shop", str(project)).replace("/home/dev/.claude", str(project / ".cc"))
    events = [json.loads(line) for line in text.splitlines() if line.strip()]
    member = next(e for e in events if e["hook_event_name"] == "PreToolUse" and e.get("tool_name") == "Bash")
    common = {k: member[k] for k in ("session_id", "transcript_path", "cwd", "prompt_id", "permission_mode",
                                     "agent_id", "agent_type") if k in member}
    source = project / "src" / "auth" / "oauth.ts"
    extra = []
    for tool, tool_input, response in (
        ("Read", {"file_path": str(source)},
         {"type": "text", "file": {"filePath": str(source), "content": "export const oauth = 1;\n", "numLines": 1,
                                   "startLine": 1, "totalLines": 1}}),
        ("Edit", {"file_path": str(source), "old_string": "= 1", "new_string": "= 2"},
         {"filePath": str(source), "oldString": "= 1", "newString": "= 2", "originalFile": "export const oauth = 1;\n",
          "structuredPatch": [], "userModified": False, "replaceAll": False}),
    ):
        use = f"toolu_bench_{tool.lower()}"
        extra.append({**common, "hook_event_name": "PreToolUse", "tool_name": tool, "tool_input": tool_input,
                      "tool_use_id": use})
        extra.append({**common, "hook_event_name": "PostToolUse", "tool_name": tool, "tool_input": tool_input,
                      "tool_response": response, "tool_use_id": use, "duration_ms": 3})
    native = {"session_id": member["session_id"], "transcript_path": member["transcript_path"], "cwd": str(project)}
    extra += [
        {**native, "hook_event_name": "TaskCreated", "task_id": "1", "task_subject": "[task:task-3] OAuth2 flow",
         "task_description": "Implement the OAuth2 flow"},
        {**native, "hook_event_name": "TaskCompleted", "task_id": "1", "task_subject": "[task:task-3] OAuth2 flow"},
        {**native, "hook_event_name": "TeammateIdle", "teammate_name": "fullstack-eng", "team_name": "engineering"},
    ]
    stop_of_member = next(i for i, e in enumerate(events) if e["hook_event_name"] == "SubagentStop")
    events[stop_of_member:stop_of_member] = extra
    for event in events:  # transcripts exist in a real session; the completion check reads them
        if event.get("agent_transcript_path"):
            path = Path(event["agent_transcript_path"])
            path.parent.mkdir(parents=True, exist_ok=True)
            message = {"type": "assistant", "message": {"role": "assistant", "content": [
                {"type": "text", "text": event.get("last_assistant_message", "")}]}}
            path.write_text(json.dumps(message) + "\n")
    return events


# -- state snapshots (each round starts from the same state) ----------------------------------------

def state_files(project: Path) -> list[Path]:
    db = project / ".claude" / "state" / "orchestration.db"
    return [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]


def seed_state(project: Path, extra: Any = None) -> Path:
    """Write SEED (and whatever `extra(tx)` adds) and keep a copy of the database to restore each round."""
    from orchestra import paths
    from orchestra.store import open_store

    os.environ.pop("ORCHESTRA_STATE_URL", None)
    paths.ensure_state_dir(project)
    with open_store(f"sqlite://{state_files(project)[0]}") as store:
        store.import_document(SEED)
        if extra is not None:
            extra(store)
    saved = project.parent / f"{project.name}.seed.db"
    shutil.copy(state_files(project)[0], saved)
    return saved


def restore_state(project: Path, saved: Path) -> None:
    for path in state_files(project):
        path.unlink(missing_ok=True)
    shutil.copy(saved, state_files(project)[0])
    # Flush the copy now, or the first hook to commit would pay for writing the whole file back.
    fd = os.open(state_files(project)[0], os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- running ----------------------------------------------------------------------------------------

def run_process(script: Path, payload: dict[str, Any], project: Path, warm: bool = False) -> tuple[float, int]:
    """Milliseconds for the whole `uv run --script` process, and its exit code. Unless `warm`, the hook
    runs in its own process even when a warm server is up (orchestra.warm)."""
    env = {k: v for k, v in os.environ.items() if k not in ("ORCHESTRA_STATE_URL", "ORCHESTRA_WARM_HOOKS")}
    env["CLAUDE_PROJECT_DIR"] = str(project)
    if not warm:
        env["ORCHESTRA_WARM_HOOKS"] = "0"
    data = json.dumps(payload).encode()
    started = time.perf_counter()
    proc = subprocess.run(["uv", "run", "--quiet", "--script", str(script)], input=data, capture_output=True,
                          cwd=project, env=env, timeout=600)
    return (time.perf_counter() - started) * 1000, proc.returncode


def baselines(work: Path) -> dict[str, Path]:
    out = {}
    for i, (label, text) in enumerate(BASELINES.items()):
        script = work / f"noop_{i}.py"
        script.write_text(text)
        out[label] = script
    return out


def handler_ms(project: Path, warm: bool = False) -> dict[str, list[float]]:
    """The runner's own `ms` per hook (from the audit lines): the process minus uv and interpreter start-up.
    `warm`: only the lines of hooks run by a warm server's child; otherwise only the others."""
    out: dict[str, list[float]] = {}
    for log in sorted((project / ".claude" / "state").glob("audit*.jsonl")):
        for line in log.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("hook") and isinstance(record.get("ms"), int | float) and bool(record.get("warm")) == warm:
                out.setdefault(record["hook"] + ".py", []).append(record["ms"])
    return out


def start_warm_server() -> subprocess.Popen:
    """The warm server `orchestra mcp` starts, for this checkout's package; ends when the handle's stdin closes."""
    from orchestra.warm import client, launch

    os.environ.pop(client.DISABLE_ENV, None)  # the test suite's conftest turns warm hooks off
    process = launch.start_beside()
    if process is None:
        raise SystemExit("warm hooks are off here (ORCHESTRA_WARM_HOOKS=0, or no fork)")
    deadline = time.monotonic() + 30
    while not os.path.exists(client.socket_path()):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the warm server did not start (another one may serve this checkout)")
        time.sleep(0.05)
    return process


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def p95(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    return f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
