"""Where one MCP tool call meets the package: strict arguments, the stamped caller, one store transaction,
tool errors, an answer of a size the model can take.

The caller is what the PreToolUse hook stamped into the input (`orchestra.bus.hooks.stamp_caller`);
a `caller` the model wrote itself has been replaced by then. Bad input of any kind (an argument outside
the input schema, an unknown task, an illegal transition, a value the state schema refuses) becomes a
`ToolError`, which the model reads as an `isError` result, and the transaction it happened in writes
nothing.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from .. import paths, teams
from ..bus import addressing
from ..store import StateError, Store, open_store

RUN_ID = r"[A-Za-z0-9][A-Za-z0-9_\-:]{0,119}"
MAX_RESULT_CHARS = 60_000  # below Claude Code's cap on one MCP result; a bigger answer is refused, not cut
NARROW = "ask for less"  # the hint of a tool that names no better way to narrow its answer


class Caller(BaseModel):
    """Who is calling: `main` (the main thread) or `agent:<agent_id>`, as the hook saw it."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(pattern=rf"^(main|agent:{RUN_ID})$")
    agent_type: str | None = None
    session_id: str | None = None

    @property
    def agent_id(self) -> str | None:
        return self.id.removeprefix(addressing.RUN_PREFIX) if self.id.startswith(addressing.RUN_PREFIX) else None

    def recipient(self, org: teams.Organization) -> addressing.Recipient:
        """The mailboxes this caller reads; the main thread also reads the human's."""
        return addressing.recipient(org, self.agent_id, self.agent_type, self.session_id, human=self.agent_id is None)


# Advertised as a bare object: the model never writes it, so its shape is not worth the model's tokens.
StampedCaller = Annotated[Caller | None, WithJsonSchema({"type": "object"}), Field(
    description="Filled in by Orchestra with who is calling; leave it out (whatever is written here is replaced).")]


def identity(caller: Caller | None) -> Caller:
    """The stamped caller, or a tool error when the identity hook did not run."""
    if caller is None:
        raise ToolError("this call carries no caller identity: Orchestra's PreToolUse hook (hooks/pre_mcp.py) stamps "
                        "it only into the tools of the server named `orchestra` (`plugin_orchestra_orchestra` in plugin "
                        "form), so a call through this server under another name, or with the hooks off, is refused. "
                        "`orchestra doctor` names such a registration and checks the hook wiring.")
    return caller


def organization() -> teams.Organization:
    try:
        return teams.load(paths.project_root())
    except ValueError as exc:
        raise ToolError(str(exc)) from exc


@contextmanager
def store() -> Iterator[Store]:
    """The project's store; domain errors raised while it is in use become tool errors."""
    try:
        paths.ensure_state_dir()
        with open_store() as opened:
            yield opened
    except (ValueError, StateError) as exc:
        raise ToolError(str(exc)) from exc


@contextmanager
def state(write: bool = False) -> Iterator[Any]:
    """One transaction (or, for reads, one snapshot). An error inside rolls everything in it back."""
    with store() as opened, (opened.transaction() if write else opened.snapshot()) as tx:
        yield tx


def validated(tx, *changed: str) -> None:
    """What a tool wrote must satisfy the state schema, as everything written at an edge does."""
    from ..validation import validate_change

    for path in changed:
        validate_change(tx, path)


def strict(arguments: type[BaseModel]) -> type[BaseModel]:
    """A tool's argument model that takes only what its schema allows: no key it does not name (a misspelt
    `sumary` is not dropped unseen), no value of another JSON type ("70" or true for 70, 3.0 for 3). Its
    schema says so too (`additionalProperties: false`). The identity hook stamps `caller` into every call;
    a tool that does not ask who calls (the reads) sets it aside."""
    namespace: dict[str, Any] = {"model_config": ConfigDict(extra="forbid", strict=True),
                                 "__module__": arguments.__module__}
    if "caller" not in arguments.model_fields:
        namespace["without_caller"] = model_validator(mode="before")(_without_caller)
    return type(arguments.__name__, (arguments,), namespace)


def _without_caller(data: Any) -> Any:
    return {k: v for k, v in data.items() if k != "caller"} if isinstance(data, dict) else data


def answered(tool: Callable[..., dict[str, Any]], hint: str) -> Callable[..., dict[str, Any]]:
    """`tool`, its every answer passed through `sized` and a file it cannot use named in a tool error. A tool that
    writes and whose answer may be large checks it itself, inside its transaction, so that a refused answer writes
    nothing."""

    @functools.wraps(tool)
    def call(**arguments: Any) -> dict[str, Any]:
        try:
            return sized(tool(**arguments), hint)
        except OSError as exc:  # the SDK would answer only "Error executing tool <name>", with no what or where
            raise ToolError(f"{tool.__name__}: {paths.file_trouble(exc)}") from exc

    return call


def sized(result: dict[str, Any], hint: str) -> dict[str, Any]:
    """`result`, unless it is too big for the model's context; then a tool error saying how to narrow it."""
    size = len(json.dumps(result, ensure_ascii=False, default=str))
    if size > MAX_RESULT_CHARS:
        raise ToolError(f"the answer is {size} characters, over the {MAX_RESULT_CHARS} an MCP result may carry; {hint}")
    return result


def lean_schema(schema: Any) -> Any:
    """The input schema as the model needs it: no generated `title`s, and an optional argument (default null)
    shown as its type alone. Validation still uses the full model."""
    if isinstance(schema, list):
        return [lean_schema(v) for v in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: lean_schema(v) for k, v in schema.items() if not (k == "title" and isinstance(v, str))}
    options = out.get("anyOf")
    if "default" in out and out["default"] is None and isinstance(options, list) and len(options) == 2 \
            and {"type": "null"} in options:
        del out["anyOf"], out["default"]
        out = {**next(o for o in options if o != {"type": "null"}), **out}
    return out
