"""What every command shares: the SDK client, output formats, KEY=VALUE options, picking a sandbox."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import click
import yaml
from rich.console import Console
from rich.table import Table

from daytona_sdk import Daytona, DaytonaConfig

# Tables piped to a file or another program are not cut to 80 columns.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 250)
err = Console(stderr=True)

T = TypeVar("T")

FORMAT_OPTION = click.option(
    "--format", "-f", "fmt", type=click.Choice(["table", "json", "yaml"]), default="table", show_default=True,
    help="Output format; json and yaml are stable for scripts.",
)  # fmt: skip


def client() -> Daytona:
    """The SDK client, configured from the environment, .env or `daytona login`."""
    return Daytona(DaytonaConfig())


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def parse_pairs(values: Iterable[str], option: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint=option)
        pairs[key] = val
    return pairs


def emit(data: Any, fmt: str, table: Callable[[], Table] | None = None) -> None:
    """Print `data` as JSON or YAML, or the given Rich table."""
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, sort_keys=True))
    elif fmt == "yaml":
        click.echo(yaml.safe_dump(data, sort_keys=True).rstrip())
    elif table is not None:
        out.print(table())
    else:
        click.echo(yaml.safe_dump(data, sort_keys=True).rstrip())


def pick(items: Sequence[T], label: Callable[[T], str], what: str) -> T:
    """Let the user choose one of `items` in a terminal; fail clearly without one."""
    if not interactive():
        raise click.UsageError(f"{what} ID is required when not running in a terminal")
    if not items:
        raise click.ClickException(f"there is no {what} to choose from")
    for number, item in enumerate(items, 1):
        err.print(f"  [bold]{number}[/bold]  {label(item)}")
    choice = click.prompt(f"Choose a {what}", type=click.IntRange(1, len(items)), err=True)
    return items[choice - 1]
