"""The durable output of one session command: bytes as produced, and which stream each byte came from.

`<id>.log` holds stdout and stderr interleaved in arrival order, written as the command produces
them, up to a cap (the rest is dropped and the truncation is marked in the log). `<id>.idx` records
where the stream switches: 9-byte records (stream, start offset), so a reader can split any byte
range of the log back into stdout and stderr, also after an agent restart. Readers address the log
by byte offset: a client resumes where it left by asking for the bytes from its last offset.
"""

from __future__ import annotations

import codecs
import json
import os
import struct
from array import array
from bisect import bisect_right

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Dict, Iterator, List, Optional, Tuple

    Segments = List[Tuple[int, int, int]]

STDOUT = 1
STDERR = 2
STREAM_NAMES = {STDOUT: "stdout", STDERR: "stderr"}
_RECORD = struct.Struct(">BQ")
READ_CHUNK = 64 * 1024


class CommandLog:
    """Append-only log of one command, with its stream index; one writer (the agent's I/O loop)."""

    def __init__(self, log_path: str, idx_path: str, cap: int) -> None:
        self.log_path = log_path
        self.idx_path = idx_path
        self.cap = cap
        self.size = 0  # bytes in the log file, notes included
        self.data_bytes = 0  # bytes of command output kept (counts against the cap)
        self.dropped = 0  # bytes of command output discarded after the cap
        self.truncated = False
        self._starts: array = array("Q")
        self._streams: array = array("B")
        self._log_fd: Optional[int] = None
        self._idx_fd: Optional[int] = None
        self._loaded = False

    # -- writing --------------------------------------------------------------------------------

    def create(self) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_NOFOLLOW
        self._log_fd = os.open(self.log_path, flags, 0o600)
        self._idx_fd = os.open(self.idx_path, flags, 0o600)
        self._loaded = True

    def append(self, stream: int, data: bytes) -> int:
        """Append command output, respecting the cap; return how many bytes were kept."""
        if not data:
            return 0
        room = self.cap - self.data_bytes
        keep = data[: max(room, 0)]
        self.dropped += len(data) - len(keep)
        if keep:
            self._write(stream, keep)
            self.data_bytes += len(keep)
        if len(keep) < len(data) and not self.truncated:
            self.truncated = True
            self.note("\n[output truncated: the log keeps the first %d bytes of output]\n" % self.cap)
        return len(keep)

    def note(self, text: str) -> None:
        """Append a message from the agent (timeouts, interruptions); not counted against the cap."""
        self._write(STDERR, text.encode("utf-8"))

    def _write(self, stream: int, data: bytes) -> None:
        if self._log_fd is None:  # reopened after a restart, or the writer was closed
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW
            self.load()
            self._log_fd = os.open(self.log_path, flags, 0o600)
            self._idx_fd = os.open(self.idx_path, flags, 0o600)
        if not self._streams or self._streams[-1] != stream:
            # Index first: a crash between the two writes leaves a record pointing at the end.
            assert self._idx_fd is not None
            _write_all(self._idx_fd, _RECORD.pack(stream, self.size))
            self._starts.append(self.size)
            self._streams.append(stream)
        _write_all(self._log_fd, data)
        self.size += len(data)

    def close(self) -> None:
        for fd in (self._log_fd, self._idx_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._log_fd = self._idx_fd = None

    # -- reading --------------------------------------------------------------------------------

    def load(self) -> None:
        """Read the size and the stream index from disk (after an agent restart)."""
        if self._loaded:
            return
        self._loaded = True
        try:
            self.size = os.stat(self.log_path).st_size
        except FileNotFoundError:
            self.size = 0
        try:
            with open(self.idx_path, "rb") as fh:
                raw = fh.read()
        except FileNotFoundError:
            raw = b""
        for pos in range(0, len(raw) - len(raw) % _RECORD.size, _RECORD.size):
            stream, start = _RECORD.unpack_from(raw, pos)
            if start <= self.size and stream in STREAM_NAMES:
                self._starts.append(start)
                self._streams.append(stream)

    def segments(self, start: int, end: int) -> Segments:
        """(stream, from, to) pieces covering bytes [start, end) of the log, in order."""
        self.load()
        pieces: Segments = []
        if start >= end or not self._starts:
            return pieces
        i = max(bisect_right(self._starts, start) - 1, 0)
        while i < len(self._starts) and self._starts[i] < end:
            seg_end = self._starts[i + 1] if i + 1 < len(self._starts) else end
            a, b = max(start, self._starts[i]), min(end, seg_end)
            if a < b:
                pieces.append((self._streams[i], a, b))
            i += 1
        return pieces


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_range(path: str, start: int, end: int, fd: Optional[int] = None) -> Iterator[bytes]:
    """Yield bytes [start, end) of a file in chunks (from `fd` when given: it survives an unlink)."""
    own = fd is None
    if own:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return
    assert fd is not None
    try:
        pos = start
        while pos < end:
            data = os.pread(fd, min(READ_CHUNK, end - pos), pos)
            if not data:
                return
            pos += len(data)
            yield data
    finally:
        if own:
            os.close(fd)


class Framer:
    """Turns log byte ranges into NDJSON frames `{"type": "stdout"|"stderr", "data", "offset"}`.

    Each stream is decoded on its own, so a character split across two reads (or interleaved with
    the other stream) still comes out whole; `offset` is the log offset after the frame's bytes.
    """

    def __init__(self) -> None:
        self._decoders = {s: codecs.getincrementaldecoder("utf-8")("replace") for s in STREAM_NAMES}
        # Where each stream's undecoded tail (part of a character) starts: a resume must not skip it.
        self._pending: Dict[int, Optional[int]] = {s: None for s in STREAM_NAMES}

    def frames(self, path: str, segments: Segments, fd: Optional[int] = None) -> Iterator[bytes]:
        """Frames for `segments` (from `CommandLog.segments`, taken under the writer's lock)."""
        for stream, a, b in segments:
            pos = a
            decoder = self._decoders[stream]
            for data in read_range(path, a, b, fd):
                pos += len(data)
                text = decoder.decode(data)
                held = len(decoder.getstate()[0])
                if not held:
                    self._pending[stream] = None
                elif self._pending[stream] is None:
                    self._pending[stream] = pos - held
                if text:
                    resume = min([pos] + [p for p in self._pending.values() if p is not None])
                    yield frame({"type": STREAM_NAMES[stream], "data": text, "offset": resume})

    def flush(self, offset: int) -> Iterator[bytes]:
        self._pending = {s: None for s in STREAM_NAMES}
        for stream, decoder in self._decoders.items():
            text = decoder.decode(b"", final=True)
            if text:
                yield frame({"type": STREAM_NAMES[stream], "data": text, "offset": offset})


def frame(obj: Dict[str, object]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def split_streams(path: str, segments: Segments, limit: int, fd: Optional[int] = None) -> Dict[str, str]:
    """Combined output and stdout/stderr apart for `segments` of a log, each capped at `limit` bytes."""
    parts: Dict[str, List[bytes]] = {"stdout": [], "stderr": [], "combined": []}
    sizes = {"stdout": 0, "stderr": 0, "combined": 0}
    cut = {"stdout": False, "stderr": False, "combined": False}
    for stream, a, b in segments:
        for data in read_range(path, a, b, fd):
            for key in (STREAM_NAMES[stream], "combined"):
                room = limit - sizes[key]
                if room < len(data):
                    cut[key] = True
                piece = data[: max(room, 0)]
                if piece:
                    parts[key].append(piece)
                    sizes[key] += len(piece)
    out: Dict[str, str] = {}
    for key, chunks in parts.items():
        text = b"".join(chunks).decode("utf-8", errors="replace")
        if cut[key]:
            text += "\n[output truncated: more than %d bytes]\n" % limit
        out[key] = text
    return out
