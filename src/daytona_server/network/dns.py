"""The sandboxes' DNS: every query a sandbox sends (to any resolver, port 53) lands here.

A sandbox with a domain allow list gets answers for its listed names only (REFUSED otherwise), so
names cannot leak out through DNS either. Names in the server's static host table are answered
here; the rest are forwarded to the upstream resolvers (the host's, from /etc/resolv.conf, unless
the server names others or none).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import random
import struct
from collections.abc import Callable, Sequence
from pathlib import Path

log = logging.getLogger("daytona.network.dns")

A, AAAA, ANY = 1, 28, 255
NOERROR, SERVFAIL, NXDOMAIN, REFUSED = 0, 2, 3, 5
UPSTREAM_TIMEOUT_S = 2.0
MAX_TCP_MESSAGE = 65535
Upstream = tuple[str, int]


class DnsFormatError(ValueError):
    pass


def system_upstreams(resolv_conf: Path = Path("/etc/resolv.conf")) -> list[Upstream]:
    """The host's resolvers."""
    try:
        lines = resolv_conf.read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            found.append((parts[1], 53))
    return found


def parse_upstreams(raw: str) -> list[Upstream] | None:
    """`DAYTONA_NETWORK_DNS`: "system" (None: the host's), "none" ([]), or addresses with optional ports."""
    raw = raw.strip()
    if raw in ("", "system"):
        return None
    if raw == "none":
        return []
    upstreams = []
    for item in raw.split(","):
        host, _, port = item.strip().rpartition(":") if item.count(":") == 1 else (item.strip(), "", "53")
        try:
            ipaddress.ip_address(host)
            upstreams.append((host, int(port)))
        except ValueError:
            raise SystemExit(f"DAYTONA_NETWORK_DNS: {item!r} is not an address[:port], 'system' or 'none'") from None
    return upstreams


def read_name(message: bytes, offset: int) -> tuple[str, int]:
    """A (possibly compressed) name at `offset`; returns it and the offset after it."""
    labels: list[str] = []
    end: int | None = None
    for _ in range(128):  # bounds pointer loops
        if offset >= len(message):
            raise DnsFormatError("truncated name")
        length = message[offset]
        if length & 0xC0 == 0xC0:
            if offset + 1 >= len(message):
                raise DnsFormatError("truncated pointer")
            if end is None:
                end = offset + 2
            offset = ((length & 0x3F) << 8) | message[offset + 1]
            continue
        if length == 0:
            return ".".join(labels), end if end is not None else offset + 1
        labels.append(message[offset + 1 : offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    raise DnsFormatError("name too long")


def parse_question(query: bytes) -> tuple[int, str, int, int]:
    """(id, name, type, end of the question) of a query with one question."""
    if len(query) < 12:
        raise DnsFormatError("shorter than a header")
    ident, flags, qdcount = struct.unpack("!HHH", query[:6])
    if flags & 0x8000 or qdcount != 1:
        raise DnsFormatError("not a query with one question")
    name, offset = read_name(query, 12)
    if offset + 4 > len(query):
        raise DnsFormatError("truncated question")
    qtype = struct.unpack("!H", query[offset : offset + 2])[0]
    return ident, name.lower(), qtype, offset + 4


def answer(query: bytes, rcode: int, addresses: Sequence[ipaddress.IPv4Address] = (), ttl: int = 60) -> bytes:
    """A response to `query` (its question copied) with A records for `addresses`."""
    _, _, _, end = parse_question(query)
    flags = struct.unpack("!H", query[2:4])[0]
    flags = 0x8000 | (flags & 0x7900) | 0x0080 | rcode  # QR, opcode and RD kept, RA set
    header = struct.pack("!HHHHHH", struct.unpack("!H", query[:2])[0], flags, 1, len(addresses), 0, 0)
    records = b"".join(struct.pack("!HHHIH", 0xC00C, A, 1, ttl, 4) + a.packed for a in addresses)
    return header + query[12:end] + records


def a_records(response: bytes) -> list[ipaddress.IPv4Address]:
    """The A records of a response."""
    if len(response) < 12:
        raise DnsFormatError("shorter than a header")
    qdcount, ancount = struct.unpack("!HH", response[4:8])
    offset = 12
    for _ in range(qdcount):
        _, offset = read_name(response, offset)
        offset += 4
    found = []
    for _ in range(ancount):
        _, offset = read_name(response, offset)
        if offset + 10 > len(response):
            raise DnsFormatError("truncated record")
        rtype, _, _, length = struct.unpack("!HHIH", response[offset : offset + 10])
        offset += 10
        if rtype == A and length == 4:
            found.append(ipaddress.IPv4Address(response[offset : offset + 4]))
        offset += length
    return found


def a_query(name: str) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode("ascii") for p in name.rstrip(".").split(".") if p)
    header = struct.pack("!HHHHHH", random.getrandbits(16), 0x0100, 1, 0, 0, 0)
    return header + labels + b"\0" + struct.pack("!HH", A, 1)


class _UpstreamProtocol(asyncio.DatagramProtocol):
    def __init__(self, done: asyncio.Future[bytes]) -> None:
        self.done = done

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not self.done.done():
            self.done.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.done.done():
            self.done.set_exception(exc)


class Resolver:
    """Answers names for sandboxes (and for the egress proxy): static hosts first, then upstream."""

    def __init__(self, hosts: dict[str, list[ipaddress.IPv4Address]], upstreams: list[Upstream] | None) -> None:
        self.hosts = {name.lower().rstrip("."): addrs for name, addrs in hosts.items()}
        self._upstreams = upstreams

    @property
    def upstreams(self) -> list[Upstream]:
        return system_upstreams() if self._upstreams is None else self._upstreams

    async def forward(self, query: bytes) -> bytes | None:
        """The first upstream's response to `query` over UDP, or None."""
        loop = asyncio.get_running_loop()
        for host, port in self.upstreams:
            done: asyncio.Future[bytes] = loop.create_future()
            try:
                transport, _ = await loop.create_datagram_endpoint(
                    functools.partial(_UpstreamProtocol, done), remote_addr=(host, port)
                )
            except OSError:
                continue
            try:
                transport.sendto(query)
                response = await asyncio.wait_for(done, UPSTREAM_TIMEOUT_S)
                if response[:2] == query[:2]:
                    return response
            except (TimeoutError, OSError):
                continue
            finally:
                transport.close()
        return None

    async def resolve(self, query: bytes) -> bytes:
        """The response to a sandbox's query (whose name is allowed)."""
        _, name, qtype, _ = parse_question(query)
        if name in self.hosts:
            addresses = self.hosts[name] if qtype in (A, ANY) else []
            return answer(query, NOERROR, addresses)
        if not self.upstreams:
            return answer(query, NXDOMAIN)
        response = await self.forward(query)
        return response if response is not None else answer(query, SERVFAIL)

    async def lookup(self, name: str) -> list[ipaddress.IPv4Address]:
        """IPv4 addresses of `name`, for the egress proxy."""
        name = name.lower().rstrip(".")
        if name in self.hosts:
            return list(self.hosts[name])
        response = await self.forward(a_query(name))
        try:
            return a_records(response) if response is not None else []
        except DnsFormatError:
            return []


# Decides a query from a sandbox address: None to resolve it, or REFUSED (and counts the refusal).
Gate = Callable[[str, str], int | None]


class DnsServer:
    """UDP and TCP listeners on the bridge's gateway address (their ports are the firewall's redirect targets)."""

    def __init__(self, resolver: Resolver, gate: Gate) -> None:
        self.resolver = resolver
        self.gate = gate
        self.udp_port = 0
        self.tcp_port = 0
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str) -> None:
        loop = asyncio.get_running_loop()
        server = self

        class Udp(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                task = loop.create_task(server._reply_udp(self.transport, data, addr))  # type: ignore[arg-type]
                server._tasks.add(task)
                task.add_done_callback(server._tasks.discard)

        self._udp, _ = await loop.create_datagram_endpoint(Udp, local_addr=(host, 0))
        self.udp_port = self._udp.get_extra_info("sockname")[1]
        self._tcp = await asyncio.start_server(self._serve_tcp, host, 0)
        self.tcp_port = self._tcp.sockets[0].getsockname()[1]

    async def respond(self, query: bytes, source: str) -> bytes | None:
        try:
            _, name, _, _ = parse_question(query)
        except DnsFormatError:
            return None
        verdict = self.gate(source, name)
        if verdict is not None:
            return answer(query, verdict)
        try:
            return await self.resolver.resolve(query)
        except DnsFormatError:
            return None

    async def _reply_udp(self, transport: asyncio.DatagramTransport, query: bytes, addr: tuple[str, int]) -> None:
        response = await self.respond(query, addr[0])
        if response is not None and not transport.is_closing():
            transport.sendto(response, addr)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        source = writer.get_extra_info("peername")[0]
        try:
            for _ in range(100):  # queries on one connection
                size = struct.unpack("!H", await asyncio.wait_for(reader.readexactly(2), 10))[0]
                query = await asyncio.wait_for(reader.readexactly(size), 10)
                response = await self.respond(query, source)
                if response is None:
                    break
                writer.write(struct.pack("!H", len(response)) + response)
                await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
