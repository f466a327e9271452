#!/usr/bin/env -S uv run --quiet --script
# /// script
# requires-python = ">=3.11"
# dependencies = ["claude-orchestra"]
#
# [tool.uv.sources]
# claude-orchestra = { path = "..", editable = true }
# ///
"""TeammateIdle (native agent teams): record that a teammate went idle."""
# orchestra-hook: {"event": "TeammateIdle", "timeout": 10}

from orchestra.warm.client import forward

forward(__name__)  # a running warm server takes this hook over; this process then exits here

from orchestra.hookio import main
from orchestra.lifecycle.native import mirror

if __name__ == "__main__":
    main(mirror)
