"""JSON Schema validation for the pack's YAML files, with errors that name file:line."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from .validation import validator

# A value repeated through YAML aliases (`*name`) is one object in memory but is written out in full
# in every error message: nine lines of nested aliases make hundreds of millions of values. A file may
# hold at most this many values, counted with every alias expanded (and at most 10 per byte of it).
MAX_VALUES = 1_000_000
MESSAGE_CHARS = 300
SHOWN = 5  # errors listed per file; a last line counts the rest
EMPTY = {"array": "[]", "object": "{}"}  # how to write an empty list or mapping, which a bare `key:` is not
# What to write where a value has the other shape: (the type the schema asks for, the type written) -> advice.
SHAPES = {
    ("object", list): "a list where a mapping of `key: value` entries belongs: drop the `- `",
    ("array", dict): "a mapping where a list belongs: start each entry with `- `",
    ("array", str): "write a list: [a, b], or one `- ` item per line",
    ("integer", str): "write a whole number, without quotes",
    ("number", str): "write a number, without quotes",
    ("boolean", str): "write true or false, without quotes",
}


class YamlSchemaError(ValueError):
    pass


def line_of(text: str, path_parts: list[Any], key: bool = False) -> int | None:
    """Best-effort line of a mapping key / list item path in the YAML source (1-based): where its value
    starts, or with `key`, where the last key of the path is written (`member:` above its list)."""
    import yaml

    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    for i, part in enumerate(path_parts):
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if pair is None:
                break
            node = pair[0] if key and i == len(path_parts) - 1 else pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
    return node.start_mark.line + 1 if node is not None else None


@functools.cache
def _loader(fast: bool = True) -> type:
    """yaml.SafeLoader whose impossible dates (`2026-02-30`) are YAML errors at their line, not a bare
    ValueError from the date constructor. `fast`: on libyaml's parser where PyYAML has it (several times
    faster on a large sprint file); the same constructors either way."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader) if fast else yaml.SafeLoader

    class Loader(base):  # type: ignore[misc,valid-type]
        def construct_mapping(self, node, deep=False):
            """A key written twice in one mapping is an error at its line: YAML would keep only the last."""
            if isinstance(node, yaml.MappingNode):
                seen: dict[Any, int] = {}
                for key_node, _ in node.value:
                    if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                        continue
                    key = self.construct_object(key_node)
                    if key in seen:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"duplicate key {key!r} (first at line {seen[key]}); YAML keeps only "
                            "the last one, so merge them into one", key_node.start_mark)
                    seen[key] = key_node.start_mark.line + 1
            return super().construct_mapping(node, deep=deep)

        def construct_yaml_timestamp(self, node):
            try:
                return super().construct_yaml_timestamp(node)
            except ValueError as exc:
                raise yaml.constructor.ConstructorError(
                    None, None, f"{node.value!r} is not a calendar date ({exc}); write YYYY-MM-DD",
                    node.start_mark) from None

    Loader.add_constructor("tag:yaml.org,2002:timestamp", Loader.construct_yaml_timestamp)
    return Loader


def read_mapping(path: Path, error_type: type[ValueError] = YamlSchemaError,
                 empty: bool = False) -> tuple[dict[str, Any], str]:
    """Parse a YAML file whose top level is a mapping; return it with its text. Errors carry file:line.
    `empty`: a file of every-key-optional settings may hold no document (nothing, or comments only): `{}`."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error_type(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        line = exc.object[:exc.start].count(b"\n") + 1
        raise error_type(f"{path}:{line}: not UTF-8 text (byte {exc.object[exc.start]:#04x}); save the file as "
                         "UTF-8") from None
    try:
        data = _load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", exc)
        what = problem if isinstance(exc, yaml.constructor.ConstructorError) else f"not valid YAML ({problem})"
        if mark and _tab_indented(text, mark.line, mark.column):
            what += "; YAML indents with spaces only: replace the tab at the start of this line with spaces"
        else:
            what += _syntax_hint(exc)
        raise error_type(f"{path}{line}: {what}") from None
    if data is None and empty:
        data = {}
    if not isinstance(data, dict):
        raise error_type(f"{path}:1: expected a mapping at the top level")
    limit = min(MAX_VALUES, 10 * len(text) + 10_000)
    if _count_values(data, limit) > limit:
        raise error_type(f"{path}:{_first_alias_line(text)}: more than {limit:,} values once its YAML aliases "
                         "(*name) are expanded; write the values out instead of nesting aliases")
    return data, text


def _load(text: str) -> Any:
    import yaml

    try:
        return yaml.load(text, Loader=_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError:
        # Said as PyYAML's own parser says it, the same wherever libyaml is missing; both stop at one line.
        yaml.load(text, Loader=_loader(fast=False))  # noqa: S506 - a SafeLoader subclass
        raise


def _syntax_hint(exc: Any) -> str:
    """What a person most likely wrote wrong where PyYAML's parser stops, in words to act on (its own, such as
    `expected <block end>, but found '?'`, are not), with the line of the bracket, quote or block it began."""
    problem, context = str(getattr(exc, "problem", "") or ""), str(getattr(exc, "context", "") or "")
    opened = getattr(exc, "context_mark", None)
    at = f"line {opened.line + 1}" if opened else "this line"
    if context.startswith("while scanning a quoted scalar"):
        return f"; the quoted value opened at {at} has no closing quote"
    if context.startswith("while parsing a flow sequence"):
        return f"; the [ list opened at {at} is not closed with ]"
    if context.startswith("while parsing a flow mapping"):
        return f"; the {{ mapping opened at {at} is not closed with }}"
    if context.startswith("while scanning a simple key"):
        return f"; {at} needs `: ` (a colon, then a space) after its key"
    if problem.startswith("mapping values are not allowed"):
        return ("; a value holding `: ` must be put in quotes, and a key must not be indented deeper than the keys "
                "above it")
    if problem.startswith(("expected <block end>", "did not find expected key", "did not find expected '-'")):
        return (f"; this line is not indented like the lines of its block ({at}): line each key, or `- ` item, "
                "up under the ones beside it, with spaces")
    return ""


def _tab_indented(text: str, line: int, column: int) -> bool:
    """Whether `line` (0-based) is indented with a tab up to `column`, where a YAML parser stops at it."""
    lines = text.splitlines()
    lead = lines[line][:column + 1] if line < len(lines) else ""
    return "\t" in lead and not lead.strip()


def _count_values(data: Any, limit: int) -> int:
    """Values in `data`, aliases expanded (a shared object counts each time), stopping past `limit`."""
    count, stack = 0, [data]
    while stack and count <= limit:
        value = stack.pop()
        count += 1
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return count


def _first_alias_line(text: str) -> int:
    import yaml

    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            return event.start_mark.line + 1
    return 1  # pragma: no cover - only aliases can make a short text this large


def _unexpected_key(error: Any) -> list[str]:
    """For a key the schema does not allow, that key, so the error stands at its own line, not its mapping's:
    one not among its keys, or a name its keys may not have (`propertyNames`, whose error holds the name)."""
    if "propertyNames" in error.schema_path and isinstance(error.instance, str):
        return [error.instance]
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return []
    import re

    known = error.schema.get("properties", {})
    patterns = error.schema.get("patternProperties", {})
    for key in error.instance:
        if key not in known and not any(re.search(pattern, str(key)) for pattern in patterns):
            return [key]
    return []


def _as_pattern(value: str, pattern: str) -> str | None:
    """`value` lowercased with every run of other characters made one hyphen (`iOS Engineer` -> `ios-engineer`),
    when that matches `pattern`: the spelling a name, tag or date was most likely meant to have."""
    import re

    meant = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
    return meant if meant and meant != value and re.search(pattern, meant) else None


def _meant_key(error: Any, parts: list[Any]) -> str | None:
    """For a key the schema does not allow, the allowed key it most likely misspells (`organisation`,
    `capabilites`, `member`)."""
    import difflib

    if error.validator != "additionalProperties" or not parts or not isinstance(parts[-1], str):
        return None
    known = [key for key in error.schema.get("properties", {}) if key not in error.instance]
    return next(iter(difflib.get_close_matches(parts[-1], known, n=1, cutoff=0.75)), None)


def validate_yaml(data: Any, text: str, path: Path, schema_name: str,
                  error_type: type[ValueError] | None = None) -> None:
    """Check `data` against schemas/<schema_name>.json; raise `error_type` (default TeamsError) naming file:line."""
    import difflib

    errors = sorted(validator(schema_name).iter_errors(data), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    other = {tuple(e.absolute_path) for e in errors if e.validator != "format"}
    placed = []  # (line, error, parts): listed in the order of the file's lines, the first five of them
    for error in [e for e in errors if e.validator != "format" or tuple(e.absolute_path) not in other]:
        unexpected = _unexpected_key(error)
        line = line_of(text, list(error.absolute_path) + unexpected, key=bool(unexpected)) or 1
        named = unexpected if error.validator == "additionalProperties" else []  # a bad name is in the message
        placed.append((line, error, list(error.absolute_path) + named))
    placed.sort(key=lambda found: found[0])
    lines = []
    for line, error, parts in placed[:SHOWN]:
        where = ".".join(str(p) for p in parts) or "<top>"
        message = (f"{error.instance!r} is not a calendar date; write YYYY-MM-DD"
                   if error.validator == "format" and error.validator_value == "date" else error.message)
        if error.validator == "type" and error.validator_value == "string" and (
                error.instance is None or isinstance(error.instance, (bool, int, float))):
            message += (" (YAML reads an unquoted 123, 1.5, true, null or 12:30 as a number, yes/no or nothing: "
                        "put the value in quotes)")
        if error.validator == "type" and (shape := SHAPES.get((str(error.validator_value), type(error.instance)))):
            message += f" ({shape})"
        if error.validator == "enum" and isinstance(error.instance, str) and (meant := difflib.get_close_matches(
                error.instance, [str(v) for v in error.validator_value], n=1, cutoff=0.6)):
            message += f" (write {meant[0]!r})"
        needed = error.schema.get("minProperties", 0) or error.schema.get("minItems", 0)  # none is no answer here
        wanted = error.schema.get("description") if isinstance(error.schema.get("description"), str) else None
        if error.validator == "type" and error.instance is None and error.validator_value in EMPTY and needed:
            message += f" (a key with nothing after it is null in YAML; {wanted or 'give at least one entry'})"
        elif error.validator == "type" and error.instance is None and error.validator_value in EMPTY:
            message += f" (a key with nothing after it is null in YAML: write {EMPTY[error.validator_value]} for none)"
        if error.validator in ("minProperties", "minItems") and wanted:
            message += f" ({wanted})"
        if error.validator == "type" and error.validator_value == "object" and isinstance(error.instance, str) and (
                required := error.schema.get("required")) and parts and isinstance(parts[-1], int):
            message += f" (write `- {required[0]}: {error.instance}`, its other keys under it)"
        if (meant := _meant_key(error, parts)) is not None:
            message += f"; write {meant!r}"
        if error.validator == "pattern" and isinstance(error.instance, str) and (
                meant := _as_pattern(error.instance, error.validator_value)):
            message += f" (write {meant!r} instead)"
        if error.validator == "maximum" and isinstance(error.schema.get("description"), str):
            message += f" ({error.schema['description']})"  # why there is a limit
        if len(message) > MESSAGE_CHARS:
            message = message[:MESSAGE_CHARS] + "..."
        lines.append(f"{path}:{line}: {where}: {message}")
    if len(placed) > SHOWN:
        lines.append(f"{path}: {len(placed) - SHOWN} more like these, not listed here")
    if error_type is None:
        from .teams import TeamsError as error_type
    raise error_type("\n".join(lines))
