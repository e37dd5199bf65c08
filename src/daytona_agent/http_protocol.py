"""The HTTP/1.1 wire of the agent's server: request heads in, response heads out, standard library only.

What the host server's proxy speaks and no more: a request line, header fields (case-insensitive,
in order), keep-alive as HTTP/1.1 has it, `Expect: 100-continue`, and the target's path and query
(as urllib.parse splits and decodes them). Bodies (Content-Length or chunked) are read by
`http.Request`; the connection loop is `http.Server`'s. It replaces http.server and socketserver,
which bring in http.client, email and more (some 7 MB in every sandbox), and urllib.parse (1 MB).
"""

from __future__ import annotations

import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO, Dict, Iterator, List, Optional, Tuple

MAX_LINE = 65536  # as http.server: a longer request line is 414, a longer field line 431
MAX_FIELDS = 100
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
SERVER = "daytona-agent Python/" + sys.version.split()[0]

# The phrases of http.HTTPStatus, the same in every Python 3 (others are looked up when first needed).
_PHRASES = {
    100: "Continue",
    101: "Switching Protocols",
    200: "OK",
    201: "Created",
    204: "No Content",
    206: "Partial Content",
    304: "Not Modified",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    410: "Gone",
    426: "Upgrade Required",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}
_HEX = frozenset(b"0123456789ABCDEFabcdef")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class BadRequest(Exception):
    """A request the server cannot parse: answered with `status`, then the connection is closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def phrase(status: int) -> Optional[str]:
    """The reason phrase of `status` as http.HTTPStatus has it; None for a status it does not know."""
    found = _PHRASES.get(status)
    if found is None:
        from http import HTTPStatus

        try:
            found = HTTPStatus(status).phrase
        except ValueError:
            return None
    return found


class Headers:
    """Header fields as they came: `get` ignores case and answers the first; `items` keeps order."""

    __slots__ = ("_fields", "_first")

    def __init__(self, fields: List[Tuple[str, str]]) -> None:
        self._fields = fields
        self._first: Dict[str, str] = {}
        for name, value in fields:
            self._first.setdefault(name.lower(), value)

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        return self._first.get(name.lower(), default)

    def __getitem__(self, name: str) -> Optional[str]:
        return self._first.get(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._first

    def items(self) -> List[Tuple[str, str]]:
        return list(self._fields)

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._fields)

    def __len__(self) -> int:
        return len(self._fields)


class RequestHead:
    """A request line and its header fields; `keep_alive` says whether the connection may go on."""

    __slots__ = ("headers", "keep_alive", "method", "target", "version")

    def __init__(self, method: str, target: str, version: Tuple[int, int], headers: Headers) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        connection = (headers.get("Connection") or "").lower()
        if connection == "close":
            self.keep_alive = False
        else:
            self.keep_alive = version >= (1, 1) or connection == "keep-alive"

    def expects_continue(self) -> bool:
        return self.version >= (1, 1) and (self.headers.get("Expect") or "").lower() == "100-continue"


def read_head(rfile: BinaryIO) -> Optional[RequestHead]:
    """The next request's head, or None when the peer closed the connection between requests.

    Raises BadRequest for a head that is not HTTP/1.x (as http.server: the fields are ISO-8859-1).
    """
    line = rfile.readline(MAX_LINE + 1)
    while line in (b"\r\n", b"\n"):  # empty lines before a request line are allowed (RFC 9112 2.2)
        line = rfile.readline(MAX_LINE + 1)
    if not line:
        return None
    if len(line) > MAX_LINE:
        raise BadRequest(414, "request line too long")
    words = line.decode("iso-8859-1").split()
    if len(words) != 3:
        raise BadRequest(400, "bad request syntax (%r)" % line.rstrip(b"\r\n"))
    method, target, version = words
    if not version.startswith("HTTP/"):
        raise BadRequest(400, "bad request version (%r)" % version)
    try:
        major, minor = version[5:].split(".")
        if not (major.isdigit() and minor.isdigit() and len(major) < 10 and len(minor) < 10):
            raise ValueError(version)
        number = (int(major), int(minor))
    except ValueError:
        raise BadRequest(400, "bad request version (%r)" % version) from None
    if number >= (2, 0):
        raise BadRequest(505, "invalid HTTP version (%s)" % version[5:])
    if target.startswith("//"):  # as http.server: never a scheme-relative reference
        target = "/" + target.lstrip("/")
    return RequestHead(method, target, number, Headers(_read_fields(rfile)))


def _read_fields(rfile: BinaryIO) -> List[Tuple[str, str]]:
    fields: List[Tuple[str, str]] = []
    while True:
        line = rfile.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise BadRequest(431, "header line too long")
        if line in (b"\r\n", b"\n", b""):
            return fields
        text = line.decode("iso-8859-1").rstrip("\r\n")
        if text[:1] in (" ", "\t"):  # obsolete line folding: part of the previous field's value
            if not fields:
                raise BadRequest(400, "header folding before the first field")
            name, value = fields[-1]
            fields[-1] = (name, (value + " " + text.strip()).strip())
            continue
        name, colon, value = text.partition(":")
        if not colon or not name or name != name.strip():
            raise BadRequest(400, "bad header line (%r)" % text[:100])
        fields.append((name, value.strip()))
        if len(fields) > MAX_FIELDS:
            raise BadRequest(431, "too many headers")


def split_target(target: str) -> Tuple[str, str]:
    """The path and query of a request target, as `urllib.parse.urlsplit` has them."""
    if not target.startswith("/") or target.startswith("//"):  # absolute-form, `*`: rare
        from urllib.parse import urlsplit

        parts = urlsplit(target)
        return parts.path, parts.query
    path, _, query = target.partition("#")[0].partition("?")
    return path, query


def unquote(text: str) -> str:
    """`urllib.parse.unquote`: %XX escapes decoded as UTF-8 (invalid sequences become U+FFFD)."""
    if "%" not in text:
        return text
    pieces = text.encode("utf-8").split(b"%")
    out = bytearray(pieces[0])
    for piece in pieces[1:]:
        if len(piece) >= 2 and piece[0] in _HEX and piece[1] in _HEX:
            out.append(int(piece[:2], 16))
            out += piece[2:]
        else:
            out += b"%" + piece
    return out.decode("utf-8", "replace")


def parse_query(query: str) -> Dict[str, List[str]]:
    """`urllib.parse.parse_qs` with its defaults: `&`-separated, `+` is a space, blank values dropped."""
    found: Dict[str, List[str]] = {}
    for field in query.split("&"):
        name, equals, value = field.partition("=")
        if equals and value:
            found.setdefault(unquote(name.replace("+", " ")), []).append(unquote(value.replace("+", " ")))
    return found


def http_date(when: Optional[float] = None) -> str:
    """An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), whatever the locale."""
    t = time.gmtime(when)
    return "%s, %02d %s %04d %02d:%02d:%02d GMT" % (
        _DAYS[t.tm_wday],
        t.tm_mday,
        _MONTHS[t.tm_mon - 1],
        t.tm_year,
        t.tm_hour,
        t.tm_min,
        t.tm_sec,
    )


def response_head(status: int, fields: List[Tuple[str, str]]) -> bytes:
    """The status line, Server and Date (as http.server sends them), `fields`, and the empty line."""
    lines = ["HTTP/1.1 %d %s" % (status, phrase(status) or ""), "Server: " + SERVER, "Date: " + http_date()]
    lines.extend("%s: %s" % field for field in fields)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "strict")


CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
