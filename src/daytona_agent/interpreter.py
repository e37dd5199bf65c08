"""Stateful code interpreter contexts: one python process each, run as the sandbox user.

A context keeps its variables between runs; contexts are isolated (one process each, see
interpreter_worker.py). `default` is made on first use. A run streams the code's stdout and stderr
(raw pipe bytes, so C code and child processes show too), then its error, charts and end, to the
run's sink. Runs on one context take turns, first come first served.

Timeout or a caller that went away: SIGINT (KeyboardInterrupt in the code; the context keeps its
state), again after INTERRUPT_GRACE_S, and after as long again the process tree is killed: that
context then starts empty on its next run (the run reports `killed`). Transport-free: the
WebSocket and REST side is interpreter_routes.py.
"""

from __future__ import annotations

import codecs
import collections
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone

from . import children, code_charts
from .env_store import user_env
from .http import HttpError
from .users import OsUser

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Deque, Dict, Iterator, List, Optional

    Sink = Callable[[Dict[str, Any]], None]  # takes one message; raises once the caller is gone

LANGUAGE = "python"
DEFAULT_ID = "default"
MAX_CONTEXTS = 64  # besides the default one; each is a python process
MAX_WAITING = 16  # runs queued behind a busy context
READY_TIMEOUT_S = 30.0
INTERRUPT_GRACE_S = 2.0
STUCK_SEND_S = 2.0  # a caller that has not taken a message for this long is not reading
MAX_MESSAGE_BYTES = 60 * 1024  # today's Python SDK takes WebSocket messages of 64 KiB at most
MAX_TEXT_CHARS = 8192  # per output message: within MAX_MESSAGE_BYTES even if every one is escaped
MAX_EVENT_BYTES = 8 * 1024 * 1024  # one protocol line of the worker (a chart, an error)
STDERR_TAIL = 4096  # what a worker that fails to start said, for the error
WORKER_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "interpreter_worker.py")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def text_pieces(text: str) -> Iterator[str]:
    for start in range(0, len(text), MAX_TEXT_CHARS):
        yield text[start : start + MAX_TEXT_CHARS]


class Run:
    """One execution: where its messages go, and how it ended (`status`, set once, with `finished`)."""

    def __init__(self, sink: Sink, charts: bool = False, cut: Optional[Callable[[], None]] = None) -> None:
        self.id = uuid.uuid4().hex
        self.sink = sink
        self.charts = charts
        self.cut = cut  # ends the caller's connection (one that does not read any more)
        self.process: Optional[_Process] = None
        self.finished = threading.Event()
        self.status = ""  # completed | interrupted | exited
        self.detail = ""
        self.gone = False  # the sink failed: the caller left
        self.sending_since: Optional[float] = None

    def emit(self, message: Dict[str, Any]) -> None:
        if self.gone:
            return
        self.sending_since = time.monotonic()
        try:
            self.sink(message)
        except Exception:
            self.gone = True
        finally:
            self.sending_since = None

    def output(self, stream: str, text: str) -> None:
        for piece in text_pieces(text):
            self.emit({"type": stream, "text": piece})

    def finish(self, status: str, detail: str = "") -> None:
        if not self.finished.is_set():
            self.status, self.detail = status, detail
            self.finished.set()

    def drop_if_stuck(self) -> None:
        """A caller that has not taken a message for STUCK_SEND_S is cut off, so the reader goes on."""
        since = self.sending_since
        if since is not None and time.monotonic() - since > STUCK_SEND_S and not self.gone:
            self.gone = True
            if self.cut is not None:
                self.cut()


class Outcome:
    """How a run ended, for the transport: `status` (completed, interrupted, exited), `timed_out`,
    `killed` (its process did not stop when interrupted), `deleted`, `detail`."""

    def __init__(self, run: Run, timed_out: bool, killed: bool, deleted: bool) -> None:
        self.status = run.status or "exited"
        self.detail = run.detail
        self.timed_out, self.killed, self.deleted = timed_out, killed, deleted


class _Process:
    """One start of a context's python: the child, its protocol socket and the thread reading both."""

    def __init__(self, proc: subprocess.Popen, channel: socket.socket, tmpdir: str, owner: "Context") -> None:
        self.proc = proc
        self.channel = channel
        self.tmpdir = tmpdir
        self.owner = owner
        self.ready = threading.Event()
        self.exited = threading.Event()
        self.stderr_tail = ""
        self.write_lock = threading.Lock()
        self.reap_lock = threading.Lock()  # no signal may reach a pid once it is reaped (and reusable)
        self.reaped = False
        self.thread = threading.Thread(target=self._read, name="interpreter-%s" % owner.id, daemon=True)
        self.thread.start()

    @property
    def alive(self) -> bool:
        return not self.exited.is_set() and self.proc.poll() is None

    def send(self, command: Dict[str, Any]) -> None:
        data = json.dumps(command, ensure_ascii=False).encode("utf-8") + b"\n"
        with self.write_lock:
            self.channel.sendall(data)

    def signal(self, signum: int) -> None:
        with self.reap_lock:
            if not self.reaped:
                try:
                    os.kill(self.proc.pid, signum)
                except OSError:
                    pass

    def kill(self) -> None:
        with self.reap_lock:
            if not self.reaped:
                children.kill_tree(self.proc.pid)

    def _run(self) -> Optional[Run]:
        run = self.owner.current
        return run if run is not None and run.process is self else None

    # -- the reader thread -------------------------------------------------------------------------------

    def _read(self) -> None:
        pipes = {self.proc.stdout.fileno(): "stdout", self.proc.stderr.fileno(): "stderr"}  # type: ignore[union-attr]
        decoders = {name: codecs.getincrementaldecoder("utf-8")("replace") for name in pipes.values()}
        sel = selectors.DefaultSelector()
        for fd in pipes:
            os.set_blocking(fd, False)
            sel.register(fd, selectors.EVENT_READ)
        sel.register(self.channel, selectors.EVENT_READ)
        pending = bytearray()
        try:
            while sel.get_map():
                exited = self.proc.poll() is not None
                ready = sel.select(timeout=0 if exited else 0.5)
                self._drain(sel, pipes, decoders)  # output first: it was written before any event
                told = any(key.fileobj is self.channel for key, _ in ready)
                if told and not self._events(sel, pending):
                    break
                if exited and not told:
                    break  # gone, its last words read (a child of the code may still hold the pipes)
        except Exception as exc:  # never leave a run waiting
            self.stderr_tail = (self.stderr_tail + "\nagent: %s" % exc)[-STDERR_TAIL:]
        finally:
            sel.close()
            self._end()

    def _drain(self, sel: selectors.BaseSelector, pipes: Dict[int, str], decoders: Dict[str, Any]) -> None:
        for fd, name in pipes.items():
            if fd not in sel.get_map():
                continue
            for _ in range(16):  # at most 1 MiB a pass: a code that never stops writing cannot starve events
                try:
                    data = os.read(fd, 65536)
                except BlockingIOError:
                    break
                except OSError:
                    data = b""
                text = decoders[name].decode(data, final=not data)
                if text:
                    self._output(name, text)
                if not data:
                    sel.unregister(fd)
                    break

    def _output(self, stream: str, text: str) -> None:
        if not self.ready.is_set() and stream == "stderr":
            self.stderr_tail = (self.stderr_tail + text)[-STDERR_TAIL:]
        run = self._run()
        if run is not None:
            run.output(stream, text)

    def _events(self, sel: selectors.BaseSelector, pending: bytearray) -> bool:
        """Handle the protocol lines that arrived; False once the channel is closed or broken."""
        try:
            data = self.channel.recv(65536)  # readable: does not block
        except OSError:
            data = b""
        if not data:
            sel.unregister(self.channel)
            return False
        pending.extend(data)
        while True:
            end = pending.find(b"\n")
            if end < 0:
                break
            line = bytes(pending[:end])
            del pending[: end + 1]
            self._event(line)
        if len(pending) > MAX_EVENT_BYTES:
            self.kill()  # not our protocol any more: a context that cannot be trusted is restarted
            return False
        return True

    def _event(self, line: bytes) -> None:
        try:
            event = json.loads(line.decode("utf-8"))
        except ValueError:
            return
        if not isinstance(event, dict):
            return
        kind = event.get("event")
        if kind == "ready":
            self.ready.set()
            return
        run = self._run()
        if run is None or event.get("id") != run.id:
            return  # a late event of a run that already ended
        if kind == "error":
            run.emit(error_message(event.get("name"), event.get("value"), event.get("traceback")))
        elif kind == "chart" and run.charts and isinstance(event.get("chart"), dict):
            run.emit({"type": "chart", "chart": event["chart"]})
        elif kind == "done":
            self.owner.finish_run(run, "interrupted" if event.get("status") == "interrupted" else "completed")

    def _end(self) -> None:
        if self.proc.poll() is None:
            self.kill()
        with self.reap_lock:
            code = self.proc.wait()
            self.reaped = True
        children.release(self.proc)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()
        self.channel.close()
        shutil.rmtree(self.tmpdir, ignore_errors=True)
        run = self._run()
        if run is not None:
            how = "was killed by signal %d" % -code if code < 0 else "exited with code %d" % code
            self.owner.finish_run(run, "exited", "the interpreter process %s" % how)
        self.exited.set()


def error_message(name: Any, value: Any, traceback: Any) -> Dict[str, Any]:
    """An error message, each field a string, cut to fit one message of today's SDKs."""
    fields = [str(x) if x is not None else "" for x in (name, value, traceback)]
    limits = [256, 8 * 1024, 32 * 1024]
    while True:
        for i, limit in enumerate(limits):
            if len(fields[i]) > limit:
                fields[i] = fields[i][:limit] + "..." if i < 2 else "...\n" + fields[i][-limit:]
        message = {"type": "error", "name": fields[0], "value": fields[1], "traceback": fields[2]}
        if len(json.dumps(message, ensure_ascii=False).encode("utf-8")) <= MAX_MESSAGE_BYTES:
            return message
        limits = [limit // 2 for limit in limits]  # escapes made it longer than its characters


class Context:
    """An interpreter context: its python process (started again when it ended) and its turn-taking."""

    def __init__(self, context_id: str, cwd: str, user: OsUser) -> None:
        self.id = context_id
        self.cwd = cwd
        self.user = user
        self.created_at = _now()
        self.current: Optional[Run] = None
        self.deleted = False
        self._process: Optional[_Process] = None
        self._lock = threading.Lock()  # the process and the current run
        self._turns = threading.Condition()
        self._waiting: Deque[object] = collections.deque()
        self._busy = False

    def info(self) -> Dict[str, Any]:
        process = self._process
        return {
            "id": self.id,
            "cwd": self.cwd,
            "createdAt": self.created_at,
            "active": process is not None and process.alive,
            "language": LANGUAGE,
        }

    # -- the process -------------------------------------------------------------------------------------

    def ensure_started(self) -> None:
        """Start the python process unless it runs; HttpError when it cannot start."""
        with self._lock:
            if self.deleted:
                raise HttpError(404, "interpreter context %s was deleted" % self.id)
            old = self._process
            if old is not None and old.alive:
                return
            if old is not None:
                old.exited.wait(15)  # its reader finishes its last run first
            process = self._process = _spawn(self)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not process.ready.wait(0.05):
            if process.exited.is_set() or time.monotonic() > deadline:
                process.kill()
                process.exited.wait(5)
                said = process.stderr_tail.strip()
                raise HttpError(
                    500,
                    "the interpreter (python3) of context %s did not start%s"
                    % (self.id, (": " + said[-1000:]) if said else ""),
                )

    def stop(self) -> None:
        """Kill the process tree (deletion, agent shutdown); a running code ends as `exited`."""
        with self._lock:
            process = self._process
        if process is not None:
            process.kill()
            process.exited.wait(5)

    # -- runs --------------------------------------------------------------------------------------------

    def wait_turn(self, gone: threading.Event) -> bool:
        """Wait until this context is free and take it; False when the caller left or it was deleted."""
        me = object()
        with self._turns:
            if len(self._waiting) >= MAX_WAITING:
                raise HttpError(429, "interpreter context %s is busy: %d runs wait already" % (self.id, MAX_WAITING))
            self._waiting.append(me)
            try:
                while self._busy or self._waiting[0] is not me:
                    if gone.is_set() or self.deleted:
                        return False
                    self._turns.wait(0.25)
                self._busy = True
                return True
            finally:
                self._waiting.remove(me)
                self._turns.notify_all()

    def end_turn(self) -> None:
        with self._turns:
            self._busy = False
            self._turns.notify_all()

    def finish_run(self, run: Run, status: str, detail: str = "") -> None:
        with self._lock:
            if self.current is run:
                self.current = None
        run.finish(status, detail)

    def execute(
        self, run: Run, code: str, envs: Optional[Dict[str, str]], timeout: Optional[float], gone: threading.Event
    ) -> Outcome:
        """Run `code` (the caller has the turn) until it ends, `timeout` passes or `gone` is set."""
        self.ensure_started()
        with self._lock:
            process = self._process
            assert process is not None
            run.process = process
            self.current = run
        try:
            process.send({"id": run.id, "code": code, "envs": envs, "charts": run.charts})
        except OSError:
            pass  # the process just ended: its reader finishes the run as exited
        deadline = time.monotonic() + timeout if timeout else None
        timed_out = False
        while not run.finished.wait(0.25):
            if deadline is not None and time.monotonic() >= deadline:
                timed_out = True
                break
            if gone.is_set() or run.gone:
                break
        killed = False
        if not run.finished.is_set():
            killed = not self._interrupt(process, run)
        return Outcome(run, timed_out, killed, self.deleted)

    def _interrupt(self, process: _Process, run: Run) -> bool:
        """SIGINT, again, then kill the tree; True when the code stopped without losing the context."""
        for wait in (INTERRUPT_GRACE_S, INTERRUPT_GRACE_S):
            process.signal(signal.SIGINT)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if run.finished.wait(0.05):
                    return run.status != "exited"
                run.drop_if_stuck()
        process.kill()
        deadline = time.monotonic() + 10
        while not run.finished.wait(0.05):
            run.drop_if_stuck()
            if time.monotonic() > deadline:
                self.finish_run(run, "exited", "killed: it did not stop when interrupted")
        return False


def _spawn(context: Context) -> _Process:
    """Start the worker in a private directory (with the charts backend) as the sandbox user."""
    user = context.user
    if not os.path.isdir(context.cwd):
        raise HttpError(400, "working directory does not exist: %s" % context.cwd)
    path = user_env(user).get("PATH")
    python = shutil.which("python3", path=path) or shutil.which("python", path=path)
    if python is None:
        raise HttpError(400, "python3 is not installed in this sandbox's image: the interpreter needs it")
    tmpdir = tempfile.mkdtemp(prefix="daytona-interpreter-")
    try:
        worker = os.path.join(tmpdir, "daytona_interpreter.py")
        shutil.copyfile(WORKER_FILE, worker)
        env = code_charts.prepare(tmpdir, None, user_env(user).get("PYTHONPATH"))
        kwargs: Dict[str, Any] = {}
        if os.getuid() == 0:
            for name in [tmpdir, *(os.path.join(tmpdir, n) for n in os.listdir(tmpdir))]:
                os.chown(name, user.uid, user.gid)
            if user.uid != 0:
                kwargs.update(user=user.uid, group=user.gid, extra_groups=user.groups)
        ours, theirs = socket.socketpair()
    except BaseException:
        shutil.rmtree(tmpdir, ignore_errors=True)
        raise
    try:
        proc = children.spawn(
            [python, worker, str(theirs.fileno())],
            cwd=context.cwd,
            env=user_env(user, env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(theirs.fileno(),),
            **kwargs,
        )
    except BaseException as exc:
        ours.close()
        shutil.rmtree(tmpdir, ignore_errors=True)
        if isinstance(exc, PermissionError):
            raise HttpError(403, "cannot run in %s: %s" % (context.cwd, exc.strerror)) from None
        if isinstance(exc, BlockingIOError):
            raise HttpError(503, "the sandbox has reached its process limit; try again later") from None
        if isinstance(exc, OSError):
            raise HttpError(500, "cannot start the interpreter: %s" % exc) from None
        raise
    finally:
        theirs.close()
    return _Process(proc, ours, tmpdir, context)


class Registry:
    """The agent's contexts by id."""

    def __init__(self, user: OsUser) -> None:
        self.user = user
        self._contexts: Dict[str, Context] = {}
        self._lock = threading.Lock()

    def create(self, cwd: Optional[str] = None, language: Optional[str] = None) -> Context:
        if language not in (None, "", LANGUAGE):
            raise HttpError(400, "unsupported language %r: the interpreter runs %s only" % (language, LANGUAGE))
        context = Context(uuid.uuid4().hex, os.path.join(self.user.home, cwd) if cwd else self.user.home, self.user)
        with self._lock:
            if sum(1 for c in self._contexts if c != DEFAULT_ID) >= MAX_CONTEXTS:
                raise HttpError(409, "too many interpreter contexts (%d): delete one first" % MAX_CONTEXTS)
            self._contexts[context.id] = context
        try:
            context.ensure_started()
        except BaseException:
            with self._lock:
                self._contexts.pop(context.id, None)
            context.deleted = True
            context.stop()
            raise
        return context

    def get(self, context_id: Optional[str]) -> Context:
        """The context `context_id` (the default one, made now if need be, for None or "default")."""
        with self._lock:
            if context_id in (None, DEFAULT_ID):
                context = self._contexts.get(DEFAULT_ID)
                if context is None:
                    context = self._contexts[DEFAULT_ID] = Context(DEFAULT_ID, self.user.home, self.user)
                return context
            found = self._contexts.get(str(context_id))
        if found is None:
            raise HttpError(404, "interpreter context not found: %s" % context_id)
        return found

    def list(self) -> List[Dict[str, Any]]:
        """The contexts callers created (not the default one), oldest first."""
        with self._lock:
            contexts = [c for c in self._contexts.values() if c.id != DEFAULT_ID]
        return [c.info() for c in sorted(contexts, key=lambda c: c.created_at)]

    def delete(self, context_id: str) -> None:
        if context_id == DEFAULT_ID:
            raise HttpError(400, "the default interpreter context cannot be deleted")
        with self._lock:
            context = self._contexts.pop(context_id, None)
        if context is None:
            raise HttpError(404, "interpreter context not found: %s" % context_id)
        context.deleted = True
        context.stop()
