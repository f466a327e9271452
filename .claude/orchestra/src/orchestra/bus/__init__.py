"""The message bus: agents, the main thread and the human exchange prioritised messages through the store.

Agents do not poll; hooks inject what is pending into their context (`delivery`, `hooks`).
Everything here works inside the caller's transaction and imports only stdlib and our lean
modules, because delivery runs on every tool call.
"""

from __future__ import annotations

from .addressing import BROADCAST, HUMAN, MAIN, SYSTEM, Recipient, recipient
from .delivery import Delivery, deliver, inbox_text, main_thread_inbox, order, pending_for
from .handoffs import (
    artifacts_for_task,
    complete_review,
    handoff,
    handoff_brief,
    receive,
    request_review,
    review_verdicts,
)
from .messages import MAX_PAYLOAD_BYTES, MESSAGE_TYPES, VERDICTS, send
from .replies import ack, answer, ask, escalate_due

__all__ = [
    "BROADCAST", "HUMAN", "MAIN", "MAX_PAYLOAD_BYTES", "MESSAGE_TYPES", "SYSTEM", "VERDICTS",
    "Delivery", "Recipient", "ack", "answer", "artifacts_for_task", "ask", "complete_review", "deliver",
    "escalate_due", "handoff", "handoff_brief", "inbox_text", "main_thread_inbox", "order", "pending_for",
    "receive", "recipient", "request_review", "review_verdicts", "send",
]
