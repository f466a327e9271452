"""Timestamps as the state store and the audit log write them, without importing datetime.

`datetime` costs every hook process about 1.6 ms to import; most hooks only need "now" as text.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime


def now_iso(moment: float | None = None) -> str:
    """`2026-11-24T12:00:00.123Z`: UTC to the millisecond (now, or the given epoch seconds)."""
    moment = time.time() if moment is None else moment
    # As datetime does: to the microsecond first (rounded), then the milliseconds of that, cut.
    whole, micros = divmod(round(moment * 1_000_000), 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{micros // 1000:03d}Z"


def seconds_between(since: str | None, now: str) -> float:
    """Seconds from one stored timestamp to another; 0 when `since` is missing or either is unreadable.
    One without a UTC offset (`2026-11-24T12:00:00`, written by hand or by another tool) is UTC."""
    if not since:
        return 0.0
    try:
        return (utc_moment(now) - utc_moment(since)).total_seconds()
    except ValueError:
        return 0.0


def utc_moment(text: str) -> datetime:
    """A stored timestamp as an aware datetime; one without a UTC offset is UTC. ValueError when unreadable."""
    from datetime import UTC, datetime

    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a timestamp")
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
