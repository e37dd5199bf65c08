"""The SDK's errors. Catch the level you care about:

DaytonaError                      everything the SDK raises
├── DaytonaApiError               the server answered with an error (status_code, message, body)
│   ├── DaytonaBadRequestError        400 / 422: invalid input
│   ├── DaytonaAuthenticationError    401: missing or wrong API key
│   ├── DaytonaForbiddenError         403
│   ├── DaytonaNotFoundError          404
│   ├── DaytonaConflictError          409: exists already, or wrong state for the operation
│   ├── DaytonaRateLimitError         429
│   └── DaytonaServerError            5xx
├── DaytonaConnectionError        the server could not be reached
├── DaytonaTimeoutError           an operation did not finish in time
└── ProcessExecutionError         a command failed (check=True) or timed out
"""

from __future__ import annotations

from typing import Any


class DaytonaError(Exception):
    """Base error of the Daytona SDK."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class DaytonaApiError(DaytonaError):
    def __init__(self, message: str, status_code: int, body: Any = None) -> None:
        super().__init__(message, status_code)
        self.body = body


class DaytonaBadRequestError(DaytonaApiError):
    pass


class DaytonaAuthenticationError(DaytonaApiError):
    pass


class DaytonaForbiddenError(DaytonaApiError):
    pass


class DaytonaNotFoundError(DaytonaApiError):
    pass


class DaytonaConflictError(DaytonaApiError):
    pass


class DaytonaRateLimitError(DaytonaApiError):
    pass


class DaytonaServerError(DaytonaApiError):
    pass


class DaytonaConnectionError(DaytonaError):
    pass


class DaytonaTimeoutError(DaytonaError):
    pass


class ProcessExecutionError(DaytonaError):
    """A command exited non-zero (when the caller asked to check) or ran past its timeout."""

    def __init__(self, message: str, exit_code: int, stdout: str, stderr: str, timed_out: bool = False) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.stdout = stdout
        self.stderr = stderr
        self.timed_out = timed_out


_BY_STATUS: dict[int, type[DaytonaApiError]] = {
    400: DaytonaBadRequestError,
    401: DaytonaAuthenticationError,
    403: DaytonaForbiddenError,
    404: DaytonaNotFoundError,
    409: DaytonaConflictError,
    422: DaytonaBadRequestError,
    429: DaytonaRateLimitError,
}


def error_for_status(status: int, message: str, body: Any = None) -> DaytonaApiError:
    cls = _BY_STATUS.get(status) or (DaytonaServerError if status >= 500 else DaytonaApiError)
    return cls(message, status, body)
