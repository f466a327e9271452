"""Delegation hook latency: each lifecycle hook as Claude Code runs it (a `uv run --script` process) beside a
no-op hook with the same dependency, over one full delegation per round.

    uv run python tests/bench/bench_lifecycle.py [ROUNDS]

Prints a Markdown table: median and p95 of the whole process, the ratio to the no-op's median, and
the median time inside the handler (the `ms` the runner writes to the audit log). "runner only" is
the hook runner (`hookio.main`) around a handler that does nothing: what any pack hook pays.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACK = REPO / ".claude" / "orchestra"
HOOKS = PACK / "hooks"
NOOP = f'''#!/usr/bin/env -S uv run --quiet --script
# /// script
# requires-python = ">=3.11"
# dependencies = ["claude-orchestra"]
#
# [tool.uv.sources]
# claude-orchestra = {{ path = "{PACK}", editable = true }}
# ///
import sys
sys.stdin.read()
'''
# The same runner every hook has (parse, audit line, output funnel) around a handler that does nothing.
RUNNER = NOOP.replace("import sys\nsys.stdin.read()\n",
                      "from orchestra.hookio import Allow, main\nmain(lambda event, ctx: Allow())\n")
SESSION = "bench-0000"


def run(script: Path, payload: dict, project: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.run(["uv", "run", "--quiet", "--script", str(script)], input=json.dumps(payload).encode(),
                          capture_output=True, cwd=project, env={**os.environ, "CLAUDE_PROJECT_DIR": str(project)})
    elapsed = (time.perf_counter() - started) * 1000
    if proc.returncode != 0:
        raise SystemExit(f"{script.name} failed: {proc.stderr.decode()[:400]}")
    return elapsed


def delegation(project: Path, i: int) -> list[tuple[str, dict]]:
    """The hook events of one foreground delegation of task t{i}, in Claude Code's order."""
    base = {"session_id": SESSION, "transcript_path": str(project / "t.jsonl"), "cwd": str(project),
            "permission_mode": "default"}
    prompt = f"[task:t{i}] build part {i}"
    agent, use = f"agent{i:04}", f"toolu_{i:04}"
    tool_input = {"description": f"part {i}", "prompt": prompt, "subagent_type": "fullstack-eng"}
    transcript = project / "subagents" / f"agent-{agent}.jsonl"
    transcript.parent.mkdir(exist_ok=True)
    target = str(project / f"part_{i}.py")
    transcript.write_text("\n".join(json.dumps(line) for line in (
        {"type": "user", "message": {"role": "user", "content": prompt}},
        {"type": "assistant", "message": {"role": "assistant", "content": [
            {"type": "tool_use", "id": "w", "name": "Write", "input": {"file_path": target}}]}},
        {"type": "user", "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "w"}]}},
        {"type": "assistant", "message": {"role": "assistant", "content": [
            {"type": "text", "text": "Built. STATUS: completed"}]}})) + "\n")
    return [
        ("pre_agent.py", {**base, "hook_event_name": "PreToolUse", "tool_name": "Agent", "tool_use_id": use,
                          "tool_input": tool_input}),
        ("subagent_start.py", {**base, "hook_event_name": "SubagentStart", "agent_id": agent,
                               "agent_type": "fullstack-eng"}),
        ("post_write.py", {**base, "hook_event_name": "PostToolUse", "tool_name": "Write", "agent_id": agent,
                           "agent_type": "fullstack-eng", "tool_use_id": f"w{i}",
                           "tool_input": {"file_path": target, "content": "x"}, "tool_response": {}}),
        ("subagent_stop.py", {**base, "hook_event_name": "SubagentStop", "agent_id": agent,
                              "agent_type": "fullstack-eng", "stop_hook_active": False,
                              "agent_transcript_path": str(transcript),
                              "last_assistant_message": "Built. STATUS: completed"}),
        ("post_agent.py", {**base, "hook_event_name": "PostToolUse", "tool_name": "Agent", "tool_use_id": use,
                           "tool_input": tool_input,
                           "tool_response": {"status": "completed", "agentId": agent, "agentType": "fullstack-eng"}}),
    ]


def main(rounds: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="orchestra-bench-"))
    project = work / "bench project"
    project.mkdir()
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    (project / ".claude").mkdir()
    (project / ".claude" / "teams.yaml").write_text((REPO / ".claude" / "teams.yaml").read_text())
    noop, runner = work / "noop.py", work / "runner.py"
    noop.write_text(NOOP)
    runner.write_text(RUNNER)
    sys.path.insert(0, str(PACK / "src"))
    os.environ["CLAUDE_PROJECT_DIR"] = str(project)
    from orchestra import paths
    from orchestra.store import open_store

    paths.ensure_state_dir(project)
    with open_store(root=project) as store, store.transaction() as tx:
        for i in range(rounds):
            tx.set(f"tasks.t{i}", {"title": f"part {i}", "status": "queued", "type": "implementation"})
    run(HOOKS / "session_end.py", {"session_id": "warm", "cwd": str(project), "hook_event_name": "SessionEnd"},
        project)  # builds the uv environment and the teams cache once
    times: dict[str, list[float]] = {"no-op": [], "runner only": []}
    for i in range(rounds):
        times["no-op"].append(run(noop, {}, project))
        times["runner only"].append(run(runner, {"hook_event_name": "Stop", "session_id": SESSION,
                                                 "cwd": str(project)}, project))
        for script, payload in delegation(project, i):
            times.setdefault(script, []).append(run(HOOKS / script, payload, project))
    inside: dict[str, list[float]] = {}
    for line in paths.audit_log(project).read_text().splitlines():
        record = json.loads(line)
        if record.get("hook") and record.get("ms") is not None:
            name = "runner only" if record["hook"] == "runner" else record["hook"] + ".py"
            inside.setdefault(name, []).append(record["ms"])
    base = statistics.median(times["no-op"])
    print(f"{rounds} delegations, {time.strftime('%Y-%m-%d')}, load average {os.getloadavg()[0]:.1f}\n")
    print("| hook | median ms | p95 ms | x no-op | handler ms (median) |")
    print("|---|---|---|---|---|")
    for name, values in times.items():
        values = sorted(values)
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        handler = f"{statistics.median(inside[name]):.1f}" if name in inside else "-"
        print(f"| {name} | {statistics.median(values):.0f} | {p95:.0f} | {statistics.median(values) / base:.2f} "
              f"| {handler} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
