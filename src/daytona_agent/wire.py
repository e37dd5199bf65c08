"""Which wire generation a request speaks, for the few paths where 0.14 and today's SDK differ.

Both generations reach the same agent paths. Where one path needs two answers (a command's logs as
text or as JSON, the remotes as a list or an object, error bodies and a few status codes), the
request decides: the host server may say so with `X-Daytona-Toolbox-Wire: current|v014`; without
it, today's SDKs give themselves away with `X-Daytona-Source` (0.14 never sends it).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Optional

WIRE_HEADER = "X-Daytona-Toolbox-Wire"
SOURCE = "DAYTONA_DAEMON"

# Generic codes of today's ErrorResponse, by status (domain codes are set where errors are raised).
_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    408: "REQUEST_TIMEOUT",
    409: "CONFLICT",
    410: "GONE",
    422: "UNPROCESSABLE_ENTITY",
    500: "INTERNAL_SERVER_ERROR",
}


def is_current(headers: Any) -> bool:
    """Whether the request comes from today's SDK (or the server marked it as today's wire)."""
    marked = (headers.get(WIRE_HEADER) or "").strip().lower()
    if marked:
        return marked == "current"
    return bool(headers.get("X-Daytona-Source") or headers.get("X-Daytona-SDK-Version"))


def code_for(status: int, code: Optional[str] = None) -> str:
    """The error's own code, or the generic one of its status."""
    return code or _CODES.get(status, "BAD_REQUEST" if status < 500 else "INTERNAL_SERVER_ERROR")


def error_fields(status: int, code: Optional[str], method: str, path: str) -> Dict[str, Any]:
    """What today's ErrorResponse adds to `{statusCode, message, error}`."""
    from datetime import datetime, timezone  # errors only: not at start-up

    now = datetime.now(timezone.utc)
    return {
        "code": code_for(status, code),
        "source": SOURCE,
        "method": method,
        "path": path,
        "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
