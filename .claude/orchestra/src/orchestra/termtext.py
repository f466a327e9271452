"""Text from state made safe to print on a terminal. Titles, reasons, messages and names come from
people and agents; printed as they are, an escape sequence in one could clear the screen, move the
cursor over lines already printed, set the window title or recolour what follows, a carriage return
could overwrite its own line, and a newline could add a line that looks like the command's own.
Leaf module: imports nothing of ours."""

from __future__ import annotations

import re
from typing import Any

# ESC sequences whole (CSI; OSC, DCS, SOS, PM and APC strings up to their terminator; any other ESC pair),
# then C0 and C1 controls but tab and newline, then the bidirectional overrides and isolates
_UNPRINTABLE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]?|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -~]?"
                          r"|[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_BREAKS = re.compile(r"[\t\n\x0b\x0c\r\x1c-\x1e\x85\u2028\u2029]+")
# what json.dumps(ensure_ascii=False) leaves raw that a terminal may act on (an 8-bit CSI, a bidi override)
_JSON_RAW = re.compile(r"[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


# lone surrogates: how Python reads a byte of a command line or file name that is not UTF-8 (U+DCxx)
_SURROGATES = re.compile(r"[\ud800-\udfff]")


def printable(text: str) -> str:
    """`text` without escape sequences or control characters; tabs and newlines stay. A lone surrogate,
    which a strict UTF-8 terminal (an en_US.UTF-8 locale) refuses to print, is U+FFFD."""
    return _SURROGATES.sub("\ufffd", _UNPRINTABLE.sub("", text))


def one_line(text: str) -> str:
    """`text` printable on one line: every line break or tab a space."""
    return printable(_BREAKS.sub(" ", text))


def json_text(data: Any, **options: Any) -> str:
    """`json.dumps(data, ensure_ascii=False)`, those characters written as \\u escapes: the same JSON value."""
    import json

    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(data, ensure_ascii=False, **options))


def scrubbed(data: Any, *, lines: bool = False) -> Any:
    """A copy of JSON-like `data` whose strings (keys too) are `one_line`, or `printable` with `lines`."""
    if isinstance(data, str):
        return printable(data) if lines else one_line(data)
    if isinstance(data, dict):
        return {scrubbed(k, lines=lines): scrubbed(v, lines=lines) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [scrubbed(v, lines=lines) for v in data]
    return data
