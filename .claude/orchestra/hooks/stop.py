#!/usr/bin/env -S uv run --quiet --script
# /// script
# requires-python = ">=3.11"
# dependencies = ["claude-orchestra"]
#
# [tool.uv.sources]
# claude-orchestra = { path = "..", editable = true }
# ///
"""Stop: tell the user which of this session's tasks ended blocked or needing review."""
# orchestra-hook: {"event": "Stop", "timeout": 15}

from orchestra.warm.client import forward

forward(__name__)  # a running warm server takes this hook over; this process then exits here

from orchestra.hookio import main
from orchestra.lifecycle.session import stop

if __name__ == "__main__":
    main(stop)
