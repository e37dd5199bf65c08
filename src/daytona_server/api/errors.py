"""One JSON error shape for every route: `{"statusCode": int, "message": str, "error": str}`.

`message` is what the official SDK shows to its users, so it says what went wrong and what to do.
Every operation of the OpenAPI spec documents the error answers it can give (`ERROR_STATUSES`),
with this shape; an unexpected error answers 500 with only an id, and the log line holds the rest.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import ApiError
from .schemas import ErrorResponse

log = logging.getLogger("daytona.api")

_ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorResponse"}
# What each error status means on this API; every operation documents them all (one declaration).
ERROR_STATUSES: dict[int, str] = {
    400: "Invalid request: a parameter or the body is malformed or out of range",
    401: "Missing or invalid API key (or dashboard session)",
    403: "Not allowed: admins only, a quota, or a missing X-Daytona-CSRF header on a session",
    404: "No such resource (or not yours)",
    409: "The resource is in a state that does not allow this, or already exists",
    429: "Too many running sandboxes for the caller's quota",
    500: "Internal error: the answer holds an id to find in the server log",
}
# What the sandbox's agent may answer besides, relayed unchanged by the toolbox routes.
TOOLBOX_STATUSES: dict[int, str] = {
    413: "The body or a field is larger than the agent accepts",
    416: "The requested byte range is outside the file",
    502: "The sandbox's agent (or a language server) did not answer: try again",
    503: "A language server is not available in the sandbox",
    504: "A language server did not answer in time",
    507: "The sandbox's disk is full",
}


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return JSONResponse(
        {"statusCode": status, "message": message, "error": phrase}, status_code=status, headers=headers
    )


def _describe(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = "; ".join(_describe(e) for e in exc.errors())
        return error_response(400, f"invalid request: {details}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = getattr(exc, "headers", None)
        return error_response(exc.status_code, str(exc.detail), headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The exception's text may hold paths, SQL or secrets: it goes to the log, never to the caller.
        error_id = secrets.token_hex(6)
        log.exception("internal error (id %s) on %s %s", error_id, request.method, request.url.path)
        return error_response(500, f"internal error (id {error_id}): see the server log")

    app.openapi = _documenting_errors(app.openapi)  # type: ignore[method-assign]


def _documenting_errors(build: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """Wrap FastAPI's spec builder: each operation documents the error answers this API really gives.

    FastAPI documents a 422 with its own shape for every route with parameters, but validation
    errors answer 400 with the shape above (see `validation_error`), so 422 goes, and the statuses of
    `ERROR_STATUSES` are added to each operation that does not declare them itself.
    """

    def openapi() -> dict[str, Any]:
        spec = build()  # cached by FastAPI after the first call: the changes below are idempotent
        for path, item in spec.get("paths", {}).items():
            for operation in item.values():
                responses = operation.setdefault("responses", {})
                responses.pop("422", None)
                if path == "/api/health":
                    continue
                statuses = ERROR_STATUSES | (TOOLBOX_STATUSES if path.startswith("/api/toolbox/") else {})
                for status, text in sorted(statuses.items()):
                    responses.setdefault(
                        str(status), {"description": text, "content": {"application/json": {"schema": _ERROR_SCHEMA}}}
                    )
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        schemas["ErrorResponse"] = ErrorResponse.model_json_schema()
        return spec

    return openapi
