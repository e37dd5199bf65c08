"""The WebSocket seam of the SDK: connect (errors mapped to the SDK's tree) and receive with a deadline,
once for asyncio (`websockets.asyncio`) and once blocking (`websockets.sync`): the generated sync code
calls the second wherever the async code calls the first (scripts/gen_sync_sdk.py renames them)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from websockets.asyncio.client import ClientConnection as AsyncWsConnection
from websockets.asyncio.client import connect as _async_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import ClientConnection as WsConnection
from websockets.sync.client import connect as _sync_connect

from ._base import raise_for_response
from ._errors import DaytonaConnectionError, DaytonaTimeoutError

__all__ = [
    "AsyncWsConnection",
    "ConnectionClosed",
    "WsConnection",
    "aconnect_ws",
    "arecv_within",
    "connect_ws",
    "recv_within",
]

MAX_MESSAGE = 4 * 1024 * 1024


@contextmanager
def _mapped_errors(url: str) -> Iterator[None]:
    """A refused upgrade raises as the HTTP error it was (404, 409, ...); a failed connection as one."""
    try:
        yield
    except InvalidStatus as exc:
        answer = exc.response
        headers = {k: v for k, v in answer.headers.raw_items()}
        raise_for_response(httpx.Response(answer.status_code, headers=headers, content=bytes(answer.body or b"")))
        raise DaytonaConnectionError(f"WebSocket upgrade to {url} refused ({answer.status_code})") from None
    except TimeoutError:
        raise DaytonaTimeoutError(f"WebSocket connection to {url} timed out") from None
    except (OSError, InvalidHandshake) as exc:
        raise DaytonaConnectionError(f"cannot open a WebSocket to {url}: {exc}") from None


async def aconnect_ws(
    url: str, headers: dict[str, str], subprotocols: list[str], open_timeout: float
) -> AsyncWsConnection:
    with _mapped_errors(url):
        return await _async_connect(
            url,
            additional_headers=headers,
            subprotocols=subprotocols or None,  # type: ignore[arg-type]
            open_timeout=open_timeout,
            max_size=MAX_MESSAGE,
            compression=None,
            proxy=None,
        )


def connect_ws(url: str, headers: dict[str, str], subprotocols: list[str], open_timeout: float) -> WsConnection:
    with _mapped_errors(url):
        return _sync_connect(
            url,
            additional_headers=headers,
            subprotocols=subprotocols or None,  # type: ignore[arg-type]
            open_timeout=open_timeout,
            max_size=MAX_MESSAGE,
            compression=None,
            proxy=None,
        )


async def arecv_within(ws: AsyncWsConnection, timeout: float | None) -> str | bytes | None:
    """The next message, or None when `timeout` seconds pass first (None: wait as long as it takes)."""
    try:
        return await asyncio.wait_for(ws.recv(), timeout)
    except TimeoutError:
        return None


def recv_within(ws: WsConnection, timeout: float | None) -> str | bytes | None:
    try:
        return ws.recv(timeout=timeout)
    except TimeoutError:
        return None
