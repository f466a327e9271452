#!/usr/bin/env -S uv run --quiet --script
# /// script
# requires-python = ">=3.11"
# dependencies = ["claude-orchestra"]
#
# [tool.uv.sources]
# claude-orchestra = { path = ".", editable = true }
# ///
"""Claude Code status line: team, epic, sprint, task counts, coverage and a dot per live agent run."""

from orchestra.warm.client import forward

forward(__name__)  # a running warm server takes this run over; this process then exits here

from orchestra.metrics.statusline import main  # noqa: E402

if __name__ == "__main__":
    main()
