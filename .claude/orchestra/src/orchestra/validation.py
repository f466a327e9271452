"""JSON Schema validation of state changes made from the CLI, imports and the MCP server.

Hooks build their values in code and skip this (jsonschema costs ~100 ms to import); every
other writer goes through it, inside the transaction, so a rejected change writes nothing.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from .paths import PACK_DIR
from .store.document import parse_path
from .store.errors import StateError

SCHEMA_DIR = PACK_DIR / "schemas"


@lru_cache(maxsize=16)
def load_schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / f"{name}.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=16)
def validator(name: str) -> Any:
    """A validator of schemas/<name>.json (formats checked), its `#/$defs/` references resolved once."""
    import jsonschema

    cls = jsonschema.Draft202012Validator
    return cls(inlined(load_schema(name)), format_checker=cls.FORMAT_CHECKER)


def inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with each `{"$ref": "#/$defs/<name>"}` replaced by the schema it names (wrapped in `allOf`
    where the reference has annotations beside it), so a file of thousands of items is not checked
    through thousands of reference lookups; the errors are the same. A definition that refers to itself
    keeps its reference."""
    defs = schema.get("$defs", {})

    def resolve(node: Any, within: frozenset[str]) -> Any:
        if isinstance(node, list):
            return [resolve(item, within) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        name = ref.removeprefix("#/$defs/") if isinstance(ref, str) else None
        if name is None or name == ref or name not in defs or name in within:
            return {key: resolve(value, within) for key, value in node.items()}
        target = resolve(defs[name], within | {name})
        rest = {key: resolve(value, within) for key, value in node.items() if key != "$ref"}
        return {"allOf": [target], **rest} if rest else target

    return resolve(schema, frozenset())


def ready() -> None:
    """Import jsonschema now, before the caller opens its transaction: imported inside one, its
    ~100 ms (far more on a loaded machine) would hold every other writer back, hooks included."""
    import jsonschema  # noqa: F401


def _errors(schema: dict[str, Any], instance: Any) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    out = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in error.absolute_path)
        out.append(f"{where or '<root>'}: {error.message}")
    return out


def validate_document(doc: Any, where: str = "document") -> None:
    problems = _errors(inlined(load_schema("state")), doc)
    if problems:
        raise StateError(f"{where}: " + "; ".join(problems[:5]))


def validate_change(tx, path: str) -> None:
    """Validate the top-level object or entity that `path` touched, as it now stands in `tx`."""
    addr = parse_path(path)
    schema = load_schema("state")
    if addr.entity_id is not None:
        leaf = addr.collection.split(".")[-1]
        ref = {"messages": "message"}.get(leaf, leaf.rstrip("s"))
        sub = {"$defs": schema["$defs"], **schema["$defs"].get(ref, {"type": "object"})}
        target, label = tx.get(f"{addr.collection}.{addr.entity_id}", None), f"{addr.collection}.{addr.entity_id}"
    else:
        sub = {"$defs": schema["$defs"], **schema["properties"].get(addr.top, {})}
        target, label = tx.get(addr.top, None), addr.top
    if target is None:
        return
    problems = _errors(sub, target)
    if problems:
        raise StateError(f"{path}: rejected, {label} would be invalid: " + "; ".join(problems[:5]))
