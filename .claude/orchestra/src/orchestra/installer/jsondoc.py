"""JSON config files that belong to the user (settings.json, .mcp.json): read them strictly, and write
them back with the file's key order, indentation (width or tab), line endings (LF or CRLF), final
newline or none, and leading UTF-8 byte order mark if it has one. A file with no indented line (`{}`, or
everything on one line) is laid out with two spaces, as Claude Code writes its own settings: merged, it is
almost all the pack's entries. A rewrite does not keep the layout inside values (`json.dumps` lays every object and list out afresh), `\\u` escapes of non-ASCII
characters (written as the characters), or number spellings such as `1e3`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InstallError

BOM = "\ufeff"


@dataclass(frozen=True)
class Style:
    indent: int | str = 2
    final_newline: bool = True
    newline: str = "\n"  # or "\r\n"
    bom: bool = False  # Claude Code reads a file that starts with one; a rewrite keeps it


@dataclass(frozen=True)
class JsonDoc:
    path: Path
    raw: bytes | None  # None: the file does not exist
    data: dict[str, Any]
    style: Style

    @property
    def exists(self) -> bool:
        return self.raw is not None


def read(path: Path, hint: str) -> JsonDoc:
    """The file as an object; absent means empty. Anything else is refused with `hint` on how to fix it."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return JsonDoc(path, None, {}, Style())
    except OSError as exc:
        raise InstallError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
        data = json.loads(text.removeprefix(BOM))
    except UnicodeDecodeError:
        raise InstallError(f"{path}: not UTF-8 text; {hint}") from None
    except ValueError as exc:
        raise InstallError(f"{path}:{getattr(exc, 'lineno', 1)}: not valid JSON ({getattr(exc, 'msg', exc)}); "
                           f"{hint}") from None
    if not isinstance(data, dict):
        raise InstallError(f"{path}: the top level is {json_type(data)}, not an object; {hint}")
    return JsonDoc(path, raw, data, style_of(text))


def style_of(text: str) -> Style:
    bom, text = text.startswith(BOM), text.removeprefix(BOM)
    match = re.search(r"\n([ \t]+)\S", text)
    indent: int | str = 2 if match is None else match.group(1) if "\t" in match.group(1) else len(match.group(1))
    ending = re.search(r"\r?\n", text)
    return Style(indent, text.endswith("\n") or not text.strip(), ending.group() if ending else "\n", bom)


def dump(data: dict[str, Any], style: Style) -> bytes:
    text = json.dumps(data, indent=style.indent, ensure_ascii=False) + ("\n" if style.final_newline else "")
    # json.dumps escapes every newline inside a string, so each one left is a line ending.
    return ((BOM if style.bom else "") + text.replace("\n", style.newline)).encode("utf-8")


def json_type(value: Any) -> str:
    """`value`'s type as JSON names it, with its article: what a refusal says a file holds instead."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    names = {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number"}
    return names.get(type(value), f"a {type(value).__name__}")
