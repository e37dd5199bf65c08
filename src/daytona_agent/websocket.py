"""WebSockets (RFC 6455) on the agent's HTTP connections, standard library only.

A handler answers `websocket(request, run)`: the connection is upgraded and `run(ws)` owns it on the
connection's thread. Messages are bounded (`max_message`), pings are answered, and `send` may be
called from any thread. The host server's toolbox proxy is the only client: it relays the caller's
WebSocket to this one message by message.
"""

from __future__ import annotations

import binascii
import socket
import struct
import threading

from .http import HttpError, Request, Response

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, List, Optional, Tuple

    Message = Tuple[bool, bytes]  # (is_text, payload)

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CLOSE, PING, PONG, CONTINUATION = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0
MAX_MESSAGE = 4 * 1024 * 1024

# Close codes: 1000 normal, 1002 protocol error, 1003 unsupported data, 1008 policy, 1009 too big,
# 1011 server error; 4xxx are the application's (4008: a timeout, as today's interpreter uses it).
NORMAL, PROTOCOL_ERROR, UNSUPPORTED, POLICY, TOO_BIG, SERVER_ERROR = 1000, 1002, 1003, 1008, 1009, 1011


class Closed(Exception):
    """The connection is closed; `code` is the peer's close code (1006 when it just went away)."""

    def __init__(self, code: int = 1006, reason: str = "") -> None:
        super().__init__("closed %d %s" % (code, reason))
        self.code = code
        self.reason = reason


def is_upgrade(request: Request) -> bool:
    return "websocket" in (request.headers.get("Upgrade") or "").lower()


def requested_protocols(request: Request) -> List[str]:
    raw = request.headers.get("Sec-WebSocket-Protocol") or ""
    return [p.strip() for p in raw.split(",") if p.strip()]


class WebSocket:
    def __init__(self, sock: socket.socket, rfile: Any, max_message: int = MAX_MESSAGE) -> None:
        self.sock = sock
        self.rfile = rfile
        self.max_message = max_message
        self._send_lock = threading.Lock()
        self.closed = False
        self.close_code: Optional[int] = None

    # -- reading ----------------------------------------------------------------------------------------

    def _read(self, size: int) -> bytes:
        data = self.rfile.read(size)
        if data is None or len(data) < size:
            self.closed = True
            raise Closed(1006, "connection lost")
        return bytes(data)

    def _frame(self) -> Tuple[bool, int, bytes]:
        head = self._read(2)
        fin, opcode = bool(head[0] & 0x80), head[0] & 0x0F
        if head[0] & 0x70:
            self._fail(PROTOCOL_ERROR, "reserved bits set")
        masked, length = bool(head[1] & 0x80), head[1] & 0x7F
        if length == 126:
            length = struct.unpack("!H", self._read(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", self._read(8))[0]
        if opcode >= 0x8 and (length > 125 or not fin):
            self._fail(PROTOCOL_ERROR, "bad control frame")
        if length > self.max_message:
            self._fail(TOO_BIG, "message over %d bytes" % self.max_message)
        if not masked:
            self._fail(PROTOCOL_ERROR, "client frames must be masked")
        mask = self._read(4)
        return fin, opcode, _unmask(self._read(length), mask)

    def recv(self) -> Optional[Message]:
        """The next message, or None once the peer closed (its code in `close_code`)."""
        parts: List[bytes] = []
        kind = None
        size = 0
        while True:
            try:
                fin, opcode, payload = self._frame()
            except Closed as exc:
                self.close_code = exc.code
                return None
            if opcode == PING:
                self._send_frame(PONG, payload)
                continue
            if opcode == PONG:
                continue
            if opcode == CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                self.close_code = code
                self.close(NORMAL if code in (1005, 1006) else code)
                return None
            if opcode == CONTINUATION:
                if kind is None:
                    self._fail(PROTOCOL_ERROR, "continuation without a message")
            elif opcode in (TEXT, BINARY):
                if kind is not None:
                    self._fail(PROTOCOL_ERROR, "a new message inside a fragmented one")
                kind = opcode
            else:
                self._fail(PROTOCOL_ERROR, "unknown opcode %d" % opcode)
            size += len(payload)
            if size > self.max_message:
                self._fail(TOO_BIG, "message over %d bytes" % self.max_message)
            parts.append(payload)
            if fin:
                return kind == TEXT, b"".join(parts)

    def _fail(self, code: int, reason: str) -> None:
        self.close(code, reason)
        raise Closed(code, reason)

    # -- writing ----------------------------------------------------------------------------------------

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        length = len(payload)
        if length < 126:
            head = struct.pack("!BB", 0x80 | opcode, length)
        elif length < 1 << 16:
            head = struct.pack("!BBH", 0x80 | opcode, 126, length)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 127, length)
        with self._send_lock:
            if self.closed:
                raise Closed(self.close_code or 1006, "already closed")
            try:
                self.sock.sendall(head + payload)
            except OSError:
                self.closed = True
                raise Closed(1006, "connection lost") from None

    def send(self, data: Any) -> None:
        """Send text (a str) or binary (bytes); raises Closed once the connection is gone."""
        if isinstance(data, str):
            self._send_frame(TEXT, data.encode("utf-8"))
        else:
            self._send_frame(BINARY, bytes(data))

    def ping(self) -> None:
        """A ping: keeps intermediaries awake, and raises Closed if the peer has gone."""
        self._send_frame(PING, b"")

    def close(self, code: int = NORMAL, reason: str = "") -> None:
        """Send a close frame (once) and shut the connection down."""
        with self._send_lock:
            if self.closed:
                return
            self.closed = True
            try:
                text = reason.encode()[:123]
                self.sock.sendall(struct.pack("!BBH", 0x80 | CLOSE, 2 + len(text), code) + text)
            except OSError:
                pass
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def _unmask(payload: bytes, mask: bytes) -> bytes:
    """XOR with the 4-byte mask, a machine word at a time."""
    length = len(payload)
    if not length:
        return payload
    repeated = (mask * (length // 4 + 1))[:length]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(length, "big")


def accept_key(key: str) -> str:
    """The Sec-WebSocket-Accept for a client's Sec-WebSocket-Key (RFC 6455 4.2.2)."""
    try:  # the interpreter's own SHA-1: hashlib would map OpenSSL in, some 3 MB
        from _sha1 import sha1
    except ImportError:
        from hashlib import sha1
    digest = sha1((key.strip() + GUID).encode()).digest()
    return binascii.b2a_base64(digest, newline=False).decode()


if TYPE_CHECKING:
    Run = Callable[[WebSocket], None]


def websocket(request: Request, run: Run, protocol: Optional[str] = None) -> Response:
    """The answer of a WebSocket endpoint: upgrade the connection, then `run(ws)` until it returns.

    `protocol` is the subprotocol to select (one the client asked for). A request that is not an
    upgrade gets 426.
    """
    key = request.headers.get("Sec-WebSocket-Key")
    if not is_upgrade(request) or not key:
        raise HttpError(426, "this endpoint is a WebSocket: connect with Upgrade: websocket")
    accept = accept_key(key)

    def takeover(sock: socket.socket, rfile: Any) -> None:
        head = [
            "HTTP/1.1 101 Switching Protocols",
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Accept: " + accept,
        ]
        if protocol:
            head.append("Sec-WebSocket-Protocol: " + protocol)
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        ws = WebSocket(sock, rfile)
        try:
            run(ws)
        except Closed:
            pass
        finally:
            ws.close()

    return Response(101, takeover=takeover)
