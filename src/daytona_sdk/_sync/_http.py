# Generated from ../_async by scripts/gen_sync_sdk.py: edit the async code, then run `make sdk-sync`.
"""The one place that talks HTTP: auth header, timeouts, bounded retries, error mapping."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from .._base import (
    USER_AGENT,
    backoff,
    default_timeout,
    raise_for_response,
    should_retry,
    translate_transport_error,
)


class SyncHttp:
    def __init__(self, api_key: str, server_url: str, transport: httpx.BaseTransport | None = None) -> None:
        self.server_url = server_url
        self._client = httpx.Client(
            base_url=server_url,
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT},
            timeout=default_timeout(60.0),
            transport=transport,
        )

    def websocket_target(self, path: str) -> tuple[str, dict[str, str]]:
        """The ws:// (or wss://) URL of `path` and the headers a WebSocket upgrade to it sends."""
        url = self.server_url.rstrip("/") + path
        headers = {"Authorization": self._client.headers["Authorization"], "User-Agent": USER_AGENT}
        return ("ws" + url[4:] if url.startswith("http") else url), headers

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        timeout: float | None = 60.0,
    ) -> Any:
        """Send a request; return the decoded JSON body (None when empty) or raise a DaytonaError."""
        attempt = 0
        while True:
            try:
                response = self._client.request(
                    method, path, json=json, params=params, timeout=default_timeout(timeout)
                )
            except httpx.TransportError as exc:
                if should_retry(method, attempt, exc, None):
                    time.sleep(backoff(attempt))
                    attempt += 1
                    continue
                raise translate_transport_error(exc, f"{self.server_url}{path}") from None
            if should_retry(method, attempt, None, response.status_code):
                time.sleep(backoff(attempt, response.headers.get("retry-after")))
                attempt += 1
                continue
            raise_for_response(response)
            return response.json() if response.content else None

    def upload(self, path: str, *, params: dict[str, Any], files: dict[str, Any], timeout: float | None) -> Any:
        """POST a multipart body, streamed from its file objects; sent once (a stream cannot be replayed)."""
        try:
            response = self._client.post(path, params=params, files=files, timeout=default_timeout(timeout))
        except httpx.TransportError as exc:
            raise translate_transport_error(exc, f"{self.server_url}{path}") from None
        raise_for_response(response)
        return response.json() if response.content else None

    @contextmanager
    def stream(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        timeout: float | None = 60.0,
        content: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Iterator[httpx.Response]:
        """Send a request (`content`: bytes or an iterator of them, streamed) and yield the response
        with its body unread, for streaming (errors raise)."""
        request = self._client.build_request(
            method, path, params=params, content=content, headers=headers, timeout=default_timeout(timeout)
        )
        try:
            response = self._client.send(request, stream=True)
        except httpx.TransportError as exc:
            raise translate_transport_error(exc, f"{self.server_url}{path}") from None
        try:
            if not response.is_success:
                response.read()
                raise_for_response(response)
            yield response
        except httpx.TransportError as exc:
            raise translate_transport_error(exc, f"{self.server_url}{path}") from None
        finally:
            response.close()

    def stream_lines(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        timeout: float | None = 60.0,
    ) -> Iterator[str]:
        """Send a request and yield the body's non-empty lines as they arrive (NDJSON streams).

        A connection that fails before any line arrived is retried like `request` does; errors raise.
        """
        attempt = 0
        while True:
            started = False
            try:
                with self._client.stream(
                    method, path, json=json, params=params, timeout=default_timeout(timeout)
                ) as response:
                    if not response.is_success:
                        response.read()
                        raise_for_response(response)
                    for line in response.iter_lines():
                        if line:
                            started = True
                            yield line
                return
            except httpx.TransportError as exc:
                if not started and should_retry(method, attempt, exc, None):
                    time.sleep(backoff(attempt))
                    attempt += 1
                    continue
                raise translate_transport_error(exc, f"{self.server_url}{path}") from None

    def close(self) -> None:
        self._client.close()
