"""What the pack costs a real Claude Code session: one scripted Bash call, with and without the pack.

    uv run python tests/bench/bench_e2e.py [--runs 10] [--breakdown]

Two sandboxes identical but for the pack (installed in one, absent from the other) run the same
`claude -p` session against the fake Messages API, alternating so machine noise hits both arms alike.
Prints the median wall time of each arm and their ratio; exits 1 when the ratio is over the budget.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.e2e.fake_api import MAIN, FakeAPI, bash, say  # noqa: E402
from tests.e2e.harness import Sandbox, find_claude  # noqa: E402

BUDGET = 1.15


# Claude Code's own setting: no hook of any settings file runs.
NO_HOOKS = ("--settings", json.dumps({"disableAllHooks": True}))
NO_MCP = ("--strict-mcp-config",)  # no MCP server but those --mcp-config names: here none


def one_session(box: Sandbox, extra_args: tuple[str, ...] = ()) -> float:
    with FakeAPI() as api:
        api.script.on(MAIN).reply(bash("echo bench")).reply(say("done"))
        run = box.run(api, "Run the benchmark command.", allowed_tools="Bash", extra_args=extra_args)
    if run.returncode != 0 or api.problems():
        raise SystemExit(f"benchmark session failed in {box.repo}: {run.describe()} {api.problems()}")
    failed = [(m.get("hook_event"), m.get("output")) for m in run.messages
              if m.get("subtype") == "hook_response" and m.get("outcome") != "success"]
    if failed:  # an arm whose hooks fail measures something else than it says
        raise SystemExit(f"benchmark session in {box.repo}: hooks failed: {failed}")
    return run.seconds


# The least a hook of this form costs: a `uv run --script` file that reads its input and exits.
NO_OP_HOOK = "# /// script\n# requires-python = \">=3.11\"\n# dependencies = []\n# ///\nimport sys\n\nsys.stdin.read()\n"
SESSION_EVENTS = ("SessionStart", "UserPromptSubmit", "PreToolUse", "Stop", "SessionEnd")


def session_hooks(handler: dict) -> tuple[str, ...]:
    """CLI arguments that hook the events the pack's hooks run on in this session with `handler`."""
    return ("--settings", json.dumps({"hooks": {event: [{"hooks": [handler]}] for event in SESSION_EVENTS}}))


def no_op_hooks(script: Path) -> tuple[str, ...]:
    """Those events hooked with a no-op `script`, run as the pack's hooks are (exec form through uv)."""
    script.write_text(NO_OP_HOOK, encoding="utf-8")
    return session_hooks({"type": "command", "command": "uv", "args": ["run", "--quiet", "--script", str(script)]})


# The least a stdio MCP server can be: answers Claude Code's opening, lists one tool, answers calls with `{}`.
NO_OP_SERVER = """import json, sys
for line in sys.stdin:
    msg = json.loads(line)
    if "id" not in msg:
        continue
    result = {}
    if msg.get("method") == "initialize":
        result = {"protocolVersion": msg["params"]["protocolVersion"], "capabilities": {"tools": {}},
                  "serverInfo": {"name": "no-op", "version": "0"}}
    elif msg.get("method") == "tools/list":
        result = {"tools": [{"name": "hook", "description": "does nothing", "inputSchema": {"type": "object"}}]}
    elif msg.get("method") == "tools/call":
        result = {"content": [{"type": "text", "text": "{}"}]}
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result}) + "\\n")
    sys.stdout.flush()
"""
# The events of this session that fire while MCP servers are up, where an `mcp_tool` hook can run.
SERVED_EVENTS = ("UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop")


def no_op_server(box: Sandbox, script: Path) -> Sandbox:
    """`box` with the no-op MCP server as its project server (as the pack's is: in .mcp.json)."""
    script.write_text(NO_OP_SERVER, encoding="utf-8")
    (box.repo / ".mcp.json").write_text(json.dumps({"mcpServers": {"no-op": {"command": sys.executable,
                                                                              "args": [str(script)]}}}))
    return box


def served_hooks() -> tuple[str, ...]:
    """The no-op server's tool as an `mcp_tool` hook on each event of this session that can have one."""
    handler = {"type": "mcp_tool", "server": "no-op", "tool": "hook", "input": {"event": "${hook_event_name}"}}
    return ("--settings", json.dumps({"hooks": {event: [{"hooks": [handler]}] for event in SERVED_EVENTS}}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="sessions per arm (at least 10)")
    parser.add_argument("--breakdown", action="store_true",
                        help="add arms: the pack without its MCP server (--strict-mcp-config; so without warm"
                             " hooks too), without its hooks (disableAllHooks), without either; and no pack but"
                             " hooks on the five events the pack's hooks run on here: no-op `uv run --script`"
                             " files, and `true`, the least a command hook can be; no pack but a no-op stdio MCP server, without"
                             " and with it serving `mcp_tool` hooks on the four events that can have one")
    args = parser.parse_args()
    if args.runs < 10:
        parser.error("--runs: at least 10 sessions per arm, or the medians mean little")
    claude = find_claude()
    if claude is None:
        raise SystemExit("claude CLI not found: set ORCHESTRA_CLAUDE_BIN or run .ci/run to install it")
    with tempfile.TemporaryDirectory(prefix="orchestra-bench-") as tmp:
        audit: list[dict] = []
        pack = Sandbox(Path(tmp) / "pack", claude, with_pack=True).create()
        bare = Sandbox(Path(tmp) / "bare", claude, with_pack=False).create()
        arms: dict[str, tuple[Sandbox, tuple[str, ...]]] = {"pack": (pack, ()), "bare": (bare, ())}
        if args.breakdown:
            arms["pack without MCP"] = (pack, NO_MCP)
            arms["pack without hooks"] = (pack, NO_HOOKS)
            arms["pack without either"] = (pack, NO_MCP + NO_HOOKS)
            arms["no pack, no-op hooks"] = (bare, no_op_hooks(Path(tmp) / "no_op_hook.py"))
            arms["no pack, `true` hooks"] = (bare, session_hooks({"type": "command", "command": "true"}))
            served = no_op_server(Sandbox(Path(tmp) / "served", claude, with_pack=False).create(),
                                  Path(tmp) / "no_op_server.py")
            arms["no pack, no-op MCP server"] = (served, ())
            arms["no pack, no-op MCP server, mcp_tool hooks"] = (served, served_hooks())
        try:
            for box, extra in arms.values():  # first sessions pay one-time costs (node, uv caches): not counted
                one_session(box, extra)
            times: dict[str, list[float]] = {name: [] for name in arms}
            for _ in range(args.runs):
                for name, (box, extra) in arms.items():
                    times[name].append(one_session(box, extra))
            audit = [a for a in pack.audit() if a.get("hook")]
        finally:
            for box in {id(box): box for box, _ in arms.values()}.values():
                box.cleanup()
    if not audit:
        raise SystemExit("the pack's hooks wrote no audit line: they did not run (is uv's cache warm? see .ci/run)")
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratio = medians["pack"] / medians["bare"]
    for name, values in times.items():
        print(f"{name:42} median {medians[name]:.3f}s  min {min(values):.3f}s  max {max(values):.3f}s"
              f"  ({len(values)} sessions)")
    sessions = {a.get("session") for a in audit}
    events = sorted({a["event"] for a in audit if a.get("event")})
    print(f"pack hooks: {len(audit) / max(1, len(sessions)):.1f} hook processes per session ({', '.join(events)}),"
          f" median {statistics.median(a['ms'] for a in audit):.1f} ms inside each handler (the rest is uv, interpreter start-up and imports)")
    verdict = "within" if ratio <= BUDGET else "OVER"
    print(f"ratio of medians (pack / no pack): {ratio:.2f}x, {verdict} the {BUDGET:.2f}x budget")
    return 0 if ratio <= BUDGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
