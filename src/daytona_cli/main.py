"""`daytona` entry point. Exit codes: 0 success, 1 the operation failed, 2 usage error.

Errors are one line on stderr; `--debug` shows the traceback instead.
"""

from __future__ import annotations

import sys
import webbrowser
from pathlib import Path
from typing import Any

import click

from daytona_sdk import DaytonaError
from daytona_server import __version__

from . import account, completion, image, sandbox, shell

DOCS_URL = "https://www.daytona.io/docs"


class DaytonaGroup(click.Group):
    """Turns SDK errors into one readable line and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DaytonaError as exc:
            if ctx.meta.get("debug"):
                raise
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)


@click.group(cls=DaytonaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-v", "--version", prog_name="daytona")
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Daytona-compatible sandboxes for AI agents: run the server, manage sandboxes and images."""
    ctx.meta["debug"] = debug


@cli.command()
def version() -> None:
    """Print the version."""
    click.echo(f"daytona {__version__}")


@cli.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1, env DAYTONA_HOST).")
@click.option("--port", type=int, default=None, help="Port to listen on (default 3000, env DAYTONA_PORT).")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the database, keys and archives live (env DAYTONA_DATA_DIR).",
)
def server(host: str | None, port: int | None, data_dir: Path | None) -> None:
    """Run the sandbox server (REST API under /api)."""
    from daytona_server.config import Settings
    from daytona_server.main import run_server

    settings = Settings.from_env()
    if host:
        settings.host = host
    if port:
        settings.port = port
    if data_dir:
        settings.data_dir = data_dir
    run_server(settings)


@cli.command()
def docs() -> None:
    """Open the documentation in a browser, or print where it is."""
    readme = Path(__file__).resolve().parents[2] / "README.md"
    location = readme.as_uri() if readme.is_file() else DOCS_URL
    opened = False
    if sys.stdout.isatty():
        try:
            opened = webbrowser.open(location)
        except webbrowser.Error:
            opened = False
    click.echo(f"{'Opened' if opened else 'Documentation'}: {location}")


cli.add_command(account.login)
cli.add_command(account.logout)
sandbox.sandbox.add_command(shell.exec_command)
sandbox.sandbox.add_command(shell.ssh)
cli.add_command(sandbox.sandbox)
cli.add_command(image.image)
cli.add_command(completion.autocomplete)


def main() -> None:
    cli(prog_name="daytona")


if __name__ == "__main__":
    main()
