"""Session and command records, and how they are kept on disk for the next agent run.

A session is a directory (root-owned, group of the sandbox user) holding `session.json` and, per
command, `<id>.json` (its record), `<id>.log` / `<id>.idx` (its output, see `session_log`), and
while it runs, its command file and named pipes.
"""

from __future__ import annotations

import collections
import json
import os
import re
import subprocess
import sys
from datetime import datetime, timezone
from urllib.parse import quote

from .http import HttpError
from .session_log import CommandLog

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Deque, Dict, List, Optional, Set

KILLED_EXIT_CODE = 137  # 128 + SIGKILL, as shells report it
MAX_SESSION_ID = 256
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
# Session ids travel in URL paths, through a proxy that decodes them: keep them unambiguous.
_SESSION_ID = re.compile(r"^[A-Za-z0-9_.~:@+=,-]+$")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def exit_code_of(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def check_session_id(session_id: Any) -> str:
    if not isinstance(session_id, str) or not session_id:
        raise HttpError(400, "sessionId must be a non-empty string")
    if len(session_id) > MAX_SESSION_ID:
        raise HttpError(400, "sessionId must be at most %d characters" % MAX_SESSION_ID)
    if not _SESSION_ID.match(session_id):
        raise HttpError(400, "sessionId may only contain letters, digits and . _ ~ : @ + = , -")
    return session_id


def finished_error(message: str) -> HttpError:
    """Input for a command that has ended: 409 for 0.14, 410 (Gone) for today's SDK."""
    return HttpError(409, message, code="COMMAND_ALREADY_COMPLETED", current_status=410)


def dirname_for(session_id: str) -> str:
    """A directory name for a session id: readable when the id is plain, a digest otherwise."""
    if _SAFE_NAME.match(session_id):
        return "s-" + session_id
    import hashlib  # rare: not worth its memory in every agent with sessions

    digest = hashlib.sha256(session_id.encode("utf-8", errors="surrogatepass")).hexdigest()[:16]
    return "q-%s-%s" % (quote(session_id, safe="")[:180].replace("%", "_"), digest)


class Command:
    """One command of a session: its record, its log, and while it runs, its pipes."""

    def __init__(self, session: Session, cid: str, text: str, run_async: bool, seq: int, log: CommandLog) -> None:
        self.session = session
        self.id = cid
        self.command = text
        self.run_async = run_async
        self.seq = seq
        self.log = log
        self.started_at = now_iso()
        self.ended_at: Optional[str] = None
        self.exit_code: Optional[int] = None
        self.timed_out = False
        self.timeout: Optional[float] = None
        # queued -> running -> exited (exit code known, output draining) -> done
        self.state = "done"
        self.fds: Dict[str, int] = {}
        self.open_streams: Dict[int, int] = {}
        self.pid: Optional[int] = None  # the background subshell of an async command
        self.deadline: Optional[float] = None
        self.kill_deadline: Optional[float] = None
        self.drain_deadline: Optional[float] = None
        self.missing_since: Optional[float] = None
        self.kill_when_started = False
        self.stdin_open = False  # the shell has opened the command's stdin pipe
        self.eof_pending = False
        self.status_buf = b""

    def path(self, ext: str) -> str:
        return os.path.join(self.session.path, "%s.%s" % (self.id, ext))

    @property
    def done(self) -> bool:
        return self.state == "done"

    def to_api(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "command": self.command,
            "exitCode": self.exit_code,
            "async": self.run_async,
            "startedAt": self.started_at,
            "endedAt": self.ended_at,
            "timedOut": self.timed_out,
            "logSize": self.log.size,
            "truncated": self.log.truncated,
        }

    def meta(self) -> Dict[str, Any]:
        data = self.to_api()
        data.update(seq=self.seq, timeout=self.timeout)
        data.pop("logSize")
        return data


class Session:
    def __init__(self, session_id: str, path: str, created_at: str) -> None:
        self.id = session_id
        self.path = path
        self.created_at = created_at
        self.commands: Dict[str, Command] = collections.OrderedDict()
        self.queue: Deque[Command] = collections.deque()
        self.foreground: Optional[Command] = None
        self.shell: Optional[subprocess.Popen] = None
        self.shell_fd: Optional[int] = None
        self.pidfd: Optional[int] = None
        self.outbuf = bytearray()
        self.shell_pids: Set[int] = set()
        self.deleted = False
        self.next_seq = 0

    def to_api(self) -> Dict[str, Any]:
        return {
            "sessionId": self.id,
            "commands": [c.to_api() for c in self.commands.values()],
            "createdAt": self.created_at,
        }


def save_command(cmd: Command) -> None:
    try:
        write_json(cmd.path("json"), cmd.meta())
    except OSError as exc:
        sys.stderr.write("daytona-agent: cannot save command %s: %s\n" % (cmd.id, exc))


def load_sessions(root: str) -> List[Session]:
    """Sessions of a previous agent run, oldest first: listed again, their logs readable; nothing runs."""
    sessions = []
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        try:
            with open(os.path.join(path, "session.json")) as fh:
                info = json.load(fh)
            session = Session(check_session_id(info["sessionId"]), path, str(info.get("createdAt") or ""))
        except (OSError, ValueError, KeyError, HttpError):
            continue
        metas = []
        for entry in os.listdir(path):
            full = os.path.join(path, entry)
            if entry.endswith((".sh", ".in", ".out", ".err", ".st", ".tmp")):
                os.unlink(full)
            elif entry.endswith(".json") and entry != "session.json":
                try:
                    with open(full) as fh:
                        metas.append(json.load(fh))
                except (OSError, ValueError):
                    continue
        for meta in sorted(metas, key=lambda m: m.get("seq", 0)):
            _load_command(session, meta)
        sessions.append(session)
    return sorted(sessions, key=lambda s: s.created_at)


def _load_command(session: Session, meta: Dict[str, Any]) -> None:
    cid = str(meta.get("id", ""))
    if not cid or "/" in cid:
        return
    log = CommandLog(os.path.join(session.path, cid + ".log"), os.path.join(session.path, cid + ".idx"), 0)
    cmd = Command(session, cid, str(meta.get("command", "")), bool(meta.get("async")), int(meta.get("seq", 0)), log)
    cmd.started_at = str(meta.get("startedAt") or "")
    cmd.ended_at = meta.get("endedAt")
    cmd.exit_code = meta.get("exitCode")
    cmd.timed_out = bool(meta.get("timedOut"))
    cmd.timeout = meta.get("timeout")
    log.truncated = bool(meta.get("truncated"))
    if cmd.exit_code is None:
        log.note("\n[interrupted: the sandbox stopped while the command ran (killed, exit code 137)]\n")
        log.close()
        cmd.exit_code = KILLED_EXIT_CODE
        cmd.ended_at = now_iso()
        save_command(cmd)
    log.load()
    session.commands[cid] = cmd
    session.next_seq = max(session.next_seq, cmd.seq + 1)


def write_json(path: str, data: Dict[str, Any]) -> None:
    """Replace `path` atomically (a crash leaves the old or the new record, never half of one)."""
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    os.replace(tmp, path)
