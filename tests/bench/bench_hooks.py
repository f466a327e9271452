"""Whole-process latency of every wired hook, beside no-op `uv run --script` hooks measured in the same run.

    uv run python tests/bench/bench_hooks.py [--runs 30]

The hooks are found through `orchestra.wiring.declarations()`, so hooks added later are measured too.
Each round restores the same state (the sample sprint), then replays the captured Claude Code 2.1.328
session (tests/fixtures/.../nested-delegation.jsonl, plus Read/Edit calls and native task events)
through every hook whose matcher fires, one process at a time, as Claude Code would start them. The
no-op hooks run twice per round, interleaved, so both sides see the same machine load.

Prints two Markdown tables: per hook (median, p95, ratio to the bare no-op, time inside the runner
from the audit log), and per ordinary tool call (slowest synchronous PreToolUse + slowest synchronous
PostToolUse on Bash/Read/Write/Edit; async hooks excluded) against the 1.5x budget.
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
    times: dict[str, list[float]] = defaultdict(list)
    exits: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    per_tool: dict[tuple[str, str, str], list[float]] = defaultdict(list)  # (tool, event, hook label)
    by_label = {h.label: h for h in hooks}
    for round_no in range(args.runs + 1):
        measured = round_no > 0  # round 0 builds uv's environments and the pack's caches
        restore_state(project, saved)
        for position, payload in enumerate(events):
            if position in (0, len(events) // 2):
                for label, script in noops.items():
                    elapsed, code = run_process(script, {}, project)
                    if measured:
                        times[label].append(elapsed)
            for hook in hooks_for(payload, hooks):
                elapsed, code = run_process(HOOKS / hook.script, payload, project)
                if not measured:
                    continue
                times[hook.label].append(elapsed)
                exits[hook.label][code] += 1
                if payload.get("tool_name") in ORDINARY_TOOLS:
                    per_tool[(payload["tool_name"], hook.event, hook.label)].append(elapsed)
    inside = handler_ms(project)
    bare = median(times["no-op hook (no dependencies)"])
    print(f"Hook processes, {args.runs} rounds of the captured session ({machine()})\n")
    rows = []
    for label, values in times.items():
        hook = by_label.get(label)
        budget = _budget(hook) if hook else None
        ratio = median(values) / bare
        codes = ", ".join(f"exit {c}: {n}" for c, n in sorted(exits[label].items())) if hook else "-"
        rows.append([label, len(values), f"{median(values):.0f}", f"{p95(values):.0f}", f"{ratio:.2f}x",
                     f"{median(inside[hook.script]):.1f}" if hook and hook.script in inside else "-",
                     (f"{budget:.1f}x " + ("ok" if ratio <= budget else "**over**")) if budget else "-", codes])
    print(table(["hook", "runs", "median ms", "p95 ms", "x bare no-op", "inside runner ms", "budget", "exits"], rows))
    print()
    rows = []
    for tool in ORDINARY_TOOLS:
        slowest = {}
        for event in ("PreToolUse", "PostToolUse"):
            candidates = [(median(v), label) for (t, e, label), v in per_tool.items()
                          if t == tool and e == event and not by_label[label].is_async]
            slowest[event] = max(candidates) if candidates else (0.0, "none")
        total = slowest["PreToolUse"][0] + slowest["PostToolUse"][0]
        pre, post = (f"{by_label[label].script if label in by_label else label} {ms:.0f}"
                     for ms, label in (slowest["PreToolUse"], slowest["PostToolUse"]))
        rows.append([tool, pre, post, f"{total:.0f}",
                     f"{total / bare:.2f}x", f"{TOOL_CALL_BUDGET}x " + ("ok" if total / bare <= TOOL_CALL_BUDGET else "**over**")])
    print(f"Per ordinary tool call (bare no-op median {bare:.0f} ms)\n")
    print(table(["tool", "slowest sync PreToolUse (ms)", "slowest sync PostToolUse (ms)", "added ms",
                 "x bare no-op", "budget"], rows))


if __name__ == "__main__":
    main()
