"""Messages: the twelve types, their fields and limits, and `send`, which validates and stores one.

A message lives in `communication.messages.<id>`:
`id, timestamp, from, from_type, to, type, payload, priority, reply_to, task, expires_at` (the
protocol fields) plus bus bookkeeping: `status` (pending until closed, then acknowledged,
answered or expired), `seq` (global send order, for FIFO within a priority), `delivered`
(run key -> time it was injected there) and `acked` (run key -> time, for shared messages).
Replies close what they reply to inside the same transaction: an answer closes its question,
artifact_received its artifact_ready, review_complete its review_request (recording the verdict).
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from ..models import PRIORITIES
from ..store import entity
from ..store.document import is_entity_id, long_id
from ..teams import Organization
from . import addressing

MESSAGE_TYPES: tuple[str, ...] = (
    "task_assigned", "task_completed", "task_blocked", "question", "answer", "review_request",
    "review_complete", "artifact_ready", "artifact_received", "state_updated", "lock_acquired",
    "lock_released",
)
MESSAGES = "communication.messages"
MAX_PAYLOAD_BYTES = 4096  # a message must fit, with others, in one hook's context budget
SHARED_TTL = timedelta(hours=24)  # team and broadcast messages have no single closer, so they age out
DIRECT_TTL = timedelta(days=7)  # bounds what every delivery reads when nobody ever acknowledges
VERDICTS: tuple[str, ...] = ("approved", "changes_requested", "rejected")
OPEN = "pending"
CLOSED_STATUSES: tuple[str, ...] = ("acknowledged", "answered", "expired")

# payload keys a type cannot do without (non-empty)
REQUIRED_PAYLOAD: dict[str, tuple[str, ...]] = {
    "question": ("question",),
    "answer": ("answer",),
    "artifact_ready": ("artifacts",),
    "review_complete": ("verdict",),
}
TEXT_PAYLOAD = ("question", "answer")  # required keys whose value is text a reader is shown
# reply type -> the type it must reply to
REPLIES_TO: dict[str, str] = {
    "answer": "question",
    "artifact_received": "artifact_ready",
    "review_complete": "review_request",
}

_ID = re.compile(r"^[A-Za-z0-9_\-:]{1,120}$")


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: object, field: str) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{field}: {value!r} is not an ISO 8601 time such as 2026-11-24T18:00:00Z") from None
    else:
        raise ValueError(f"{field}: expected an ISO 8601 time string, got {type(value).__name__}")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_time(value: object) -> datetime | None:
    """A stored time, or None when it is none: a record written by hand (`orchestra state set`) or imported must not
    stop the bus for every reader."""
    try:
        return parse_time(value, "time")
    except ValueError:
        return None


def is_expired(message: dict[str, Any], now: datetime) -> bool:
    """Past its expiry; a message whose expiry is no time stays open, to be shown and closed, never lost."""
    expires = read_time(message.get("expires_at")) if message.get("expires_at") else None
    return expires is not None and expires <= now


def org_for(org: Organization | None) -> Organization:
    if org is not None:
        return org
    from .. import teams

    return teams.load()


def send(tx, *, sender: str, to: str, type: str, payload: dict[str, Any] | None = None,
         priority: str = "normal", task: str | None = None, reply_to: str | None = None,
         expires_at: str | datetime | None = None, id: str | None = None,
         org: Organization | None = None, now: datetime | None = None,
         extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Validate and store one message in the caller's transaction; return the stored record.

    Raises ValueError (nothing written) on an unknown type or recipient, a bad priority, a payload
    that is not an object or is over MAX_PAYLOAD_BYTES, a reply to the wrong kind of message, or
    an expiry in the past. Sending again with the `id` of a stored, identical message returns
    that message (retries deduplicate); a different message under a used id is refused.
    """
    now = now or utcnow()
    org = org_for(org)
    if type not in MESSAGE_TYPES:
        raise ValueError(f"message type {type!r} is unknown; use one of: {', '.join(MESSAGE_TYPES)}")
    sender = _check_sender(sender)
    target = _check_reply(tx, type, reply_to)
    if target is not None and (root := entity(tx, MESSAGES, target.get("escalation_of"))) is not None:
        reply_to, target = root["id"], root  # the asker knows the question it asked, not the escalated copy
    # a reply goes back to a sender the bus already accepted, whether or not its run is recorded, and to nobody else
    to = addressing.check_recipient(tx, to, org) if target is None else _reply_recipient(type, to, target)
    if type == "review_request":
        to = addressing.review_route(tx, to, org, sender)
    if to == sender and addressing.kind(to) == "run":  # stored, it would wait unread until it expired
        raise ValueError(f"recipient {to!r} is the sender itself, and a run is never shown what it sends; address "
                         "whoever should read it (an agent type, team:<name>, main or human)")
    if priority not in PRIORITIES:
        raise ValueError(f"priority {priority!r} is unknown; use one of: {', '.join(PRIORITIES)} (highest first)")
    payload = _check_payload(type, payload)
    if type == "review_complete":  # however it is sent: update_task, send_message or `orchestra msg send`
        priority = verdict_priority(payload["verdict"], target)
    if task is not None:
        check_task(tx, task, "task")
    expiry = _check_expiry(expires_at, to, now)
    if id is not None:
        existing = _existing(tx, id, sender, to, type, payload)
        if existing is not None:
            return existing
    seq = tx.append_event("message.sent", {"from": sender, "to": to, "type": type, "priority": priority},
                          task_id=task)
    message_id = id or _fresh_id(tx, seq)
    record: dict[str, Any] = {
        "id": message_id, "timestamp": iso(now), "from": sender, "from_type": _sender_type(tx, sender),
        "to": to, "type": type, "payload": payload, "priority": priority, "reply_to": reply_to,
        "task": task, "expires_at": expiry, "status": OPEN, "seq": seq, "delivered": {}, "acked": {},
        **(extra or {}),
    }
    tx.set(f"{MESSAGES}.{message_id}", record)
    if target is not None:
        _close_target(tx, target, record, now)
    return record


def verdict_priority(verdict: str, request: dict[str, Any]) -> str:
    """An approval asks nothing of the worker: it waits behind messages that do. A verdict that sends work
    back keeps the review request's priority."""
    return "low" if verdict == "approved" else request.get("priority", "normal")


def check_task(tx, task: object, field: str) -> str:
    """`task`, when it names a task in state; else ValueError naming `field`."""
    if not is_entity_id(task) or entity(tx, "tasks", task) is None:  # any task id: `feat/login`, `t@2` too
        raise ValueError(f"{field}: {too_long}" if (too_long := long_id(task, "task"))
                         else f"{field} {task!r}: no such task in state (see `orchestra task list`)")
    return task


def _check_sender(sender: object) -> str:
    if not isinstance(sender, str) or not sender.strip():
        raise ValueError("sender: expected a non-empty string (main, human, agent:<id>, an agent type or orchestra)")
    sender = addressing.normalize(sender)
    if (addressing.kind(sender) in addressing.SHARED_KINDS or not _ID.match(sender)
            or sender == addressing.RUN_PREFIX):  # `agent:` names no run
        raise ValueError(f"sender {sender!r}: not an identity; a message comes from main, human, agent:<id>, "
                         "an agent type or orchestra")
    return sender


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _check_payload(type: str, payload: object) -> dict[str, Any]:
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise ValueError(f"payload: expected a JSON object, got {payload.__class__.__name__}")
    try:
        size = len(json.dumps(payload, ensure_ascii=False, allow_nan=False).encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise ValueError(_not_utf8(payload, "payload") or f"payload: not UTF-8 text ({exc})") from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f"payload: not plain JSON ({exc})") from None
    if size > MAX_PAYLOAD_BYTES:
        raise ValueError(f"payload (the message's text, question, answer or note with the rest of its content) is "
                         f"{size} bytes, over the {MAX_PAYLOAD_BYTES}-byte limit; put large content in a file and hand "
                         "it off (artifact_ready) by path")
    for key in REQUIRED_PAYLOAD.get(type, ()):
        if not payload.get(key):
            raise ValueError(f"payload: {_a(type)} message needs a non-empty {key!r}")
        if key in TEXT_PAYLOAD and (not isinstance(payload[key], str) or not payload[key].strip()):
            raise ValueError(f"payload.{key}: expected non-empty text, got {payload[key]!r}")
    if type == "artifact_ready":
        artifacts = payload["artifacts"]
        if not isinstance(artifacts, list) or not all(isinstance(a, str) and a.strip() for a in artifacts):
            raise ValueError("payload.artifacts: expected a list of non-empty paths")
        for path in artifacts:  # a path is shown as one line of a brief; a line break in it would add lines
            if _UNPRINTABLE.search(path):
                raise ValueError(f"payload.artifacts: {path[:80]!r} has a line break or control character; "
                                 "give file paths")
    if type == "review_complete" and payload["verdict"] not in VERDICTS:
        raise ValueError(f"payload.verdict {payload['verdict']!r} is unknown; use one of: {', '.join(VERDICTS)}")
    return payload


def _not_utf8(value: object, where: str) -> str | None:
    """Where in `value` text holds a character UTF-8 cannot write, said plainly: a byte that was not UTF-8 (as
    Python reads such bytes from a command line) or a lone surrogate (a JSON `\\ud800`); None if nowhere."""
    if isinstance(value, str):
        for index, char in enumerate(value):
            if "\ud800" <= char <= "\udfff":
                what = (f"the byte 0x{ord(char) - 0xdc00:02x}" if "\udc80" <= char <= "\udcff"
                        else f"a lone surrogate (\\u{ord(char):04x})")
                return f"{where}: character {index + 1} is {what}, which is not UTF-8 text; send UTF-8"
        return None
    if isinstance(value, dict):
        parts = [part for key, item in value.items() for part in ((key, f"{where} key"), (item, f"{where}.{key}"))]
    elif isinstance(value, list):
        parts = [(item, f"{where}[{index}]") for index, item in enumerate(value)]
    else:
        return None
    return next((found for item, place in parts if (found := _not_utf8(item, place))), None)


def _check_reply(tx, type: str, reply_to: object) -> dict[str, Any] | None:
    wanted = REPLIES_TO.get(type)
    if reply_to is None:
        if wanted:
            raise ValueError(f"reply_to: {_a(type)} must name the {wanted} it replies to")
        return None
    if not isinstance(reply_to, str) or not _ID.match(reply_to):
        raise ValueError(f"reply_to {reply_to!r}: not a message id")
    target = entity(tx, MESSAGES, reply_to)  # `msg-1\n` passes _ID's `$` but names no message
    if target is None:
        raise ValueError(f"reply_to {reply_to!r}: no such message")
    if wanted and target.get("type") != wanted:
        raise ValueError(f"reply_to {reply_to!r}: {_a(type)} replies to {_a(wanted)}, not {_a(target.get('type'))}")
    if wanted and target.get("status") == "answered":
        raise ValueError(f"reply_to {reply_to!r}: already answered by {target.get('answered_by')}")
    return target if wanted else None


def reply_address(message: dict[str, Any]) -> str:
    """Where a reply to `message` goes: its sender (Orchestra's own messages: the main thread)."""
    sender = message.get("from")
    return addressing.MAIN if sender in (None, addressing.SYSTEM) else sender


def _reply_recipient(type: str, to: object, target: dict[str, Any]) -> str:
    """A reply goes back to whoever sent what it replies to, so that the answer reaches the asker it closes the
    question for."""
    back = reply_address(target)
    if not isinstance(to, str) or addressing.normalize(to) != back:
        raise ValueError(f"recipient {to!r}: {_a(type)} goes back to whoever sent {target['id']}; address it to {back}")
    return back


def _check_expiry(expires_at: object, to: str, now: datetime) -> str | None:
    if expires_at is None:
        return iso(now + (SHARED_TTL if addressing.is_shared(to) else DIRECT_TTL))
    moment = parse_time(expires_at, "expires_at")
    if moment <= now:
        raise ValueError(f"expires_at {iso(moment)} is not in the future (now is {iso(now)})")
    return iso(moment)


def _a(word: object) -> str:
    return f"{'an' if str(word)[:1] in 'aeiou' else 'a'} {word}"


def _existing(tx, message_id: object, sender: str, to: str, type: str, payload: dict) -> dict | None:
    if not isinstance(message_id, str) or not _ID.match(message_id):
        raise ValueError(f"id {message_id!r}: use 1-120 letters, digits, _ - or :")
    existing = tx.get(f"{MESSAGES}.{message_id}", None)
    if existing is None:
        return None
    if (existing.get("from"), existing.get("to"), existing.get("type"), existing.get("payload")) != (
            sender, to, type, payload):
        raise ValueError(f"id {message_id!r} is already used by a different message")
    return existing


def _fresh_id(tx, seq: int) -> str:
    message_id = f"msg-{seq}"
    if tx.get(f"{MESSAGES}.{message_id}", None) is not None:  # event ids restarted after an import
        message_id = f"msg-{seq}-{os.urandom(3).hex()}"
    return message_id


def _sender_type(tx, sender: str) -> str | None:
    if not sender.startswith(addressing.RUN_PREFIX):
        return None
    run = entity(tx, "agents", sender[len(addressing.RUN_PREFIX):])
    return run.get("agent_type") if run is not None else None


def _close_target(tx, target: dict[str, Any], reply: dict[str, Any], now: datetime) -> None:
    status = "acknowledged" if reply["type"] == "artifact_received" else "answered"
    fields: dict[str, Any] = {"status": status, "closed_at": iso(now), "answered_by": reply["id"],
                              "closed_by": reply["from"]}
    if reply["type"] == "review_complete":
        fields["verdict"] = reply["payload"]["verdict"]
    close_chain(tx, target, fields)
    tx.append_event(f"message.{status}", {"message": target["id"], "by": reply["from"], "reply": reply["id"]},
                    task_id=target.get("task"))


def close_chain(tx, message: dict[str, Any], fields: dict[str, Any]) -> list[str]:
    """Close `message` and, for a question, every escalated copy of it (and the original)."""
    chain = [message["id"]]
    if message.get("type") == "question":
        root = message.get("escalation_of") or message["id"]
        chain = [root, *(m["id"] for m in tx.find(MESSAGES, escalation_of=root))]
    closed = []
    for message_id in dict.fromkeys(chain):
        current = tx.get(f"{MESSAGES}.{message_id}", None)
        if current is not None and current.get("status") == OPEN:
            current = tx.update(f"{MESSAGES}.{message_id}", fields)
            stamp_deliveries(tx, current, fields.get("closed_at"))
            closed.append(message_id)
    return closed


def stamp_deliveries(tx, message: dict[str, Any], stamp: str | None, only_address: str | None = None) -> None:
    for key in message.get("delivered") or {}:
        path = f"communication.deliveries.{message['id']}@{key}"
        record = tx.get(path, None)
        if record is not None and only_address in (None, key, record.get("address")):  # address, or one main thread
            tx.set(f"{path}.acked_at", stamp)
