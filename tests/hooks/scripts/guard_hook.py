#!/usr/bin/env -S uv run --quiet --script
# /// script
# requires-python = ">=3.11"
# dependencies = ["claude-orchestra"]
#
# [tool.uv.sources]
# claude-orchestra = { path = "../../../.claude/orchestra", editable = true }
# ///
"""Test-only hook under the guard policy: the verdict (or exception) comes from the event itself."""

from orchestra.hookio import main
from verdicts import handle

if __name__ == "__main__":
    main(handle, policy="guard")
