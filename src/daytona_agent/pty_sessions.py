"""PTY terminals: interactive shells on pseudo-terminals that belong to the agent, not to a connection.

A terminal outlives its client: a WebSocket that goes away (or a host server that restarts) only
detaches, and the next one re-attaches and first gets the scrollback (the last 256 KiB of output),
then live output. One client at a time. Each terminal has one I/O thread that reads its output into
the scrollback and the client's bounded queue, and writes pending input whenever the terminal takes
it: a huge paste never blocks the reader, and a client that does not read is dropped, not buffered.
Transport-free: pty_routes.py puts the HTTP and WebSocket faces on it.
"""

from __future__ import annotations

import collections
import errno
import fcntl
import os
import selectors
import shutil
import struct
import subprocess
import sys
import termios
import threading
import time

from . import children
from .env_store import user_env
from .http import HttpError
from .pty_protocol import SCROLLBACK_BYTES, Attachment, Ring, check_id, send_exit
from .session_store import exit_code_of, now_iso
from .users import OsUser

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Tuple

# Input accepted but not yet taken by the terminal; past it the client's reader waits.
PENDING_INPUT_BYTES = 8 * 1024 * 1024
MAX_TERMINALS = 128
# Output (the scrollback replay too) goes out in messages of at most this size, as Daytona's daemon reads it.
MESSAGE_BYTES = 32 * 1024
# After the shell exits, output still in flight (or written by leftovers holding the terminal) is read this long.
DRAIN_AFTER_EXIT_S = 0.2
# A client that connects while another one is attached waits this long for it to leave (a reconnect
# races the old connection's close), then gets 409.
ATTACH_WAIT_S = 1.5
# An accepted upgrade that never attached (the connection broke during the handshake) stops blocking after this.
RESERVATION_TTL_S = 15.0
# Ended terminals stay listed (active: false; their scrollback readable) this long, at most this many.
ENDED_TTL_S = 600.0
ENDED_KEEP = 32

# Makes the terminal the shell's controlling terminal (the child is already a session leader), then
# becomes the shell: subprocess cannot do TIOCSCTTY itself without a preexec_fn (unsafe with threads).
_CTTY_BOOT = "import fcntl,os,sys,termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); os.execvp(sys.argv[1], sys.argv[1:])"


# -- one terminal ---------------------------------------------------------------------------------


class PtySession:
    """A shell on a pseudo-terminal, its scrollback, and at most one attached client."""

    def __init__(
        self, manager: "PtyManager", session_id: str, cwd: str, envs: Dict[str, str], cols: int, rows: int, lazy: bool
    ) -> None:
        self.manager = manager
        self.id = session_id
        self.cwd = cwd
        self.envs = envs
        self.cols = cols
        self.rows = rows
        self.lazy_start = lazy
        self.created_at = now_iso()
        self.cond = threading.Condition()
        self.scrollback = Ring(manager.scrollback_bytes)
        self.proc: Optional[subprocess.Popen] = None
        self.master: Optional[int] = None
        self.started = False
        self.exited = False  # the shell process is gone (its exit code known)
        self.ended = False  # ... and its output has been read to the end
        self.ended_at = 0.0
        self.exit_code: Optional[int] = None
        self.client: Optional[Attachment] = None
        self._reservation: Optional[Tuple[object, float]] = None
        self._input = bytearray()
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        self._wake_r: Optional[int] = wake_r
        self._wake_w: Optional[int] = wake_w

    @property
    def active(self) -> bool:
        return self.started and not self.ended

    def info(self) -> Dict[str, Any]:
        """Today's PtySessionInfo."""
        with self.cond:
            return {
                "id": self.id,
                "cwd": self.cwd,
                "envs": dict(self.envs),
                "cols": self.cols,
                "rows": self.rows,
                "createdAt": self.created_at,
                "active": self.active,
                "lazyStart": self.lazy_start,
            }

    # -- the process ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the shell (once); bad input raises HttpError before anything runs."""
        with self.cond:
            if self.started:
                return
            if self.ended:
                raise HttpError(410, "PTY session %s was killed before it started" % self.id)
            user = self.manager.user
            if not os.path.isdir(self.cwd):
                raise HttpError(400, "working directory does not exist: %s" % self.cwd)
            master, slave = os.openpty()
            try:
                _set_size(master, self.cols, self.rows)
                kwargs: Dict[str, Any] = {}
                if os.getuid() == 0 and user.uid != 0:
                    kwargs.update(user=user.uid, group=user.gid, extra_groups=user.groups)
                env = user_env(user, self.envs)
                argv = [sys.executable, "-I", "-S", "-c", _CTTY_BOOT, self.manager.shell, "-i", "-l"]
                try:
                    self.proc = children.spawn(
                        argv, cwd=self.cwd, env=env, stdin=slave, stdout=slave, stderr=slave, **kwargs
                    )
                except PermissionError as exc:
                    raise HttpError(403, "cannot start a terminal in %s: %s" % (self.cwd, exc.strerror)) from None
                except BlockingIOError:
                    raise HttpError(503, "the sandbox has reached its process limit; try again later") from None
                except OSError as exc:
                    raise HttpError(400, "cannot start a terminal: %s" % exc) from None
            except BaseException:
                os.close(master)
                raise
            finally:
                os.close(slave)
            os.set_blocking(master, False)
            self.master = master
            self.started = True
        threading.Thread(target=self._wait, name="pty-wait-%s" % self.id, daemon=True).start()
        threading.Thread(target=self._io, name="pty-io-%s" % self.id, daemon=True).start()

    def _wait(self) -> None:
        proc = self.proc
        assert proc is not None
        returncode = proc.wait()
        children.release(proc)
        with self.cond:
            self.exit_code = exit_code_of(returncode)
            self.exited = True
        self._wake()

    def _wake(self) -> None:
        with self.cond:
            if self._wake_w is None:  # the loop has ended
                return
            try:
                os.write(self._wake_w, b"x")
            except OSError:  # full: a wake-up is pending anyway
                pass

    def _close_wake(self) -> None:
        with self.cond:
            for fd in (self._wake_r, self._wake_w):
                if fd is not None:
                    os.close(fd)
            self._wake_r = self._wake_w = None

    def _io(self) -> None:
        """Move output to the scrollback and the client, input to the terminal, until the shell ended."""
        master, wake = self.master, self._wake_r
        assert master is not None and wake is not None
        sel = selectors.DefaultSelector()
        sel.register(wake, selectors.EVENT_READ, "wake")
        sel.register(master, selectors.EVENT_READ, "pty")
        events = selectors.EVENT_READ
        open_ = True  # the terminal still has readers/writers on the other side
        exited_at: Optional[float] = None
        try:
            while True:
                with self.cond:
                    pending = bool(self._input)
                    exited = self.exited
                now = time.monotonic()
                if exited and exited_at is None:
                    exited_at = now
                if exited_at is not None and (not open_ or now - exited_at >= DRAIN_AFTER_EXIT_S):
                    break
                if open_:
                    wanted = selectors.EVENT_READ | (selectors.EVENT_WRITE if pending else 0)
                    if wanted != events:
                        sel.modify(master, wanted, "pty")
                        events = wanted
                timeout = None if exited_at is None else max(0.0, exited_at + DRAIN_AFTER_EXIT_S - now)
                for key, mask in sel.select(timeout):
                    if key.data == "wake":
                        _drain(wake)
                        continue
                    if mask & selectors.EVENT_READ and not self._read(master):
                        sel.unregister(master)
                        open_ = False
                        with self.cond:
                            self._input.clear()
                            self.cond.notify_all()
                        break
                    if mask & selectors.EVENT_WRITE:
                        self._write(master)
        finally:
            sel.close()
            os.close(master)  # hangs up what is left on the terminal
            with self.cond:
                self.master = None
            self._finish()

    def _read(self, master: int) -> bool:
        try:
            data = os.read(master, MESSAGE_BYTES)
        except BlockingIOError:
            return True
        except OSError as exc:  # EIO: every process on the terminal has closed it
            if exc.errno != errno.EIO:
                sys.stderr.write("daytona-agent: pty %s read: %s\n" % (self.id, exc))
            return False
        if not data:
            return False
        with self.cond:
            self.scrollback.append(data)
            client = self.client
            if client is not None and not client.data(data):
                self.client = None
                client.drop(1008, "slow consumer: output was not read fast enough; connect again for the scrollback")
        return True

    def _write(self, master: int) -> None:
        with self.cond:
            chunk = bytes(self._input[:MESSAGE_BYTES])
        try:
            written = os.write(master, chunk)
        except BlockingIOError:
            return
        except OSError:
            written = len(chunk)  # the terminal is gone: the input goes nowhere
        with self.cond:
            del self._input[:written]
            self.cond.notify_all()

    def _finish(self) -> None:
        with self.cond:
            while not self.exited:  # the output ended first (the shell closed its terminal): wait for it
                self.cond.wait(0.5)
            self.ended = True
            self.ended_at = time.monotonic()
            client, self.client = self.client, None
            code = self.exit_code if self.exit_code is not None else 1
            self.cond.notify_all()
        self._close_wake()
        if client is not None:
            send_exit(client, code)
            client.detach()
        self.manager.ended(self)

    def kill(self) -> None:
        """SIGKILL the shell's whole session (its process groups and every descendant)."""
        with self.cond:
            proc = self.proc if self.started and not self.exited else None
            if not self.started and not self.ended:  # lazy, never connected: nothing runs
                self.ended = True
                self.ended_at = time.monotonic()
                self._close_wake()
        if proc is not None:
            children.kill_sessions({proc.pid}, [proc.pid])

    def resize(self, cols: int, rows: int) -> None:
        """TIOCSWINSZ: the terminal's foreground processes get SIGWINCH."""
        with self.cond:
            if self.ended or (self.started and self.master is None):
                raise HttpError(410, "PTY session %s has ended: it cannot be resized" % self.id)
            if self.master is not None:
                _set_size(self.master, cols, rows)
            self.cols, self.rows = cols, rows

    # -- clients -------------------------------------------------------------------------------

    def reserve(self) -> object:
        """Claim the client slot for an upgrade about to be accepted; 409 while another client holds it."""
        deadline = time.monotonic() + ATTACH_WAIT_S
        with self.cond:
            while True:
                now = time.monotonic()
                pending = self._reservation is not None and now - self._reservation[1] < RESERVATION_TTL_S
                if self.client is None and not pending:
                    token = object()
                    self._reservation = (token, now)
                    return token
                if now >= deadline:
                    raise HttpError(
                        409,
                        "PTY session %s already has a client connected: one connection at a time "
                        "(disconnect the other one first)" % self.id,
                        code="PTY_SESSION_IN_USE",
                    )
                self.cond.wait(deadline - now)

    def attach(self, token: object, exit_control: bool) -> Attachment:
        """Become the client: `connected`, the scrollback, then live output (or the exit, if it came)."""
        client = Attachment(exit_control)
        if self.lazy_start and not self.started:
            try:
                self.start()
            except HttpError as exc:
                client.control({"type": "control", "status": "error", "error": exc.message})
                client.close(1011, "the terminal could not start")
                self._release(token)
                return client
        with self.cond:
            if self._reservation is None or self._reservation[0] is not token:
                client.control({"type": "control", "status": "error", "error": "another client took this PTY"})
                client.close(1008, "another client is connected")
                return client
            self._reservation = None
            client.control({"type": "control", "status": "connected"})
            replay = self.scrollback.snapshot()
            for offset in range(0, len(replay), MESSAGE_BYTES):
                client.data(replay[offset : offset + MESSAGE_BYTES], replay=True)
            if self.ended:
                send_exit(client, self.exit_code if self.exit_code is not None else 1)
            else:
                self.client = client
            self.cond.notify_all()
        return client

    def _release(self, token: object) -> None:
        with self.cond:
            if self._reservation is not None and self._reservation[0] is token:
                self._reservation = None
                self.cond.notify_all()

    def detach(self, client: Attachment) -> None:
        with self.cond:
            if self.client is client:
                self.client = None
                self.cond.notify_all()
        client.detach()

    def write(self, client: Attachment, data: bytes) -> bool:
        """Queue input for the terminal; waits while too much is pending. False once it cannot take more."""
        with self.cond:
            while len(self._input) >= self.manager.pending_input_bytes:
                if self.client is not client or self.exited:
                    return False
                self.cond.wait(1.0)
            if self.client is not client or self.exited or self.master is None:
                return False
            self._input += data
        self._wake()
        return True


def _set_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except OSError:
        pass


# -- all terminals --------------------------------------------------------------------------------


class PtyManager:
    """The sandbox's terminals by id."""

    def __init__(
        self,
        user: OsUser,
        scrollback_bytes: int = SCROLLBACK_BYTES,
        pending_input_bytes: int = PENDING_INPUT_BYTES,
        max_terminals: int = MAX_TERMINALS,
    ) -> None:
        self.user = user
        self.scrollback_bytes = scrollback_bytes
        self.pending_input_bytes = pending_input_bytes
        self.max_terminals = max_terminals
        self.lock = threading.Lock()
        self.sessions: Dict[str, PtySession] = collections.OrderedDict()
        path = user_env(user).get("PATH")
        login = user.shell if os.path.basename(user.shell or "") not in ("nologin", "false", "") else None
        candidates = [login, shutil.which("bash", path=path), "/bin/sh"]
        self.shell = next(s for s in candidates if s and os.access(s, os.X_OK))

    def create(
        self,
        session_id: Any,
        cwd: Optional[str] = None,
        envs: Optional[Dict[str, str]] = None,
        cols: int = 80,
        rows: int = 24,
        lazy: bool = False,
    ) -> PtySession:
        check_id(session_id)
        env = dict(envs or {})
        if not env.get("TERM"):
            env["TERM"] = "xterm-256color"
        workdir = cwd or self.user.home
        if not os.path.isdir(workdir):
            raise HttpError(400, "working directory does not exist: %s" % workdir)
        with self.lock:
            self._prune()
            old = self.sessions.get(session_id)
            if old is not None and not old.ended:
                raise HttpError(409, "PTY session with ID '%s' already exists" % session_id)
            if sum(1 for s in self.sessions.values() if not s.ended) >= self.max_terminals:
                raise HttpError(429, "too many PTY sessions (%d): kill some first" % self.max_terminals)
            session = PtySession(self, session_id, workdir, env, cols, rows, lazy)
            self.sessions.pop(session_id, None)
            self.sessions[session_id] = session
        if not lazy:
            try:
                session.start()
            except BaseException:
                with self.lock:
                    if self.sessions.get(session_id) is session:
                        del self.sessions[session_id]
                raise
        return session

    def get(self, session_id: str) -> PtySession:
        with self.lock:
            session = self.sessions.get(session_id)
        if session is None:
            raise HttpError(404, "PTY session %s not found" % session_id)
        return session

    def list(self) -> List[PtySession]:
        with self.lock:
            self._prune()
            return list(self.sessions.values())

    def kill(self, session_id: str) -> None:
        """Kill the terminal's processes and forget it."""
        with self.lock:
            session = self.sessions.pop(session_id, None)
        if session is None:
            raise HttpError(404, "PTY session %s not found" % session_id)
        session.kill()
        with session.cond:  # its client hears the exit before the answer goes out
            deadline = time.monotonic() + 2.0
            while session.started and not session.ended and time.monotonic() < deadline:
                session.cond.wait(0.1)

    def alive(self) -> int:
        """How many terminals have a live shell (activity: a sandbox with one is in use)."""
        with self.lock:
            return sum(1 for s in self.sessions.values() if s.started and not s.exited)

    def ended(self, session: PtySession) -> None:
        with self.lock:
            self._prune()

    def _prune(self) -> None:
        now = time.monotonic()
        ended = [s for s in self.sessions.values() if s.ended]
        for index, session in enumerate(ended):
            if len(ended) - index > ENDED_KEEP or now - session.ended_at > ENDED_TTL_S:
                del self.sessions[session.id]

    def shutdown(self) -> None:
        """Kill every terminal (tests)."""
        with self.lock:
            sessions = list(self.sessions.values())
            self.sessions.clear()
        for session in sessions:
            session.kill()
