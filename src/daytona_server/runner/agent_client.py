"""HTTP clients for sandbox agents, one keep-alive connection pool per agent, over the runtime's transport."""

from __future__ import annotations

import socket
from collections.abc import Callable

import httpx

# Commands may run for as long as their own timeout says: no read timeout on the agent link.
AGENT_TIMEOUT = httpx.Timeout(connect=10.0, read=None, write=60.0, pool=60.0)
AGENT_URL = "http://agent"


class AgentPool:
    """One httpx client per sandbox, made on the transport `transport_for(sandbox_id)` hands out;
    `connect(sandbox_id)` opens a raw connection for what HTTP clients cannot carry (WebSockets)."""

    def __init__(
        self,
        transport_for: Callable[[str], httpx.AsyncBaseTransport],
        connect: Callable[[str], socket.socket] | None = None,
    ) -> None:
        self._transport_for = transport_for
        self._connect = connect
        self._clients: dict[str, httpx.AsyncClient] = {}

    def connect(self, sandbox_id: str) -> socket.socket:
        """A new connected socket to the sandbox's agent (blocking call)."""
        if self._connect is None:
            raise OSError("this runtime cannot open raw connections to agents")
        return self._connect(sandbox_id)

    def client(self, sandbox_id: str) -> httpx.AsyncClient:
        client = self._clients.get(sandbox_id)
        if client is None:
            transport = self._transport_for(sandbox_id)
            client = httpx.AsyncClient(transport=transport, base_url=AGENT_URL, timeout=AGENT_TIMEOUT)
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


def agent_busy(transport: httpx.BaseTransport) -> bool:
    """Whether the agent reports work in progress (session commands running). Unknown counts as idle."""
    try:
        with httpx.Client(transport=transport, base_url=AGENT_URL, timeout=2.0) as client:
            response = client.get("/activity")
    except httpx.HTTPError:
        return False
    if response.status_code != 200:
        return False
    return bool(response.json().get("busy"))
