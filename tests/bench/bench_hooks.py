"""Whole-process latency of every wired hook, beside no-op `uv run --script` hooks measured in the same run.

    uv run python tests/bench/bench_hooks.py [--runs 30]

The hooks are found through `orchestra.wiring.declarations()`, so hooks added later are measured too.
Each round restores the same state (the sample sprint), then replays the captured Claude Code 2.1.328
session (tests/fixtures/.../nested-delegation.jsonl, plus Read/Edit calls and native task events)
through every hook whose matcher fires, one process at a time, as Claude Code would start them: once
with every hook in its own process (cold: no MCP server running, or ORCHESTRA_WARM_HOOKS=0), once
answered by the warm server that `orchestra mcp` starts (warm: orchestra.warm). The no-op hooks run
twice per pass, interleaved, so all sides see the same machine load.

Prints two Markdown tables: per hook (median, p95 and ratio to the bare no-op, cold and warm, and the
time inside the runner from the audit log), and per ordinary tool call (slowest synchronous PreToolUse
+ slowest synchronous PostToolUse on Bash/Read/Write/Edit; async hooks excluded) against the 1.5x budget.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

from hookrun import (
    HOOKS,
    ORDINARY_TOOLS,
    baselines,
    handler_ms,
    hooks_for,
    machine,
    make_project,
    median,
    p95,
    restore_state,
    run_process,
    seed_state,
    session,
    start_warm_server,
    table,
    wired_hooks,
    workdir,
)

TOOL_CALL_BUDGET = 1.5
DELEGATION_BUDGET = 3.0
DELEGATION_EVENTS = ("SubagentStart", "SubagentStop")


def _budget(hook) -> float | None:
    if hook.event in DELEGATION_EVENTS or (hook.event in ("PreToolUse", "PostToolUse") and hook.matcher
                                            and "Agent" in hook.matcher and "?!" not in hook.matcher):
        return DELEGATION_BUDGET
    return None


MODES = ("cold", "warm")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="measured rounds (default 30; one warm-up round is extra)")
    args = parser.parse_args()
    work = workdir("orchestra bench hooks ")
    project = make_project(work, "bench project")
    saved = seed_state(project)
    events = session(project)
    hooks = wired_hooks()
    noops = baselines(work)
    warm_server = start_warm_server()
    times: dict[tuple[str, str], list[float]] = defaultdict(list)  # (label, mode)
    exits: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    per_tool: dict[tuple[str, str, str, str], list[float]] = defaultdict(list)  # (tool, event, hook label, mode)
    by_label = {h.label: h for h in hooks}
    for round_no in range(args.runs + 1):
        measured = round_no > 0  # round 0 builds uv's environments and the pack's caches
        for mode in MODES:
            restore_state(project, saved)
            for position, payload in enumerate(events):
                if position in (0, len(events) // 2):
                    for label, script in noops.items():
                        elapsed, code = run_process(script, {}, project)
                        if measured:
                            times[(label, mode)].append(elapsed)
                for hook in hooks_for(payload, hooks):
                    elapsed, code = run_process(HOOKS / hook.script, payload, project, warm=mode == "warm")
                    if not measured:
                        continue
                    times[(hook.label, mode)].append(elapsed)
                    exits[hook.label][code] += 1
                    if payload.get("tool_name") in ORDINARY_TOOLS:
                        per_tool[(payload["tool_name"], hook.event, hook.label, mode)].append(elapsed)
    warm_server.stdin.close()
    inside = {mode: handler_ms(project, warm=mode == "warm") for mode in MODES}
    noop = "no-op hook (no dependencies)"
    bare = median(times[(noop, "cold")] + times[(noop, "warm")])  # one baseline for both passes
    print(f"Hook processes, {args.runs} rounds of the captured session, cold and warm ({machine()})\n")
    rows = []
    for label in dict.fromkeys(label for label, _ in times):
        hook = by_label.get(label)
        budget = _budget(hook) if hook else None
        row: list = [label, len(times[(label, "cold")])]
        for mode in MODES:
            values = times[(label, mode)]
            runner = inside[mode].get(hook.script) if hook else None
            row += [f"{median(values):.0f}", f"{p95(values):.0f}", f"{median(values) / bare:.2f}x",
                    f"{median(runner):.1f}" if runner else "-"]
        ratio = median(times[(label, "warm")]) / bare
        row.append((f"{budget:.1f}x " + ("ok" if ratio <= budget else "**over**")) if budget else "-")
        row.append(", ".join(f"exit {c}: {n}" for c, n in sorted(exits[label].items())) if hook else "-")
        rows.append(row)
    print(table(["hook", "runs", "cold median ms", "cold p95 ms", "cold x bare no-op", "cold inside runner ms",
                 "warm median ms", "warm p95 ms", "warm x bare no-op", "warm inside runner ms",
                 "budget (warm)", "exits"], rows))
    print()
    rows = []
    for tool in ORDINARY_TOOLS:
        for mode in MODES:
            slowest = {}
            for event in ("PreToolUse", "PostToolUse"):
                candidates = [(median(v), label) for (t, e, label, m), v in per_tool.items()
                              if t == tool and e == event and m == mode and not by_label[label].is_async]
                slowest[event] = max(candidates) if candidates else (0.0, "none")
            total = slowest["PreToolUse"][0] + slowest["PostToolUse"][0]
            pre, post = (f"{by_label[label].script if label in by_label else label} {ms:.0f}"
                         for ms, label in (slowest["PreToolUse"], slowest["PostToolUse"]))
            ratio = total / bare
            rows.append([tool, mode, pre, post, f"{total:.0f}", f"{ratio:.2f}x",
                         f"{TOOL_CALL_BUDGET}x " + ("ok" if ratio <= TOOL_CALL_BUDGET else "**over**")])
    print(f"Per ordinary tool call (bare no-op median {bare:.0f} ms)\n")
    print(table(["tool", "hooks", "slowest sync PreToolUse (ms)", "slowest sync PostToolUse (ms)", "added ms",
                 "x bare no-op", "budget"], rows))


if __name__ == "__main__":
    main()
