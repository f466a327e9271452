#!/usr/bin/env -S uv run --quiet --script
# /// script
# requires-python = ">=3.11"
# dependencies = ["claude-orchestra"]
#
# [tool.uv.sources]
# claude-orchestra = { path = "..", editable = true }
# ///
"""SubagentStop: judge the report (false-completion gate), settle run and task, notify the parent."""
# orchestra-hook: {"event": "SubagentStop", "timeout": 600}

from orchestra.warm.client import forward

forward(__name__)  # a running warm server takes this hook over; this process then exits here

from orchestra.hookio import main
from orchestra.lifecycle.handlers import subagent_stop

if __name__ == "__main__":
    main(subagent_stop)
