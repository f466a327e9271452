"""16 sender processes x 100 messages while receiver processes take and acknowledge deliveries.

Every message must reach each of its recipients exactly once, none lost, even with two processes
delivering to the same run at the same time (an agent's parallel tool calls).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.bus.conftest import add_run
from tests.conftest import REPO

SENDERS, PER_SENDER = 16, 100
RUNS = {"r-lead": "tech-lead", "r-eng": "fullstack-eng", "r-api": "api-engineer"}
ADDRESSES = ["agent:r-lead", "fullstack-eng", "api-engineer", "team:engineering", "agent:r-eng", "broadcast"]
AUDIENCE = {"agent:r-lead": {"r-lead"}, "fullstack-eng": {"r-eng"}, "api-engineer": {"r-api"},
            "agent:r-eng": {"r-eng"}, "team:engineering": set(RUNS), "broadcast": set(RUNS)}


@pytest.mark.slow
def test_sixteen_senders_every_message_delivered_exactly_once_to_each_recipient(project: Path, project_store,
                                                                                 tmp_path: Path) -> None:
    for agent_id, agent_type in RUNS.items():
        add_run(project_store, agent_id, agent_type)
    url = project_store.url
    done = tmp_path / "senders-done"
    worker = [sys.executable, "-m", "tests.bus._worker"]
    receivers = {(agent_id, copy): subprocess.Popen(
        [*worker, "receive", url, agent_id, agent_type, str(done), str(tmp_path / f"{agent_id}-{copy}.json")],
        cwd=REPO) for agent_id, agent_type in RUNS.items() for copy in (1, 2)}
    senders = [subprocess.Popen([*worker, "send", url, str(n), str(PER_SENDER), *ADDRESSES], cwd=REPO)
               for n in range(SENDERS)]
    assert [p.wait(timeout=600) for p in senders] == [0] * SENDERS
    done.touch()
    assert [p.wait(timeout=600) for p in receivers.values()] == [0] * len(receivers)

    messages = project_store.get("communication.messages")
    assert len(messages) == SENDERS * PER_SENDER
    expected = {agent_id: {m["id"] for m in messages.values() if agent_id in AUDIENCE[m["to"]]} for agent_id in RUNS}
    for agent_id in RUNS:
        got = Counter()
        for copy in (1, 2):
            got.update(json.loads((tmp_path / f"{agent_id}-{copy}.json").read_text()))
        assert set(got) == expected[agent_id], f"{agent_id}: lost {len(expected[agent_id] - set(got))}"
        assert max(got.values()) == 1, f"{agent_id}: delivered twice: {[i for i, n in got.items() if n > 1][:5]}"
    direct = [m for m in messages.values() if m["to"] not in ("team:engineering", "broadcast")]
    assert {m["status"] for m in direct} == {"acknowledged"}
    deliveries = project_store.get("communication.deliveries")
    assert len(deliveries) == sum(len(ids) for ids in expected.values())
    assert all(d["acked_at"] for d in deliveries.values())
