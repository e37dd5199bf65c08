"""I/O-free pieces shared by the async and the sync client: request bodies, error mapping, retries."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from typing import Any

import httpx

from ._errors import (
    DaytonaConnectionError,
    DaytonaError,
    DaytonaTimeoutError,
    ProcessExecutionError,
    error_for_status,
)
from ._models import CodeLanguage, CreateWorkspaceParams, ExecuteResponse

USER_AGENT = "daytona-sdk-python/0.1.0"
LANGUAGE_LABEL = "code-toolbox-language"
MAX_RETRIES = 3
RETRY_STATUSES = {502, 503, 504}
# Only these are repeated after a failure in flight; any request is repeated when it never left.
IDEMPOTENT = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}


def default_timeout(seconds: float | None) -> httpx.Timeout:
    """Connect quickly or fail; wait as long as the operation may take (None = forever)."""
    return httpx.Timeout(connect=10.0, read=seconds, write=seconds, pool=seconds)


def raise_for_response(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    message = body.get("message") if isinstance(body, dict) else None
    if not message:
        message = (body if isinstance(body, str) and body else None) or response.reason_phrase
    raise error_for_status(response.status_code, str(message), body)


def should_retry(method: str, attempt: int, error: Exception | None, status: int | None) -> bool:
    if attempt >= MAX_RETRIES:
        return False
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
        return True
    if error is None and status in RETRY_STATUSES:
        return method in IDEMPOTENT
    return isinstance(error, httpx.ReadError | httpx.RemoteProtocolError) and method in IDEMPOTENT


def backoff(attempt: int, retry_after: str | None = None) -> float:
    """Exponential backoff with jitter; honours a Retry-After in seconds."""
    if retry_after:
        try:
            return min(float(retry_after), 30.0)
        except ValueError:
            pass
    return float(min(0.25 * 2**attempt, 4.0) * (0.5 + random.random() / 2))


def translate_transport_error(error: Exception, url: str) -> DaytonaError:
    if isinstance(error, httpx.TimeoutException):
        return DaytonaTimeoutError(f"request to {url} timed out: {error}")
    return DaytonaConnectionError(
        f"cannot reach the Daytona server at {url}: {error}; is it running (`daytona server`) and is"
        " DAYTONA_SERVER_URL right?"
    )


def create_body(params: CreateWorkspaceParams, default_target: str) -> dict[str, Any]:
    language = CodeLanguage(params.language)
    labels = dict(params.labels or {})
    labels.setdefault(LANGUAGE_LABEL, language.value)
    body: dict[str, Any] = {
        "id": params.id or f"sandbox-{uuid.uuid4().hex[:8]}",
        "name": params.name,
        "image": params.image or params.snapshot,
        "user": params.os_user or "daytona",
        "env": params.env_vars or {},
        "labels": labels,
        "public": params.public,
        "target": str(params.target or default_target),
        "autoStopInterval": params.auto_stop_interval,
        "class": params.class_name,
        "volumes": [mount.to_api() for mount in params.volumes] if params.volumes else None,
        "networkBlockAll": params.network_block_all,
        "networkAllowList": joined(params.network_allow_list),
        "domainAllowList": joined(params.domain_allow_list),
    }
    body["name"] = body["name"] or body["id"]
    if params.resources:
        body.update(
            cpu=params.resources.cpu,
            memory=params.resources.memory,
            disk=params.resources.disk,
            gpu=params.resources.gpu,
        )
    return {k: v for k, v in body.items() if v is not None}


def joined(items: str | Sequence[str] | None) -> str | None:
    """An allow list as the wire takes it: one comma-separated string."""
    return items if items is None or isinstance(items, str) else ",".join(items)


def check_create_params(params: CreateWorkspaceParams, timeout: float | None) -> None:
    if timeout is not None and timeout < 0:
        raise DaytonaError("timeout must be a non-negative number of seconds (0 = no timeout)")
    if params.auto_stop_interval is not None and params.auto_stop_interval < 0:
        raise DaytonaError("auto_stop_interval must be a non-negative number of minutes (0 = never)")


def language_of(data: dict[str, Any]) -> CodeLanguage:
    raw = (data.get("labels") or {}).get(LANGUAGE_LABEL)
    try:
        return CodeLanguage(raw) if raw else CodeLanguage.PYTHON
    except ValueError:
        return CodeLanguage.PYTHON


def execution_result(data: dict[str, Any], check: bool, what: str) -> ExecuteResponse:
    """Build the response; raise ProcessExecutionError on a timeout, or a non-zero exit when checked."""
    response = ExecuteResponse.from_api(data)
    if response.timed_out:
        raise ProcessExecutionError(
            f"{what} timed out (process tree killed)",
            response.exit_code,
            response.stdout,
            response.stderr,
            timed_out=True,
        )
    if check and response.exit_code != 0:
        detail = response.stderr.strip().splitlines()[-1:] or [""]
        raise ProcessExecutionError(
            f"{what} exited with code {response.exit_code}" + (f": {detail[0]}" if detail[0] else ""),
            response.exit_code,
            response.stdout,
            response.stderr,
        )
    return response


def timeout_seconds(timeout: float | None) -> float | None:
    """The documented convention: 0 or None means no timeout."""
    if timeout is not None and timeout < 0:
        raise DaytonaError("timeout must be a non-negative number of seconds (0 = no timeout)")
    return timeout or None
