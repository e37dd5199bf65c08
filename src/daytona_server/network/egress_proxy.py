"""The egress proxy of sandboxes with a domain allow list: every TCP connection they open lands here.

It reads the name the client asks for (the TLS ClientHello's SNI, or the HTTP Host header), checks
it against the sandbox's list, resolves it itself and connects to that name's address (the address
the client dialled, if it is one of them), so a forged Host cannot reach another address. Anything
else (a name not listed, a protocol without a name, a name that resolves to a blocked address) is
refused with a reset. TLS is never decrypted.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import struct
from collections.abc import Awaitable, Callable

from .policy import NetworkPolicy

log = logging.getLogger("daytona.network.proxy")

SO_ORIGINAL_DST = 80
PEEK_LIMIT = 16 * 1024 + 5  # one TLS record, or an HTTP request head
PEEK_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 10.0
MAX_CONNECTIONS_PER_SANDBOX = 256
CHUNK = 64 * 1024

Lookup = Callable[[str], Awaitable[list[ipaddress.IPv4Address]]]
Policies = Callable[[str], tuple[str, NetworkPolicy] | None]  # source address → (chain key, policy)
Allowed = Callable[[ipaddress.IPv4Address], bool]  # may the proxy connect there for a sandbox?
Refused = Callable[[str, str], None]  # (chain key, what was refused)


def sni_of(hello: bytes) -> str | None:
    """The server name of a TLS ClientHello record, or None (not TLS, incomplete, or no SNI)."""
    try:
        if len(hello) < 5 or hello[0] != 0x16:
            return None
        end = 5 + struct.unpack("!H", hello[3:5])[0]
        if len(hello) < end or hello[5] != 0x01:
            return None
        offset = 5 + 4 + 2 + 32  # handshake header, version, random
        offset += 1 + hello[offset]  # session id
        offset += 2 + struct.unpack("!H", hello[offset : offset + 2])[0]  # cipher suites
        offset += 1 + hello[offset]  # compression methods
        extensions_end = offset + 2 + struct.unpack("!H", hello[offset : offset + 2])[0]
        offset += 2
        while offset + 4 <= min(extensions_end, end):
            kind, length = struct.unpack("!HH", hello[offset : offset + 4])
            offset += 4
            if kind == 0:  # server_name: list length, then (type, length, name)
                if hello[offset + 2] == 0:
                    size = struct.unpack("!H", hello[offset + 3 : offset + 5])[0]
                    return hello[offset + 5 : offset + 5 + size].decode("ascii").lower()
                return None
            offset += length
    except (IndexError, struct.error, UnicodeDecodeError):
        return None
    return None


def host_of(head: bytes) -> str | None:
    """The host of an HTTP/1 request head (Host header, port stripped), or None."""
    if b"\r\n\r\n" not in head:
        return None
    lines = head.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    if len(lines[0].split(b" ")) != 3 or not lines[0].split(b" ")[2].startswith(b"HTTP/"):
        return None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"host":
            host = value.strip().decode("ascii", "replace").lower()
            if host.startswith("["):
                return None  # an IPv6 literal: never a listed domain
            return host.rsplit(":", 1)[0] if ":" in host else host
    return None


def _complete(data: bytes) -> bool:
    if data[:1] == b"\x16":
        return len(data) >= 5 and len(data) >= 5 + struct.unpack("!H", data[3:5])[0]
    return b"\r\n\r\n" in data


def original_destination(sock: socket.socket) -> tuple[str, int] | None:
    try:
        raw = sock.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    except OSError:
        return None
    port = struct.unpack("!H", raw[2:4])[0]
    return socket.inet_ntoa(raw[4:8]), port


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset, as a refused connection would be."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.close()


class EgressProxy:
    def __init__(self, policies: Policies, lookup: Lookup, allowed: Allowed, refused: Refused) -> None:
        self.policies = policies
        self.lookup = lookup
        self.allowed = allowed
        self.refused = refused
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: dict[str, int] = {}

    async def start(self, host: str) -> None:
        self._server = await asyncio.start_server(self._serve, host, 0, limit=PEEK_LIMIT)
        self.port = self._server.sockets[0].getsockname()[1]

    def close(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        source = writer.get_extra_info("peername")[0]
        found = self.policies(source)
        if found is None or self._open.get(source, 0) >= MAX_CONNECTIONS_PER_SANDBOX:
            if found is not None:
                self.refused(found[0], "too many open connections")
            _reset(writer)
            return
        self._open[source] = self._open.get(source, 0) + 1
        try:
            await self._relay(found[0], found[1], reader, writer)
        finally:
            self._open[source] -= 1

    async def _relay(
        self, key: str, policy: NetworkPolicy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        dest = original_destination(writer.get_extra_info("socket"))
        head = b""
        try:
            async with asyncio.timeout(PEEK_TIMEOUT_S):
                while len(head) < PEEK_LIMIT and not (head and _complete(head)):
                    chunk = await reader.read(PEEK_LIMIT - len(head))
                    if not chunk:
                        break
                    head += chunk
        except (TimeoutError, ConnectionError):
            pass
        name = sni_of(head) if head[:1] == b"\x16" else host_of(head)
        if dest is None or name is None or not policy.allows_domain(name):
            self.refused(key, f"{name or 'a connection with no server name'} (port {dest[1] if dest else '?'})")
            _reset(writer)
            return
        addresses = [a for a in await self.lookup(name) if self.allowed(a)]
        if not addresses:
            self.refused(key, f"{name}: resolves to no address a sandbox may reach")
            _reset(writer)
            return
        target = ipaddress.IPv4Address(dest[0])
        address = target if target in addresses else addresses[0]
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(str(address), dest[1], limit=CHUNK), CONNECT_TIMEOUT_S
            )
        except (OSError, TimeoutError):
            _reset(writer)
            return
        up_writer.write(head)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        up_writer.close()
        writer.close()
