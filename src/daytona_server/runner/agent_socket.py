"""Connecting to a sandbox agent's unix socket without trusting what the sandbox put at its path.

The socket lives in a host directory that is mounted into the sandbox, so root inside can replace
it with a symbolic link to any socket on the host (the Docker engine's, say) and have the server
talk to that. Every connection therefore opens the path with O_NOFOLLOW, checks that it is a
socket, and connects through `/proc/self/fd/N`, which names exactly the inode that was checked.

The proxy's own client (AsyncAgentTransport) speaks HTTP/1.1 to the agent's small server directly
on asyncio streams: httpx over httpcore cost more than the rest of a toolbox call put together.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import ssl
import stat
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import httpcore
import httpx

# The same pool sizes httpx uses by default.
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)
# Agents speak plain HTTP, so TLS is never used; but httpx's transport builds a context with the CA
# bundle loaded unless handed one (~17 ms of the event loop and ~0.8 MB of churn per sandbox).
_NO_TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class NotASocket(OSError):
    """What is at an agent's socket path is a link, a file or missing: the sandbox is not to be trusted."""


@contextmanager
def pinned(path: str | Path) -> Iterator[str]:
    """A `/proc/self/fd/N` name for the socket at `path`, refusing links and anything but a socket."""
    try:
        fd = os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotASocket(errno.ELOOP, f"{path} is a symbolic link, not the agent's socket") from None
        raise
    try:
        if not stat.S_ISSOCK(os.fstat(fd).st_mode):
            raise NotASocket(errno.ENOTSOCK, f"{path} is not a socket")
        yield f"/proc/self/fd/{fd}"
    finally:
        os.close(fd)


def connect(path: str | Path, timeout: float | None = None) -> socket.socket:
    """A connected unix socket to the agent at `path` (blocking)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        with pinned(path) as name:
            sock.connect(name)
    except BaseException:
        sock.close()
        raise
    return sock


def exchange(path: str | Path, method: str, target: str, body: bytes = b"", timeout: float = 30.0) -> tuple[int, bytes]:
    """One request on a connection of its own (`Connection: close`): (status, body). For the runtime's
    few blocking calls, where an HTTP client would cost more than the call. An answer larger than
    EXCHANGE_LIMIT, or slower than `timeout` in all, is an OSError."""
    head = f"{method} {target} HTTP/1.1\r\nHost: agent\r\nConnection: close\r\nContent-Length: {len(body)}\r\n"
    if body:
        head += "Content-Type: application/json\r\n"
    deadline = time.monotonic() + timeout
    received = bytearray()
    with connect(path, timeout) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        while chunk := sock.recv(65536):
            received += chunk
            if len(received) > EXCHANGE_LIMIT or time.monotonic() > deadline:
                raise OSError(f"the agent's answer to {method} {target} is too large or too slow")
    head_bytes, separator, rest = bytes(received).partition(b"\r\n\r\n")
    status_line, *fields = head_bytes.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if not separator or len(parts) < 2 or not parts[1].isdigit():
        raise OSError(f"the agent's answer to {method} {target} is not HTTP")
    headers = {name.strip().lower(): value.strip() for name, _, value in (f.partition(":") for f in fields)}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        rest = _unchunk(rest)
    elif headers.get("content-length", "").isdigit():
        rest = rest[: int(headers["content-length"])]
    return int(parts[1]), rest


EXCHANGE_LIMIT = 1 << 20


def _unchunk(data: bytes) -> bytes:
    out, at = bytearray(), 0
    while True:
        line_end = data.find(b"\r\n", at)
        size = int(data[at:line_end].split(b";")[0] or b"0", 16) if line_end >= 0 else 0
        if size == 0:
            return bytes(out)
        out += data[line_end + 2 : line_end + 2 + size]
        at = line_end + 2 + size + 2


class _SyncBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("agents are reached over their unix socket only")

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        try:
            with pinned(path) as name:
                return self._inner.connect_unix_socket(name, timeout, socket_options)
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from None

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


# Bodies up to this size are read at once, the connection back in the pool before the caller sees the
# answer; longer ones, chunked ones and ones that end with the connection stream.
EAGER_BODY = 256 * 1024
_CHUNK = 64 * 1024
_HEAD_LIMIT = 64 * 1024  # the longest response head (status line and header fields) taken from an agent
_LENGTH, _CHUNKED, _UNTIL_EOF = 0, 1, 2
_NO_BODY_STATUSES = frozenset({204, 304})
_CLOSED_EARLY = "the agent closed the connection before the end of its answer"


class _Connection:
    """One keep-alive connection to an agent."""

    __slots__ = ("idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.idle_since = 0.0

    def usable(self, now: float, expiry: float) -> bool:
        """Whether it may carry another request: not idle too long, and the agent has not closed it."""
        return now - self.idle_since <= expiry and not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()


class BodySource(Protocol):
    """Where a streamed body comes from (an httpx.Response fits)."""

    def aiter_raw(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


class AgentReply:
    """An agent's answer: status, header fields (names lower-cased, in order) and the body.

    `body` holds a body short enough to have been read at once (its connection is back in the pool);
    otherwise it is None and `aiter_raw()` streams the body (chunked framing removed, nothing decoded).
    `aclose()` ends the answer either way; one not read to its end costs its connection.
    """

    __slots__ = ("_source", "body", "headers", "reason", "status")

    def __init__(
        self,
        status: int,
        reason: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes | None = None,
        source: BodySource | None = None,
    ) -> None:
        self.status, self.reason, self.headers, self.body, self._source = status, reason, headers, body, source

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        if self._source is not None:
            async for chunk in self._source.aiter_raw():
                yield chunk
        elif self.body:
            yield self.body

    async def aread(self) -> bytes:
        if self.body is None:
            self.body = b"".join([chunk async for chunk in self.aiter_raw()])
        return self.body

    async def aclose(self) -> None:
        if self._source is not None:
            await self._source.aclose()


class _StreamedBody:
    """A body read from its connection as the caller asks; the connection is given back at the end."""

    __slots__ = ("_conn", "_framing", "_keep", "_length", "_owner")

    def __init__(self, owner: AsyncAgentTransport, conn: _Connection, framing: int, length: int, keep: bool) -> None:
        self._owner: AsyncAgentTransport | None = owner
        self._conn, self._framing, self._length, self._keep = conn, framing, length, keep

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        reader = self._conn.reader
        try:
            if self._framing == _LENGTH:
                remaining = self._length
                while remaining:
                    data = await reader.read(min(remaining, _CHUNK))
                    if not data:
                        raise httpx.RemoteProtocolError(_CLOSED_EARLY)
                    remaining -= len(data)
                    yield data
            elif self._framing == _CHUNKED:
                async for data in _chunks(reader):
                    yield data
            else:
                while data := await reader.read(_CHUNK):
                    yield data
        except OSError as exc:
            self._end(False)
            raise httpx.ReadError(f"reading the agent's answer: {exc}") from None
        except asyncio.IncompleteReadError:
            self._end(False)
            raise httpx.RemoteProtocolError(_CLOSED_EARLY) from None
        except (asyncio.LimitOverrunError, ValueError):
            self._end(False)
            raise httpx.RemoteProtocolError("the agent's chunked framing is malformed") from None
        self._end(self._keep)

    async def aclose(self) -> None:
        self._end(False)  # nothing left when the body was read to its end; else the connection is spent

    def _end(self, keep: bool) -> None:
        if self._owner is not None:
            owner, self._owner = self._owner, None
            owner._release(self._conn, keep)


async def _chunks(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    """The data of a chunked body, without its framing (trailer fields are read and dropped)."""
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass
            return
        while size:
            data = await reader.read(min(size, _CHUNK))
            if not data:
                raise asyncio.IncompleteReadError(b"", size)
            size -= len(data)
            yield data
        if await reader.readexactly(2) != b"\r\n":
            raise ValueError("no CRLF after a chunk")


def _parse_head(raw: bytes) -> tuple[bytes, int, bytes, list[tuple[bytes, bytes]]]:
    lines = raw[:-4].split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or len(parts[1]) != 3 or not parts[1].isdigit():
        raise httpx.RemoteProtocolError(f"the agent's status line is malformed: {lines[0][:100]!r}")
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name[-1:] in (b" ", b"\t"):
            raise httpx.RemoteProtocolError(f"a header field of the agent's answer is malformed: {line[:100]!r}")
        headers.append((name.lower(), value.strip(b" \t")))
    return parts[0], int(parts[1]), parts[2] if len(parts) > 2 else b"", headers


class AsyncAgentTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over an agent's socket, connecting as `pinned` describes, with a keep-alive pool.

    `exchange` is the proxy's lean path (raw header fields in, an AgentReply out, short bodies read
    at once); `handle_async_request` is the same for httpx clients. The agent's own small server
    (daytona_agent.http) is the only peer: no TLS, no TCP, no HTTP/2.
    """

    def __init__(
        self,
        path: str | Path,
        max_connections: int = _LIMITS.max_connections or 100,
        max_idle: int = _LIMITS.max_keepalive_connections or 20,
        keepalive_expiry: float = _LIMITS.keepalive_expiry or 5.0,
    ) -> None:
        self.path = str(path)
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[_Connection] = []
        self._max_idle = max_idle
        self._expiry = keepalive_expiry
        self._closed = False

    async def exchange(
        self,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes | AsyncIterable[bytes] = b"",
        *,
        connect_timeout: float | None = 10.0,
        write_timeout: float | None = 60.0,
        pool_timeout: float | None = 60.0,
    ) -> AgentReply:
        """Send one request (`headers` frame the body: Content-Length, or Transfer-Encoding: chunked for a
        stream) and read the answer's head, and its body too when it is short."""
        if any(c <= 0x20 or c == 0x7F for c in target):
            raise httpx.LocalProtocolError("a request target with spaces or control characters")
        conn = await self._acquire(connect_timeout, pool_timeout)
        try:
            head = b"".join(
                [method.encode("ascii"), b" ", target, b" HTTP/1.1\r\n"]
                + [name + b": " + value + b"\r\n" for name, value in headers]
                + [b"\r\n"]
            )
            try:
                await self._send(conn, head, headers, body, write_timeout)
                failed: OSError | None = None
            except TimeoutError:
                raise httpx.WriteTimeout("the agent did not take the request body in time") from None
            except OSError as exc:  # the agent may still have answered (and closed): read on
                failed = exc
            try:  # a request not sent whole leaves the connection unfit for another
                return await self._answer(conn, method, reusable=failed is None)
            except httpx.TransportError:
                if failed is not None:
                    raise httpx.WriteError(f"sending to the agent: {failed}") from None
                raise
        except BaseException:
            self._release(conn, False)
            raise

    async def _send(
        self,
        conn: _Connection,
        head: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes | AsyncIterable[bytes],
        write_timeout: float | None,
    ) -> None:
        writer = conn.writer
        if isinstance(body, bytes | bytearray | memoryview):
            writer.write(head + body if len(body) <= _CHUNK else head)
            if len(body) > _CHUNK:
                writer.write(body)
            await self._drain(writer, write_timeout)
            return
        chunked = any(n.lower() == b"transfer-encoding" and b"chunked" in v.lower() for n, v in headers)
        writer.write(head)
        async for part in body:
            if part:
                writer.write(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
                await self._drain(writer, write_timeout)
        if chunked:
            writer.write(b"0\r\n\r\n")
        await self._drain(writer, write_timeout)

    @staticmethod
    async def _drain(writer: asyncio.StreamWriter, timeout: float | None) -> None:
        if writer.transport.get_write_buffer_size() == 0 and not writer.is_closing():
            return  # all of it went to the socket already: nothing to wait for
        await asyncio.wait_for(writer.drain(), timeout)

    async def _answer(self, conn: _Connection, method: str, reusable: bool = True) -> AgentReply:
        reader = conn.reader
        while True:
            try:
                raw = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as exc:
                if exc.partial:
                    raise httpx.RemoteProtocolError(_CLOSED_EARLY) from None
                raise httpx.RemoteProtocolError("Server disconnected without sending a response.") from None
            except asyncio.LimitOverrunError:
                raise httpx.RemoteProtocolError("the agent's answer has too long a head") from None
            except OSError as exc:
                raise httpx.ReadError(f"reading the agent's answer: {exc}") from None
            version, status, reason, headers = _parse_head(raw)
            if not 100 <= status < 200 or status == 101:
                break  # 100 Continue and other interim answers come before the real one
        keep = reusable and version == b"HTTP/1.1"
        framing, length = _UNTIL_EOF, 0
        for name, value in headers:
            if name == b"connection" and b"close" in value.lower():
                keep = False
            elif name == b"transfer-encoding":
                framing = _CHUNKED if value.lower().endswith(b"chunked") else _UNTIL_EOF
            elif name == b"content-length" and framing != _CHUNKED:
                if not value.isdigit() or (framing == _LENGTH and int(value) != length):
                    raise httpx.RemoteProtocolError(f"the agent's Content-Length is malformed: {value[:40]!r}")
                framing, length = _LENGTH, int(value)
        if method == "HEAD" or status in _NO_BODY_STATUSES or status < 200:
            framing, length = _LENGTH, 0
        if status == 101 or framing == _UNTIL_EOF:
            keep = False
        if framing == _LENGTH and length <= EAGER_BODY:
            try:
                body = await reader.readexactly(length) if length else b""
            except asyncio.IncompleteReadError:
                raise httpx.RemoteProtocolError(_CLOSED_EARLY) from None
            except OSError as exc:
                raise httpx.ReadError(f"reading the agent's answer: {exc}") from None
            self._release(conn, keep)
            return AgentReply(status, reason, headers, body)
        return AgentReply(status, reason, headers, source=_StreamedBody(self, conn, framing, length, keep))

    async def _acquire(self, connect_timeout: float | None, pool_timeout: float | None) -> _Connection:
        if self._closed:
            raise httpx.ConnectError("the agent's connection pool is closed")
        if self._slots.locked():
            try:
                await asyncio.wait_for(self._slots.acquire(), pool_timeout)
            except TimeoutError:
                raise httpx.PoolTimeout("too many requests to this agent at once") from None
        else:
            await self._slots.acquire()  # free: returns at once
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if conn.usable(now, self._expiry):
                return conn
            conn.close()
        try:
            with pinned(self.path) as name:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_unix_connection(name, limit=_HEAD_LIMIT), connect_timeout
                )
        except TimeoutError:
            self._slots.release()
            raise httpx.ConnectTimeout(f"the agent at {self.path} did not accept in time") from None
        except OSError as exc:
            self._slots.release()
            raise httpx.ConnectError(str(exc)) from None
        except BaseException:
            self._slots.release()
            raise
        return _Connection(reader, writer)

    def _release(self, conn: _Connection, keep: bool) -> None:
        """Give back a connection taken by `_acquire`: to the pool when it may carry another request."""
        if keep and not self._closed and len(self._idle) < self._max_idle:
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
        else:
            conn.close()
        self._slots.release()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        body = request.content if isinstance(request.stream, httpx.ByteStream) else request.stream
        assert isinstance(body, bytes | AsyncIterable)
        reply = await self.exchange(
            request.method,
            request.url.raw_path,
            request.headers.raw,
            body,
            connect_timeout=timeout.get("connect", 10.0),
            write_timeout=timeout.get("write", 60.0),
            pool_timeout=timeout.get("pool", 60.0),
        )
        return httpx.Response(
            reply.status,
            headers=reply.headers,
            stream=_ReplyStream(reply),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reply.reason},
        )

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class _ReplyStream(httpx.AsyncByteStream):
    def __init__(self, reply: AgentReply) -> None:
        self._reply = reply

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._reply.aiter_raw():
            yield chunk

    async def aclose(self) -> None:
        await self._reply.aclose()


class AgentTransport(httpx.HTTPTransport):
    """httpx's blocking transport over an agent's socket, connecting as `pinned` describes (used off the event loop)."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(uds=str(path), limits=_LIMITS, verify=_NO_TLS)
        self._pool = httpcore.ConnectionPool(
            uds=str(path),
            network_backend=_SyncBackend(),
            max_connections=_LIMITS.max_connections,
            max_keepalive_connections=_LIMITS.max_keepalive_connections,
            keepalive_expiry=_LIMITS.keepalive_expiry,
        )
