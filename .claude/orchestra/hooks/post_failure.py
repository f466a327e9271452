#!/usr/bin/env -S uv run --quiet --script
# /// script
# requires-python = ">=3.11"
# dependencies = ["claude-orchestra"]
#
# [tool.uv.sources]
# claude-orchestra = { path = "..", editable = true }
# ///
"""PostToolUseFailure, async: record the failed tool call for error_rate and the dashboard's event feed."""
# orchestra-hook: {"event": "PostToolUseFailure", "timeout": 10, "async": true}

from orchestra.warm.client import forward

forward(__name__)  # a running warm server takes this hook over; this process then exits here

from orchestra.hookio import main
from orchestra.metrics.failures import record_failure

if __name__ == "__main__":
    main(record_failure)
