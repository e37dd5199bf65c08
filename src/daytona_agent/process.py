"""Run commands and code as the sandbox user and collect their output."""

from __future__ import annotations

import codecs
import json
import os
import queue
import selectors
import shutil
import subprocess
import threading
import time

from . import children, wire
from .env_store import user_env
from .http import HttpError, Request, Response, Router, str_field
from .users import OsUser

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional

# In-memory cap per stream; the rest is dropped and the truncation is marked in the output.
MAX_OUTPUT_BYTES = int(os.environ.get("DAYTONA_AGENT_MAX_OUTPUT", str(16 * 1024 * 1024)))
TIMEOUT_EXIT_CODE = 124
# After the main process exits, keep reading for output still in flight for this long (children
# that inherited the pipes, such as `sleep 100 &`, must not hold the response open forever).
DRAIN_AFTER_EXIT_S = 0.1


class _Capture:
    """Collects stdout, stderr and both interleaved in arrival order, each capped.

    `listener`, when given, also receives every piece as it arrives (streamed responses).
    """

    def __init__(self, limit: int, listener: Optional[Callable[[str, bytes], None]] = None) -> None:
        self.limit = limit
        self.listener = listener
        self.parts: Dict[str, List[bytes]] = {"stdout": [], "stderr": [], "combined": []}
        self.sizes: Dict[str, int] = {"stdout": 0, "stderr": 0, "combined": 0}
        self.truncated: Dict[str, bool] = {"stdout": False, "stderr": False, "combined": False}

    def add(self, stream: str, data: bytes) -> None:
        if self.listener is not None:
            self.listener(stream, data)
        for key in (stream, "combined"):
            room = self.limit - self.sizes[key]
            if room <= 0:
                self.truncated[key] = True
                continue
            piece = data[:room]
            if len(piece) < len(data):
                self.truncated[key] = True
            self.parts[key].append(piece)
            self.sizes[key] += len(piece)

    def text(self, key: str) -> str:
        out = b"".join(self.parts[key]).decode("utf-8", errors="replace")
        if self.truncated[key]:
            out += "\n[output truncated: more than %d bytes]\n" % self.limit
        return out


def run(
    argv: List[str],
    user: OsUser,
    cwd: Optional[str] = None,
    env: Optional[Dict[str, str]] = None,
    timeout: Optional[float] = None,
    stdin: Optional[bytes] = None,
) -> Dict[str, Any]:
    """Run `argv` as `user`; return exit code, combined output and separate stdout/stderr."""
    proc = start(argv, user, cwd, env, stdin is not None)
    return collect(proc, _Capture(MAX_OUTPUT_BYTES), timeout, stdin)


def start(
    argv: List[str], user: OsUser, cwd: Optional[str], env: Optional[Dict[str, str]], with_stdin: bool
) -> subprocess.Popen:
    """Spawn `argv` as `user` with piped output; bad input raises HttpError before anything runs."""
    workdir = cwd or user.home
    if not os.path.isdir(workdir):
        raise HttpError(400, "working directory does not exist: %s" % workdir)
    kwargs: Dict[str, Any] = {}
    if os.getuid() == 0 and user.uid != 0:
        kwargs.update(user=user.uid, group=user.gid, extra_groups=user.groups)
    try:
        return children.spawn(
            argv,
            cwd=workdir,
            env=user_env(user, env),
            stdin=subprocess.PIPE if with_stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            **kwargs,
        )
    except PermissionError as exc:
        raise HttpError(403, "cannot run in %s: %s" % (workdir, exc.strerror)) from None
    except BlockingIOError:
        raise HttpError(503, "the sandbox has reached its process limit; try again later") from None
    except OSError as exc:
        raise HttpError(400, "cannot start process: %s" % exc) from None


def collect(
    proc: subprocess.Popen, capture: _Capture, timeout: Optional[float], stdin: Optional[bytes] = None
) -> Dict[str, Any]:
    """Feed stdin, gather output until exit (or kill the tree at `timeout`), and build the result."""
    if stdin is not None:
        threading.Thread(target=_feed, args=(proc, stdin), daemon=True).start()
    timed_out = False
    try:
        timed_out = _pump(proc, capture, timeout)
    finally:
        if proc.poll() is None:
            children.kill_tree(proc.pid)
        proc.wait()
        children.release(proc)
        if timed_out:
            children.reap_orphans()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    exit_code = TIMEOUT_EXIT_CODE if timed_out else _exit_code(proc.returncode)
    combined = capture.text("combined")
    if timed_out:
        combined += "\n[timed out after %s seconds: process tree killed]\n" % _fmt(timeout)
    return {
        "exitCode": exit_code,
        "result": combined,
        "stdout": capture.text("stdout"),
        "stderr": capture.text("stderr"),
        "timedOut": timed_out,
    }


def _fmt(seconds: Optional[float]) -> str:
    return ("%g" % seconds) if seconds is not None else "?"


def _exit_code(returncode: int) -> int:
    # A process killed by signal N reports 128 + N, as shells do.
    return 128 - returncode if returncode < 0 else returncode


def _feed(proc: subprocess.Popen, data: bytes) -> None:
    assert proc.stdin is not None
    try:
        proc.stdin.write(data)
    except (BrokenPipeError, OSError):
        pass
    finally:
        try:
            proc.stdin.close()
        except OSError:
            pass


def _pump(proc: subprocess.Popen, capture: _Capture, timeout: Optional[float]) -> bool:
    """Read both pipes until EOF; kill the tree and return True when `timeout` passes."""
    deadline = time.monotonic() + timeout if timeout else None
    exited_at: Optional[float] = None
    sel = selectors.DefaultSelector()
    for pipe, name in ((proc.stdout, "stdout"), (proc.stderr, "stderr")):
        assert pipe is not None
        os.set_blocking(pipe.fileno(), False)
        sel.register(pipe, selectors.EVENT_READ, name)
    try:
        while sel.get_map():
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                children.kill_tree(proc.pid)
                return True
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            if exited_at is not None and now - exited_at > DRAIN_AFTER_EXIT_S:
                break
            wait = 0.05 if exited_at is not None or deadline is None else min(0.05, deadline - now)
            for key, _ in sel.select(timeout=max(wait, 0)):
                try:
                    data = os.read(key.fileobj.fileno(), 65536)  # type: ignore[union-attr]
                except BlockingIOError:
                    continue
                if data:
                    capture.add(key.data, data)
                else:
                    sel.unregister(key.fileobj)
                    if exited_at is not None:
                        exited_at = time.monotonic()
        if deadline is None:
            proc.wait()
            return False
        remaining = deadline - time.monotonic()
        try:
            proc.wait(timeout=max(remaining, 0))
        except subprocess.TimeoutExpired:
            children.kill_tree(proc.pid)
            return True
        return False
    finally:
        sel.close()


def _parse_timeout(value: Any) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise HttpError(400, "timeout must be a number of seconds")
    if value < 0:
        raise HttpError(400, "timeout must not be negative")
    return float(value) or None  # 0 means no timeout


def _parse_env(value: Any, name: str = "env") -> Optional[Dict[str, str]]:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise HttpError(400, "%s must be an object of string values" % name)
    for key in value:
        if not key or "=" in key or "\0" in key:
            raise HttpError(400, "invalid environment variable name: %r" % key)
    return value


def register(router: Router, user: OsUser) -> None:
    """`POST /process/execute`."""
    router.route("POST", "/process/execute")(execute_handler(user))


def execute_handler(user: OsUser) -> Any:
    def handle(request: Request) -> Response:
        body = request.json()
        command = str_field(body, "command", required=True)
        assert command is not None
        if not command.strip():
            raise HttpError(400, "command must not be empty")
        argv = ["/bin/sh", "-c", command]
        cwd, env, timeout = str_field(body, "cwd"), request_env(body), _parse_timeout(body.get("timeout"))
        if _wants_stream(request):
            return streamed(start(argv, user, cwd, env, False), timeout)
        return Response(200, check_timeout(request, run(argv, user, cwd=cwd, env=env, timeout=timeout), timeout))

    return handle


def request_env(body: Dict[str, Any]) -> Optional[Dict[str, str]]:
    """The request's variables: `env` (0.14) and `envs` (today's SDK); `envs` wins a clash."""
    env, envs = _parse_env(body.get("env")), _parse_env(body.get("envs"), "envs")
    if env is None or envs is None:
        return envs if env is None else env
    return {**env, **envs}


def check_timeout(request: Request, result: Dict[str, Any], timeout: Optional[float]) -> Dict[str, Any]:
    """Today's SDK expects a timed-out run as 408 (PROCESS_EXECUTION_TIMEOUT); 0.14 as exit code 124."""
    if result.get("timedOut") and wire.is_current(request.headers):
        raise HttpError(
            408,
            "command execution timed out after %s seconds: its processes were killed" % _fmt(timeout),
            code="PROCESS_EXECUTION_TIMEOUT",
        )
    return result


# -- streamed responses: `?stream=true` ------------------------------------------------------------


def _wants_stream(request: Request) -> bool:
    value = (request.arg("stream") or "").lower()
    if value in ("", "false", "0"):
        return False
    if value in ("true", "1"):
        return True
    raise HttpError(400, "stream must be true or false")


def _frame(obj: Dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def streamed(proc: subprocess.Popen, timeout: Optional[float], stdin: Optional[bytes] = None) -> Response:
    """Answer with NDJSON while `proc` runs: `{"type": "stdout"|"stderr", "data"}` lines as output
    arrives, then `{"type": "end", "exitCode", "timedOut"}`. Nothing is kept in memory here.

    A client that goes away stops the forwarding, not the command (as with a plain `execute`).
    """
    events: "queue.Queue[tuple]" = queue.Queue(maxsize=256)
    gone = threading.Event()

    def put(item: tuple) -> None:
        while not gone.is_set():
            try:
                events.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def work() -> None:
        try:
            result = collect(proc, _Capture(0, lambda stream, data: put((stream, data))), timeout, stdin)
        except Exception as exc:  # report, never leave the stream hanging
            result = {"exitCode": -1, "timedOut": False, "error": str(exc)}
        put(("end", result))

    try:
        threading.Thread(target=work, name="exec-stream", daemon=True).start()
    except RuntimeError:
        children.kill_tree(proc.pid)
        proc.wait()
        children.release(proc)
        raise HttpError(503, "the sandbox has reached its process limit; try again later") from None

    def frames() -> Iterator[bytes]:
        decoders = {s: codecs.getincrementaldecoder("utf-8")("replace") for s in ("stdout", "stderr")}
        try:
            while True:
                kind, payload = events.get()
                if kind == "end":
                    for name, decoder in decoders.items():
                        tail = decoder.decode(b"", final=True)
                        if tail:
                            yield _frame({"type": name, "data": tail})
                    end = {"type": "end", "exitCode": payload["exitCode"], "timedOut": payload["timedOut"]}
                    if payload["timedOut"]:
                        end["message"] = "timed out after %s seconds: process tree killed" % _fmt(timeout)
                    if "error" in payload:
                        end["message"] = payload["error"]
                    yield _frame(end)
                    return
                text = decoders[kind].decode(payload)
                if text:
                    yield _frame({"type": kind, "data": text})
        finally:
            gone.set()

    return Response(200, content_type="application/x-ndjson", stream=frames())


def then_remove(stream: Iterable[bytes], path: str) -> Iterator[bytes]:
    """Pass `stream` on, then remove the directory `path` (also when the client goes away)."""
    try:
        yield from stream
    finally:
        shutil.rmtree(path, ignore_errors=True)
