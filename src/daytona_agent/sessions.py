"""Sessions: long-lived shells, one per session, that keep their state between commands.

Each session is a shell (bash when the image has it) running as the sandbox user. A command is
written to a file and sourced by that shell (`. file`), so `cd` and `export` persist and a syntax
error fails only that command. Its stdin, stdout, stderr and a status channel are named pipes in
the session's directory (root-owned, under /var/lib/daytona/sessions): the shell reports each
command's exit code there, and the agent's I/O thread copies the output into the command's durable
log (see `session_log`) as it is produced. Synchronous commands run in the shell's foreground, one
at a time (the next waits in a queue); asynchronous ones run in a background subshell, so they do
not block the session (and, like `cmd &` in a terminal, their `cd`/`export` do not persist).

Metadata (command, exit code, times) is a small JSON file beside each log, so sessions and their
commands are still listed after an agent restart (a sandbox stop and start): commands that were
running then are recorded as killed (exit code 137) and the next command starts a fresh shell.
"""

from __future__ import annotations

import collections
import os
import selectors
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
import uuid

from . import children
from .env_store import user_env
from .http import HttpError
from .process import TIMEOUT_EXIT_CODE
from .session_log import STDERR, STDOUT, CommandLog
from .session_store import (
    KILLED_EXIT_CODE,
    Command,
    Session,
    check_session_id,
    dirname_for,
    exit_code_of,
    finished_error,
    load_sessions,
    now_iso,
    save_command,
    write_json,
)
from .users import OsUser

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional, Set, Tuple

SESSIONS_DIR = os.environ.get("DAYTONA_AGENT_SESSIONS_DIR", "/var/lib/daytona/sessions")
# Bytes of output each command's log keeps (what follows is dropped, and the truncation marked).
LOG_CAP = int(os.environ.get("DAYTONA_AGENT_SESSION_LOG_CAP", str(64 * 1024 * 1024)))
# After a command exits, output still in flight is awaited this long before it counts as complete
# (background children that inherited its stdout keep writing to its log after that).
DRAIN_AFTER_EXIT_S = 0.1
# A timed-out foreground command whose processes were killed but whose shell still does not
# answer (a builtin loop, `read`) gets its shell killed after this long.
KILL_GRACE_S = 1.0
LIVENESS_INTERVAL_S = 1.0


class SessionManager:
    """All sessions of the sandbox, and the one thread that moves their bytes."""

    def __init__(self, user: OsUser, root: str = SESSIONS_DIR, log_cap: int = LOG_CAP) -> None:
        self.user = user
        self.root = root
        self.log_cap = log_cap
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.sessions: Dict[str, Session] = collections.OrderedDict()
        self.active: Set[Command] = set()
        self.last_activity = time.time()
        # Other work that keeps the sandbox busy, each a count (PTY terminals with a live shell).
        self.busy_sources: List[Callable[[], int]] = []
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, ("wake",))
        self._bash = shutil.which("bash", path=user_env(user).get("PATH"))
        os.makedirs(root, mode=0o755, exist_ok=True)
        for session in load_sessions(root):
            self.sessions[session.id] = session
        self._thread = threading.Thread(target=self._loop, name="sessions", daemon=True)
        self._thread.start()

    # -- the API (called from request threads) --------------------------------------------------

    def create(self, session_id: str) -> Session:
        check_session_id(session_id)
        with self.lock:
            if session_id in self.sessions:
                raise HttpError(409, "session %s already exists" % session_id)
            path = os.path.join(self.root, dirname_for(session_id))
            shutil.rmtree(path, ignore_errors=True)  # a leftover without session.json
            os.makedirs(path, mode=0o750)
            if os.getuid() == 0:
                os.chown(path, 0, self.user.gid)
            session = Session(session_id, path, now_iso())
            write_json(os.path.join(path, "session.json"), {"sessionId": session_id, "createdAt": session.created_at})
            self.sessions[session_id] = session
            self._touch()
            return session

    def get(self, session_id: str) -> Session:
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None:
                raise HttpError(404, "session %s not found" % session_id)
            return session

    def list(self) -> List[Session]:
        with self.lock:
            return list(self.sessions.values())

    def command(self, session_id: str, command_id: str) -> Command:
        with self.lock:
            cmd = self.get(session_id).commands.get(command_id)
            if cmd is None:
                raise HttpError(404, "command %s not found in session %s" % (command_id, session_id))
            return cmd

    def execute(self, session_id: str, text: str, run_async: bool, timeout: Optional[float]) -> Command:
        """Queue `text` in the session; return at once (the caller may `wait` for it)."""
        with self.lock:
            session = self.get(session_id)
            cid = str(uuid.uuid4())
            base = os.path.join(session.path, cid)
            log = CommandLog(base + ".log", base + ".idx", self.log_cap)
            cmd = Command(session, cid, text, run_async, session.next_seq, log)
            session.next_seq += 1
            try:
                self._prepare(cmd)
            except OSError as exc:
                self._close_fds(cmd)
                raise HttpError(507, "cannot prepare the command's files: %s" % exc) from None
            cmd.timeout = timeout
            cmd.deadline = time.monotonic() + timeout if timeout else None
            cmd.state = "queued"
            session.commands[cid] = cmd
            session.queue.append(cmd)
            self.active.add(cmd)
            save_command(cmd)
            self._touch()
            self._pump(session)
            self._wake()
            return cmd

    def wait(self, cmd: Command) -> None:
        """Block until `cmd` is done (its timeout, if any, is enforced by the I/O thread)."""
        with self.changed:
            while not cmd.done:
                self.changed.wait(timeout=1.0)

    def send_input(self, session_id: str, command_id: str, data: bytes, eof: bool) -> None:
        with self.lock:
            cmd = self.command(session_id, command_id)
            fd = cmd.fds.get("in")
            if cmd.state in ("exited", "done"):
                raise finished_error("command %s has already finished" % command_id)
            if fd is None or cmd.eof_pending:
                raise HttpError(409, "the input of command %s is already closed" % command_id)
            view = memoryview(data)
            deadline = time.monotonic() + 5.0
            while view:
                try:
                    view = view[os.write(fd, view) :]
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise HttpError(
                            409, "command %s is not reading its input (%d bytes not sent)" % (command_id, len(view))
                        ) from None
                    self.changed.wait(timeout=0.01)
                    if cmd.fds.get("in") != fd:
                        raise finished_error("command %s finished while its input was sent" % command_id) from None
                except OSError as exc:
                    raise HttpError(409, "cannot write to command %s: %s" % (command_id, exc)) from None
            if eof:
                if cmd.stdin_open:
                    self._close_fd(cmd, "in")
                else:
                    cmd.eof_pending = True
            self._touch()

    def delete(self, session_id: str) -> None:
        """Kill everything that runs in the session, then forget it and its logs."""
        with self.lock:
            session = self.get(session_id)
            session.deleted = True
            del self.sessions[session_id]
            self._kill_session(session)
            for cmd in list(session.commands.values()):
                if not cmd.done:
                    self._exited(cmd, KILLED_EXIT_CODE)
                    for stream in list(cmd.open_streams):
                        self._close_stream(cmd, stream)
                    self._finish(cmd)
                self._close_fds(cmd)
            self._reap_shell(session)
            shutil.rmtree(session.path, ignore_errors=True)
            self._touch()
            self.changed.notify_all()

    def activity(self) -> Dict[str, Any]:
        with self.lock:
            running = sum(1 for c in self.active if c.state in ("queued", "running"))
        terminals = sum(source() for source in self.busy_sources)
        return {
            "busy": running > 0 or terminals > 0,
            "runningCommands": running,
            "openTerminals": terminals,
            "lastActivity": self.last_activity,
        }

    def shutdown(self) -> None:
        """Kill every session's processes (tests; the agent's SIGTERM handler kills all children)."""
        with self.lock:
            for session in list(self.sessions.values()):
                self._kill_session(session)
                self._reap_shell(session)

    # -- preparing and starting commands --------------------------------------------------------

    def _prepare(self, cmd: Command) -> None:
        """Write the command file and make its pipes; open the agent's ends before the shell's."""
        mine = os.getuid() == 0 and self.user.uid != 0
        script = cmd.path("sh")
        fd = os.open(script, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, cmd.command.encode("utf-8", errors="surrogateescape") + b"\n")
        finally:
            os.close(fd)
        for ext in ("in", "out", "err", "st"):
            os.mkfifo(cmd.path(ext), 0o600)
        if mine:
            for ext in ("sh", "in", "out", "err", "st"):
                os.chown(cmd.path(ext), self.user.uid, self.user.gid)
        cmd.log.create()
        nofollow = os.O_NONBLOCK | os.O_NOFOLLOW
        # A reader plus the agent's own writer: no EOF before the shell has even opened the pipe.
        for ext, stream in (("out", STDOUT), ("err", STDERR)):
            cmd.fds[ext] = os.open(cmd.path(ext), os.O_RDONLY | nofollow)
            cmd.fds[ext + "_w"] = os.open(cmd.path(ext), os.O_WRONLY | nofollow)
            cmd.open_streams[stream] = cmd.fds[ext]
            self._sel.register(cmd.fds[ext], selectors.EVENT_READ, ("out", cmd, stream))
        cmd.fds["st"] = os.open(cmd.path("st"), os.O_RDONLY | nofollow)
        cmd.fds["st_w"] = os.open(cmd.path("st"), os.O_WRONLY | nofollow)
        self._sel.register(cmd.fds["st"], selectors.EVENT_READ, ("st", cmd))
        # Read-write: the shell's open for reading does not block, and input can be sent later.
        cmd.fds["in"] = os.open(cmd.path("in"), os.O_RDWR | nofollow)

    def _wrapper(self, cmd: Command) -> bytes:
        q = {ext: shlex.quote(cmd.path(ext)) for ext in ("sh", "in", "out", "err", "st")}
        # `I` says the command's stdin is open: an EOF asked for earlier is delivered only then
        # (closing the pipe's last writer before any reader opened it would lose the input).
        body = "{ command printf 'I\\n' >%(st)s; . %(sh)s; } <%(in)s >%(out)s 2>%(err)s" % q
        if cmd.run_async:
            # A subshell in the background; its EXIT trap reports even `exit N` and `set -e` exits.
            line = (
                '( __daytona_st=%(st)s; trap \'command printf "X %%s\\n" "$?" >"$__daytona_st"\' EXIT; ' % q
                + body
                + " ) & command printf 'P %%s\\n' \"$!\" >%(st)s\n" % q
            )
        else:
            line = body + "; command printf 'X %%s\\n' \"$?\" >%(st)s\n" % q
        return line.encode()

    def _spawn_shell(self, session: Session) -> None:
        argv = [self._bash, "--noprofile", "--norc", "-s"] if self._bash else ["/bin/sh", "-s"]
        kwargs: Dict[str, Any] = {}
        if os.getuid() == 0 and self.user.uid != 0:
            kwargs.update(user=self.user.uid, group=self.user.gid, extra_groups=self.user.groups)
        # Only the wrapper's own errors reach the shell's stdout/stderr: keep them for debugging.
        log_fd = os.open(os.path.join(session.path, "shell.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            proc = children.spawn(
                argv,
                cwd=self.user.home if os.path.isdir(self.user.home) else "/",
                env=user_env(self.user),
                stdin=subprocess.PIPE,
                stdout=log_fd,
                stderr=log_fd,
                **kwargs,
            )
        finally:
            os.close(log_fd)
        assert proc.stdin is not None
        session.shell = proc
        session.shell_fd = proc.stdin.fileno()
        os.set_blocking(session.shell_fd, False)
        session.shell_pids.add(proc.pid)
        session.outbuf.clear()
        try:
            session.pidfd = os.pidfd_open(proc.pid)
            self._sel.register(session.pidfd, selectors.EVENT_READ, ("shell", session))
        except (AttributeError, OSError):
            session.pidfd = None  # polled by the I/O loop instead

    def _pump(self, session: Session) -> None:
        """Hand queued commands to the shell: async ones at once, sync ones one at a time."""
        while session.queue and session.foreground is None and not session.deleted:
            if session.shell is None:
                try:
                    self._spawn_shell(session)
                except OSError as exc:  # e.g. the sandbox is out of processes
                    cmd = session.queue.popleft()
                    cmd.log.note("[cannot start the session's shell: %s]\n" % exc)
                    self._exited(cmd, 126)
                    continue
            cmd = session.queue.popleft()
            cmd.state = "running"
            session.outbuf += self._wrapper(cmd)
            if not cmd.run_async:
                session.foreground = cmd
        self._flush_shell(session)

    def _flush_shell(self, session: Session) -> None:
        fd = session.shell_fd
        if fd is None or not session.outbuf:
            return
        try:
            written = os.write(fd, session.outbuf)
            del session.outbuf[:written]
        except BlockingIOError:
            pass
        except OSError:  # the shell is gone: its exit is handled by _check_shell
            session.outbuf.clear()
        want = selectors.EVENT_WRITE if session.outbuf else 0
        key = self._sel.get_map().get(fd)
        if want and key is None:
            self._sel.register(fd, selectors.EVENT_WRITE, ("stdin", session))
        elif not want and key is not None:
            self._sel.unregister(fd)

    # -- the I/O loop ---------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            try:
                with self.lock:
                    timeout = self._next_timeout()
                events = self._sel.select(timeout)
                with self.lock:
                    for key, _ in events:
                        self._dispatch(key.data)
                    self._tick()
            except Exception:  # never let the I/O thread die
                traceback.print_exc(file=sys.stderr)
                time.sleep(0.05)

    def _next_timeout(self) -> float:
        wait = 1.0
        now = time.monotonic()
        for cmd in self.active:
            pending = []
            if cmd.exit_code is None:
                pending += [cmd.kill_deadline, None if cmd.timed_out else cmd.deadline]
            if cmd.state == "exited":
                pending.append(cmd.drain_deadline)
            for when in pending:
                if when is not None:
                    wait = min(wait, when - now)
        if any(s.shell is not None and s.pidfd is None for s in self.sessions.values()):
            wait = min(wait, 0.1)
        return max(wait, 0.0)

    def _dispatch(self, data: Tuple[Any, ...]) -> None:
        kind = data[0]
        if kind == "wake":
            try:
                while os.read(self._wake_r, 4096):
                    pass
            except BlockingIOError:
                pass
        elif kind == "out":
            self._on_output(data[1], data[2])
        elif kind == "st":
            self._on_status(data[1])
        elif kind == "stdin":
            self._flush_shell(data[1])
        elif kind == "shell":
            self._check_shell(data[1])

    def _on_output(self, cmd: Command, stream: int) -> None:
        fd = cmd.open_streams.get(stream)
        if fd is None:
            return
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close_stream(cmd, stream)
            if not cmd.open_streams:
                if cmd.state == "exited":
                    self._finish(cmd)
                elif cmd.done:
                    self._settle(cmd)
            return
        try:
            cmd.log.append(stream, data)
        except OSError as exc:  # disk full: keep draining, say so once
            if not cmd.log.truncated:
                cmd.log.truncated = True
                sys.stderr.write("daytona-agent: cannot write the log of %s: %s\n" % (cmd.id, exc))
        self.last_activity = time.time()
        self.changed.notify_all()

    def _on_status(self, cmd: Command) -> None:
        fd = cmd.fds.get("st")
        if fd is None:
            return
        try:
            data = os.read(fd, 4096)
        except (BlockingIOError, OSError):
            return
        cmd.status_buf += data
        while b"\n" in cmd.status_buf:
            line, _, cmd.status_buf = cmd.status_buf.partition(b"\n")
            kind, _, value = line.decode("ascii", "replace").partition(" ")
            if kind == "I":
                cmd.stdin_open = True
                if cmd.eof_pending:
                    self._close_fd(cmd, "in")
                continue
            try:
                number = int(value)
            except ValueError:
                continue
            if kind == "P":
                cmd.pid = number
                if cmd.kill_when_started:  # it timed out before we knew its pid
                    children.kill_tree(number)
                    self._exited(cmd, TIMEOUT_EXIT_CODE)
                if cmd.state in ("exited", "done"):
                    self._close_status(cmd)
            elif kind == "X":
                self._exited(cmd, number)

    def _tick(self) -> None:
        now = time.monotonic()
        for session in list(self.sessions.values()):
            if session.shell is not None and session.pidfd is None:
                self._check_shell(session)
        for cmd in list(self.active):
            if cmd.deadline is not None and now >= cmd.deadline and not cmd.timed_out and cmd.exit_code is None:
                self._time_out(cmd)
            if cmd.kill_deadline is not None and now >= cmd.kill_deadline and cmd.exit_code is None:
                cmd.kill_deadline = None
                shell = cmd.session.shell
                if shell is not None and cmd.session.foreground is cmd:
                    try:
                        os.kill(shell.pid, signal.SIGKILL)
                    except OSError:
                        pass
            if cmd.state == "exited" and cmd.drain_deadline is not None and now >= cmd.drain_deadline:
                self._finish(cmd)
            if cmd.state == "running" and cmd.run_async and cmd.pid is not None:
                self._check_alive(cmd, now)

    def _check_alive(self, cmd: Command, now: float) -> None:
        """An async subshell that vanished without reporting (killed from outside) is over too."""
        if cmd.pid is None or os.path.exists("/proc/%d" % cmd.pid):
            cmd.missing_since = None
            return
        if cmd.missing_since is None:
            cmd.missing_since = now
            self._on_status(cmd)
        elif now - cmd.missing_since > LIVENESS_INTERVAL_S:
            cmd.log.note("\n[the command's process disappeared without reporting an exit code]\n")
            self._exited(cmd, KILLED_EXIT_CODE)

    def _time_out(self, cmd: Command) -> None:
        cmd.timed_out = True
        session = cmd.session
        if cmd.state == "queued":
            session.queue.remove(cmd)
            cmd.log.note("[timed out after %gs while waiting for the session's running command]\n" % (cmd.timeout or 0))
            self._exited(cmd, TIMEOUT_EXIT_CODE)
            return
        cmd.log.note("\n[timed out after %gs: the command's processes were killed]\n" % (cmd.timeout or 0))
        if cmd.run_async:
            if cmd.pid is not None:
                children.kill_tree(cmd.pid)
                self._exited(cmd, TIMEOUT_EXIT_CODE)
            else:
                cmd.kill_when_started = True
            return
        shell = session.shell
        if shell is not None:
            asyncs = {c.pid for c in session.commands.values() if c.run_async and c.pid is not None}
            for child in children.child_pids(shell.pid):
                if child not in asyncs:
                    children.kill_tree(child)
        cmd.kill_deadline = time.monotonic() + KILL_GRACE_S

    def _check_shell(self, session: Session) -> None:
        shell = session.shell
        if shell is None or shell.poll() is None:
            return
        code = exit_code_of(shell.returncode)
        self._reap_shell(session)
        fg, session.foreground = session.foreground, None
        if fg is not None:
            if not fg.timed_out:
                fg.log.note("\n[the session's shell exited with code %d; the next command starts a new shell]\n" % code)
            self._exited(fg, code)
        for cmd in list(session.commands.values()):
            if "st" in cmd.fds and cmd.run_async and cmd.pid is None:
                self._on_status(cmd)  # what the shell wrote before it went
                if cmd.pid is None and cmd.state == "running":
                    cmd.log.note("[the session's shell exited before this command started]\n")
                    self._exited(cmd, KILLED_EXIT_CODE)
                if cmd.state in ("exited", "done"):
                    self._close_status(cmd)
        self._pump(session)

    def _reap_shell(self, session: Session) -> None:
        shell = session.shell
        if session.pidfd is not None:
            self._unregister(session.pidfd)
            os.close(session.pidfd)
            session.pidfd = None
        if session.shell_fd is not None:
            self._unregister(session.shell_fd)
            session.shell_fd = None
        if shell is not None:
            try:
                shell.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
            children.release(shell)
            if shell.stdin is not None:
                try:
                    shell.stdin.close()
                except OSError:
                    pass
        session.shell = None
        session.outbuf.clear()

    def _kill_session(self, session: Session) -> None:
        roots = [c.pid for c in session.commands.values() if c.pid is not None and not c.done]
        if session.shell is not None:
            roots.append(session.shell.pid)
        children.kill_sessions(set(session.shell_pids), roots)

    # -- ending commands ------------------------------------------------------------------------

    def _exited(self, cmd: Command, code: int) -> None:
        """The command's exit code is known; its output may still be in flight for a moment."""
        if cmd.state in ("exited", "done"):
            return
        if cmd.timed_out:
            code = TIMEOUT_EXIT_CODE
        cmd.exit_code = code
        cmd.ended_at = now_iso()
        cmd.state = "exited"
        cmd.drain_deadline = time.monotonic() + DRAIN_AFTER_EXIT_S
        cmd.kill_deadline = None
        for name in ("out_w", "err_w"):
            self._close_fd(cmd, name)
        if not self._awaiting_pid(cmd):
            self._close_status(cmd)
        session = cmd.session
        if session.foreground is cmd:
            session.foreground = None
            self._pump(session)
        if not cmd.open_streams:
            self._finish(cmd)
        self.changed.notify_all()

    def _awaiting_pid(self, cmd: Command) -> bool:
        """An async command can end before its shell has reported its pid (`P`, written after the
        fork): the status pipe must stay open until then, or the shell's open of it would block."""
        return cmd.run_async and cmd.pid is None and cmd.session.shell is not None and not cmd.session.deleted

    def _close_status(self, cmd: Command) -> None:
        self._close_fd(cmd, "st")
        self._close_fd(cmd, "st_w")
        if cmd.done and not cmd.session.deleted:
            try:
                os.unlink(cmd.path("st"))
            except OSError:
                pass

    def _finish(self, cmd: Command) -> None:
        """The command counts as complete: waiters return, followers end, its record is saved."""
        cmd.state = "done"
        cmd.drain_deadline = None
        self._close_fd(cmd, "in")
        self.active.discard(cmd)
        if not cmd.session.deleted:
            for ext in ("sh", "in", "out", "err", "st"):
                if ext == "st" and "st" in cmd.fds:
                    continue  # still waiting for the shell's `P` line
                try:
                    os.unlink(cmd.path(ext))
                except OSError:
                    pass
            save_command(cmd)
        self._settle(cmd)
        self._touch()
        self.changed.notify_all()

    def _settle(self, cmd: Command) -> None:
        """Once nothing writes to its pipes any more, close the log (and record a late truncation)."""
        if cmd.open_streams:
            return
        truncated_late = cmd.log.truncated
        cmd.log.close()
        if truncated_late and not cmd.session.deleted:
            save_command(cmd)

    def _close_stream(self, cmd: Command, stream: int) -> None:
        fd = cmd.open_streams.pop(stream, None)
        if fd is not None:
            self._unregister(fd)
            for name, value in list(cmd.fds.items()):
                if value == fd:
                    del cmd.fds[name]
            os.close(fd)

    def _close_fd(self, cmd: Command, name: str) -> None:
        fd = cmd.fds.pop(name, None)
        if fd is not None:
            self._unregister(fd)
            try:
                os.close(fd)
            except OSError:
                pass

    def _close_fds(self, cmd: Command) -> None:
        for stream in list(cmd.open_streams):
            self._close_stream(cmd, stream)
        for name in list(cmd.fds):
            self._close_fd(cmd, name)
        cmd.log.close()

    def _unregister(self, fd: int) -> None:
        if fd in self._sel.get_map():
            self._sel.unregister(fd)

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

    def _touch(self) -> None:
        self.last_activity = time.time()
