"""`daytona sandbox exec` and `daytona sandbox ssh`: a command, or an interactive shell, in a sandbox."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from typing import TextIO

import click

from daytona_sdk import ProcessExecutionError

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
