"""JSON config files that belong to the user (settings.json, .mcp.json): read them strictly, write them
back in the indentation and final-newline style they came in, so a merge changes only what it must."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InstallError


@dataclass(frozen=True)
class Style:
    indent: int | str | None = 2
    final_newline: bool = True


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
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InstallError(f"{path}: not UTF-8 text; {hint}") from None
    except ValueError as exc:
        raise InstallError(f"{path}:{getattr(exc, 'lineno', 1)}: not valid JSON ({getattr(exc, 'msg', exc)}); "
                           f"{hint}") from None
    if not isinstance(data, dict):
        raise InstallError(f"{path}: the top level is a JSON {type(data).__name__}, not an object; {hint}")
    return JsonDoc(path, raw, data, style_of(raw.decode("utf-8")))


def style_of(text: str) -> Style:
    match = re.search(r"\n([ \t]+)\S", text)
    if match is None:
        indent: int | str | None = None if text.strip() else 2
    else:
        lead = match.group(1)
        indent = lead if "\t" in lead else len(lead)
    return Style(indent, text.endswith("\n") or not text.strip())


def dump(data: dict[str, Any], style: Style) -> bytes:
    text = json.dumps(data, indent=style.indent, ensure_ascii=False)
    return (text + ("\n" if style.final_newline else "")).encode("utf-8")
