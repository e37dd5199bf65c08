"""Toolbox routes `lsp/*`: language servers in the sandbox, keyed by language id and project path.

Wire-compatible with daytona_api_client 0.14.0: POST lsp/start, lsp/stop, lsp/did-open,
lsp/did-close, lsp/completions (JSON bodies with languageId, pathToProject, uri, position, context)
and GET lsp/document-symbols, lsp/workspace-symbols (today's SDK: lsp/workspacesymbols), with query
parameters. GET lsp/servers lists the servers and their state (starting, running, crashed),
optionally filtered by languageId and pathToProject.
"""

from __future__ import annotations

import os
import threading
from urllib.parse import unquote

from .http import HttpError, Request, Response, Router
from .lsp_servers import LANGUAGES, LanguageServer
from .users import OsUser

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Tuple

    Key = Tuple[str, str]

MAX_SERVERS = 16


class Registry:
    """The sandbox's language servers; start and stop of one key are serialized."""

    def __init__(self, user: OsUser) -> None:
        self.user = user
        self._lock = threading.Lock()
        self._servers: Dict[Key, LanguageServer] = {}
        self._key_locks: Dict[Key, threading.Lock] = {}

    def _key_lock(self, key: Key) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def start(self, language_id: str, project: str) -> LanguageServer:
        """Start the server for this key; one already running is kept (start is idempotent)."""
        key = (language_id, project)
        with self._key_lock(key):
            with self._lock:
                server = self._servers.get(key)
                if server is not None and server.state == "running":
                    return server
                running = sum(1 for s in self._servers.values() if s.state in ("starting", "running"))
                if running >= MAX_SERVERS:
                    raise HttpError(409, "%d language servers already run in this sandbox: stop one first" % running)
            if server is not None:  # crashed: clean up before starting a new one
                server.kill()
            server = LanguageServer(language_id, project, self.user)
            with self._lock:
                self._servers[key] = server
            try:
                server.start()
            except BaseException:
                with self._lock:
                    self._servers.pop(key, None)
                raise
            return server

    def stop(self, language_id: str, project: str) -> LanguageServer:
        key = (language_id, project)
        with self._key_lock(key):
            with self._lock:
                server = self._servers.get(key)
            if server is None:
                raise not_running(language_id, project)
            server.stop()
            with self._lock:
                self._servers.pop(key, None)
            return server

    def get(self, language_id: str, project: str) -> LanguageServer:
        with self._lock:
            server = self._servers.get((language_id, project))
        if server is None:
            raise not_running(language_id, project)
        server.check_running()
        return server

    def statuses(self) -> List[Dict[str, Any]]:
        with self._lock:
            servers = list(self._servers.values())
        return [s.status() for s in servers]


def not_running(language_id: str, project: str) -> HttpError:
    message = "no %s language server is running for %s: call start() first" % (language_id, project)
    # Today's SDK raises DaytonaLspServerNotInitializedError for this code, a 400.
    return HttpError(409, message, code="LSP_SERVER_NOT_INITIALIZED", current_status=400)


# -- request parsing -----------------------------------------------------------------------------


def _string(value: Any, name: str) -> str:
    if value is None or value == "":
        raise HttpError(400, "%s is required" % name)
    if not isinstance(value, str):
        raise HttpError(400, "%s must be a string" % name)
    if "\0" in value:
        raise HttpError(400, "%s must not contain NUL characters" % name)
    return value


def parse_language(value: Any) -> str:
    language = _string(value, "languageId").lower()
    if language not in LANGUAGES:
        raise HttpError(400, "unsupported languageId %r: use one of %s" % (value, ", ".join(sorted(LANGUAGES))))
    return language


def parse_project(value: Any, user: OsUser) -> str:
    """An absolute, normalized project path (a relative one starts at the user's home)."""
    path = _string(value, "pathToProject")
    return os.path.normpath(os.path.join(user.home, path))


def check_project_dir(project: str) -> None:
    if not os.path.exists(project):
        raise HttpError(404, "project directory not found: %s" % project)
    if not os.path.isdir(project):
        raise HttpError(400, "pathToProject is not a directory: %s" % project)


def parse_document(value: Any, project: str) -> str:
    """A `file://` URI (or a plain path) of a file inside the project -> its absolute path.

    `file://src/a.py` (what a client sends for a relative path) is taken relative to the project.
    """
    uri = _string(value, "uri")
    if uri.startswith("file://"):
        path = unquote(uri[len("file://") :])
    elif "://" in uri:
        raise HttpError(400, "uri must be a file:// URI or a path, not %r" % uri)
    else:
        path = uri
    path = os.path.normpath(os.path.join(project, path))
    if not path.startswith(project.rstrip("/") + "/"):
        raise HttpError(400, "%s is outside the project %s" % (path, project))
    return path


def parse_position(value: Any) -> Dict[str, int]:
    if not isinstance(value, dict):
        raise HttpError(400, "position is required: an object with line and character")
    position: Dict[str, int] = {}
    for name in ("line", "character"):
        number = value.get(name)
        if isinstance(number, float) and number.is_integer():
            number = int(number)
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            raise HttpError(400, "position.%s must be a non-negative integer" % name)
        position[name] = number
    return position


def parse_context(value: Any) -> Optional[Dict[str, Any]]:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise HttpError(400, "context must be an object with triggerKind")
    kind = value.get("triggerKind")
    if isinstance(kind, float) and kind.is_integer():
        kind = int(kind)
    if kind not in (1, 2, 3) or isinstance(kind, bool):
        raise HttpError(400, "context.triggerKind must be 1, 2 or 3")
    context: Dict[str, Any] = {"triggerKind": kind}
    character = value.get("triggerCharacter")
    if character is not None:
        if not isinstance(character, str):
            raise HttpError(400, "context.triggerCharacter must be a string")
        context["triggerCharacter"] = character
    return context


# -- routes --------------------------------------------------------------------------------------


def register(router: Router, user: OsUser) -> Registry:
    """Add the `lsp/*` routes to the agent's router."""
    registry = Registry(user)

    def server_for(fields: Dict[str, Any]) -> LanguageServer:
        language = parse_language(fields.get("languageId"))
        return registry.get(language, parse_project(fields.get("pathToProject"), user))

    def query(request: Request) -> Dict[str, Any]:
        return {name: request.arg(name) for name in ("languageId", "pathToProject", "uri", "query")}

    @router.route("POST", "/lsp/start")
    def start(request: Request) -> Response:
        body = request.json()
        language = parse_language(body.get("languageId"))
        project = parse_project(body.get("pathToProject"), user)
        check_project_dir(project)
        return Response(200, registry.start(language, project).status())

    @router.route("POST", "/lsp/stop")
    def stop(request: Request) -> Response:
        body = request.json()
        language = parse_language(body.get("languageId"))
        server = registry.stop(language, parse_project(body.get("pathToProject"), user))
        return Response(200, server.status())

    @router.route("POST", "/lsp/did-open")
    def did_open(request: Request) -> Response:
        body = request.json()
        server = server_for(body)
        uri, _ = server.sync_document(parse_document(body.get("uri"), server.project))
        return Response(200, {"uri": uri})

    @router.route("POST", "/lsp/did-close")
    def did_close(request: Request) -> Response:
        body = request.json()
        server = server_for(body)
        path = parse_document(body.get("uri"), server.project)
        if not server.close_document(path) and not os.path.isfile(path):
            raise HttpError(404, "file not found: %s" % path)
        return Response(200, {})

    @router.route("POST", "/lsp/completions")
    def completions(request: Request) -> Response:
        body = request.json()
        server = server_for(body)
        path = parse_document(body.get("uri"), server.project)
        position = parse_position(body.get("position"))
        return Response(200, server.completions(path, position, parse_context(body.get("context"))))

    @router.route("GET", "/lsp/document-symbols")
    def document_symbols(request: Request) -> Response:
        fields = query(request)
        server = server_for(fields)
        return Response(200, server.document_symbols(parse_document(fields["uri"], server.project)))

    @router.route("GET", "/lsp/workspace-symbols")
    def workspace_symbols(request: Request) -> Response:
        fields = query(request)
        server = server_for(fields)
        return Response(200, server.workspace_symbols(fields["query"] or ""))

    router.route("GET", "/lsp/workspacesymbols")(workspace_symbols)  # today's SDK's spelling

    @router.route("GET", "/lsp/servers")
    def servers(request: Request) -> Response:
        statuses = registry.statuses()
        fields = query(request)
        if fields["languageId"]:
            statuses = [s for s in statuses if s["languageId"] == parse_language(fields["languageId"])]
        if fields["pathToProject"]:
            project = parse_project(fields["pathToProject"], user)
            statuses = [s for s in statuses if s["pathToProject"] == project]
        return Response(200, statuses)

    return registry
