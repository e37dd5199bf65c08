"""The pure pieces of PTY terminals: the WebSocket subprotocols, input checks, the scrollback ring
and the bounded outbound queue of one client (pty_sessions.py runs the terminals, pty_routes.py serves them)."""

from __future__ import annotations

import base64
import binascii
import collections
import json
import re
import threading

from .http import HttpError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

    Item = Tuple[str, Any]  # ("data", bytes) | ("control", dict) | ("close", (code, reason))

SCROLLBACK_BYTES = 256 * 1024
# Output queued for one client beyond the scrollback replay; past it the client is dropped.
CLIENT_QUEUE_BYTES = 1024 * 1024
MAX_SIZE = 1000  # cols and rows, as Daytona's daemon

EXIT_CONTROL_PROTOCOL = "X-Daytona-Pty-Exit-Control"
ENVS_PROTOCOL_PREFIX = "X-Daytona-Pty-Envs~"
_ID = re.compile(r"^[A-Za-z0-9_.~:@+=,-]{1,256}$")
_RESERVED_IDS = {"create-connect"}


class Ring:
    """The last `capacity` bytes written (bytearray deletes from the front in O(1))."""

    def __init__(self, capacity: int = SCROLLBACK_BYTES) -> None:
        self.capacity = capacity
        self.total = 0
        self._buf = bytearray()

    def append(self, data: bytes) -> None:
        self.total += len(data)
        if len(data) >= self.capacity:
            self._buf = bytearray(data[-self.capacity :])
            return
        self._buf += data
        excess = len(self._buf) - self.capacity
        if excess > 0:
            del self._buf[:excess]

    @property
    def wrapped(self) -> bool:
        return self.total > len(self._buf)

    def snapshot(self) -> bytes:
        """The kept bytes; once older output was dropped, from the first line start (no cut sequence)."""
        data = bytes(self._buf)
        if self.wrapped:
            cut = data.find(b"\n", 0, 4096)
            if cut >= 0:
                data = data[cut + 1 :]
        return data


def envs_from_protocols(protocols: List[str]) -> Dict[str, str]:
    """The `X-Daytona-Pty-Envs~<base64url JSON object>` subprotocol's variables; ValueError if malformed."""
    for protocol in protocols:
        if not protocol.startswith(ENVS_PROTOCOL_PREFIX):
            continue
        encoded = protocol[len(ENVS_PROTOCOL_PREFIX) :]
        try:
            raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4), altchars=b"-_", validate=True)
            value = json.loads(raw.decode("utf-8"))
        except (binascii.Error, ValueError) as exc:
            raise ValueError(
                "the %s subprotocol is not base64url-encoded JSON: %s" % (ENVS_PROTOCOL_PREFIX, exc)
            ) from None
        return check_envs(value, "the %s subprotocol" % ENVS_PROTOCOL_PREFIX)
    return {}


def check_envs(value: Any, what: str = "envs") -> Dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError("%s must be an object of string values" % what)
    for key, item in value.items():
        if not key or "=" in key or "\0" in key or "\0" in item:
            raise ValueError("invalid environment variable in %s: %r" % (what, key))
    return dict(value)


def select_protocol(protocols: List[str]) -> Optional[str]:
    """The subprotocol to accept: exit control when asked for; else the first offered (clients such
    as Node's `ws` fail a handshake that selects none of theirs)."""
    if EXIT_CONTROL_PROTOCOL in protocols:
        return EXIT_CONTROL_PROTOCOL
    return protocols[0] if protocols else None


def check_id(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise HttpError(400, "a PTY session id is required (id)")
    if not _ID.match(value):
        raise HttpError(400, "a PTY session id has 1 to 256 letters, digits and . _ ~ : @ + = , - (got %r)" % value)
    if value in _RESERVED_IDS:
        raise HttpError(400, "%r is not a valid PTY session id" % value)
    return value


def check_size(value: Any, name: str, default: Optional[int] = None) -> int:
    """cols or rows: an integer from 1 to 1000 (query strings give them as text)."""
    if value is None or value == "":
        if default is None:
            raise HttpError(400, "%s is required" % name)
        return default
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SIZE:
        raise HttpError(400, "%s must be an integer from 1 to %d" % (name, MAX_SIZE))
    return value


def exit_reason(code: int) -> Optional[str]:
    """What Daytona's daemon reports beside a non-zero exit code."""
    if code == 0:
        return None
    names = {130: "Ctrl+C", 137: "SIGKILL", 143: "SIGTERM"}
    if code in names:
        return names[code]
    return "signal %d" % (code - 128) if code > 128 else "non-zero exit"


# -- one client's view ----------------------------------------------------------------------------


class Attachment:
    """The bounded outbound queue of one attached client; the transport's sender drains it."""

    def __init__(self, exit_control: bool, queue_limit: int = CLIENT_QUEUE_BYTES) -> None:
        self.exit_control = exit_control
        self.queue_limit = queue_limit
        self.cond = threading.Condition()
        self.items: Deque[Item] = collections.deque()
        self.queued = 0
        self.closed = False  # a close item was queued: nothing follows it
        self.detached = False
        self.on_drop: Optional[Callable[[], None]] = None  # the transport: stop a sender stuck on the socket

    def _put(self, item: Item, size: int = 0) -> None:
        with self.cond:
            if self.closed:
                return
            self.items.append(item)
            self.queued += size
            if item[0] == "close":
                self.closed = True
            self.cond.notify_all()

    def data(self, payload: bytes, replay: bool = False) -> bool:
        """Queue output; False (nothing queued) when the client is too far behind."""
        with self.cond:
            if not replay and self.queued + len(payload) > self.queue_limit:
                return False
            self._put(("data", payload), len(payload))
            return True

    def control(self, message: Dict[str, Any]) -> None:
        self._put(("control", message))

    def close(self, code: int, reason: str) -> None:
        self._put(("close", (code, reason)))

    def drop(self, code: int, reason: str) -> None:
        """Forget what is queued and close: the client did not keep up."""
        with self.cond:
            self.items.clear()
            self.queued = 0
        self.close(code, reason)
        if self.on_drop is not None:
            self.on_drop()

    def next(self, timeout: Optional[float] = None) -> Optional[Item]:
        """The next item to send (None on timeout, or once detached with nothing left)."""
        with self.cond:
            if not self.items and not self.detached:
                self.cond.wait(timeout)
            if not self.items:
                return None
            item = self.items.popleft()
            if item[0] == "data":
                self.queued -= len(item[1])
            return item

    def detach(self) -> None:
        with self.cond:
            self.detached = True
            self.cond.notify_all()


def send_exit(client: Attachment, code: int) -> None:
    """Tell the client how the shell ended: `exited` (when it asked for exit control), then close 1000."""
    reason = exit_reason(code)
    if client.exit_control:
        message: Dict[str, Any] = {"type": "control", "status": "exited", "exitCode": code}
        if reason:
            message["exitReason"] = reason
        client.control(message)
    close: Dict[str, Any] = {"exitCode": code}
    if reason:
        close["exitReason"] = reason
    client.close(1000, json.dumps(close, separators=(",", ":")))
