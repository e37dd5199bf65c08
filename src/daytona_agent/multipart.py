"""A streaming multipart/form-data reader: parts are read chunk by chunk, never whole.

The official client uploads files as `multipart/form-data` with a `file` part; a 1 GB upload must
pass through the agent with flat memory, so the body is scanned for boundaries as it arrives.
"""

from __future__ import annotations

from .http import HttpError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Dict, Iterator, Optional, Tuple

READ_SIZE = 1 << 20
MAX_HEADER_BYTES = 16 * 1024


def boundary_of(content_type: str) -> Optional[str]:
    """The boundary parameter of a `multipart/form-data` Content-Type, or None for other types."""
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/form-data":
        return None
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "boundary":
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            if not value or len(value) > 200:
                raise HttpError(400, "invalid multipart boundary")
            return value
    raise HttpError(400, "multipart/form-data body without a boundary parameter")


def _disposition_params(value: str) -> Dict[str, str]:
    """Parameters of a Content-Disposition header (`form-data; name="file"; filename="a.txt"`)."""
    params: Dict[str, str] = {}
    for piece in value.split(";")[1:]:
        key, _, raw = piece.strip().partition("=")
        raw = raw.strip()
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        params[key.strip().lower()] = raw
    return params


class Part:
    """One part of the body: its headers, form field name and file name; `chunks()` streams its data."""

    def __init__(self, reader: "MultipartReader", headers: Dict[str, str]) -> None:
        self._reader = reader
        self.headers = headers
        params = _disposition_params(headers.get("content-disposition", ""))
        self.name = params.get("name")
        self.filename = params.get("filename")
        self.done = False

    def chunks(self) -> Iterator[bytes]:
        """Yield the part's data up to the next boundary (must be consumed before the next part)."""
        while not self.done:
            data, self.done = self._reader._data_chunk()
            if data:
                yield data

    def drain(self) -> None:
        for _ in self.chunks():
            pass


class MultipartReader:
    """Iterate over the parts of a multipart body read through `read(size)` (b"" at the end)."""

    def __init__(self, read: Callable[[int], bytes], boundary: str) -> None:
        self._read = read
        self._dash_boundary = b"--" + boundary.encode("latin-1")
        self._delimiter = b"\r\n" + self._dash_boundary
        self._buf = b""
        self._eof = False
        self.finished = False

    def _fill(self) -> bool:
        """Read more of the body into the buffer; False at the end of the body."""
        if self._eof:
            return False
        data = self._read(READ_SIZE)
        if not data:
            self._eof = True
            return False
        self._buf += data
        return True

    def _truncated(self) -> HttpError:
        return HttpError(400, "multipart body ended before its closing boundary (upload interrupted?)")

    def parts(self) -> Iterator[Part]:
        # Preamble: anything before the first boundary line (usually nothing) is ignored.
        while len(self._buf) < len(self._dash_boundary) and self._fill():
            pass
        if self._buf.startswith(self._dash_boundary):
            self._buf = self._buf[len(self._dash_boundary) :]
        else:
            while True:
                index = self._buf.find(self._delimiter)
                if index >= 0:
                    self._buf = self._buf[index + len(self._delimiter) :]
                    break
                self._buf = self._buf[-len(self._delimiter) :]
                if not self._fill():
                    raise HttpError(400, "multipart body without any boundary line")
        while True:
            # After a boundary: "--" ends the body, otherwise (optional blanks) CRLF and a new part.
            while len(self._buf) < 2 and self._fill():
                pass
            if self._buf.startswith(b"--"):
                self.finished = True
                return
            line_end = self._find(b"\r\n", 1024)
            if self._buf[:line_end].strip(b" \t"):
                raise HttpError(400, "malformed multipart boundary line")
            self._buf = self._buf[line_end + 2 :]
            part = Part(self, self._headers())
            yield part
            if not part.done:
                part.drain()

    def _find(self, needle: bytes, limit: int) -> int:
        """Index of `needle` in the buffer, reading more as needed, within `limit` bytes."""
        while True:
            index = self._buf.find(needle, 0, limit + len(needle))
            if index >= 0:
                return index
            if len(self._buf) >= limit + len(needle):
                raise HttpError(400, "multipart part headers are too long")
            if not self._fill():
                raise self._truncated()

    def _headers(self) -> Dict[str, str]:
        if self._buf.startswith(b"\r\n"):
            self._buf = self._buf[2:]
            return {}
        end = self._find(b"\r\n\r\n", MAX_HEADER_BYTES)
        raw, self._buf = self._buf[:end], self._buf[end + 4 :]
        headers: Dict[str, str] = {}
        for line in raw.decode("utf-8", errors="replace").split("\r\n"):
            key, sep, value = line.partition(":")
            if not sep:
                raise HttpError(400, "malformed multipart part header: %r" % line[:100])
            headers[key.strip().lower()] = value.strip()
        return headers

    def _data_chunk(self) -> Tuple[bytes, bool]:
        """The next piece of the current part's data, and whether the part ended with it."""
        while True:
            index = self._buf.find(self._delimiter)
            if index >= 0:
                data, self._buf = self._buf[:index], self._buf[index + len(self._delimiter) :]
                return data, True
            # Keep a tail that could be the start of a delimiter split across reads.
            keep = len(self._delimiter) - 1
            if len(self._buf) > keep:
                data, self._buf = self._buf[:-keep], self._buf[-keep:]
                if not self._fill():
                    raise self._truncated()
                return data, False
            if not self._fill():
                raise self._truncated()
