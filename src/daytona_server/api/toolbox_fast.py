"""The toolbox's hot path: a call whose API key and sandbox are both known from memory skips routing.

FastAPI finds a route among a few hundred, then solves its dependencies, for every call: about as
much time as the relay to the agent itself. This middleware matches the toolbox tables' own rows
(the ToolboxRoutes `toolbox_router` makes routes of, in the same order), and when the caller's key
and the sandbox are in the hot cache (daytona_server.hot_cache) with nothing to write, it relays at
once. Anything else goes on to the app, which answers as it always did: a row that validates query
parameters, a dashboard cookie, a key or sandbox not cached, a refusal, another method.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from .. import auth
from ..errors import ApiError
from .deps import ServerState, known_user
from .errors import error_response
from .toolbox import ANY_METHODS, PATH_PARAM, UNTRACKED, ToolboxRoute, relay_to_agent

API_PREFIX = "/api"


@dataclass(frozen=True)
class ToolboxTable:
    """One wire format's toolbox: its prefix (with `{workspace_id}`), its rows, and its name to the agent."""

    prefix: str
    routes: tuple[ToolboxRoute, ...]
    wire: str


class _Matcher:
    """Where a toolbox call goes, as the app's routes would send it."""

    def __init__(self, table: ToolboxTable) -> None:
        self.prefix = re.compile(f"^{_regex(API_PREFIX + table.prefix)}/(?P<rest>.*)$")
        self.wire = table.wire
        # Rows without parameters by (method, path), the others in order; None: the app validates that row.
        self.fixed: dict[tuple[str, str], str | None] = {}
        self.patterns: list[tuple[str, re.Pattern[str], str | None]] = []
        for route in table.routes:
            agent_path = None if route.query else (route.agent_path or route.path).lstrip("/")
            path = route.path.lstrip("/")
            if PATH_PARAM.search(path) is None:
                # A path an earlier row with parameters matches is that row's: the app sorts it out.
                shadowed = any(m == route.method and p.match(path) for m, p, _ in self.patterns)
                self.fixed.setdefault((route.method, path), None if shadowed else agent_path)
            else:
                self.patterns.append((route.method, re.compile(f"^{_regex(path)}$"), agent_path))

    def match(self, method: str, path: str) -> tuple[str, str | None] | None:
        """None when `path` is not under this table's prefix, else (sandbox id, agent path), the agent
        path None where the app must decide (a row that validates its query, a method of no row)."""
        found = self.prefix.match(path)
        if found is None:
            return None
        workspace_id, rest = found["workspace_id"], found["rest"]
        if (method, rest) in self.fixed:
            return workspace_id, self.fixed[(method, rest)]
        for row_method, pattern, template in self.patterns:
            if row_method == method and (params := pattern.match(rest)):
                return workspace_id, None if template is None else template.format(**params.groupdict())
        # The catch-all: any other path goes to the agent unchanged.
        return workspace_id, rest if method in ANY_METHODS and rest else None


def _regex(path: str) -> str:
    """`path` as a regular expression, each `{name}` matching one segment (as Starlette's routes do)."""
    parts = PATH_PARAM.split(path)  # literal, name, literal, name, ..., literal
    return "".join(f"(?P<{part}>[^/]+)" if i % 2 else re.escape(part) for i, part in enumerate(parts))


class ToolboxFastPath:
    """ASGI middleware: relays hot toolbox calls itself (see the module docstring), passes the rest on."""

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI, tables: Sequence[ToolboxTable]) -> None:
        self.app = app
        self.fastapi_app = fastapi_app
        self.matchers = [_Matcher(table) for table in tables]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/toolbox/") and not scope.get("root_path"):
            response = await self._relay(scope, receive)
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _relay(self, scope: Scope, receive: Receive) -> Response | None:
        """The answer of a hot call; None: the app's to answer."""
        method: str = scope["method"]
        for matcher in self.matchers:
            found = matcher.match(method, scope["path"])
            if found is None:
                continue
            workspace_id, path = found
            key = bearer(scope["headers"])
            if path is None or not key:
                return None
            state: ServerState = self.fastapi_app.state.server
            user = known_user(state, auth.hash_key(key))
            track = (method, path) not in UNTRACKED
            if user is None or not state.sandboxes.toolbox_allowed(user, workspace_id, track):
                return None
            try:
                return await relay_to_agent(
                    state, workspace_id, path, Request(scope, receive), track, wire=matcher.wire
                )
            except ApiError as exc:  # as the app's handler answers it
                return error_response(exc.status, exc.message)
        return None


def bearer(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The API key of `Authorization: Bearer <key>` as FastAPI's HTTPBearer reads it; "" when there is none."""
    for name, value in headers:
        if name == b"authorization":
            scheme, _, key = value.decode("latin-1").partition(" ")
            return key.strip() if scheme.lower() == "bearer" else ""
    return ""
