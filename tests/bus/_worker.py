"""Sender and receiver processes for the concurrency test, all on one real SQLite store.

python -m tests.bus._worker send URL SENDER_NO COUNT ADDRESS...
python -m tests.bus._worker receive URL AGENT_ID AGENT_TYPE DONE_FILE OUT_FILE
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from orchestra import bus
from orchestra.models import PRIORITIES
from orchestra.store import open_store
from orchestra.teams import build

from tests.bus.conftest import TEAMS


def send_many(url: str, sender_no: int, count: int, addresses: list[str]) -> None:
    org = build(TEAMS)
    with open_store(url) as store:
        for i in range(count):
            with store.transaction() as tx:
                bus.send(tx, sender=f"agent:s{sender_no}", to=addresses[(sender_no + i) % len(addresses)],
                         type="state_updated", priority=PRIORITIES[(sender_no * 7 + i) % len(PRIORITIES)],
                         payload={"n": i}, org=org)


def receive(url: str, agent_id: str, agent_type: str, done_file: Path, out_file: Path) -> None:
    """Take deliveries like a run's tool calls do, acknowledge each, until the senders are done and nothing is left."""
    who = bus.recipient(build(TEAMS), agent_id, agent_type)
    seen: list[str] = []
    with open_store(url) as store:
        while True:
            senders_done = done_file.exists()  # read before delivering, so an empty delivery after it is final
            with store.transaction() as tx:
                delivery = bus.deliver(tx, who, via="tool_call", limit=25)
            if delivery.messages:
                seen.extend(m["id"] for m in delivery.messages)
                with store.transaction() as tx:
                    for message in delivery.messages:
                        bus.ack(tx, message["id"], by=who.address)
            elif senders_done:
                break
            else:
                time.sleep(0.005)
    out_file.write_text(json.dumps(seen))


if __name__ == "__main__":
    command, url, *rest = sys.argv[1:]
    if command == "send":
        send_many(url, int(rest[0]), int(rest[1]), rest[2:])
    else:
        receive(url, rest[0], rest[1], Path(rest[2]), Path(rest[3]))
