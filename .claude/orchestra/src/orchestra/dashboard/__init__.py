"""The live dashboard: an HTTP + WebSocket server (`server.Dashboard`) over what `snapshot.build`
reads from the store, and the static page under `static/` that draws it (no CDN, nothing fetched
at runtime)."""
