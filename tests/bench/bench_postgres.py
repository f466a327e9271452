"""Hook latency with the state in a local PostgreSQL server, beside the same hooks on SQLite.

    uv run python tests/bench/bench_postgres.py [ROUNDS] [--bytecode]

Starts a throwaway server (tests/postgres/server.py: initdb in a temp dir, 127.0.0.1, a free
port; fsync off, so the numbers show the cost of the client and the protocol, not of a disk).
Each round replays one foreground delegation (the five lifecycle hooks of bench_lifecycle.py) and
one ordinary tool call (PreToolUse Bash: guards plus the message-bus read) through the real
`uv run --script` hooks, once per backend, backends alternating so load hits both alike. Prints
a Markdown table: median and p95 of the whole process per hook and backend, and the median time
inside the handler (the runner's `ms` in the audit log: store opening, psycopg's import and the
connection included). A second table times one read-modify-write transaction in-process (the
connection already open) and the first one of a fresh store object (connect and schema check).

`--bytecode` lets the hook processes keep compiled bytecode (in a private PYTHONPYCACHEPREFIX
under the bench's temp dir, nothing shared is written) where the environment sets
PYTHONDONTWRITEBYTECODE: then every import is not compiled from source again, as on a user's
machine. psycopg is about a hundred modules, so that setting weighs on it most.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parents[1]))  # `tests.postgres.server`

from bench_lifecycle import delegation  # noqa: E402
from hookrun import HOOKS, PACK, REPO, machine, median, p95, table, workdir  # noqa: E402

sys.path.insert(0, str(PACK / "src"))

from orchestra.store import open_store  # noqa: E402

from tests.postgres import server  # noqa: E402

TASKS = 200


def project(work: Path, name: str) -> Path:
    root = work / name
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / ".claude").mkdir()
    (root / ".claude" / "teams.yaml").write_text((REPO / ".claude" / "teams.yaml").read_text())
    return root


def seed(url: str, rounds: int) -> None:
    with open_store(url) as store, store.transaction() as tx:
        for i in range(max(rounds, TASKS)):
            tx.set(f"tasks.t{i}", {"title": f"part {i}", "status": "queued", "type": "implementation"})
        for i in range(20):
            tx.set(f"communication.messages.m-{i}", {"to": "team:qa", "status": "pending", "priority": "normal",
                                                     "type": "note", "payload": {"text": "x"}, "seq": i})


ENV = dict(os.environ)


def run(script: Path, payload: dict, root: Path, url: str) -> float:
    env = {**ENV, "CLAUDE_PROJECT_DIR": str(root), "ORCHESTRA_STATE_URL": url}
    started = time.perf_counter()
    proc = subprocess.run(["uv", "run", "--quiet", "--script", str(script)], input=json.dumps(payload).encode(),
                          capture_output=True, cwd=root, env=env, timeout=600)
    elapsed = (time.perf_counter() - started) * 1000
    if proc.returncode != 0 or b"systemMessage" in proc.stdout:
        raise SystemExit(f"{script.name} failed on {url.partition(':')[0]}: {(proc.stderr or proc.stdout).decode()[:400]}")
    return elapsed


def tool_call(root: Path, i: int) -> tuple[str, dict]:
    return ("pre_tool.py", {"session_id": "bench", "transcript_path": str(root / "t.jsonl"), "cwd": str(root),
                            "permission_mode": "default", "hook_event_name": "PreToolUse", "tool_name": "Bash",
                            "tool_use_id": f"toolu_bash_{i}", "agent_id": f"agent{i:04}", "agent_type": "fullstack-eng",
                            "tool_input": {"command": "git status --short", "description": "status"}})


def audit_records(root: Path, url: str) -> list[dict]:
    """The run's audit lines: the project's file, or the database's chain when the state is there."""
    if url.startswith("postgresql://"):
        from orchestra.store import postgres_audit

        with open_store(url) as store:
            return [r for r in postgres_audit.tail(store, 1_000_000) if r.get("project") == str(root)]
    return [json.loads(line) for line in (root / ".claude" / "state" / "audit.jsonl").read_text().splitlines()]


def handler_ms(root: Path, url: str) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for record in audit_records(root, url):
        if record.get("hook") and record.get("session") != "warm" and isinstance(record.get("ms"), int | float):
            out.setdefault(record["hook"] + ".py", []).append(record["ms"])
    return out


def transaction_ms(url: str, repeats: int = 200) -> tuple[float, float]:
    """One read-modify-write transaction on an open store, and the first on a new store object."""
    def once(store, i: int) -> None:
        with store.transaction() as tx:
            task = tx.get(f"tasks.t{i % TASKS}")
            tx.update(f"tasks.t{i % TASKS}", {"touches": task.get("touches", 0) + 1})
            tx.append_event("task.touched", task_id=task["id"])

    warm = []
    with open_store(url) as store:
        for i in range(repeats):
            began = time.perf_counter()
            once(store, i)
            warm.append((time.perf_counter() - began) * 1000)
    cold = []
    for i in range(max(repeats // 10, 5)):
        began = time.perf_counter()
        with open_store(url) as store:
            once(store, i)
        cold.append((time.perf_counter() - began) * 1000)
    return median(warm), median(cold)


def main(rounds: int, bytecode: bool) -> None:
    pg = server.Server(server.bindir() or sys.exit("PostgreSQL is not installed (no initdb)"))
    pg.start()
    try:
        work = workdir("orchestra bench postgres ")
        if bytecode:
            ENV.pop("PYTHONDONTWRITEBYTECODE", None)
            ENV["PYTHONPYCACHEPREFIX"] = str(work / "bytecode")
        urls = {"sqlite": f"sqlite://{work / 'sqlite state' / 'orchestration.db'}", "postgresql": pg.fresh_url()}
        roots = {backend: project(work, f"{backend} project") for backend in urls}
        for backend, url in urls.items():
            seed(url, rounds)
            run(HOOKS / "session_end.py", {"session_id": "warm", "cwd": str(roots[backend]),
                                           "hook_event_name": "SessionEnd"}, roots[backend], url)
        times: dict[tuple[str, str], list[float]] = {}
        for i in range(rounds):
            for backend, url in urls.items():
                for script, payload in [*delegation(roots[backend], i), tool_call(roots[backend], i)]:
                    times.setdefault((script, backend), []).append(run(HOOKS / script, payload, roots[backend], url))
        inside = {backend: handler_ms(roots[backend], url) for backend, url in urls.items()}
        rows = []
        for (script, backend), values in times.items():
            rows.append([script, backend, f"{median(values):.0f}", f"{p95(values):.0f}",
                         f"{median(inside[backend].get(script, [])):.1f}"])
        cached = "compiled bytecode kept" if bytecode or "PYTHONDONTWRITEBYTECODE" not in ENV else \
            "PYTHONDONTWRITEBYTECODE set: imports compiled from source each time"
        print(f"Hook latency per backend, {rounds} rounds, {cached} ({machine()})\n")
        print(table(["hook", "backend", "median ms", "p95 ms", "handler ms (median)"], rows))
        print("\nOne read-modify-write transaction (get, update, append_event), in-process\n")
        rows = [[backend, *(f"{ms:.2f}" for ms in transaction_ms(url))] for backend, url in urls.items()]
        print(table(["backend", "open store, median ms", "new store incl. connect, median ms"], rows))
    finally:
        pg.stop()


if __name__ == "__main__":
    numbers = [arg for arg in sys.argv[1:] if arg.isdigit()]
    main(int(numbers[0]) if numbers else 20, "--bytecode" in sys.argv[1:])
