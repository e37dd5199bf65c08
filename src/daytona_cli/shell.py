"""`daytona sandbox exec` and `daytona sandbox ssh`: a command, or an interactive shell, in a sandbox."""

from __future__ import annotations

import os
import secrets
import shlex
import signal
import sys
import termios
import threading
import tty
from collections.abc import Callable
from typing import TextIO

import click

from daytona_sdk import DaytonaError, ProcessExecutionError, PtyHandle, PtySize

from ._common import client, parse_pairs


def _write(stream: TextIO) -> Callable[[str], None]:
    def write(text: str) -> None:
        stream.write(text)
        stream.flush()

    return write


@click.command("exec")
@click.argument("sandbox_id", metavar="ID")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED, metavar="-- COMMAND...")
@click.option("--cwd", help="Working directory (default: the sandbox user's home).")
@click.option("--env", "-e", "env", multiple=True, metavar="KEY=VALUE", help="Environment variable (repeatable).")
@click.option("--timeout", type=click.FloatRange(min=0), default=0, help="Seconds before it is killed (0 = none).")
def exec_command(
    sandbox_id: str, command: tuple[str, ...], cwd: str | None, env: tuple[str, ...], timeout: float
) -> None:
    """Run COMMAND in the sandbox: its output streams here, its exit code is this command's.

    One argument runs through the shell as written (`exec ID 'ls | wc -l'`); several are quoted
    for it (`exec ID -- ls -la /tmp`: after `--`, options are the command's).
    """
    line = command[0] if len(command) == 1 else shlex.join(command)
    variables = parse_pairs(env, "--env")
    with client() as daytona:
        workspace = daytona.get_current_workspace(sandbox_id)
        try:
            result = workspace.process.exec(
                line,
                cwd=cwd,
                env=variables or None,
                timeout=timeout or None,
                on_stdout=_write(sys.stdout),
                on_stderr=_write(sys.stderr),
            )
        except ProcessExecutionError as exc:  # a timeout: the output so far was already shown
            click.echo(f"error: {exc}", err=True)
            sys.exit(124)
    sys.exit(result.exit_code)


@click.command("ssh")
@click.argument("sandbox_id", metavar="ID")
@click.option("--cwd", help="Directory to start in (default: the sandbox user's home).")
def ssh(sandbox_id: str, cwd: str | None) -> None:
    """An interactive shell in the sandbox, in this terminal: raw keys, window resizes, its exit code.

    The shell is a terminal of the sandbox's (a PTY): the connection ending (Ctrl-D or `exit`)
    ends it; its exit code is this command's.
    """
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise click.UsageError("ssh needs a terminal: run commands without one with `daytona sandbox exec ID -- CMD`")
    rows, cols = _size()
    # Blocked before any thread starts (the WebSocket client's too), so only sigtimedwait takes it.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGWINCH})
    with client() as daytona:
        workspace = daytona.get_current_workspace(sandbox_id)
        handle = workspace.process.create_pty_session(
            f"cli-{secrets.token_hex(4)}", cwd=cwd, pty_size=PtySize(rows=rows, cols=cols)
        )
        code = _interact(handle)
    sys.exit(code)


def _size() -> tuple[int, int]:
    """(rows, cols) of this terminal, as the terminal says (not $LINES/$COLUMNS, which go stale)."""
    try:
        size = os.get_terminal_size(sys.stdout.fileno())
    except OSError:
        return 24, 80
    return max(1, size.lines), max(1, size.columns)


def _interact(handle: PtyHandle) -> int:
    """Keys to the terminal, its output to ours, until the shell exits; returns its exit code.

    Output and keys have a thread each; this one waits for window resizes (SIGWINCH, blocked in
    every thread by `ssh` and taken here with sigtimedwait, so no handler runs inside a blocking call).
    """
    stdin = sys.stdin.fileno()
    saved = termios.tcgetattr(stdin)

    def keys() -> None:
        while True:
            try:
                data = os.read(stdin, 65536)
                if not data:
                    return
                handle.send_input(data)
            except (OSError, DaytonaError):
                return

    def output() -> None:
        for data in handle:
            os.write(sys.stdout.fileno(), data)

    tty.setraw(stdin)
    try:
        threading.Thread(target=keys, name="ssh-keys", daemon=True).start()
        shown = threading.Thread(target=output, name="ssh-output", daemon=True)
        shown.start()
        while shown.is_alive():
            if signal.sigtimedwait({signal.SIGWINCH}, 0.2) is not None:
                rows, cols = _size()
                try:
                    handle.resize(PtySize(rows=rows, cols=cols))
                except DaytonaError:
                    pass  # the shell has ended meanwhile
    finally:
        termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGWINCH})
    if handle.exit_code is None:
        click.echo(f"\nerror: the connection to the terminal ended: {handle.error or 'unknown reason'}", err=True)
        return 255
    return handle.exit_code
