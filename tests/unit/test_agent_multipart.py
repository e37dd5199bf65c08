"""The agent's streaming body readers: multipart/form-data parts and chunked request bodies."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from email.message import Message

import pytest

from daytona_agent.http import HttpError, Request
from daytona_agent.multipart import MultipartReader, boundary_of

BOUNDARY = "----boundary7MA4YWxkTrZu0gW"


def body_with(parts: list[tuple[str, str | None, bytes]], boundary: str = BOUNDARY, preamble: bytes = b"") -> bytes:
    out = [preamble]
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode())
        out.append(b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


def reader_of(data: bytes, sizes: Callable[[], int]) -> Callable[[int], bytes]:
    """A read(n) that returns at most `sizes()` bytes at a time, as a socket may."""
    stream = io.BytesIO(data)
    return lambda n: stream.read(max(1, min(n, sizes())))


def collect(data: bytes, sizes: Callable[[], int] = lambda: 1 << 20) -> list[tuple[str | None, str | None, bytes]]:
    reader = MultipartReader(reader_of(data, sizes), BOUNDARY)
    found = [(part.name, part.filename, b"".join(part.chunks())) for part in reader.parts()]
    assert reader.finished
    return found


def test_boundary_parsing() -> None:
    assert boundary_of(f"multipart/form-data; boundary={BOUNDARY}") == BOUNDARY
    assert boundary_of('multipart/form-data; charset=utf-8; boundary="a b"') == "a b"
    assert boundary_of("application/octet-stream") is None
    with pytest.raises(HttpError):
        boundary_of("multipart/form-data")


@pytest.mark.parametrize("read_size", [1, 2, 3, 7, 64, 1 << 20])
def test_parts_survive_any_split_of_the_body(read_size: int) -> None:
    # Data that looks like a delimiter without being one, right where chunks split.
    tricky = b"\r\n--" + BOUNDARY.encode()[:-1] + b"X\r\n-" + bytes(range(256)) * 50
    data = body_with([("meta", None, b"x=1"), ("file", "a.bin", tricky), ("empty", None, b"")])
    assert collect(data, lambda: read_size) == [("meta", None, b"x=1"), ("file", "a.bin", tricky), ("empty", None, b"")]


def test_random_splits_and_preamble() -> None:
    rng = random.Random(7)
    payload = rng.randbytes(300_000)
    data = body_with([("file", "f", payload)], preamble=b"ignored preamble\r\n")
    assert collect(data, lambda: rng.randint(1, 5000)) == [("file", "f", payload)]


def test_truncated_body_is_a_400() -> None:
    data = body_with([("file", "f", b"0123456789" * 1000)])
    for cut in (10, len(data) // 2, len(data) - len(BOUNDARY) - 6):
        with pytest.raises(HttpError) as caught:
            collect(data[:cut])
        assert caught.value.status == 400


def test_no_boundary_and_oversized_headers_are_400s() -> None:
    with pytest.raises(HttpError, match="without any boundary"):
        collect(b"just some bytes")
    huge = f"--{BOUNDARY}\r\nX-Big: {'a' * 20000}\r\n\r\ndata\r\n--{BOUNDARY}--\r\n".encode()
    with pytest.raises(HttpError, match="too long"):
        collect(huge)


def chunked_request(raw: bytes) -> Request:
    headers = Message()
    headers["Transfer-Encoding"] = "chunked"
    return Request("POST", "/x", {}, headers, io.BufferedReader(io.BytesIO(raw)))  # type: ignore[arg-type]


def test_chunked_request_bodies_are_decoded_in_pieces() -> None:
    request = chunked_request(b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\nNEXT REQUEST")
    assert request.read(3) == b"hel"
    assert request.read(100) == b"lo world"
    assert request.read(100) == b""
    assert request.complete and not request.malformed
    assert request.json() == {}


def test_broken_chunked_bodies_are_marked() -> None:
    for raw in (b"zz\r\nhello\r\n0\r\n\r\n", b"a\r\nshort", b"5\r\nhelloXX0\r\n\r\n"):
        request = chunked_request(raw)
        request.drain()
        assert request.malformed and not request.complete


def test_content_length_body_completeness() -> None:
    headers = Message()
    headers["Content-Length"] = "10"
    request = Request("POST", "/x", {}, headers, io.BufferedReader(io.BytesIO(b"12345")))  # type: ignore[arg-type]
    assert request.read(100) == b"12345"
    assert request.read(100) == b""
    assert not request.complete
