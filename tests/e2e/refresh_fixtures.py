"""Re-capture the hook payload fixtures (`tests/fixtures/claude-code-<version>/*.jsonl`) from the real CLI,
and the requests it opens an MCP session with (`mcp-opening.jsonl`).

    uv run python tests/e2e/refresh_fixtures.py [--out DIR] [--force]

Run it when the pinned Claude Code version changes. Each scenario drives the installed CLI against
the fake Messages API in a sandbox without the pack; a capture hook added through `--settings`
appends every payload it receives to the scenario's file. Sandbox paths are rewritten to the
fixed ones the fixtures have always used (/home/dev/acme-shop, /home/dev/.claude, /tmp/claude-1000).
The MCP opening is what the CLI sent a recording proxy in front of this checkout's `orchestra mcp`
in a session that calls no tool.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.e2e.fake_api import MAIN, FakeAPI, agent_marker, bash, say, tool, write  # noqa: E402
from tests.e2e.harness import REPO, Sandbox, cli_version, find_claude  # noqa: E402

# The events the pack's hooks listen to (ARCHITECTURE.md §4), captured with no matcher.
EVENTS = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "SubagentStart", "SubagentStop",
          "Stop", "SessionEnd")
FIXED_PROJECT = "/home/dev/acme-shop"
FIXED_CONFIG = "/home/dev/.claude"
FIXED_TMP = "/tmp/claude-1000"

CAPTURE_HOOK = '''\
"""Append this hook's stdin payload to a JSONL file; in "deny" mode also refuse writes under src/auth/."""
import fcntl, json, sys
payload = json.load(sys.stdin)
with open(sys.argv[1], "a", encoding="utf-8") as out:
    fcntl.flock(out, fcntl.LOCK_EX)
    out.write(json.dumps(payload) + "\\n")
event = payload.get("hook_event_name")
if sys.argv[2] == "deny" and event == "PreToolUse" and "/src/auth/" in str(payload.get("tool_input", {}).get("file_path")):
    json.dump({"hookSpecificOutput": {"hookEventName": event, "permissionDecision": "deny",
               "permissionDecisionReason": "src/auth is owned by the security team"}}, sys.stdout)
elif sys.argv[2] == "deny" and event == "SubagentStart":
    json.dump({"hookSpecificOutput": {"hookEventName": event,
               "additionalContext": "Brief: keep changes small."}}, sys.stdout)
'''


def nested_delegation(box: Sandbox, api: FakeAPI) -> None:
    """main -> engineering-orchestrator (background) -> fullstack-eng (foreground): Bash, Write, report."""
    main = api.script.on(MAIN)
    main.reply(tool("Agent", description="Run sprint-3", prompt="[task:sprint-3] Orchestrate sprint-3.",
                    subagent_type="engineering-orchestrator")) \
        .reply(say("DONE")) \
        .reply(say("DONE"))
    # The orchestrator starts working only once the main thread has ended its turn (Stop with a
    # background task still running), the order these fixtures have always shown.
    api.script.on(agent_marker("engineering-orchestrator")) \
        .reply(tool("Agent", description="task-3 OAuth", prompt="[task:task-3] Implement OAuth2 flow.",
                    subagent_type="fullstack-eng", run_in_background=False), after=main.asked(1)) \
        .reply(write(str(box.repo / "NOTES.md"), "orchestrated\n")) \
        .reply(say("Sprint orchestrated. STATUS: completed"))
    api.script.on(agent_marker("fullstack-eng")) \
        .reply(bash("echo building", "build")) \
        .reply(write(str(box.repo / "src" / "auth" / "oauth.ts"), "export const oauth = 1;\n")) \
        .reply(say("Implemented. STATUS: completed"))


def stop_launched(request):
    """TaskStop on the background agent whose launch the model was just shown (`agentId: ...`)."""
    return tool("TaskStop", task_id=re.search(r"agentId: (\w+)", request.last_user_text).group(1))


def task_stop(box: Sandbox, api: FakeAPI) -> None:
    """main -> fullstack-eng (background), stopped with TaskStop while its first request waits: no
    SubagentStop follows, only PostToolUse(TaskStop) and a `<task-notification>` (status killed)."""
    main = api.script.on(MAIN)
    member = api.script.on(agent_marker("fullstack-eng"))
    main.reply(tool("Agent", description="task-3 OAuth", prompt="[task:task-3] Implement OAuth2 flow.",
                    subagent_type="fullstack-eng", run_in_background=True)) \
        .reply(stop_launched, after=member.asked(0)) \
        .reply(say("DONE"))
    member.reply(say("Implemented. STATUS: completed"), after=main.asked(2))  # answers a stopped agent


# file name -> (script, capture-hook mode)
SCENARIOS: dict[str, tuple[Callable[[Sandbox, FakeAPI], None], str]] = {
    "nested-delegation": (nested_delegation, "log"),
    "deny-and-context": (nested_delegation, "deny"),
    "task-stop": (task_stop, "log"),
}


MCP_OPENING = "mcp-opening"
RECORDING_PROXY = '''\
"""Pass stdio between the CLI and the server command in argv[2:], appending what the CLI sends to argv[1]."""
import subprocess, sys, threading
server = subprocess.Popen(sys.argv[2:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
def answers():
    for line in server.stdout:
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()
threading.Thread(target=answers, daemon=True).start()
with open(sys.argv[1], "ab") as log:
    for line in sys.stdin.buffer:
        log.write(line)
        log.flush()
        server.stdin.write(line)
        server.stdin.flush()
server.stdin.close()
server.wait()
'''


def capture_mcp_opening(base: Path, claude: Path) -> list[dict]:
    """What the CLI sends an MCP server in a session with no tool call: its opening requests."""
    box = Sandbox(base, claude, with_pack=False).create()
    log, proxy = base / "mcp-wire.jsonl", base / "recording_proxy.py"
    proxy.write_text(RECORDING_PROXY, encoding="utf-8")
    server = {"type": "stdio", "command": sys.executable,
              "args": [str(proxy), str(log), "uv", "run", "--quiet", "--script",
                       str(REPO / ".claude" / "orchestra" / "bin" / "orchestra"), "mcp"]}
    with FakeAPI() as api:
        api.script.on(MAIN).reply(say("nothing to do"))
        run = box.run(api, "go", extra_args=("--strict-mcp-config", "--mcp-config",
                                             json.dumps({"mcpServers": {"orchestra": server}})))
    if run.returncode != 0 or api.problems():
        raise RuntimeError(f"MCP opening capture did not run as scripted: {run.describe()} {api.problems()}")
    sent = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    if not any(m.get("method") == "tools/list" for m in sent):
        raise RuntimeError(f"the CLI never listed the server's tools: {sent}")
    return sent


def normalise(text: str, box: Sandbox) -> str:
    """Replace the sandbox's paths with the fixed ones, longest first (they nest)."""
    mangled = re.sub(r"[^A-Za-z0-9]", "-", str(box.repo))
    swaps = {str(box.base / "tmp" / f"claude-{os.getuid()}"): FIXED_TMP, str(box.config_dir): FIXED_CONFIG,
             str(box.repo): FIXED_PROJECT, mangled: re.sub(r"[^A-Za-z0-9]", "-", FIXED_PROJECT)}
    for old in sorted(swaps, key=len, reverse=True):
        text = text.replace(old, swaps[old])
    return text


def capture(name: str, base: Path, claude: Path) -> list[dict]:
    """Run one scenario in a fresh sandbox and return the payloads its capture hook saw, in order."""
    script, mode = SCENARIOS[name]
    box = Sandbox(base, claude, with_pack=False).create()
    box.ensure_agent("engineering-orchestrator", "Agent, Bash, Read, Write")
    box.ensure_agent("fullstack-eng", "Bash, Read, Write, Edit")
    box.commit("agents")
    log = base / "payloads.jsonl"
    hook = base / "capture_hook.py"
    hook.write_text(CAPTURE_HOOK, encoding="utf-8")
    handler = {"type": "command", "command": sys.executable, "args": [str(hook), str(log), mode], "timeout": 30}
    settings = {"hooks": {event: [{"hooks": [handler]}] for event in EVENTS}}
    with FakeAPI() as api:
        script(box, api)
        run = box.run(api, "go", extra_args=("--settings", json.dumps(settings)))
    if run.returncode != 0 or api.problems():
        raise RuntimeError(f"scenario {name} did not run as scripted: {run.describe()} {api.problems()}")
    return [json.loads(line) for line in normalise(log.read_text(encoding="utf-8"), box).splitlines()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="directory (default: tests/fixtures/claude-code-<CLI version>)")
    parser.add_argument("--force", action="store_true", help="overwrite fixture files that already exist")
    args = parser.parse_args()
    claude = find_claude()
    if claude is None:
        raise SystemExit("claude CLI not found: set ORCHESTRA_CLAUDE_BIN or run .ci/run to install it")
    version = cli_version(claude)
    out = args.out or REPO / "tests" / "fixtures" / f"claude-code-{version}"
    targets = {name: out / f"{name}.jsonl" for name in (*SCENARIOS, MCP_OPENING)}
    existing = [str(p) for p in targets.values() if p.exists()]
    if existing and not args.force:
        raise SystemExit(f"would overwrite {', '.join(existing)}; pass --force to re-capture them")
    out.mkdir(parents=True, exist_ok=True)
    for name, target in targets.items():
        with tempfile.TemporaryDirectory(prefix=f"fixture-{name}-") as tmp:
            payloads = (capture_mcp_opening if name == MCP_OPENING else partial(capture, name))(Path(tmp), claude)
        if target.exists():
            target.chmod(0o644)
        target.write_text("".join(json.dumps(p) + "\n" for p in payloads), encoding="utf-8")
        print(f"{target}: {len(payloads)} messages from claude {version}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
