"""Text from people and agents made inert in Markdown: one line, no HTML, no links, images, emphasis
or code, no right-to-left overrides, pipes escaped so a table cell stays one cell. Leaf module: imports nothing of ours."""

from __future__ import annotations

import re

_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")  # CR, LF and every other control: one space
# bidirectional embeddings, overrides and isolates: dropped, or the rest of the line would show reversed
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
# Backslash-escaped, as CommonMark allows for any ASCII punctuation. An underscore inside a word never
# starts emphasis, so TOTP_KEY stays readable; a `!` only makes an image before `[`, which is escaped.
_SPECIAL = re.compile(r"[\\`*\[\]|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")


def inert(value: object) -> str:
    """`value` as literal Markdown text on one line."""
    text = _BREAKS.sub(" ", _BIDI.sub("", str(value))).strip()
    text = _SPECIAL.sub(lambda m: "\\" + m.group(), text)
    return _ENTITY.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")
