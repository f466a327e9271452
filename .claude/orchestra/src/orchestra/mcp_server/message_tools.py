"""The message bus as MCP tools: send_message, ask, answer, inbox, ack, handoff (over `orchestra.bus`).

The sender is always the stamped caller. Closing a message (ack, answer) is for its recipients: a
subagent may close only what is addressed to it or was shown to it; the main thread speaks for the
user, who may close anything (as `orchestra msg ack` does).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from .. import bus, lifecycle, workflow
from ..bus import addressing, delivery
from ..bus.messages import MESSAGE_TYPES, MESSAGES, OPEN, REPLIES_TO, REQUIRED_PAYLOAD, iso, utcnow
from ..bus.replies import MAX_ESCALATE_AFTER_S
from ..models import Priority
from ..store import entity
from .edge import Caller, StampedCaller, identity, organization, sized, state, validated

MessageType = Literal[MESSAGE_TYPES]  # type: ignore[valid-type]
MAX_ADDRESS = 200  # agent:<run id> with the longest run id, team:<name>, an agent type
Address = Annotated[str, Field(min_length=1, max_length=MAX_ADDRESS, description=(
    "an agent type (tech-lead), one run (agent:<id>), a team (team:qa), main, human or broadcast"))]
Urgency = Annotated[Priority, Field(description="critical > high > normal > low; critical skips the pacing of deliveries")]
About = Annotated[str | None, Field(description="id of the task this is about")]
MessageId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-:]{1,120}$", description="the message id, e.g. msg-12")]

SHOWN = ("id", "type", "priority", "from", "from_type", "to", "task", "reply_to", "payload", "status", "timestamp",
         "expires_at")


def view(message: dict[str, Any]) -> dict[str, Any]:
    """A message as a tool returns it: the protocol fields, without the bus's delivery bookkeeping."""
    return {k: message.get(k) for k in SHOWN}


def _sent(tx, message: dict[str, Any], sender: Caller) -> dict[str, Any]:
    if sender.agent_id is None and sender.session_id and (addressing.is_shared(message["to"])
                                                          or addressing.kind(message["to"]) == "main"):
        # from `main`, but one session's: the main threads of the others are shown it (delivery.addressed_to)
        message = tx.update(f"{MESSAGES}.{message['id']}", {"from_session": sender.session_id})
    validated(tx, f"{MESSAGES}.{message['id']}")
    note = delivery.ended_note(tx, message["to"])
    return {**view(message), **({"note": note} if note else {})}


def send_message(to: Address, type: Annotated[MessageType, Field(description=(
                     "what kind of message: state_updated for a plain notice; question/answer, review_request/"
                     "review_complete, artifact_ready/artifact_received, task_* and lock_* as named"))] = "state_updated",
                 text: Annotated[str | None, Field(min_length=1, description=(
                     "the message as plain text (payload {text})"))] = None,
                 payload: Annotated[dict[str, Any] | None, Field(description=(
                     "structured content instead of text, e.g. {\"verdict\": \"approved\"} for review_complete"))] = None,
                 priority: Urgency = "normal", task: About = None,
                 reply_to: Annotated[str | None, Field(max_length=120, description=(
                     "the message this replies to (answer, review_complete and artifact_received need it, and go to its sender)"))] = None,
                 caller: StampedCaller = None) -> dict[str, Any]:
    """Send a message to an agent, a team, the main thread or the human; they see it at their next tool call
    and it stays open until they close it. Returns the stored message."""
    sender = identity(caller)
    if text is not None and payload is not None:
        raise ToolError("give the message as text or as payload, not both (put the text into the payload)")
    body = {"text": text} if text is not None else payload
    # nothing to read (a question, answer, artifact_ready or review_complete: the bus names the key it lacks)
    if type not in REQUIRED_PAYLOAD and (not body or (text is not None and not text.strip())):
        raise ToolError("the message is empty: give its text (text) or its content (payload)")
    org = organization()
    with state(write=True) as tx:
        if type in REPLIES_TO and reply_to is not None:  # such a reply closes the message it answers
            _check_recipient(tx, reply_to, sender, org)
        message = bus.send(tx, sender=sender.id, to=to, type=type, payload=body, priority=priority, task=task,
                           reply_to=reply_to, org=org)
        settled = lifecycle.apply_review(tx, message)  # a verdict on a task's review request moves the task
        if settled is not None:
            workflow.check_task_status(tx, settled, settled["status"])  # as update_task's verdict
            validated(tx, f"tasks.{settled['id']}")
            if settled.get("sprint"):
                workflow.sync_blocked(tx, settled["sprint"])
        return _sent(tx, message, sender)


def ask(to: Address, question: Annotated[str, Field(min_length=1, description="one precise question")],
        priority: Urgency = "normal", task: About = None,
        escalate_after_minutes: Annotated[float | None, Field(gt=0, le=MAX_ESCALATE_AFTER_S / 60, description=(
            "a high or critical question unanswered this long goes to the recipient's orchestrator (default 10)"))] = None,
        caller: StampedCaller = None) -> dict[str, Any]:
    """Ask someone a question; the answer comes back to you as a message. Returns the question (its id is what
    the answer will reply to)."""
    sender = identity(caller)
    wait = escalate_after_minutes * 60 if escalate_after_minutes is not None else None
    org = organization()
    with state(write=True) as tx:
        return _sent(tx, bus.ask(tx, sender=sender.id, to=to, question=question, priority=priority, task=task,
                                 escalate_after=wait, org=org), sender)


def answer(question_id: MessageId, answer: Annotated[str, Field(min_length=1, description="the answer")],
           caller: StampedCaller = None) -> dict[str, Any]:
    """Answer a question you were asked; the asker gets the answer and the question closes."""
    sender = identity(caller)
    org = organization()
    with state(write=True) as tx:
        _check_recipient(tx, question_id, sender, org)
        return _sent(tx, bus.answer(tx, sender=sender.id, question_id=question_id, answer=answer, org=org), sender)


def inbox(limit: Annotated[int, Field(ge=1, le=50, description="at most this many, highest priority first")] = 20,
          caller: StampedCaller = None) -> dict[str, Any]:
    """Your open messages, highest priority first, shown or not; close each with ack or answer once handled."""
    reader = identity(caller)
    who, now = reader.recipient(organization()), utcnow()
    with state(write=True) as tx:
        rows = delivery.open_messages(tx)
        delivery.expire_due(tx, rows, now)
        who = delivery.adopting(tx, who, rows)
        messages = delivery.open_for(rows, who, now)
        shown = sized({"messages": [view(m) for m in messages[:limit]], "more": max(0, len(messages) - limit)},
                      NARROWING["inbox"])  # before they count as read: a refused answer shows nothing
        for message in messages[:limit]:  # read here, so the hooks need not inject them again; but what is
            # sent to the human stays for the user's next prompt, which shows it to the user as well
            if not delivery.confirmed(message, who) and message.get("to") != addressing.HUMAN:
                delivery.record(tx, message, who, "mcp_call", iso(now))
    return shown


def ack(message_id: MessageId, caller: StampedCaller = None) -> dict[str, Any]:
    """Mark a message addressed to you as handled, so it is not shown again (team and broadcast messages close
    only for you). Acknowledging twice is harmless."""
    by = identity(caller)
    org = organization()
    with state(write=True) as tx:
        _check_recipient(tx, message_id, by, org)
        acker = _acker(entity(tx, MESSAGES, message_id), by)
        message = bus.ack(tx, message_id, by=acker)
    return {"id": message["id"], "status": message["status"], "acknowledged_by": acker, **_ack_outcome(message, acker)}


def _ack_outcome(message: dict[str, Any], acker: str) -> dict[str, Any]:
    """What an ack did, said plainly: a team or broadcast message stays `pending` for its other readers, which is
    not a failed ack."""
    others = message["status"] == OPEN and addressing.is_shared(message["to"])
    outcome: dict[str, Any] = {"closed_for_you": message["status"] != OPEN or acker in (message.get("acked") or {}),
                               "open_for_others": others}
    if others:
        outcome["note"] = (f"acknowledged: closed for you; it stays open (status pending) for the others it is "
                           f"addressed to ({message['to']}) until each acknowledges it or it expires")
    return outcome


def _acker(message: dict[str, Any] | None, caller: Caller) -> str:
    """Who an ack is from: a team or broadcast message closes for each run, and the main thread is one run per
    session, so its ack there is its session's (`main:<session_id>`), not every session's."""
    if caller.agent_id or not caller.session_id or message is None or not addressing.is_shared(message["to"]):
        return caller.id
    return addressing.session_main(caller.session_id)


def handoff(artifacts: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1, description=(
                "paths of the files handed over, relative to the repository"))],
            to: Annotated[Address | None, Field(description="the receiver (default: the assignee of `task`)")] = None,
            task: Annotated[str | None, Field(description="the receiving task; its brief will list the artifacts")] = None,
            note: Annotated[str | None, Field(min_length=1, description="what the receiver should know about them")] = None,
            from_task: Annotated[str | None, Field(description=(
                "the task that produced them (default: yours); the receiver is told its worktree"))] = None,
            priority: Urgency = "normal", caller: StampedCaller = None) -> dict[str, Any]:
    """Hand files over to another agent or task (an artifact_ready message); the receiver confirms with ack."""
    sender = identity(caller)
    org = organization()
    with state(write=True) as tx:
        if from_task is None and sender.agent_id:
            from_task = (tx.get(f"agents.{sender.agent_id}", None) or {}).get("task")
        return _sent(tx, bus.handoff(tx, sender=sender.id, artifacts=artifacts, to=to, task=task, note=note,
                                     from_task=from_task, priority=priority, org=org), sender)


def _check_recipient(tx, message_id: str, caller: Caller, org) -> None:
    message = entity(tx, MESSAGES, message_id)  # `msg-1.payload` is no message: the bus refuses it
    if message is None or caller.agent_id is None:
        return  # the bus says what is missing; the main thread speaks for the user
    who = caller.recipient(org)
    if delivery.addressed_to(message, who) or who.key in (message.get("delivered") or {}):
        return
    if message.get("from") == caller.id:
        raise ToolError(f"message {message_id} is your own, sent to {message.get('to')}; only its recipient can close "
                        "it. Send another message to say more (send_message).")
    raise ToolError(f"message {message_id} is addressed to {message.get('to')}, not to you ({caller.id}); only "
                    "its recipient can close it. Send your own message instead (send_message).")


TOOLS = (send_message, ask, answer, inbox, ack, handoff)
READ_ONLY: frozenset[str] = frozenset()
NARROWING = {"inbox": "ask for fewer messages at a time (limit), and close each with ack or answer once handled"}
