"""Links to sandbox agents, one keep-alive connection pool per agent, over the runtime's transport."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterable, Callable
from typing import Protocol, runtime_checkable

import httpx

from .agent_socket import AgentReply

# Commands may run for as long as their own timeout says: no read timeout on the agent link.
AGENT_TIMEOUT = httpx.Timeout(connect=10.0, read=None, write=60.0, pool=60.0)
AGENT_URL = "http://agent"


@runtime_checkable
class AgentLink(Protocol):
    """One request to the agent and its answer (agent_socket.AsyncAgentTransport is one)."""

    async def exchange(
        self, method: str, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes | AsyncIterable[bytes] = b""
    ) -> AgentReply: ...

    async def aclose(self) -> None: ...


class HttpxLink:
    """An AgentLink over any httpx transport (a runtime may hand out one that has no `exchange`)."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self._client = httpx.AsyncClient(transport=transport, base_url=AGENT_URL, timeout=AGENT_TIMEOUT)

    async def exchange(
        self, method: str, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes | AsyncIterable[bytes] = b""
    ) -> AgentReply:
        url = AGENT_URL + target.decode("latin-1")
        response = await self._client.send(
            self._client.build_request(method, url, headers=headers, content=body), stream=True
        )
        fields = [(name.lower(), value) for name, value in response.headers.raw]
        reason = response.reason_phrase.encode()
        if response.is_stream_consumed:  # an answer made in memory is whole already
            return AgentReply(response.status_code, reason, fields, body=response.content)
        return AgentReply(response.status_code, reason, fields, source=response)

    async def aclose(self) -> None:
        await self._client.aclose()


class AgentPool:
    """One link per sandbox, made on the transport `transport_for(sandbox_id)` hands out;
    `connect(sandbox_id)` opens a raw connection for what HTTP clients cannot carry (WebSockets)."""

    def __init__(
        self,
        transport_for: Callable[[str], httpx.AsyncBaseTransport],
        connect: Callable[[str], socket.socket] | None = None,
    ) -> None:
        self._transport_for = transport_for
        self._connect = connect
        self._links: dict[str, AgentLink] = {}

    def connect(self, sandbox_id: str) -> socket.socket:
        """A new connected socket to the sandbox's agent (blocking call)."""
        if self._connect is None:
            raise OSError("this runtime cannot open raw connections to agents")
        return self._connect(sandbox_id)

    def link(self, sandbox_id: str) -> AgentLink:
        link = self._links.get(sandbox_id)
        if link is None:
            transport = self._transport_for(sandbox_id)
            link = transport if isinstance(transport, AgentLink) else HttpxLink(transport)
            self._links[sandbox_id] = link
        return link

    async def forget(self, sandbox_id: str) -> None:
        """Drop the pool of a sandbox whose agent went away (stopped, deleted)."""
        link = self._links.pop(sandbox_id, None)
        if link is not None:
            await link.aclose()

    async def close(self) -> None:
        for sandbox_id in list(self._links):
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
