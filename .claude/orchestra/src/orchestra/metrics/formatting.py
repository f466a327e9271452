"""Numbers as people read them, shared by `orchestra metrics` and the sprint reports."""

from __future__ import annotations

DASH = "—"


def duration(hours: float | None) -> str:
    """0.0012 -> "4 s", 0.25 -> "15 min", 5.5 -> "5.5 h", 50 -> "2.1 d"."""
    if hours is None:
        return DASH
    seconds = hours * 3600
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h".replace(".0 h", " h")
    return f"{hours / 24:.1f} d".replace(".0 d", " d")


def percent(rate: float | None) -> str:
    """A 0..1 rate as a percentage."""
    return DASH if rate is None else f"{rate * 100:.1f}%".replace(".0%", "%")


def number(value: float | None, unit: str = "", digits: int = 2) -> str:
    return DASH if value is None else f"{round(value, digits):g}{unit}"
