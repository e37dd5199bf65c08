"""The one place that talks HTTP: auth header, timeouts, bounded retries, error mapping."""

from __future__ import annotations

import asyncio
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


class AsyncHttp:
    def __init__(self, api_key: str, server_url: str, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.server_url = server_url
        self._client = httpx.AsyncClient(
            base_url=server_url,
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT},
            timeout=default_timeout(60.0),
            transport=transport,
        )

    async def request(
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
                response = await self._client.request(
                    method, path, json=json, params=params, timeout=default_timeout(timeout)
                )
            except httpx.TransportError as exc:
                if should_retry(method, attempt, exc, None):
                    await asyncio.sleep(backoff(attempt))
                    attempt += 1
                    continue
                raise translate_transport_error(exc, f"{self.server_url}{path}") from None
            if should_retry(method, attempt, None, response.status_code):
                await asyncio.sleep(backoff(attempt, response.headers.get("retry-after")))
                attempt += 1
                continue
            raise_for_response(response)
            return response.json() if response.content else None

    async def aclose(self) -> None:
        await self._client.aclose()
