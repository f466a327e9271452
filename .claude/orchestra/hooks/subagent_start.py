#!/usr/bin/env -S uv run --quiet --script
# /// script
# requires-python = ">=3.11"
# dependencies = ["claude-orchestra"]
#
# [tool.uv.sources]
# claude-orchestra = { path = "..", editable = true }
# ///
"""SubagentStart: mark the run active, link it to its delegation, brief it on its identity and inbox."""
# orchestra-hook: {"event": "SubagentStart", "timeout": 15}

from orchestra.warm.client import forward

forward(__name__)  # a running warm server takes this hook over; this process then exits here

from orchestra.hookio import main
from orchestra.lifecycle.handlers import subagent_start

if __name__ == "__main__":
    main(subagent_start)
