"""`daytona` entry point."""

from __future__ import annotations

from pathlib import Path

import click

from daytona_server import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-v", "--version", prog_name="daytona")
def cli() -> None:
    """Daytona-compatible sandboxes for AI agents: run the server, manage sandboxes."""


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


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
