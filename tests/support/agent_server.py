"""The agent's HTTP server in-process: a router served on a unix socket for the duration of a block."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from daytona_agent.http import Router, Server


@contextmanager
def serving(router: Router, path: str | Path) -> Iterator[str]:
    """Serve `router` on `path` (a thread accepts, one more per connection); yield the socket's path."""
    server = Server(str(path), router)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield str(path)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
