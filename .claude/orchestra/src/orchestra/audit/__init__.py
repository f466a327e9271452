"""The audit log: one hash-chained JSON line per hook invocation and policy decision (stdlib only).

Every line carries `ts, session, agent, agent_type, role, event, tool, action, resource, result`
plus the hook's own context fields (decision, reason, rule, ms, ...), then `prev` (the previous
line's hash) and `hash` = sha256 over the line's canonical JSON without `hash`.

A chain alone cannot show that lines were cut off its end, so a small head file
(`audit.head.json`: line count, last hash, current file size) is rewritten under the same lock
as every append; `check` compares the log with it. When the log grows past `ROTATE_BYTES` it
is renamed to `audit-000001.jsonl`, `audit-000002.jsonl`, ... and the chain continues into the
new file. Appends read only the head, so their cost does not grow with the log.
"""

from .chain import GENESIS, canonical, line_hash, line_problem
from .checker import Report, check, tail, verify
from .files import LockBusy, head_path, read_head, rotated, segment_path, segments
from .writer import HOOK_LOCK_WAIT_S, RESULTS, ROTATE_BYTES, ROTATE_ENV, HeadBehind, append, shape

__all__ = ["GENESIS", "HOOK_LOCK_WAIT_S", "RESULTS", "ROTATE_BYTES", "ROTATE_ENV", "HeadBehind", "LockBusy", "Report", "append",
           "canonical", "check", "head_path", "line_hash", "line_problem", "read_head", "rotated", "segment_path",
           "segments", "shape", "tail", "verify"]
