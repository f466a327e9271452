"""Hook latency and tool-call outcomes from the real audit log, and following the log as it grows
and rotates."""

from __future__ import annotations

import json
from pathlib import Path

from orchestra import audit
from orchestra.metrics.auditlog import AuditWindow, hook_latency, percentile, read, tool_outcomes


def line(log: Path, **record) -> None:
    audit.append(log, {"hook": "pre_tool", "event": "PreToolUse", "decision": "allow", "ms": 10.0, **record})


def test_latency_per_hook_and_overall(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    for ms in (10, 20, 30, 40, 400):
        line(log, ms=ms)
    line(log, hook="subagent_stop", event="SubagentStop", ms=120.5)
    line(log, hook="stop", event="Stop", ms="not a number")  # ignored, not fatal
    stats = hook_latency(read(log))
    assert stats["count"] == 6 and stats["max_ms"] == 400
    assert stats["by_hook"]["pre_tool"] == {"count": 5, "p50_ms": 30.0, "p95_ms": 400.0, "max_ms": 400.0}
    assert stats["by_hook"]["subagent_stop"]["p50_ms"] == 120.5
    assert "stop" not in stats["by_hook"]


def test_error_rate_counts_denials_and_failures_per_tool_call(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    for decision in ("allow", "allow", "deny", "context", "allow", "rewrite", "allow", "deny"):
        line(log, decision=decision)
    line(log, hook="post_failure", event="PostToolUseFailure", decision="allow")
    line(log, hook="session_start", event="SessionStart", decision="error")
    line(log, hook="pre_tool", event=None, decision="malformed")
    outcome = tool_outcomes(read(log))
    assert outcome == {"tool_calls": 8, "denied": 2, "failed": 1, "hook_errors": 2, "rate": 0.375}
    assert tool_outcomes([])["rate"] is None


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 95) == 5.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.0 and percentile([4.0, 1.0, 3.0, 2.0], 95) == 4.0


def test_window_follows_appends_and_a_half_written_line(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    window = AuditWindow(log, size=100)
    assert window.refresh() is False  # no log yet
    line(log, ms=1)
    assert window.refresh() is True and [r["ms"] for r in window.records] == [1]
    assert window.refresh() is False
    line(log, ms=2)
    with open(log, "ab") as handle:  # a writer halfway through its line
        handle.write(b'{"hook": "pre_tool", "ms": 3')
    assert window.refresh() is True and [r["ms"] for r in window.records] == [1, 2]
    with open(log, "ab") as handle:
        handle.write(b"}\n")
    assert window.refresh() is True and [r["ms"] for r in window.records] == [1, 2, 3]


def test_window_keeps_every_line_across_rotation(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    window = AuditWindow(log, size=1000)
    for i in range(3):
        audit.append(log, {"hook": "h", "event": "PreToolUse", "ms": i}, rotate_bytes=600)
    window.refresh()
    for i in range(3, 12):  # several rotations between two looks
        audit.append(log, {"hook": "h", "event": "PreToolUse", "ms": i}, rotate_bytes=600)
    window.refresh()
    assert len(audit.rotated(log)) >= 2
    assert [r["ms"] for r in window.records] == list(range(12))  # nothing lost, nothing twice
    fresh = AuditWindow(log, size=1000)
    fresh.refresh()
    assert [r["ms"] for r in fresh.records] == list(range(12))  # a new window reads the rotated segments too


def test_window_size_bounds_memory(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    for i in range(30):
        line(log, ms=i)
    window = AuditWindow(log, size=10)
    window.refresh()
    assert [r["ms"] for r in window.records] == list(range(20, 30))
    assert json.loads(log.read_text().splitlines()[0])["ms"] == 0  # the log itself is untouched


def strict_json(text: str):
    def refuse(constant: str):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_a_hook_time_that_is_not_a_finite_number_is_skipped(sample: Path, store, capsys) -> None:
    """One audit line of `"ms": NaN` (or 1e999, read as infinity) made `orchestra metrics --json` print NaN and
    Infinity, which no JSON reader takes, and the dashboard's page threw on every state it was sent; a
    400-digit integer made `orchestra metrics` fail with OverflowError."""
    from orchestra import paths
    from orchestra.cli import main
    from orchestra.dashboard.snapshot import build

    log = paths.audit_log(sample)
    log.write_bytes(b'{"hook": "pre_tool", "event": "PreToolUse", "ms": NaN}\n'
                    b'{"hook": "pre_tool", "event": "PreToolUse", "ms": 1e999}\n'
                    b'{"hook": "pre_tool", "event": "PreToolUse", "ms": -Infinity}\n'
                    b'{"hook": "pre_tool", "event": "PreToolUse", "ms": 1' + b"0" * 400 + b'}\n')
    line(log, ms=12.5)
    assert hook_latency(read(log)) == {"count": 1, "p50_ms": 12.5, "p95_ms": 12.5, "max_ms": 12.5, "by_hook": {
        "pre_tool": {"count": 1, "p50_ms": 12.5, "p95_ms": 12.5, "max_ms": 12.5}}}
    assert main(["metrics", "--json"]) == 0
    assert strict_json(capsys.readouterr().out)["hook_latency"]["max_ms"] == 12.5
    strict_json(json.dumps(build(store, sample)))


def test_a_line_holding_a_lone_surrogate_is_skipped(sample: Path, store, capsys) -> None:
    """A damaged audit line naming its hook "pre\\ud800tool" made `orchestra metrics --json` fail ('utf-8' codec
    can't encode) and the dashboard answer 500 and send the page nothing."""
    from orchestra import paths
    from orchestra.cli import main
    from orchestra.dashboard.snapshot import build

    log = paths.audit_log(sample)
    log.write_bytes(b'{"hook": "pre\\ud800tool", "event": "PreToolUse", "ms": 3}\n'
                    b'{"hook": "pre\\ud83d\\ude00tool", "event": "PreToolUse", "ms": 4}\n')  # a pair: fine
    line(log, ms=12.5)
    assert set(hook_latency(read(log))["by_hook"]) == {"pre\U0001f600tool", "pre_tool"}
    assert main(["metrics", "--json"]) == 0
    assert strict_json(capsys.readouterr().out)["hook_latency"]["count"] == 2
    json.dumps(build(store, sample), ensure_ascii=False).encode()
