# Generated from ../_async by scripts/gen_sync_sdk.py: edit the async code, then run `make sdk-sync`.
"""The one place that talks HTTP: auth header, timeouts, bounded retries, error mapping."""

from __future__ import annotations

import time
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

    def close(self) -> None:
        self._client.close()
