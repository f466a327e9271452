"""The message bus: agents, the main thread and the human exchange prioritised messages through the store.

Agents do not poll; hooks inject what is pending into their context (see `delivery`). Everything
here works inside the caller's transaction and imports only stdlib and our lean modules, because
delivery runs on every tool call.
"""

from __future__ import annotations

from .addressing import BROADCAST, HUMAN, MAIN, SYSTEM, Recipient, recipient
from .messages import MAX_PAYLOAD_BYTES, MESSAGE_TYPES, VERDICTS, send

__all__ = [
    "BROADCAST", "HUMAN", "MAIN", "MAX_PAYLOAD_BYTES", "MESSAGE_TYPES", "SYSTEM", "VERDICTS",
    "Recipient", "recipient", "send",
]
