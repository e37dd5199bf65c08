"""Language servers running in the sandbox as the sandbox user, one per (language, project directory).

A `LanguageServer` owns its process and its JSON-RPC connection: it initializes the server, keeps
the documents it opened in step with the files on disk, turns the server's answers into the
toolbox's shapes, and stops the process cleanly (shutdown, exit, then a kill after a deadline).
A server that dies on its own is marked crashed, with its exit code and last stderr lines.
"""

from __future__ import annotations

import collections
import os
import signal
import stat
import subprocess
import threading
import time
from urllib.parse import quote

from . import children
from .env_store import user_env
from .http import HttpError
from .lsp_client import LspConnection, LspError, LspResponseError, LspServerExited, LspTimeout
from .lsp_shapes import (
    flatten_symbols,
    matches_prefix,
    normalize_completions,
    normalize_documentation,
    rank_for_prefix,
    word_before,
)
from .users import OsUser

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, NamedTuple, Optional, Tuple


def _env_seconds(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


def request_timeout() -> float:
    """Deadline of one request to a language server (settable per sandbox through its env)."""
    return _env_seconds("DAYTONA_AGENT_LSP_TIMEOUT", 30.0)


def start_timeout() -> float:
    return _env_seconds("DAYTONA_AGENT_LSP_START_TIMEOUT", 60.0)


SHUTDOWN_TIMEOUT_S = 5.0
EXIT_WAIT_S = 3.0
MAX_FILE_BYTES = 16 * 1024 * 1024
# Completion items ranked best for the word before the cursor are resolved (detail, documentation).
RESOLVE_AT_MOST = 20
RESOLVE_BUDGET_S = 3.0
# Servers without workspace/symbol are searched file by file, at most this many files.
MAX_SCAN_FILES = 2000
SKIP_DIRS = {"node_modules", "__pycache__", "site-packages", "venv", "dist", "build"}


if TYPE_CHECKING:

    class Language(NamedTuple):
        argv: List[str]
        extensions: Tuple[str, ...]
        init_options: Dict[str, Any]

else:  # the same, without typing at run time
    Language = collections.namedtuple("Language", "argv extensions init_options")


# One semantic tsserver: answers do not depend on whether the project finished loading (with the
# default extra syntax-only server, early requests see the open files alone).
_TS_OPTIONS: Dict[str, Any] = {"disableAutomaticTypingAcquisition": True, "tsserver": {"useSyntaxServer": "never"}}
_TS_EXTENSIONS = (".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs")
LANGUAGES: Dict[str, Language] = {
    "python": Language(["pylsp"], (".py", ".pyi"), {}),
    "typescript": Language(["typescript-language-server", "--stdio"], _TS_EXTENSIONS, _TS_OPTIONS),
    "javascript": Language(["typescript-language-server", "--stdio"], _TS_EXTENSIONS, _TS_OPTIONS),
}

# The LSP languageId of a document, by file extension.
DOCUMENT_LANGUAGE = {
    ".py": "python",
    ".pyi": "python",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "typescriptreact",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascriptreact",
}

CLIENT_CAPABILITIES: Dict[str, Any] = {
    "textDocument": {
        "synchronization": {"didSave": False, "willSave": False},
        "completion": {
            "completionItem": {
                "snippetSupport": False,
                "documentationFormat": ["markdown", "plaintext"],
                "resolveSupport": {"properties": ["detail", "documentation"]},
            },
            "contextSupport": True,
        },
        # Flat SymbolInformation (name, kind, location): the toolbox's LspSymbol shape.
        "documentSymbol": {"hierarchicalDocumentSymbolSupport": False},
    },
    "workspace": {"symbol": {}, "workspaceFolders": True, "configuration": False},
    "window": {"workDoneProgress": False},
}


def path_to_uri(path: str) -> str:
    return "file://" + quote(path)


if TYPE_CHECKING:

    class Document(NamedTuple):
        version: int
        mtime_ns: int
        size: int

else:  # the same, without typing at run time
    Document = collections.namedtuple("Document", "version mtime_ns size")


class LanguageServer:
    """One language server process for one project directory."""

    def __init__(self, language_id: str, project: str, user: OsUser) -> None:
        self.language_id = language_id
        self.project = project
        self.user = user
        self.spec = LANGUAGES[language_id]
        self.state = "starting"
        self.error: Optional[str] = None
        self.exit_code: Optional[int] = None
        self.started_at = time.time()
        self.proc: Optional[subprocess.Popen] = None
        self.conn: Optional[LspConnection] = None
        self.capabilities: Dict[str, Any] = {}
        self._documents: Dict[str, Document] = {}
        self._doc_lock = threading.Lock()
        self._symbol_cache: Dict[str, Tuple[int, int, List[Dict[str, Any]]]] = {}
        self._exit_lock = threading.Lock()
        self._collected = False

    @property
    def name(self) -> str:
        return "the %s language server for %s" % (self.language_id, self.project)

    def status(self) -> Dict[str, Any]:
        return {
            "languageId": self.language_id,
            "pathToProject": self.project,
            "state": self.state,
            "pid": self.proc.pid if self.proc is not None else None,
            "exitCode": self.exit_code,
            "error": self.error,
            "startedAt": self.started_at,
            "openDocuments": len(self._documents),
        }

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Spawn the server, run initialize/initialized, and return once it answers (or raise)."""
        kwargs: Dict[str, Any] = {}
        if os.getuid() == 0 and self.user.uid != 0:
            kwargs.update(user=self.user.uid, group=self.user.gid, extra_groups=self.user.groups)
        try:
            self.proc = children.spawn(
                self.spec.argv,
                cwd=self.project,
                env=user_env(self.user),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                **kwargs,
            )
        except FileNotFoundError:
            raise HttpError(
                400, "%s is not installed in this sandbox's image (%s)" % (self.spec.argv[0], self.language_id)
            ) from None
        except PermissionError as exc:
            raise HttpError(
                403, "cannot start %s in %s: %s" % (self.spec.argv[0], self.project, exc.strerror)
            ) from None
        except OSError as exc:
            raise HttpError(400, "cannot start %s: %s" % (self.spec.argv[0], exc)) from None
        self.conn = LspConnection(self.proc, self.name, self._answer_server_request, self._on_exit)
        uri = path_to_uri(self.project)
        params = {
            "processId": None,
            "clientInfo": {"name": "daytona-agent"},
            "rootUri": uri,
            "rootPath": self.project,
            "workspaceFolders": [{"uri": uri, "name": os.path.basename(self.project) or "/"}],
            "capabilities": CLIENT_CAPABILITIES,
            "initializationOptions": self.spec.init_options,
        }
        try:
            result = self.conn.request("initialize", params, start_timeout())
            self.capabilities = (result or {}).get("capabilities") or {}
            self.conn.notify("initialized", {})
        except LspError as exc:
            self.kill()
            tail = _last_lines(self.conn.stderr_tail())
            status = 504 if isinstance(exc, LspTimeout) else 502
            reason = str(exc).replace(self.name, "it", 1)  # "it closed its output (exit code 2)"
            raise HttpError(status, "%s did not start: %s%s" % (self.name, reason, tail and ": " + tail)) from None
        self.state = "running"

    def stop(self) -> None:
        """Ask the server to shut down and exit; kill it when it does not within the deadlines."""
        self.state = "stopping"
        conn, proc = self.conn, self.proc
        if conn is not None and proc is not None and proc.poll() is None:
            try:
                conn.request("shutdown", None, SHUTDOWN_TIMEOUT_S)
                conn.notify("exit", None)
            except LspError:
                pass
            try:
                proc.wait(timeout=EXIT_WAIT_S)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        self.state = "stopped"

    def kill(self) -> None:
        """Kill the server's whole process tree and collect its exit status."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            children.kill_tree(proc.pid)
        self._collect()

    def _collect(self) -> None:
        proc = self.proc
        assert proc is not None
        with self._exit_lock:
            if self._collected:
                return
            try:
                proc.wait(timeout=EXIT_WAIT_S)
            except subprocess.TimeoutExpired:
                children.kill_tree(proc.pid)
                proc.wait()
            self._collected = True
            children.release(proc)
            self.exit_code = proc.returncode
            # Helpers the server started (tsserver) share its process group: end any left behind.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass

    def _on_exit(self) -> None:
        """Called by the connection when the server's output ends."""
        if self.state in ("stopping", "stopped"):
            return
        self._collect()
        if self.state in ("stopping", "stopped"):
            return
        tail = _last_lines(self.conn.stderr_tail() if self.conn else "")
        self.error = "exited unexpectedly with code %s%s" % (self.exit_code, tail and ": " + tail)
        self.state = "crashed"

    def _answer_server_request(self, method: str, params: Any) -> Any:
        if method == "workspace/configuration":
            items = params.get("items") if isinstance(params, dict) else None
            return [None for _ in items or []]
        if method in ("client/registerCapability", "client/unregisterCapability", "window/workDoneProgress/create"):
            return None
        if method == "workspace/workspaceFolders":
            return [{"uri": path_to_uri(self.project), "name": os.path.basename(self.project) or "/"}]
        if method == "window/showMessageRequest":
            return None
        if method == "workspace/applyEdit":
            return {"applied": False, "failureReason": "the toolbox does not apply edits"}
        raise KeyError(method)

    # -- requests ----------------------------------------------------------------------------

    def check_running(self) -> LspConnection:
        if self.state == "crashed":
            raise HttpError(409, "%s crashed (%s); start it again" % (self.name, self.error))
        if self.state != "running" or self.conn is None:
            raise HttpError(409, "%s is not running (it is %s); call start() first" % (self.name, self.state))
        return self.conn

    def request(self, method: str, params: Any, timeout: Optional[float] = None) -> Any:
        conn = self.check_running()
        try:
            return conn.request(method, params, timeout if timeout is not None else request_timeout())
        except LspTimeout as exc:
            raise HttpError(504, str(exc)) from None  # names the server, the method and the deadline
        except LspServerExited:
            self._on_exit()
            self.check_running()
            raise HttpError(409, "%s is not running; call start() again" % self.name) from None
        except LspResponseError as exc:
            raise HttpError(
                502, "%s answered %s with error %s: %s" % (self.name, method, exc.code, _brief(exc.message))
            ) from None

    def notify(self, method: str, params: Any) -> None:
        conn = self.check_running()
        try:
            conn.notify(method, params)
        except LspServerExited:
            self._on_exit()
            self.check_running()
            raise HttpError(409, "%s is not running; call start() again" % self.name) from None

    # -- documents ---------------------------------------------------------------------------

    def sync_document(self, path: str) -> Tuple[str, str]:
        """Open `path` in the server, or send its new content when the file changed on disk.

        Returns the document's URI and the text the server now has.
        """
        self.check_running()
        uri = path_to_uri(path)
        with self._doc_lock:
            st, text = read_text(path, self.user)
            doc = self._documents.get(uri)
            if doc is None:
                language = DOCUMENT_LANGUAGE.get(os.path.splitext(path)[1].lower(), self.language_id)
                item = {"uri": uri, "languageId": language, "version": 1, "text": text}
                self.notify("textDocument/didOpen", {"textDocument": item})
                self._documents[uri] = Document(1, st.st_mtime_ns, st.st_size)
            elif (doc.mtime_ns, doc.size) != (st.st_mtime_ns, st.st_size):
                version = doc.version + 1
                self.notify(
                    "textDocument/didChange",
                    {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]},
                )
                self._documents[uri] = Document(version, st.st_mtime_ns, st.st_size)
        return uri, text

    def close_document(self, path: str) -> bool:
        """Close `path` in the server; False when it was not open."""
        uri = path_to_uri(path)
        with self._doc_lock:
            if uri not in self._documents:
                return False
            self.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
            del self._documents[uri]
        return True

    # -- features ----------------------------------------------------------------------------

    def completions(self, path: str, position: Dict[str, int], context: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        uri, text = self.sync_document(path)
        lines = text.split("\n")
        if position["line"] >= len(lines):
            raise HttpError(
                400, "position line %d is past the end of %s (%d lines)" % (position["line"], path, len(lines))
            )
        params: Dict[str, Any] = {"textDocument": {"uri": uri}, "position": position}
        if context is not None:
            params["context"] = context
        result = normalize_completions(self.request("textDocument/completion", params))
        provider = self.capabilities.get("completionProvider")
        if isinstance(provider, dict) and provider.get("resolveProvider"):
            prefix = word_before(lines[position["line"]], position["character"])
            self._resolve_best(result["items"], prefix)
        for item in result["items"]:
            normalize_documentation(item)
        return result

    def _resolve_best(self, items: List[Dict[str, Any]], prefix: str) -> None:
        """Fetch detail and documentation of the items most likely wanted, within a small budget."""
        deadline = time.monotonic() + min(RESOLVE_BUDGET_S, request_timeout())
        for index in rank_for_prefix(items, prefix)[:RESOLVE_AT_MOST]:
            if prefix and not matches_prefix(items[index], prefix):
                break  # the rest does not match the word being typed
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                resolved = self.check_running().request("completionItem/resolve", items[index], left)
            except LspError:
                continue  # keep the item as the completion request returned it
            if isinstance(resolved, dict) and resolved.get("label") == items[index].get("label"):
                items[index] = resolved

    def document_symbols(self, path: str) -> List[Dict[str, Any]]:
        uri, _ = self.sync_document(path)
        result = self.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
        return flatten_symbols(result, uri)

    def workspace_symbols(self, query: str) -> List[Dict[str, Any]]:
        self.check_running()
        if not self.capabilities.get("workspaceSymbolProvider"):
            return self._scan_symbols(query)
        if not self._documents:
            # tsserver searches the projects of open files only ("No Project" otherwise).
            first = next(iter(project_files(self.project, self.spec.extensions, 1)), None)
            if first is None:
                return []
            self.sync_document(first)
        result = self.request("workspace/symbol", {"query": query})
        return [s for s in flatten_symbols(result, "") if s.get("location")]

    def _scan_symbols(self, query: str) -> List[Dict[str, Any]]:
        """workspace/symbol for servers without it: document symbols of every project file, filtered."""
        deadline = time.monotonic() + request_timeout()
        needle = query.lower()
        found: List[Dict[str, Any]] = []
        files = project_files(self.project, self.spec.extensions, MAX_SCAN_FILES)
        for count, path in enumerate(files):
            left = deadline - time.monotonic()
            if left <= 0:
                raise HttpError(
                    504,
                    "%s: searching symbols did not finish within %gs (%d of %d files searched)"
                    % (self.name, request_timeout(), count, len(files)),
                )
            try:
                st = os.stat(path)
            except OSError:
                continue
            cached = self._symbol_cache.get(path)
            if cached is not None and cached[:2] == (st.st_mtime_ns, st.st_size):
                symbols = cached[2]
            else:
                uri = path_to_uri(path)
                with self._doc_lock:
                    is_open = uri in self._documents
                if is_open:
                    self.sync_document(path)
                try:
                    result = self.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}}, left)
                except HttpError as exc:
                    if exc.status != 502:
                        raise
                    continue  # the server could not read this one file: search the others
                symbols = flatten_symbols(result, uri)
                self._symbol_cache[path] = (st.st_mtime_ns, st.st_size, symbols)
            found.extend(s for s in symbols if needle in str(s.get("name", "")).lower())
        return found


# -- pure helpers (unit-tested) ------------------------------------------------------------------


def user_can_read(st: os.stat_result, user: OsUser) -> bool:
    """Whether `user` may read a file with this stat, by its mode bits (the agent itself is root)."""
    if user.uid == 0:
        return True
    if st.st_uid == user.uid:
        return bool(st.st_mode & stat.S_IRUSR)
    if st.st_gid == user.gid or st.st_gid in user.groups:
        return bool(st.st_mode & stat.S_IRGRP)
    return bool(st.st_mode & stat.S_IROTH)


def read_text(path: str, user: OsUser) -> Tuple[os.stat_result, str]:
    """Read a source file from disk as the sandbox user would see it."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise HttpError(404, "file not found: %s" % path) from None
    except OSError as exc:
        raise HttpError(400, "cannot read %s: %s" % (path, exc.strerror)) from None
    if stat.S_ISDIR(st.st_mode):
        raise HttpError(400, "%s is a directory, not a file" % path)
    if not stat.S_ISREG(st.st_mode):
        raise HttpError(400, "%s is not a regular file" % path)
    if not user_can_read(st, user):
        raise HttpError(403, "permission denied: %s is not readable by user %s" % (path, user.name))
    if st.st_size > MAX_FILE_BYTES:
        raise HttpError(
            400, "%s is too large for the language server (%d bytes, at most %d)" % (path, st.st_size, MAX_FILE_BYTES)
        )
    with open(path, "rb") as fh:
        data = fh.read(MAX_FILE_BYTES + 1)
    return st, data.decode("utf-8", errors="replace")


def project_files(root: str, extensions: Tuple[str, ...], limit: int) -> List[str]:
    """Source files under `root` with one of `extensions`, sorted, skipping hidden and vendored dirs."""
    found: List[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS)
        for name in sorted(filenames):
            if name.endswith(extensions):
                found.append(os.path.join(dirpath, name))
                if len(found) >= limit:
                    return found
    return found


def _last_lines(text: str, limit: int = 400) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-3:])[-limit:]


def _brief(message: str, limit: int = 400) -> str:
    """A server's error message without its stack trace."""
    lines = [line.strip() for line in message.splitlines() if line.strip() and not line.lstrip().startswith("at ")]
    return " ".join(lines)[:limit]
