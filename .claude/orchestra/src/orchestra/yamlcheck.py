"""JSON Schema validation for the pack's YAML files, with errors that name file:line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .validation import load_schema


class YamlSchemaError(ValueError):
    pass


def line_of(text: str, path_parts: list[Any]) -> int | None:
    """Best-effort line of a mapping key / list item path in the YAML source (1-based)."""
    import yaml

    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    for part in path_parts:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == str(part)), None)
            if match is None:
                break
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
    return node.start_mark.line + 1 if node is not None else None


def read_mapping(path: Path, error_type: type[ValueError] = YamlSchemaError) -> tuple[dict[str, Any], str]:
    """Parse a YAML file whose top level is a mapping; return it with its text. Errors carry file:line."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error_type(f"{path}: cannot read ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise error_type(f"{path}{line}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise error_type(f"{path}:1: expected a mapping at the top level")
    return data, text


def validate_yaml(data: Any, text: str, path: Path, schema_name: str,
                  error_type: type[ValueError] | None = None) -> None:
    """Check `data` against schemas/<schema_name>.json; raise `error_type` (default TeamsError) naming file:line."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema(schema_name))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    lines = []
    for error in errors[:5]:
        parts = list(error.absolute_path)
        line = line_of(text, parts) or 1
        where = ".".join(str(p) for p in parts) or "<top>"
        lines.append(f"{path}:{line}: {where}: {error.message}")
    if error_type is None:
        from .teams import TeamsError as error_type
    raise error_type("\n".join(lines))
