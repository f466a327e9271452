"""`orchestra metrics [--sprint ID] [--json]`: agents, throughput, task time, error rate, utilization,
sprint progress, quality reported by agents and hook latency (shape: README, "Dashboard")."""

from __future__ import annotations

from typing import Any

from ..metrics.formatting import duration as _dur
from ..metrics.formatting import number as _num
from ..metrics.formatting import percent as _pct
from ..store import open_store
from ._output import add_json_flag, emit, table


def register(sub) -> None:
    parser = sub.add_parser("metrics", help="system and sprint metrics (agents, throughput, errors, latency, ...)")
    parser.add_argument("--sprint", help="the sprint to report on (default: the one in progress)")
    add_json_flag(parser)
    parser.set_defaults(func=cmd_metrics)


def cmd_metrics(args) -> int:
    from ..metrics import collect

    with open_store() as store:
        data = collect(store, sprint_id=args.sprint)
    emit(data, args.json, text)
    return 0


def text(m: dict[str, Any]) -> str:
    agents, errors, latency = m["agent_count"], m["error_rate"], m["hook_latency"]
    util, done = m["agent_utilization"], m["completion_rate"]
    coverage, builds = m["test_coverage"], m["build_success_rate"]
    rows = [
        ["agents", f"{agents['live']} live of {agents['total']} runs"],
        ["utilization", f"{_pct(util['rate'])} ({util['live']} of {_num(util['capacity'])} parallel slots)"],
        ["throughput", f"{m['task_throughput']['completed']} tasks in {m['task_throughput']['days']} days "
                       f"({_num(m['task_throughput']['per_day'])}/day)"],
        ["task time", f"mean {_dur(m['average_task_time']['mean_hours'])}, "
                      f"median {_dur(m['average_task_time']['median_hours'])} over {m['average_task_time']['tasks']} tasks"],
        ["completion", f"{done['tasks_completed']}/{done['tasks_total']} tasks, "
                       f"{_num(done['points_completed'])}/{_num(done['points_total'])} points"],
        ["blockers", f"{m['blocker_count']} open"],
        ["error rate", f"{_pct(errors['rate'])} ({errors['denied']} denied, {errors['failed']} failed of "
                       f"{errors['tool_calls']} tool calls; {errors['hook_errors']} hook errors)"],
        ["hook latency", f"p50 {_num(latency['p50_ms'], ' ms', 1)}, p95 {_num(latency['p95_ms'], ' ms', 1)} "
                         f"over {latency['count']} runs"],
        ["coverage", "—" if coverage is None else f"{coverage['percent']:g}% ({coverage.get('task') or '-'})"],
        ["builds", "—" if builds is None else f"{_pct(builds['rate'])} of {builds['passed'] + builds['failed']}"],
        ["velocity", ", ".join(f"{v['sprint']} {_num(v['points'])}" for v in m["velocity"]["sprints"]) or "—"],
    ]
    sprint = m["sprint"]
    head = "no sprint in state" if sprint is None else (
        f"{sprint['sprint']} {sprint['name']} ({sprint['status']}): {_num(sprint['points']['completed'])} of "
        f"{_num(sprint['points']['total'])} points done")
    return head + "\n" + table(rows, ["metric", "value"])
