"""HTTP clients for sandbox agents, one keep-alive connection pool per agent socket."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from .agent_socket import AgentTransport, AsyncAgentTransport

# Commands may run for as long as their own timeout says: no read timeout on the agent link.
AGENT_TIMEOUT = httpx.Timeout(connect=10.0, read=None, write=60.0, pool=60.0)


class AgentPool:
    def __init__(self, socket_for: Callable[[str], Path]) -> None:
        self._socket_for = socket_for
        self._clients: dict[str, httpx.AsyncClient] = {}

    def client(self, sandbox_id: str) -> httpx.AsyncClient:
        client = self._clients.get(sandbox_id)
        if client is None:
            transport = AsyncAgentTransport(self._socket_for(sandbox_id))
            client = httpx.AsyncClient(transport=transport, base_url="http://agent", timeout=AGENT_TIMEOUT)
            self._clients[sandbox_id] = client
        return client

    async def forget(self, sandbox_id: str) -> None:
        """Drop the pool of a sandbox whose agent went away (stopped, deleted)."""
        client = self._clients.pop(sandbox_id, None)
        if client is not None:
            await client.aclose()

    async def close(self) -> None:
        for sandbox_id in list(self._clients):
            await self.forget(sandbox_id)


def agent_busy(socket_path: Path) -> bool:
    """Whether the agent reports work in progress (session commands running). Unknown counts as idle."""
    try:
        with httpx.Client(transport=AgentTransport(socket_path), timeout=2.0) as client:
            response = client.get("http://agent/activity")
    except httpx.HTTPError:
        return False
    if response.status_code != 200:
        return False
    return bool(response.json().get("busy"))
