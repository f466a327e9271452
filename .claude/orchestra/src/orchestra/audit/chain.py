"""The hash chain itself: a line's canonical JSON, its hash, and what makes a line break the chain."""

from __future__ import annotations

import json
from typing import Any

# hashlib's constructors load OpenSSL (about 3 ms of every hook process); the interpreter's own
# SHA-256 gives the same digest.
try:
    from _sha2 import sha256  # Python 3.12 and later
except ImportError:
    try:
        from _sha256 import sha256  # Python 3.11
    except ImportError:  # pragma: no cover - a build without the builtin hashes
        from hashlib import sha256

GENESIS = "0" * 64
CHAIN_BROKEN = "chain broken"


def canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def line_hash(record: dict[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    return sha256(canonical(body)).hexdigest()


def line_problem(raw: bytes, prev: str) -> str | None:
    if not raw.endswith(b"\n"):
        return "line is truncated (no newline)"
    try:
        record = json.loads(raw)
    except ValueError:
        return "line is not JSON"
    if not isinstance(record, dict) or "hash" not in record:
        return "line has no hash"
    if record.get("prev") != prev:
        return f"{CHAIN_BROKEN}: prev does not match the previous line (a line was deleted, reordered or inserted)"
    if line_hash(record) != record["hash"]:
        return "hash mismatch: the line was edited"
    if canonical(record) + b"\n" != raw:
        # The values hash as written, but the bytes are not the ones written: a key written twice (a reader
        # sees the first, JSON keeps the last), or spacing or order changed.
        return "line is not as written (a key twice, or its spacing or order changed): the line was edited"
    return None
