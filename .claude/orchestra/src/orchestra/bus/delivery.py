"""Delivery: what a run has not yet seen, highest priority first, injected into its context by a hook.

One read (the open messages, found by status) answers "anything new for this run?"; a write
transaction happens only when something is delivered. Each injection is recorded twice in that
transaction: in the message's `delivered` map (so the next read filters it out with no second
query) and as `communication.deliveries.<message id>@<run key>` (which run, when, through which
hook). A message is never injected twice into one run, except into a run whose context Claude Code has
just compacted (a main thread's also cleared: `CONTEXT_LOST`): what it was shown and has not closed is
gone from its context, so it is shown again; by a hook run again on the same event, whose first run
never answered; and by a later hook of the run once the hook that handed it over is past its timeout without
having confirmed that it wrote its output (`Receipt`: killed, or its output pipe closed, after it committed).
One left unacknowledged reaches later runs of the same address again (at-least-once).
Each message is shown whole whenever it fits one injection; one that does not fit beside others waits for
the next.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from ..models import PRIORITY_RANK
from ..record import Record, replace
from ..teams import Organization
from ..termtext import one_line, printable
from . import addressing
from .addressing import Recipient
from .messages import MESSAGES, OPEN, is_expired, iso, org_for, read_time, utcnow

DELIVERIES = "communication.deliveries"
MAX_PER_INJECTION = 5
INJECTION_CHARS = 6000  # frame included; well under Claude Code's 10,000-character cap on one hook output string
MIN_INTERVAL = timedelta(seconds=20)  # between injections into one run during its tool calls; critical skips it

# SessionStart sources after which a run's context no longer holds what hooks injected before
# (a resumed or forked session gets its conversation back; a new one has been shown nothing)
CONTEXT_LOST = ("compact", "clear")
# A hook confirms what it handed over only while Claude Code surely still waits for its output: not in the last
# second before its timeout (counted from its own start, a little after Claude Code's); and a delivery left
# unconfirmed is shown again only a second after that timeout, when a confirmation begun in time has committed.
CONFIRM_MARGIN = timedelta(seconds=1)
RESHOW_SLACK = timedelta(seconds=1)

Via = Literal["tool_call", "mcp_call", "subagent_start", "session_start", "user_prompt", "cli"]


class Receipt:
    """What one hook process hands over, each delivery recorded as unconfirmed until the hook has written its output
    and confirmed it (`confirm`); one never confirmed counts as not shown once `shown_by` has passed (the hook's
    timeout, and `RESHOW_SLACK`): the run's next hook shows it again."""

    def __init__(self, deadline: float) -> None:
        """`deadline`: when Claude Code stops waiting for the hook (seconds since the epoch)."""
        self.shown_by = iso(datetime.fromtimestamp(deadline, UTC) + RESHOW_SLACK)
        self.confirm_until = iso(datetime.fromtimestamp(deadline, UTC) - CONFIRM_MARGIN)
        self.deadline = deadline
        self.handed: list[tuple[str, str, str]] = []  # (message id, run key, delivery stamp)

    def time_left(self, now: float) -> float:
        """Seconds a confirmation may still wait for the store at `now` (seconds since the epoch)."""
        return self.deadline - CONFIRM_MARGIN.total_seconds() - now


class Delivery(Record):
    """What one injection carried: the messages, those left for later, the text, a user-visible alert."""

    messages: tuple[dict[str, Any], ...] = ()
    remaining: tuple[dict[str, Any], ...] = ()
    text: str | None = None
    alert: str | None = None


def open_messages(tx) -> list[dict[str, Any]]:
    return tx.find(MESSAGES, status=OPEN)


def order(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """critical > high > normal > low (by rank, not by name), first sent first within a priority."""
    return sorted(messages, key=lambda m: (PRIORITY_RANK.get(m.get("priority"), len(PRIORITY_RANK)), m.get("seq", 0)))


def addressed_to(message: dict[str, Any], who: Recipient, now: datetime | None = None) -> bool:
    """A reader reads its mailboxes, except its own messages coming back to it: a subagent run's, whatever the
    address (a question to its own agent type is for the others of that type), and a main thread's team or
    broadcast messages of its own session, what it sent to `main` or its own `main:<session>` from its session
    (for the other sessions, or the next), and what it sent to a run (left behind when that run has ended)."""
    to = message.get("to") or ""
    own = message.get("from") == who.address and message.get("from_session") in (None, who.session_id)
    echo = addressing.is_shared(to) or who.agent_id is not None or to.startswith(addressing.RUN_PREFIX) \
        or (addressing.kind(to) == "main" and message.get("from_session") is not None)
    # a main thread reads a run's address only for what that run left behind, not what it was shown
    seen = who.agent_id is None and to.startswith(addressing.RUN_PREFIX) \
        and reached(message, to[len(addressing.RUN_PREFIX):], now)
    return to in who.addresses and not (own and echo) and not seen


def adopting(tx, who: Recipient, rows: list[dict[str, Any]], now: datetime | None = None) -> Recipient:
    """`who`, as a main thread, also reading what went to the main thread of a session that has ended (or
    whose process is gone before it was shown the message), so a notice for a closed terminal reaches the
    next one; a reader of no known session (the CLI) reads every session's. Costs nothing unless such a
    message is open."""
    if not who.main_thread:
        return who
    others = [m for m in rows if (m.get("to") or "").startswith(addressing.MAIN_PREFIX)
              and m["to"] not in who.addresses]
    if who.session_id:
        others = [m for m in others if _orphaned(tx, m, now)]
    others += [m for m in rows if _left_behind(tx, m, who.session_id, now)]
    return replace(who, addresses=who.addresses | {m["to"] for m in others}) if others else who


def _left_behind(tx, message: dict[str, Any], session_id: str | None, now: datetime | None = None) -> bool:
    """A message to a subagent run that has ended (reported or stopped) which it was never shown: sent after the
    end (a background member's report to a director that stopped first) or during its last turn (no tool call
    came after it). The main thread of that run's session reads it (any main thread once that session has ended;
    the CLI every one). One read per such message."""
    to = message.get("to") or ""
    agent_id = to[len(addressing.RUN_PREFIX):]
    if not to.startswith(addressing.RUN_PREFIX) or reached(message, agent_id, now):
        return False
    run = tx.get(f"agents.{agent_id}", None)
    if not run or not run_ended(tx, run):
        return False
    if not session_id or run.get("session_id") in (None, session_id):
        return True
    session = tx.get(f"sessions.{run['session_id']}", None)
    return session is None or bool(session.get("ended_at"))


def ended_note(tx, to: str) -> str | None:
    """What to tell the sender of a message to a subagent run that has ended: that run will not read it, the main
    thread of its session will (`_left_behind`). None for any other address."""
    if not to.startswith(addressing.RUN_PREFIX):
        return None
    run = tx.get(f"agents.{to[len(addressing.RUN_PREFIX):]}", None) or {}
    if not run_ended(tx, run):
        return None
    return (f"{to} has ended ({run.get('outcome') or run.get('status')}) and will not read this; the main thread "
            "of its session is shown it instead")


def run_ended(tx, run: dict[str, Any]) -> bool:
    """Has this subagent run ended (reported or stopped) for good? One continued since (SendMessage to its agent id
    resumes it: SubagentStart notes `resumed_at`) reads its messages again, until it reports anew or its session
    ends."""
    if not run.get("ended_at") or (not run.get("outcome") and run.get("status") != "stopped"):
        return False
    if (run.get("resumed_at") or "") <= run["ended_at"]:
        return True
    session = tx.get(f"sessions.{run['session_id']}", None) if run.get("session_id") else None
    return bool(session and session.get("ended_at"))


def _orphaned(tx, message: dict[str, Any], now: datetime | None = None) -> bool:
    session = tx.get(f"sessions.{message['to'][len(addressing.MAIN_PREFIX):]}", None)
    if session is None or session.get("ended_at"):
        return True
    if reached(message, message["to"], now):
        return False  # shown to its session, which is still open: no process check on every tool call
    from ..liveness import gone  # only until that session's next hook shows it

    return gone(session)


def open_for(rows: list[dict[str, Any]], who: Recipient, now: datetime) -> list[dict[str, Any]]:
    """Open, unexpired messages for `who` that it has not acknowledged, in order (shown or not)."""
    return order([m for m in rows if m.get("status") == OPEN and addressed_to(m, who, now)
                  and not acked_by(m, who) and not is_expired(m, now)])


def pending_for(rows: list[dict[str, Any]], who: Recipient, now: datetime,
                event: str | None = None) -> list[dict[str, Any]]:
    """What `who` has not been shown yet, and what it was handed in this very `event` (what names the hook's event:
    a tool call's id, a prompt's or a session's start's in `bus.hooks`, a run's start's in `lifecycle.handlers`): a
    hook run again on the same event (the warm child that committed it died before it answered) hands it over
    again; so does any hook of the run once the one that handed it over is past its time unconfirmed (`lost`)."""
    return [m for m in open_for(rows, who, now) if not shown_before(m, who, now, event)]


def shown_before(message: dict[str, Any], who: Recipient, now: datetime, event: str | None = None) -> bool:
    """Handed over to `who` by an earlier hook (or read by it) that has not been lost on the way."""
    return who.key in (message.get("delivered") or {}) and not replaying(message, who, event) \
        and not lost(message, who.key, now)


def replaying(message: dict[str, Any], who: Recipient, event: str | None) -> bool:
    return event is not None and (message.get("delivered_in") or {}).get(who.key) == event


def lost(message: dict[str, Any], key: str, now: datetime | str) -> bool:
    """Handed over to run `key` by a hook that never confirmed it wrote its output, and `now` past that hook's
    time: Claude Code never read it (the hook was killed, or its output could not be written)."""
    until = (message.get("unconfirmed") or {}).get(key)
    # a mark that is no time (written by hand) counts as past: shown again, a duplicate at worst
    return until is not None and (not isinstance(until, str) or until < (now if isinstance(now, str) else iso(now)))


def reached(message: dict[str, Any], key: str, now: datetime | None = None) -> bool:
    """Shown to run `key` as far as can be told `now`: handed over and not `lost` on the way."""
    return key in (message.get("delivered") or {}) and not lost(message, key, now or utcnow())


def confirmed(message: dict[str, Any], who: Recipient) -> bool:
    """Shown to `who` for sure: handed over by a hook that wrote its output, or read some other way."""
    return who.key in (message.get("delivered") or {}) and who.key not in (message.get("unconfirmed") or {})


def acked_by(message: dict[str, Any], who: Recipient) -> bool:
    acked = message.get("acked") or {}
    # the person at the terminal acknowledges for the main thread they are driving; one for an agent type
    # (`orchestra msg ack --as qa-director`) for every run of that type
    return (who.key in acked or who.address in acked or (who.main_thread and addressing.HUMAN in acked)
            or (who.agent_id is not None and who.agent_type in acked))


def last_injection(rows: list[dict[str, Any]], who: Recipient, event: str | None = None,
                   now: datetime | None = None) -> datetime | None:
    """When `who` was last shown something: an injection lost on the way holds back none after it."""
    now = now or utcnow()
    times = [(m.get("delivered") or {}).get(who.key) for m in rows if shown_before(m, who, now, event)]
    stamps = [stamp for t in times if t and (stamp := read_time(t)) is not None]
    return max(stamps) if stamps else None


def deliver(tx, who: Recipient, *, via: Via, now: datetime | None = None, limit: int = MAX_PER_INJECTION,
            rows: list[dict[str, Any]] | None = None, again: bool = False, event: str | None = None,
            receipt: Receipt | None = None) -> Delivery:
    """Select, render and record what `who` should see now (inside the caller's write transaction); `again`:
    also what it was shown before and has not closed (its context lost them); `event`: the tool call this is for
    (`pending_for`); `receipt`: the hook's, when it confirms once its output is written (`Receipt`)."""
    now = now or utcnow()
    rows = open_messages(tx) if rows is None else rows
    expire_due(tx, rows, now)
    pending = open_for(rows, who, now) if again else pending_for(rows, who, now, event)
    if not pending:
        return Delivery()
    chosen, items = fitting(pending[:limit], who, INJECTION_CHARS - frame_room(who, pending[:limit], pending))
    remaining = pending[len(chosen):]
    stamp = iso(now)
    seen = [m for m in chosen if shown_before(m, who, now, event)]
    text = _frame(who, items, chosen, remaining, len(seen))  # shown before: counted so, and no new alert for them
    for message in chosen:
        record(tx, message, who, via, stamp, event, receipt)
    alert_for = [m for m in chosen if m.get("priority") == "critical" and m.get("to") == addressing.HUMAN
                 and m not in seen]
    return Delivery(tuple(chosen), tuple(remaining), text, _alert(alert_for))


def fitting(candidates: list[dict[str, Any]], who: Recipient, room: int) -> tuple[list[dict[str, Any]], list[str]]:
    """The messages one injection shows and their items, in order, each whole while it fits `room` (with its line
    break): the first that does not waits for a later injection, with those after it, so it comes first there.
    The first message is always shown, cut to fit only when even alone it is longer than one injection."""
    chosen: list[dict[str, Any]] = []
    items: list[str] = []
    for message in candidates:
        item = render_item(message, who)
        if len(item) + 1 > room:
            if chosen:
                break
            item = render_item(message, who, room - 1)
        chosen.append(message)
        items.append(item)
        room -= len(item) + 1
    return chosen, items


def frame_room(who: Recipient, candidates: list[dict[str, Any]], pending: list[dict[str, Any]]) -> int:
    """At least what the frame around the items takes: as if all `candidates` were shown, all shown before, and
    all of `pending` left for later (the longest counts and lines); a digit more for the split of the counts."""
    return len(_frame(who, [], candidates, pending, len(candidates))) + len(str(len(candidates)))


def expire_due(tx, rows: list[dict[str, Any]], now: datetime) -> list[str]:
    """Close open messages whose expiry has passed; returns their ids."""
    expired = [m for m in rows if m.get("status") == OPEN and is_expired(m, now)]
    for message in expired:
        tx.update(f"{MESSAGES}.{message['id']}", {"status": "expired", "closed_at": iso(now)})
        message["status"] = "expired"
        tx.append_event("message.expired", {"message": message["id"]}, task_id=message.get("task"))
    return [m["id"] for m in expired]


def record(tx, message: dict[str, Any], who: Recipient, via: str, stamp: str, event: str | None = None,
           receipt: Receipt | None = None) -> None:
    """Note that `message` was shown to `who` (both in the message and as a delivery record), in which tool call
    when known (`delivered_in`); with a `receipt`, as unconfirmed until the hook confirms it (`unconfirmed`, and
    `confirm_by` in the record), otherwise as shown for sure. Shown again, the record names this injection and keeps
    the time of the first in `first_delivered_at` (not when handed over again in the same call, or by a hook whose
    output was lost, which was never shown)."""
    path = f"{DELIVERIES}.{message['id']}@{who.key}"
    before = (message.get("delivered") or {}).get(who.key)
    earlier = None if replaying(message, who, event) or lost(message, who.key, stamp) else before
    kept = (tx.get(path, None) or {}).get("first_delivered_at") if before else None
    first = (kept or earlier) if earlier else kept
    _await_confirmation(tx, message, who.key, receipt.shown_by if receipt else None)
    if receipt is not None:
        receipt.handed.append((message["id"], who.key, stamp))
    delivered = {**(message.get("delivered") or {}), who.key: stamp}
    tx.set(f"{MESSAGES}.{message['id']}.delivered", delivered)
    message["delivered"] = delivered
    if event is not None or who.key in (message.get("delivered_in") or {}):
        delivered_in = {**(message.get("delivered_in") or {}), who.key: event}
        tx.set(f"{MESSAGES}.{message['id']}.delivered_in", delivered_in)
        message["delivered_in"] = delivered_in
    tx.set(path, {
        "message": message["id"], "run": who.key, "address": who.address, "agent_type": who.agent_type,
        "session_id": who.session_id, "via": via, "delivered_at": stamp, "acked_at": None,
        **({"confirm_by": receipt.shown_by} if receipt else {}),
        **({"first_delivered_at": first} if first else {}),
    })


def _await_confirmation(tx, message: dict[str, Any], key: str, until: str | None) -> None:
    """Mark the delivery to run `key` unconfirmed until `until`, or (None) shown for sure. Writes nothing when
    the message holds no mark for that run and none is to be set, as in every delivery outside a hook."""
    marks = dict(message.get("unconfirmed") or {})
    if until is None and key not in marks:
        return
    if until is None:
        del marks[key]
    else:
        marks[key] = until
    if marks:
        tx.set(f"{MESSAGES}.{message['id']}.unconfirmed", marks)
        message["unconfirmed"] = marks
    else:
        tx.delete(f"{MESSAGES}.{message['id']}.unconfirmed")
        message.pop("unconfirmed", None)


def confirm(tx, receipt: Receipt, now: datetime | None = None) -> list[str]:
    """The hook has written its output: what it handed over counts as shown for sure (`confirmed_at` in each
    delivery record). Nothing once `receipt.confirm_until` has passed, as Claude Code may have stopped waiting for
    that output (a later hook then shows it again: a duplicate, never a loss); nor for a message handed over again
    since, or read some other way. Returns the ids confirmed."""
    stamp = iso(now or utcnow())
    if stamp >= receipt.confirm_until:
        return []
    done = []
    for message_id, key, handed_at in receipt.handed:
        message = tx.get(f"{MESSAGES}.{message_id}", None) or {}
        if (message.get("delivered") or {}).get(key) != handed_at or key not in (message.get("unconfirmed") or {}):
            continue
        _await_confirmation(tx, message, key, None)
        tx.update(f"{DELIVERIES}.{message_id}@{key}", {"confirmed_at": stamp})
        done.append(message_id)
    return done


# -- text -------------------------------------------------------------------------------------------

def describe(message: dict[str, Any]) -> str:
    """The message's content in one or a few lines, whatever its type: its type's own fields first, then the rest
    of its payload as JSON, so nothing a sender wrote is left out (a verdict's findings, a question's options)."""
    payload = message.get("payload") or {}
    kind = message.get("type")
    shown: tuple[str, ...]
    if kind == "question":
        body, shown = str(payload.get("question")), ("question",)
    elif kind == "answer":
        body, shown = f"(answers {message.get('reply_to')}) {payload.get('answer')}", ("answer",)
    elif kind == "artifact_ready":
        body = "artifacts: " + ", ".join(payload.get("artifacts") or [])
        if payload.get("worktree"):
            body += f" (in {payload['worktree']})"
        if payload.get("note"):
            body += f" — {payload['note']}"
        # the task handing on its own work says nothing the message's task does not
        shown = ("artifacts", "worktree", "note", *(("from_task",) if payload.get("from_task") == message.get("task")
                                                    else ()))
    elif kind == "review_complete":
        body = f"(review {message.get('reply_to')}) verdict: {payload.get('verdict')}"
        if payload.get("notes"):
            body += f" — {payload['notes']}"
        shown = ("verdict", "notes")
    else:
        leads = [key for key in ("text", "summary", "note") if key in payload]
        lead = next((key for key in leads if payload[key]), None)
        body = str(payload[lead]) if lead else ""
        shown = (lead,) if lead else tuple(leads)  # an empty text says nothing
        shown += tuple(key for key in leads if not payload[key])
    rest = {k: v for k, v in payload.items() if k not in shown}
    return " ".join(p for p in (body, json.dumps(rest, ensure_ascii=False) if rest else "") if p) or "(no details)"


def _verdict_hint(request: dict[str, Any]) -> str:
    """Reviewers give verdicts with update_task (no shipped reviewer has send_message); a person replies."""
    verdicts = "verdict approved|changes_requested|rejected"
    reply = f"a review_complete reply (reply_to {request['id']}, {verdicts})"
    if not request.get("task"):
        return f"give {reply}."
    return f"give your verdict with update_task (task_id {request['task']}, {verdicts}, findings), or {reply}."


def render_item(message: dict[str, Any], reader: Recipient | None = None, room: int | None = None) -> str:
    """One message as a reader is shown it, naming whom it was for unless that is the reader itself (a main thread
    reading what went to a run that had ended). Whole; given `room` and longer than that, its content is cut to fit
    with a note naming a way `reader` has to read the rest, and the line that says what to do with it stays."""
    sender = message.get("from")
    if message.get("from_type"):
        sender = f"{sender} ({message['from_type']})"
    where = f", task {message['task']}" if message.get("task") else ""
    mine = reader is not None and reader.agent_id is not None and message.get("to") == reader.address
    to = "" if mine or (reader is None and message.get("to", "").startswith(addressing.RUN_PREFIX)) \
        else f" to {message.get('to')}"
    head = f"- [{message.get('priority', 'normal').upper()}] {message.get('type')} {message['id']} from {sender}{to}{where}: "
    text = head + quoted(describe(message))
    todo = ""
    if message.get("type") == "question":
        escalates = "" if message.get("to") == addressing.HUMAN else "; a high/critical question left unanswered is escalated"
        todo = f"\n  -> answer it (reply_to {message['id']}){escalates}."
    elif message.get("type") == "artifact_ready":
        todo = f"\n  -> confirm with ack {message['id']} once you have them."
    elif message.get("type") == "review_request":
        todo = f"\n  -> {_verdict_hint(message)}"
    if room is not None and len(text) + len(todo) > room:
        from .readers import rest_of  # only for a message longer than one injection

        cut = f" [... cut; {rest_of(message, reader)}]"
        text = text[: max(len(head), room - len(cut) - len(todo))] + cut
    return text + todo


_LINE_BREAK = re.compile(r"\r\n|[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# a tag as Claude Code frames context with (`<system-reminder>`, `</system-reminder>`, `<command-name>`), or any
# other `<name`, `</name`, `<!`, `<?`, with the `>` that closes it, if any. What a reader may not see after `<` or
# `/` changes nothing: any non-ASCII character that is no letter or digit (a zero-width space, a combining mark, a
# variation selector, a Unicode tag character, a filler); nor does a name in another script (a Cyrillic `ѕ`)
_UNSEEN = r"(?:(?!\w)[^\x00-\x7f\s])*"
_TAG = re.compile(rf"<({_UNSEEN}(?:/{_UNSEEN})?(?:[^\W\d_]|[!?])[^<>]*)(>?)")


def quoted(body: str) -> str:
    """A message's content as part of its own item: each later line marked `  | `, so no line a sender wrote
    can pass for another message (`- [CRITICAL] ... from main`) or for Orchestra's own lines, and its tags
    `unframed`."""
    return "\n  | ".join(unframed(printable(line)) for line in _LINE_BREAK.split(body))


def unframed(text: str) -> str:
    """`text` with each tag's `<` and `>` shown as `‹` and `›` (`‹/system-reminder›`): a sender's text stays
    readable but can neither close the frame Claude Code puts around hook context nor open one of its own."""
    return _TAG.sub(lambda m: "\u2039" + m[1] + ("\u203a" if m[2] else ""), text)


def _frame(who: Recipient, items: list[str], chosen: list[dict[str, Any]], remaining: list[dict[str, Any]],
           seen: int = 0) -> str:
    me = who.address if who.agent_id else "the main thread"
    count = f"{len(chosen) - seen} new, {seen} shown before and still open" if seen else f"{len(chosen)} new"
    lines = [f"Orchestra messages for {me} ({count}, highest priority first):", *items]
    human = [m for m in chosen if m.get("to") == addressing.HUMAN]
    if human:
        lines.append(f"{len(human)} of these are for the user: tell them.")
    if who.agent_id:  # `orchestra msg ack` changes state, which the guard refuses a team member from Bash
        lines.append("Close each when handled with the orchestra MCP tools answer/ack.")
    else:
        lines.append("Close each when handled: the orchestra MCP tools answer/ack, or `orchestra msg ack ID`.")
    if remaining:
        counts = Counter(m.get("priority", "normal") for m in remaining)
        shown = ", ".join(f"{counts[p]} {p}" for p in PRIORITY_RANK if counts[p])
        reader = f" {who.address}" if who.agent_id else ""
        tool = "the inbox tool lists them, or " if who.agent_id else ""  # an orchestrator has no Bash
        lines.append(f"{len(remaining)} more pending ({shown}), shown whole later: {tool}read them with "
                     f"`orchestra msg inbox{reader}`.")
    return "\n".join(lines)


def _alert(critical: list[dict[str, Any]]) -> str | None:
    if not critical:
        return None
    first = critical[0]
    more = f" (+{len(critical) - 1} more critical)" if len(critical) > 1 else ""
    return f"Orchestra: CRITICAL from {first.get('from')}: {unframed(one_line(describe(first)))[:300]}{more}"


# -- entry points for hooks -------------------------------------------------------------------------

def inbox_text(tx, agent_id: str, agent_type: str | None, session_id: str | None = None, *,
               org: Organization | None = None, now: datetime | None = None, event: str | None = None,
               receipt: Receipt | None = None) -> str | None:
    """SubagentStart: the new run's pending messages as context (recorded as delivered), or None; `event`: what
    names this start of the run, so a hook run again on it hands the same messages over (`pending_for`)."""
    who = addressing.recipient(org_for(org), agent_id, agent_type, session_id)
    return deliver(tx, who, via="subagent_start", now=now, event=event, receipt=receipt).text


def subagent_session_inbox(tx, agent_id: str, agent_type: str | None, session_id: str | None, *,
                           source: str | None, org: Organization | None = None,
                           now: datetime | None = None, receipt: Receipt | None = None) -> Delivery:
    """SessionStart inside a subagent: Claude Code sends one, with the run's agent_id and `source` "compact", after
    it compacts that subagent's context. The run's own messages (after compaction also those shown before and not
    closed); never the main thread's, which stay for the main thread."""
    who = addressing.recipient(org_for(org), agent_id, agent_type, session_id)
    return deliver(tx, who, via="session_start", now=now, again=source in CONTEXT_LOST, receipt=receipt)


def main_thread_inbox(tx, session_id: str | None, *, via: Via, org: Organization | None = None,
                      now: datetime | None = None, agent_type: str | None = None,
                      source: str | None = None, event: str | None = None,
                      receipt: Receipt | None = None) -> Delivery:
    """SessionStart / UserPromptSubmit: messages for the main thread and for the human. After a SessionStart
    whose `source` is in CONTEXT_LOST, also those shown before and not closed; `event`: what names this start or
    prompt, so a hook run again on it hands the same messages over (`pending_for`)."""
    who = addressing.recipient(org_for(org), None, agent_type, session_id, human=True)
    rows = open_messages(tx)
    return deliver(tx, adopting(tx, who, rows, now), via=via, now=now, rows=rows, again=source in CONTEXT_LOST,
                   event=event, receipt=receipt)
