"""A stand-in for the orchestra MCP server that costs as little as one can: plain Python, no uv, answering
from the memo file named on the command line (what `orchestra mcp` recorded) and ignoring everything else.

`bench_e2e.py --mcp-breakdown` runs the pack with it to measure what any stdio MCP server costs a
`claude -p` session, apart from what the orchestra one costs.
"""

import json
import sys
from pathlib import Path

from orchestra.mcp_server.memo import Memo

memo = Memo(None, "", json.loads(Path(sys.argv[1]).read_bytes())["answers"])
for line in sys.stdin.buffer:
    reply = memo.answer(json.loads(line))
    if reply is not None:
        sys.stdout.buffer.write(reply)
        sys.stdout.buffer.flush()
