"""Warm hooks: while the orchestra MCP server runs, a warm server that has already imported what hooks
import runs each hook invocation in a forked child, so a hook process only starts Python and hands over
its stdin, stdout and stderr (`client`, imported first by every hook script; `server`)."""
