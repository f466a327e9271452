"""What the pack costs a real Claude Code session: one scripted Bash call, with and without the pack.

    uv run python tests/bench/bench_e2e.py [--runs 10]

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

from orchestra.warm import client  # noqa: E402

from tests.e2e.fake_api import MAIN, FakeAPI, bash, say  # noqa: E402
from tests.e2e.harness import Sandbox, find_claude  # noqa: E402

BUDGET = 1.15


# Claude Code's own setting: how long `claude -p` waits for MCP servers to connect before its first request.
NO_MCP_WAIT = {"CLAUDE_CODE_MCP_STARTUP_WAIT_MS": "0"}


def one_session(box: Sandbox, extra_args: tuple[str, ...] = (), extra_env: dict[str, str] | None = None) -> float:
    with FakeAPI() as api:
        api.script.on(MAIN).reply(bash("echo bench")).reply(say("done"))
        run = box.run(api, "Run the benchmark command.", allowed_tools="Bash", extra_args=extra_args,
                      extra_env=extra_env)
    if run.returncode != 0 or api.problems():
        raise SystemExit(f"benchmark session failed in {box.repo}: {run.describe()} {api.problems()}")
    return run.seconds


def instant_mcp(box: Sandbox) -> tuple[str, ...]:
    """CLI arguments that replace the pack's MCP server with `instant_mcp.py`, answering from the memo the
    pack's own server recorded (one session first, so there is one)."""
    one_session(box)
    package = box.repo / ".claude" / "orchestra" / "src" / "orchestra"
    server = {"type": "stdio", "command": sys.executable,
              "args": [str(Path(__file__).with_name("instant_mcp.py")),
                       client.installation_path("mcp-%s.json", str(package))]}
    return ("--strict-mcp-config", "--mcp-config", json.dumps({"mcpServers": {"orchestra": server}}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="sessions per arm (at least 10)")
    parser.add_argument("--mcp-breakdown", action="store_true",
                        help="add arms: the pack with its MCP server left out (--strict-mcp-config); the pack"
                             " with CLAUDE_CODE_MCP_STARTUP_WAIT_MS=0 (claude -p does not wait for MCP servers);"
                             " and the pack with a stand-in MCP server that answers at once (instant_mcp.py)")
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
        arms: dict[str, tuple[Sandbox, tuple[str, ...], dict[str, str] | None]] = {
            "pack": (pack, (), None), "bare": (bare, (), None)}
        if args.mcp_breakdown:
            arms["pack without MCP"] = (pack, ("--strict-mcp-config",), None)
            arms["pack, no MCP wait"] = (pack, (), NO_MCP_WAIT)
            arms["pack, instant MCP"] = (pack, instant_mcp(pack), None)
        try:
            for box, extra, env in arms.values():  # first sessions pay one-time costs (node, uv caches): not counted
                one_session(box, extra, env)
            times: dict[str, list[float]] = {name: [] for name in arms}
            for _ in range(args.runs):
                for name, (box, extra, env) in arms.items():
                    times[name].append(one_session(box, extra, env))
            audit = [a for a in pack.audit() if a.get("hook")]
        finally:
            pack.cleanup()
            bare.cleanup()
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratio = medians["pack"] / medians["bare"]
    for name, values in times.items():
        print(f"{name:18} median {medians[name]:.3f}s  min {min(values):.3f}s  max {max(values):.3f}s"
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
