#!/usr/bin/env -S uv run --quiet --script
# /// script
# requires-python = ">=3.11"
# dependencies = ["claude-orchestra"]
#
# [tool.uv.sources]
# claude-orchestra = { path = "..", editable = true }
# ///
"""PostToolUse(Write|Edit|NotebookEdit), async: record the written file as an artifact of the calling run."""
# orchestra-hook: {"event": "PostToolUse", "matcher": "Write|Edit|NotebookEdit", "timeout": 10, "async": true}

from orchestra.warm.client import forward

forward(__name__)  # a running warm server takes this hook over; this process then exits here

from orchestra.hookio import main
from orchestra.lifecycle.handlers import post_write

if __name__ == "__main__":
    main(post_write)
