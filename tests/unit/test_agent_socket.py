"""The proxy's HTTP/1.1 client for agents (runner.agent_socket.AsyncAgentTransport), against the agent's own server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from daytona_agent.http import Request, Response, Router
from daytona_server.runner import agent_socket
from daytona_server.runner.agent_client import AgentPool, HttpxLink
from daytona_server.runner.agent_socket import AsyncAgentTransport

from ..support.agent_server import serving

BIG = b"x" * (agent_socket.EAGER_BODY + 1)
HEAD = [(b"host", b"agent")]


def agent_router() -> Router:
    router = Router()

    @router.route("GET", "/small")
    def small(request: Request) -> Response:
        return Response(200, {"ok": True}, headers={"X-Two": "2"})

    @router.route("GET", "/big")
    def big(request: Request) -> Response:
        return Response(200, BIG, content_type="application/octet-stream")

    @router.route("GET", "/stream")
    def stream(request: Request) -> Response:
        return Response(200, stream=iter([b"one ", b"", b"two"]), content_type="text/plain")

    @router.route("POST", "/echo")
    def echo(request: Request) -> Response:
        return Response(201, request.read(), content_type="application/octet-stream")

    @router.route("DELETE", "/gone")
    def gone(request: Request) -> Response:
        return Response(204, b"")

    @router.route("GET", "/close")
    def close(request: Request) -> Response:
        return Response(200, {"bye": 1}, headers={"Connection": "close"})

    return router


@pytest.fixture
def socket_path(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "agent.sock"
    with serving(agent_router(), path):
        yield path


@pytest.fixture
async def transport(socket_path: Path) -> AsyncIterator[AsyncAgentTransport]:
    transport = AsyncAgentTransport(socket_path)
    yield transport
    await transport.aclose()


async def test_short_answers_come_whole_and_the_connection_is_kept(transport: AsyncAgentTransport) -> None:
    first = await transport.exchange("GET", b"/small", HEAD)
    assert (first.status, first.reason, first.body) == (200, b"OK", b'{"ok": true}')
    assert (b"x-two", b"2") in first.headers
    second = await transport.exchange("GET", b"/small", HEAD)
    assert second.body == first.body
    assert len(transport._idle) == 1  # one connection carried both


async def test_long_and_chunked_answers_stream(transport: AsyncAgentTransport) -> None:
    big = await transport.exchange("GET", b"/big", HEAD)
    assert big.body is None
    assert await big.aread() == BIG
    streamed = await transport.exchange("GET", b"/stream", HEAD)
    assert streamed.body is None and (b"transfer-encoding", b"chunked") in streamed.headers
    assert [chunk async for chunk in streamed.aiter_raw()] == [b"one ", b"two"]
    await streamed.aclose()
    assert len(transport._idle) == 1  # both read to the end: the same connection again


async def test_an_answer_left_unread_costs_its_connection_only(transport: AsyncAgentTransport) -> None:
    big = await transport.exchange("GET", b"/big", HEAD)
    await big.aclose()
    assert not transport._idle
    assert (await transport.exchange("GET", b"/small", HEAD)).status == 200


async def test_bodies_go_whole_or_chunked(transport: AsyncAgentTransport) -> None:
    whole = await transport.exchange("POST", b"/echo", [*HEAD, (b"content-length", b"5")], b"hello")
    assert (whole.status, whole.body) == (201, b"hello")

    async def parts() -> AsyncIterator[bytes]:
        yield b"chunked "
        yield b""
        yield b"upload"

    chunked = await transport.exchange("POST", b"/echo", [*HEAD, (b"transfer-encoding", b"chunked")], parts())
    assert chunked.body == b"chunked upload"
    expects = await transport.exchange(  # the agent's interim 100 Continue is skipped
        "POST", b"/echo", [*HEAD, (b"content-length", b"2"), (b"expect", b"100-continue")], b"ok"
    )
    assert (expects.status, expects.body) == (201, b"ok")


async def test_head_204_and_errors(transport: AsyncAgentTransport) -> None:
    head = await transport.exchange("HEAD", b"/small", HEAD)  # the agent answers 405: a head, no body
    assert (head.status, head.body) == (405, b"")
    assert (await transport.exchange("DELETE", b"/gone", HEAD)).status == 204
    missing = await transport.exchange("GET", b"/nowhere", HEAD)
    assert missing.status == 404 and b"no such toolbox endpoint" in (missing.body or b"")
    assert (await transport.exchange("GET", b"/small", HEAD)).status == 200  # still in step
    with pytest.raises(httpx.LocalProtocolError):
        await transport.exchange("GET", b"/a b", HEAD)


async def test_a_connection_the_agent_closed_is_not_reused(transport: AsyncAgentTransport) -> None:
    assert (await transport.exchange("GET", b"/close", HEAD)).status == 200
    assert not transport._idle
    assert (await transport.exchange("GET", b"/small", HEAD)).status == 200


async def test_no_agent_and_links_are_connect_errors(tmp_path: Path, socket_path: Path) -> None:
    with pytest.raises(httpx.ConnectError):
        await AsyncAgentTransport(tmp_path / "missing.sock").exchange("GET", b"/small", HEAD)
    (tmp_path / "link.sock").symlink_to(socket_path)
    with pytest.raises(httpx.ConnectError, match=r"not a socket|symbolic link"):
        await AsyncAgentTransport(tmp_path / "link.sock").exchange("GET", b"/small", HEAD)


async def test_httpx_clients_use_it_too(transport: AsyncAgentTransport) -> None:
    async with httpx.AsyncClient(transport=transport, base_url="http://agent") as client:
        assert (await client.get("/small")).json() == {"ok": True}
        assert (await client.post("/echo", content=b"via httpx")).content == b"via httpx"
        async with client.stream("GET", "/stream") as response:
            assert b"".join([chunk async for chunk in response.aiter_bytes()]) == b"one two"
        assert (await client.get("/big")).content == BIG


async def test_a_runtime_transport_without_exchange_gets_an_httpx_link() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(207, headers={"X-Path": request.url.raw_path.decode()}, content=request.content)

    pool = AgentPool(lambda sandbox_id: httpx.MockTransport(answer))
    link = pool.link("box")
    assert isinstance(link, HttpxLink) and pool.link("box") is link
    reply = await link.exchange("POST", b"/a%20b?c=d", [(b"content-length", b"2")], b"hi")
    assert (reply.status, await reply.aread()) == (207, b"hi")
    assert (b"x-path", b"/a%20b?c=d") in reply.headers
    await reply.aclose()
    await pool.close()


async def test_the_pool_hands_out_the_socket_transport_itself(socket_path: Path) -> None:
    pool = AgentPool(lambda sandbox_id: AsyncAgentTransport(socket_path))
    link = pool.link("box")
    assert isinstance(link, AsyncAgentTransport)
    assert (await link.exchange("GET", b"/small", HEAD)).status == 200
    await pool.forget("box")
    assert pool.link("box") is not link
    await pool.close()
