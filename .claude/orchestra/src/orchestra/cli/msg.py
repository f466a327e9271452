"""`orchestra msg send|inbox|ack|ask|answer|handoff`: the message bus from a terminal (README, "Message bus").

The CLI speaks for the person at the terminal (`human`) unless `--from` says otherwise; agents
send through the orchestra MCP tools, whose sender the PreToolUse hook stamps.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from .. import validation
from ..store import entity
from . import UsageError
from ._output import add_json_flag, emit, table
from ._store import project_store

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def register(sub) -> None:
    msg = sub.add_parser("msg", help="send, read and close messages between agents, the main thread and you")
    ops = msg.add_subparsers(dest="op", metavar="OP", required=True)

    send = ops.add_parser("send", help="send one message")
    send.add_argument("to", help="tech-lead, agent:<id>, team:<name>, human, main or broadcast")
    send.add_argument("type", help="task_assigned, question, artifact_ready, state_updated, ... (see README)")
    body = send.add_mutually_exclusive_group()
    body.add_argument("--text", help="payload {\"text\": TEXT}")
    body.add_argument("--payload", help="payload as a JSON object")
    _common(send, reply=True)
    send.set_defaults(func=cmd_send)

    inbox = ops.add_parser("inbox", help="open messages for a recipient, highest priority first")
    inbox.add_argument("recipient", nargs="?", default="human",
                       help="human (default: you and the main thread), agent:<id>, an agent type or team:<name>")
    inbox.add_argument("--all", action="store_true", help="every stored message, open or closed, for anyone")
    inbox.add_argument("--peek", action="store_true", help=(
        "look at a run's messages without counting them as read by it (they are still injected into the run)"))
    add_json_flag(inbox)
    inbox.set_defaults(func=cmd_inbox)

    ack = ops.add_parser("ack", help="mark messages handled (team and broadcast messages: only for --as)")
    ack.add_argument("ids", nargs="+", metavar="ID")
    ack.add_argument("--as", dest="by", default="human", help="who acknowledges (default: human)")
    add_json_flag(ack)
    ack.set_defaults(func=cmd_ack)

    ask = ops.add_parser("ask", help="ask a question; it stays pending until answered")
    ask.add_argument("to")
    ask.add_argument("question")
    ask.add_argument("--escalate-after", metavar="DURATION",
                     help="escalate a high/critical question unanswered this long, e.g. 15m (default 10m)")
    _common(ask)
    ask.set_defaults(func=cmd_ask)

    answer = ops.add_parser("answer", help="answer a question; the asker gets the answer")
    answer.add_argument("id", metavar="QUESTION_ID")
    answer.add_argument("answer")
    answer.add_argument("--from", dest="sender", default="human", help="who answers (default: human)")
    add_json_flag(answer)
    answer.set_defaults(func=cmd_answer)

    handoff = ops.add_parser("handoff", help="hand artifacts over for a task (artifact_ready); its brief lists them")
    handoff.add_argument("to", help="the receiver: an agent type, agent:<id>, team:<name>, main or human")
    handoff.add_argument("artifacts", nargs="*", metavar="PATH", help="default: the artifacts recorded on --task")
    handoff.add_argument("--from-task", help="the task that produced the artifacts, when not --task itself")
    handoff.add_argument("--note")
    _common(handoff, task_help="the task whose brief lists the artifacts")
    handoff.set_defaults(func=cmd_handoff)


def _common(parser, reply: bool = False, task_help: str = "the task the message is about") -> None:
    parser.add_argument("--priority", default="normal", choices=("critical", "high", "normal", "low"))
    parser.add_argument("--task", help=task_help)
    parser.add_argument("--from", dest="sender", default="human", help="sender (default: human)")
    parser.add_argument("--expires-in", metavar="DURATION", help="e.g. 30m, 2h, 1d")
    if reply:
        parser.add_argument("--reply-to", metavar="ID")
        parser.add_argument("--id", help="message id; sending again with the same id stores it once")
    add_json_flag(parser)


def duration(text: str | None, flag: str, longest: timedelta = timedelta.max) -> timedelta | None:
    if text is None:
        return None
    match = _DURATION.match(text.strip())
    if not match or float(match.group(1)) <= 0:
        raise UsageError(f"{flag} {text!r}: expected a positive duration such as 90s, 15m, 2h or 1d")
    try:
        value = timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
    except OverflowError:
        value = timedelta.max
    if value >= longest:
        raise UsageError(f"{flag} {text!r}: too long; at most {longest.days - 1}d")
    return value


def _expiry(args) -> str | None:
    from ..bus.messages import iso, utcnow

    now = utcnow()
    ttl = duration(args.expires_in, "--expires-in", longest=datetime.max.replace(tzinfo=UTC) - now)
    return iso(now + ttl) if ttl else None


def _checked(tx, message: dict[str, Any]) -> dict[str, Any]:
    """The CLI is an edge: the stored message must also satisfy the state schema. The message as stored, with a
    note when its recipient is a run that has ended."""
    from ..bus.delivery import ended_note

    validation.validate_change(tx, f"communication.messages.{message['id']}")
    note = ended_note(tx, message["to"])
    return {**message, "note": note} if note else message


def _sent_text(message: dict[str, Any]) -> str:
    note = f" ({message['note']})" if message.get("note") else ""
    return f"sent {message['id']}: {message['priority']} {message['type']} to {message['to']}{note}"


def cmd_send(args) -> int:
    from .. import workflow
    from ..bus import send
    from ..bus.messages import MESSAGE_TYPES, REQUIRED_PAYLOAD
    from ..lifecycle import apply_review

    payload = {"text": args.text} if args.text is not None else None
    if args.payload is not None:
        try:
            payload = json.loads(args.payload)
        except (ValueError, RecursionError) as exc:
            raise UsageError(f"--payload: not JSON ({exc})") from None
    expires_at = _expiry(args)
    # nothing to read (a question, answer, handoff or verdict: the bus names the key it lacks), as send_message says
    if args.type in MESSAGE_TYPES and args.type not in REQUIRED_PAYLOAD and (
            not payload or (args.text is not None and not args.text.strip())):
        raise UsageError("the message is empty: give its text (--text) or its content (--payload)")
    validation.ready()
    with project_store() as store, store.transaction() as tx:
        try:
            sent = send(tx, sender=args.sender, to=args.to, type=args.type, payload=payload,
                        priority=args.priority, task=args.task, reply_to=args.reply_to,
                        expires_at=expires_at, id=args.id)
        except ValueError as exc:
            raise ValueError(f"{exc}{_payload_hint(args.type, str(exc), args.text is not None)}") from None
        message = _checked(tx, sent)
        settled = apply_review(tx, message)  # a verdict on a task's review request moves the task
        if settled and settled.get("sprint"):
            workflow.sync_blocked(tx, settled["sprint"])
    emit(message, args.json, _sent_text)
    return 0


_SHORTER = {"question": "orchestra msg ask TO QUESTION", "answer": "orchestra msg answer QUESTION_ID ANSWER",
            "artifact_ready": "orchestra msg handoff TO PATH..."}
_EXAMPLE = {"artifacts": "[...]"}


def _payload_hint(type: str, error: str, text: bool) -> str:
    """How to give the payload key a type needs, when that is what `send` refused (`--text` gives only `text`)."""
    from ..bus.messages import REQUIRED_PAYLOAD

    key = next((k for k in REQUIRED_PAYLOAD.get(type, ()) if error.endswith(f"needs a non-empty {k!r}")), None)
    if key is None:
        return ""
    shorter = f", or `{_SHORTER[type]}`" if type in _SHORTER else ""
    value = _EXAMPLE.get(key, '"..."')
    given = ' (--text gives only {"text": ...})' if text else ""
    return f"{given}: send it with --payload '{{\"{key}\": {value}}}'{shorter}"


def cmd_ask(args) -> int:
    from ..bus import ask

    wait = duration(args.escalate_after, "--escalate-after")
    validation.ready()
    with project_store() as store, store.transaction() as tx:
        message = _checked(tx, ask(tx, sender=args.sender, to=args.to, question=args.question,
                                   priority=args.priority, task=args.task, expires_at=_expiry(args),
                                   escalate_after=wait.total_seconds() if wait else None))
    emit(message, args.json, _sent_text)
    return 0


def cmd_answer(args) -> int:
    from ..bus import answer

    validation.ready()
    with project_store() as store, store.transaction() as tx:
        message = _checked(tx, answer(tx, sender=args.sender, question_id=args.id, answer=args.answer))
    emit(message, args.json, _sent_text)
    return 0


def cmd_handoff(args) -> int:
    from ..bus import handoff
    from ..bus.messages import check_task

    validation.ready()
    with project_store() as store, store.transaction() as tx:
        if not args.artifacts and args.task is not None:  # its artifacts are the default: an unknown task has none
            check_task(tx, args.task, "task")
        artifacts = args.artifacts or (entity(tx, "tasks", args.task) or {}).get("artifacts")
        if not artifacts:
            raise UsageError("handoff: name the artifact paths (or a --task that has artifacts recorded)")
        # without paths the task's own artifacts go: it hands on its work, finished or not
        from_task = args.from_task or (args.task if not args.artifacts else None)
        message = _checked(tx, handoff(tx, sender=args.sender, artifacts=artifacts, to=args.to, task=args.task,
                                       note=args.note, from_task=from_task, priority=args.priority))
    emit(message, args.json, _sent_text)
    return 0


def cmd_ack(args) -> int:
    from ..bus import ack, addressing
    from ..teams import load

    by = args.by.strip()
    if addressing.kind(by) in addressing.SHARED_KINDS:  # its readers acknowledge, each for itself
        what = "broadcast" if by == addressing.BROADCAST else "a team"
        raise UsageError(f"--as {by!r}: {what} reads no messages itself; acknowledge as one who reads it: human, main, "
                         "main:<session_id>, agent:<id> or an agent type")
    with project_store() as store, store.transaction() as tx:
        if by and by not in (addressing.HUMAN, addressing.MAIN):  # a run or session not in state, `a b`: nobody,
            by = addressing.check_recipient(tx, by, load())  # refused, as `msg inbox` refuses it; as readers know it
        closed = [ack(tx, message_id, by=by or args.by) for message_id in args.ids]
    emit({"acknowledged": closed}, args.json, lambda data: "\n".join(_ack_line(m, by) for m in data["acknowledged"]))
    return 0


def _ack_line(message: dict[str, Any], by: str) -> str:
    if message.get("status") == "pending" and by in (message.get("acked") or {}):  # a team or broadcast message
        return f"{message['id']}: acknowledged by {by}; still open for the others it is addressed to ({message['to']})"
    return f"{message['id']}: {message['status']}"


def cmd_inbox(args) -> int:
    from ..bus import delivery
    from ..bus.messages import MESSAGES, iso, utcnow
    from ..teams import load

    now = utcnow()
    with project_store() as store, store.transaction() as tx:
        if args.all:
            messages = delivery.order(list(tx.items(MESSAGES).values()))
        else:
            who = _reader(tx, args.recipient, load())
            rows = delivery.open_messages(tx)
            delivery.expire_due(tx, rows, now)
            messages = delivery.open_for(rows, delivery.adopting(tx, who, rows), now)
            if who.agent_id and not args.peek:  # an agent reading its own inbox has seen these: no need to inject them
                for message in messages:
                    if not delivery.confirmed(message, who):  # handed over by a hook that may not have shown it
                        delivery.record(tx, message, who, "cli", iso(now))
    emit(messages, args.json, _inbox_text)
    return 0


def _reader(tx, recipient: str, org):
    from ..bus import addressing

    what = addressing.kind(recipient)
    if what == "human":
        return addressing.recipient(org, None, None, None, human=True)
    if what == "run":  # a run that does not exist is refused here as `msg send` refuses it
        agent_id = addressing.check_recipient(tx, recipient, org)[len(addressing.RUN_PREFIX):]
        return addressing.recipient(org, agent_id, tx.get(f"agents.{agent_id}").get("agent_type"))
    if what == "main":  # `main`: every session's main thread; `main:<session_id>`: that one, if there is one
        session_id = addressing.check_recipient(tx, recipient, org).partition(":")[2]
        return addressing.recipient(org, None, None, session_id or None)
    if what in ("agent_type", "team"):
        # a role's or team's view: what is addressed to that name (and, for a type, its team), and broadcasts
        address = addressing.check_recipient(tx, recipient, org)
        addresses = {address, addressing.BROADCAST}
        member = org.member(address) if what == "agent_type" else None
        if member is not None:
            addresses.add(f"{addressing.TEAM_PREFIX}{member.team}")
        return addressing.Recipient(key=f"view:{address}", addresses=frozenset(addresses), view=address)
    raise UsageError(f"inbox {recipient!r}: broadcast messages reach every reader, so every inbox lists them; "
                     "name a reader (human, main, agent:<id>, an agent type or team:<name>), "
                     "or use `msg inbox --all` for every stored message")


def _sender(message: dict[str, Any]) -> str:
    """A run's address with its agent type, as agents are shown the message (`agent:<id> (tech-lead)`)."""
    sender = message.get("from") or ""
    return f"{sender} ({message['from_type']})" if message.get("from_type") else sender


def _inbox_text(messages: list[dict[str, Any]]) -> str:
    if not messages:
        return "no open messages"
    from ..bus.delivery import describe

    rows = [[m["id"], m.get("priority") or "", m.get("type") or "", _sender(m), m.get("to") or "", m.get("task") or "",
             m.get("status") or "",
             describe(m).replace("\n", " ")[:80]] for m in messages]
    return table(rows, ["ID", "PRIORITY", "TYPE", "FROM", "TO", "TASK", "STATUS", "CONTENT"])
