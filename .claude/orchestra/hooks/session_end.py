#!/usr/bin/env -S uv run --quiet --script
# /// script
# requires-python = ">=3.11"
# dependencies = ["claude-orchestra"]
#
# [tool.uv.sources]
# claude-orchestra = { path = "..", editable = true }
# ///
"""SessionEnd: release what the session held; runs that never reported become stopped, their tasks blocked."""
# orchestra-hook: {"event": "SessionEnd", "timeout": 15}

from orchestra.warm.client import forward

forward(__name__)  # a running warm server takes this hook over; this process then exits here

from orchestra.hookio import main
from orchestra.lifecycle.session import session_end

if __name__ == "__main__":
    main(session_end)
