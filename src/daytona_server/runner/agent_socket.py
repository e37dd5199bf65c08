"""Connecting to a sandbox agent's unix socket without trusting what the sandbox put at its path.

The socket lives in a host directory that is mounted into the sandbox, so root inside can replace
it with a symbolic link to any socket on the host (the Docker engine's, say) and have the server
talk to that. Every connection therefore opens the path with O_NOFOLLOW, checks that it is a
socket, and connects through `/proc/self/fd/N`, which names exactly the inode that was checked.
"""

from __future__ import annotations

import errno
import os
import socket
import ssl
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


class _AsyncBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("agents are reached over their unix socket only")

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        try:
            with pinned(path) as name:
                return await self._inner.connect_unix_socket(name, timeout, socket_options)
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from None

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


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


class AsyncAgentTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over an agent's socket, connecting as `pinned` describes."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(uds=str(path), limits=_LIMITS, verify=_NO_TLS)
        self._pool = httpcore.AsyncConnectionPool(
            uds=str(path),
            network_backend=_AsyncBackend(),
            max_connections=_LIMITS.max_connections,
            max_keepalive_connections=_LIMITS.max_keepalive_connections,
            keepalive_expiry=_LIMITS.keepalive_expiry,
        )


class AgentTransport(httpx.HTTPTransport):
    """The blocking twin of AsyncAgentTransport."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(uds=str(path), limits=_LIMITS, verify=_NO_TLS)
        self._pool = httpcore.ConnectionPool(
            uds=str(path),
            network_backend=_SyncBackend(),
            max_connections=_LIMITS.max_connections,
            max_keepalive_connections=_LIMITS.max_keepalive_connections,
            keepalive_expiry=_LIMITS.keepalive_expiry,
        )
