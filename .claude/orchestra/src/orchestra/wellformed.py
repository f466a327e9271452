"""Text read from Claude Code's JSON made fit for UTF-8. A JavaScript string cut inside an emoji keeps half
of its surrogate pair, and JSON.stringify writes that half as a `\\ud83d` escape: Python reads it as a lone
surrogate, which neither SQLite nor the audit log can hold. Leaf module: imports nothing of ours."""

from __future__ import annotations

import re
from typing import Any

# a surrogate escape anywhere in the JSON text (pairs are read as one character, only a lone half stays)
_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_ESCAPE_TEXT = re.compile(r"\\u[dD][89a-fA-F]")
_LONE = re.compile("[\ud800-\udfff]")


def may_hold_surrogates(data: bytes | str) -> bool:
    """Whether the JSON text `data` has a surrogate escape (cheap: most events have none)."""
    return bool((_ESCAPE if isinstance(data, bytes) else _ESCAPE_TEXT).search(data))


def mended(value: Any) -> Any:
    """`value` (parsed JSON) with each lone surrogate in its strings and keys replaced by U+FFFD."""
    if isinstance(value, str):
        return _LONE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {mended(k): mended(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mended(v) for v in value]
    return value
