"""A JSON-RPC client for one language server process, spoken over its stdin/stdout (LSP base protocol).

Messages are framed as `Content-Length: N\\r\\n\\r\\n<N bytes of UTF-8 JSON>`. A reader thread parses
the server's output and hands answers to the waiting callers; a writer thread feeds its input, so a
server that stops reading can never block a caller. Every request has a deadline.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional

    ServerRequestHandler = Callable[[str, Any], Any]

# Limits that keep a misbehaving server from exhausting the agent's memory.
MAX_HEADER_BYTES = 8 * 1024
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
STDERR_TAIL_BYTES = 8 * 1024

# JSON-RPC / LSP error codes.
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
REQUEST_CANCELLED = -32800


class LspError(Exception):
    """Base of the errors a language server connection raises."""


class ProtocolError(LspError):
    """The server wrote something that is not a well-framed JSON-RPC message."""


class LspTimeout(LspError):
    """The server did not answer a request before its deadline."""


class LspServerExited(LspError):
    """The server process is gone (crashed, killed, or stopped) and cannot answer."""


class LspResponseError(LspError):
    """The server answered a request with a JSON-RPC error."""

    def __init__(self, method: str, code: int, message: str) -> None:
        super().__init__("%s failed with error %s: %s" % (method, code, message))
        self.method = method
        self.code = code
        self.message = message


def encode_message(payload: Dict[str, Any]) -> bytes:
    """Frame one JSON-RPC message with its Content-Length header."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


class FrameParser:
    """Incremental parser of the base protocol: feed it bytes as they come, get whole messages back."""

    def __init__(self, max_message: int = MAX_MESSAGE_BYTES) -> None:
        self._buffer = bytearray()
        self._length: Optional[int] = None
        self._max_message = max_message

    def feed(self, data: bytes) -> List[Any]:
        self._buffer += data
        messages: List[Any] = []
        while True:
            if self._length is None:
                end = self._buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(self._buffer) > MAX_HEADER_BYTES:
                        raise ProtocolError("message header longer than %d bytes" % MAX_HEADER_BYTES)
                    return messages
                self._length = self._content_length(bytes(self._buffer[:end]))
                del self._buffer[: end + 4]
            if len(self._buffer) < self._length:
                return messages
            body = bytes(self._buffer[: self._length])
            del self._buffer[: self._length]
            self._length = None
            try:
                messages.append(json.loads(body.decode("utf-8")))
            except ValueError as exc:
                raise ProtocolError("message body is not valid UTF-8 JSON: %s" % exc) from None

    def _content_length(self, header: bytes) -> int:
        length: Optional[int] = None
        for line in header.split(b"\r\n"):
            name, sep, value = line.partition(b":")
            if not sep:
                raise ProtocolError("malformed header line: %r" % line[:100])
            if name.strip().lower() == b"content-length":
                try:
                    length = int(value.strip())
                except ValueError:
                    raise ProtocolError("Content-Length is not a number: %r" % value.strip()[:40]) from None
        if length is None:
            raise ProtocolError("message header has no Content-Length")
        if length < 0 or length > self._max_message:
            raise ProtocolError("Content-Length %d is out of range (at most %d)" % (length, self._max_message))
        return length


class _Pending:
    __slots__ = ("error", "event", "method", "result")

    def __init__(self, method: str) -> None:
        self.method = method
        self.event = threading.Event()
        self.result: Any = None
        self.error: Optional[LspError] = None


# Answers to requests that servers send to their client; anything else gets METHOD_NOT_FOUND.


class LspConnection:
    """JSON-RPC over the pipes of a started language server process (which this object owns)."""

    def __init__(
        self,
        proc: subprocess.Popen,
        name: str,
        on_server_request: Optional[ServerRequestHandler] = None,
        on_exit: Optional[Callable[[], None]] = None,
    ) -> None:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        self.proc = proc
        self.name = name
        self._on_server_request = on_server_request
        self._on_exit = on_exit
        self._lock = threading.Lock()
        self._next_id = 1
        self._pending: Dict[int, _Pending] = {}
        self._outbox: "queue.Queue[Optional[bytes]]" = queue.Queue()
        self._stderr = bytearray()
        self._closed_reason: Optional[str] = None
        self.exited = threading.Event()
        self._threads = [
            threading.Thread(target=self._read_loop, name="lsp-read-%s" % name, daemon=True),
            threading.Thread(target=self._write_loop, name="lsp-write-%s" % name, daemon=True),
            threading.Thread(target=self._stderr_loop, name="lsp-stderr-%s" % name, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    # -- calls -------------------------------------------------------------------------------

    def request(self, method: str, params: Any, timeout: float) -> Any:
        """Send a request and wait at most `timeout` seconds for its result."""
        with self._lock:
            if self._closed_reason is not None:
                raise LspServerExited(self._closed_reason)
            request_id = self._next_id
            self._next_id += 1
            pending = _Pending(method)
            self._pending[request_id] = pending
        self._outbox.put(encode_message({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}))
        if not pending.event.wait(timeout):
            with self._lock:
                self._pending.pop(request_id, None)
                reason = self._closed_reason
            if not pending.event.is_set():
                if reason is not None:
                    raise LspServerExited(reason)
                self._outbox.put(
                    encode_message({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": request_id}})
                )
                raise LspTimeout("%s did not answer %s within %gs" % (self.name, method, timeout))
        if pending.error is not None:
            raise pending.error
        return pending.result

    def notify(self, method: str, params: Any) -> None:
        """Send a notification (no answer expected)."""
        with self._lock:
            if self._closed_reason is not None:
                raise LspServerExited(self._closed_reason)
        self._outbox.put(encode_message({"jsonrpc": "2.0", "method": method, "params": params}))

    def stderr_tail(self, wait: float = 1.0) -> str:
        """The last of what the server wrote to stderr; once it exited, everything it wrote (up to `wait` s)."""
        if self.proc.poll() is not None:
            self._threads[2].join(wait)  # the reader may not have reached the end of the pipe yet
        with self._lock:
            return bytes(self._stderr).decode("utf-8", errors="replace")

    @property
    def closed_reason(self) -> Optional[str]:
        with self._lock:
            return self._closed_reason

    # -- threads -----------------------------------------------------------------------------

    def _write_loop(self) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        while True:
            data = self._outbox.get()
            if data is None:
                break
            try:
                stdin.write(data)
                stdin.flush()
            except (OSError, ValueError):
                break  # the server closed its input; the reader notices the exit
        try:
            stdin.close()
        except (OSError, ValueError):
            pass

    def _read_loop(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        parser = FrameParser()
        reason = "%s closed its output" % self.name
        try:
            while True:
                data = os.read(stdout.fileno(), 65536)
                if not data:
                    break
                for message in parser.feed(data):
                    self._dispatch(message)
        except ProtocolError as exc:
            reason = "%s broke the protocol: %s" % (self.name, exc)
        except OSError as exc:
            reason = "%s: reading its output failed: %s" % (self.name, exc)
        self._close(reason)

    def _stderr_loop(self) -> None:
        stderr = self.proc.stderr
        assert stderr is not None
        while True:
            try:
                data = os.read(stderr.fileno(), 65536)
            except OSError:
                break
            if not data:
                break
            with self._lock:
                self._stderr += data
                del self._stderr[:-STDERR_TAIL_BYTES]

    def _dispatch(self, message: Any) -> None:
        if not isinstance(message, dict):
            return
        if "method" in message:
            if "id" in message:
                self._answer_server_request(message)
            return  # notifications (logs, diagnostics, progress) are not needed by the toolbox
        request_id = message.get("id")
        with self._lock:
            pending = self._pending.pop(request_id, None) if isinstance(request_id, int) else None
        if pending is None:
            return  # the answer to a request that timed out
        error = message.get("error")
        if isinstance(error, dict):
            pending.error = LspResponseError(pending.method, int(error.get("code") or 0), str(error.get("message")))
        else:
            pending.result = message.get("result")
        pending.event.set()

    def _answer_server_request(self, message: Dict[str, Any]) -> None:
        method = str(message.get("method"))
        reply: Dict[str, Any] = {"jsonrpc": "2.0", "id": message.get("id")}
        handled = False
        if self._on_server_request is not None:
            try:
                reply["result"] = self._on_server_request(method, message.get("params"))
                handled = True
            except KeyError:
                pass
            except Exception as exc:  # answer with the error rather than leave the server waiting
                reply["error"] = {"code": -32603, "message": str(exc)}
                handled = True
        if not handled:
            reply["error"] = {"code": METHOD_NOT_FOUND, "message": "the client does not handle %s" % method}
        self._outbox.put(encode_message(reply))

    def _close(self, reason: str) -> None:
        """The server's output ended: fail every waiting request and stop the writer."""
        try:
            code = self.proc.wait(timeout=2)
            reason = "%s (exit code %s)" % (reason, code)
        except subprocess.TimeoutExpired:
            pass
        with self._lock:
            self._closed_reason = reason
            pending, self._pending = self._pending, {}
        for item in pending.values():
            item.error = LspServerExited(reason)
            item.event.set()
        self._outbox.put(None)
        self.exited.set()
        if self._on_exit is not None:
            self._on_exit()
