"""The process of one interpreter context: runs code it is sent in one persistent `__main__`.

The agent starts it as the sandbox user with the image's python3 (`python3 worker.py FD`): stdin
is /dev/null, stdout and stderr are pipes the agent streams to the caller as they are written
(so output of C code and child processes arrives too), and FD is a socket for the protocol, one
JSON object a line. In: `{"id", "code", "envs"?, "charts"?}`. Out: `{"event": "ready"}` once, then
per run (each event carries the run's id) `{"event": "error", name, value, traceback}`,
`{"event": "chart", "chart"}` and last `{"event": "done", "status": "completed"|"interrupted"}`;
the output is flushed before each event.

SIGINT raises KeyboardInterrupt in the running code only (the agent sends it at a timeout); the
state survives. Kept free of the agent's modules and runnable on older pythons than the agent's.
"""

import io
import json
import linecache
import os
import signal
import socket
import sys
import traceback
import types
from typing import Any, Dict, Optional

MAX_TRACEBACK_CHARS = 32 * 1024
MAX_VALUE_CHARS = 8 * 1024
MAX_CHART_BYTES = 3 * 1024 * 1024  # a message of the agent's toolbox relay may be 4 MiB at most
MAX_CHARTS_FILE_BYTES = 32 * 1024 * 1024
CHARTS_FILE_ENV = "DAYTONA_CHARTS_FILE"


def clip(text: str, limit: int) -> str:
    """`text` within `limit` characters, its middle cut out (a traceback's end says most)."""
    if len(text) <= limit:
        return text
    keep = limit // 4
    return "%s\n... [%d characters omitted] ...\n%s" % (text[:keep], len(text) - limit, text[-(limit - keep) :])


def describe(exc: BaseException, tb: Any) -> Dict[str, str]:
    """The error event of an exception the code raised, its traceback without this module's frame."""
    lines = traceback.format_exception(type(exc), exc, tb)
    return {
        "event": "error",
        "name": type(exc).__name__,
        "value": clip(str(exc), MAX_VALUE_CHARS),
        "traceback": clip("".join(lines), MAX_TRACEBACK_CHARS),
    }


class Worker:
    def __init__(self, channel: socket.socket) -> None:
        self.channel = channel
        self.commands = channel.makefile("rb")
        self.busy = False  # SIGINT interrupts only while the user's code runs
        self.runs = 0
        self.module = types.ModuleType("__main__")
        self.module.__dict__["__builtins__"] = __builtins__
        self.charts_file = os.environ.get(CHARTS_FILE_ENV) or ""

    def send(self, event: Dict[str, Any]) -> None:
        data = json.dumps(event, ensure_ascii=False, allow_nan=False).encode("utf-8") + b"\n"
        self.channel.sendall(data)

    def on_sigint(self, signum: int, frame: Any) -> None:
        if self.busy:
            raise KeyboardInterrupt("interrupted")

    def run(self, run_id: Any, code: str, envs: Optional[Dict[str, Optional[str]]], charts: bool) -> None:
        self.runs += 1
        name = "<cell-%d>" % self.runs
        # Registered so that tracebacks and inspect.getsource() show the code's own lines.
        linecache.cache[name] = (len(code), None, code.splitlines(True), name)
        saved = self.apply_env(envs)
        status, error = "completed", None
        try:
            try:
                signal.signal(signal.SIGINT, self.on_sigint)
                self.busy = True
                exec(compile(code, name, "exec"), self.module.__dict__)
            finally:
                self.busy = False
                signal.signal(signal.SIGINT, self.on_sigint)  # the code may have replaced it
        except KeyboardInterrupt:
            status = "interrupted"
        except SystemExit:
            pass  # as an interactive session would: the code ends, the context stays
        except BaseException as exc:
            tb = exc.__traceback__
            error = describe(exc, tb.tb_next if tb is not None and not isinstance(exc, SyntaxError) else None)
        finally:
            self.restore_env(saved)
        flush_output()
        if error is not None:
            self.send(dict(error, id=run_id))
        self.send_charts(run_id, charts)
        self.send({"event": "done", "id": run_id, "status": status})

    def apply_env(self, envs: Optional[Dict[str, Optional[str]]]) -> Dict[str, Optional[str]]:
        saved: Dict[str, Optional[str]] = {}
        for key, value in (envs or {}).items():
            saved[key] = os.environ.get(key)
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        return saved

    def restore_env(self, saved: Dict[str, Optional[str]]) -> None:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def send_charts(self, run_id: Any, wanted: bool) -> None:
        """Charts that matplotlib's `show()` recorded during the run (see code_charts.py); emptied each run."""
        if not self.charts_file:
            return
        try:
            with open(self.charts_file, "rb+") as fh:
                data = fh.read(MAX_CHARTS_FILE_BYTES + 1)
                fh.truncate(0)
        except OSError:
            return
        if not wanted or len(data) > MAX_CHARTS_FILE_BYTES:
            return
        for line in data.splitlines():
            if len(line) > MAX_CHART_BYTES:
                continue
            try:
                chart = json.loads(line.decode("utf-8"))
            except ValueError:
                continue
            if isinstance(chart, dict):
                self.send({"event": "chart", "id": run_id, "chart": chart})

    def serve(self) -> None:
        self.send({"event": "ready", "pid": os.getpid()})
        while True:
            try:
                line = self.commands.readline()
            except KeyboardInterrupt:
                continue
            if not line:
                return  # the agent closed the channel: the context is gone
            run_id = None
            try:
                command = json.loads(line.decode("utf-8"))
                run_id, code, envs = command.get("id"), command["code"], command.get("envs")
                charts = bool(command.get("charts"))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                self.send({"event": "error", "id": run_id, "name": "ProtocolError", "value": str(exc), "traceback": ""})
                self.send({"event": "done", "id": run_id, "status": "completed"})
                continue
            while True:
                try:
                    self.run(run_id, code, envs, charts)
                    break
                except KeyboardInterrupt:
                    # Landed in this module after the code ended: report the end (again; the agent
                    # takes the first `done` of a run and ignores the rest).
                    try:
                        self.send({"event": "done", "id": run_id, "status": "interrupted"})
                        break
                    except KeyboardInterrupt:
                        continue


def flush_output() -> None:
    """Push what the code printed into the pipes, so the agent has it before the next event."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            pass


def line_buffered(stream: Any, fd: int) -> Any:
    """`stream` flushing at each newline, as on a terminal (print, then sleep: the line shows); also
    under PYTHONUNBUFFERED, which would send `print`'s text and its newline as two messages."""
    try:
        stream.reconfigure(line_buffering=True, write_through=False)
        return stream
    except (AttributeError, ValueError):
        return io.TextIOWrapper(open(fd, "wb", closefd=False), encoding="utf-8", line_buffering=True)


def main() -> None:
    channel = socket.socket(fileno=int(sys.argv[1]))
    channel.set_inheritable(False)  # child processes of the code must not hold the protocol open
    # sys.path[0] is this file's private directory: make it the working directory, as `python3 -c` does.
    if sys.path and sys.path[0] == os.path.dirname(os.path.abspath(__file__)):
        sys.path[0] = ""
    sys.stdout = line_buffered(sys.stdout, 1)
    sys.stderr = line_buffered(sys.stderr, 2)
    worker = Worker(channel)
    sys.modules["__main__"] = worker.module  # pickle and multiprocessing find the code's functions
    signal.signal(signal.SIGINT, worker.on_sigint)
    worker.serve()


if __name__ == "__main__":
    main()
