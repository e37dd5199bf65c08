"""Errors that carry an HTTP status, raised anywhere in the server and rendered by the API.

ApiError(status, message)
├── BadRequest        400  malformed or out-of-range input
├── Unauthorized      401  missing or invalid API key or session
├── Forbidden         403  not allowed: admins only, a per-sandbox limit, a missing CSRF header
├── NotFound          404  no such resource (or not the caller's)
├── Conflict          409  the resource's state does not allow this, or it exists already
├── TooManyRequests   429  a quota on what is in use
├── Internal          500  the runtime (or another part of the server) failed
├── BadGateway        502  a sandbox's agent, or the server on a preview port, did not answer
└── Unavailable       503  a part the request needs is not available
"""

from __future__ import annotations


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class BadRequest(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(400, message)


class Unauthorized(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(401, message)


class Forbidden(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(403, message)


class NotFound(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(404, message)


class Conflict(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(409, message)


class TooManyRequests(ApiError):
    """A quota is used up: it fits once something is stopped or deleted."""

    def __init__(self, message: str) -> None:
        super().__init__(429, message)


class Internal(ApiError):
    """The server failed (e.g. the runtime could not start a container); the message says what."""

    def __init__(self, message: str) -> None:
        super().__init__(500, message)


class BadGateway(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(502, message)


class Unavailable(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(503, message)
