"""`daytona image ...`: build or push images to the server's runner, list and delete them."""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from pathlib import Path

import click
from rich.table import Table

from daytona_sdk import Daytona, DaytonaError, DaytonaNotFoundError, Image

from ._common import FORMAT_OPTION, client, emit, err, interactive, pick


@click.group("image")
def image() -> None:
    """Build, push, list and delete sandbox images."""


@image.command("push")
@click.argument("image_name", metavar="IMAGE")
@click.option(
    "--dockerfile",
    "-f",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Build IMAGE from this Dockerfile (its directory is the build context) on the server.",
)
@click.option("--entrypoint", "-e", help="Command the sandbox runs in the background at every start.")
def push(image_name: str, dockerfile: Path | None, entrypoint: str | None) -> None:  # fmt: skip
    """Make IMAGE available to sandboxes: build it from a Dockerfile, or upload it from local Docker."""
    with client() as daytona:
        if dockerfile is not None:
            result = _build(daytona, image_name, dockerfile, entrypoint)
        else:
            result = _push_local(daytona, image_name, entrypoint)
    err.print(f"{result.name}: {result.state} ({result.size or 0:.2f} GB)")
    click.echo(result.id)


def _build(daytona: Daytona, name: str, dockerfile: Path, entrypoint: str | None) -> Image:
    lines: list[str] = []
    with err.status(f"Building {name}…") as status:

        def on_log(text: str) -> None:
            for line in text.splitlines():
                if line.strip():
                    lines.append(line)
                    if interactive():
                        status.update(f"Building {name}: {line.strip()[:100]}")
                    else:
                        err.print(line, markup=False, highlight=False)

        try:
            image = daytona.images.build(name, dockerfile.parent, dockerfile.name, entrypoint, on_log)
        except DaytonaError:
            if interactive():  # show the end of the log with the error
                for line in lines[-15:]:
                    err.print(line, markup=False, highlight=False)
            raise
    return image


def _push_local(daytona: Daytona, name: str, entrypoint: str | None) -> Image:
    """Upload `docker save` of a local image, unless the server's engine has it already."""
    try:
        return daytona.images.register(name, entrypoint)
    except DaytonaError as exc:
        if "not on the runner" not in str(exc):
            raise
    try:
        import docker

        local = docker.from_env().images.get(name)
    except Exception as exc:
        raise DaytonaError(f"image {name} is neither on the server nor in local Docker ({exc})") from None
    with tempfile.TemporaryFile() as tarball, err.status(f"Saving {name}…") as status:
        for chunk in local.save(named=True):
            tarball.write(chunk)
        size = tarball.tell()
        tarball.seek(0)
        status.update(f"Uploading {name} ({size / 1024**2:.0f} MB)…")
        return daytona.images.push(name, tarball, size=size, entrypoint=entrypoint)


def _row(image: Image) -> dict[str, object]:
    return asdict(image)


@image.command("list")
@FORMAT_OPTION
def list_(fmt: str) -> None:
    """List images."""
    with client() as daytona:
        rows = [_row(i) for i in daytona.images.list()]

    def table() -> Table:
        grid = Table(box=None, header_style="bold")
        for column in ("ID", "NAME", "STATE", "ENABLED", "SIZE", "ENTRYPOINT", "CREATED"):
            grid.add_column(column)
        for row in rows:
            grid.add_row(
                str(row["id"]), str(row["name"]), str(row["state"]), "yes" if row["enabled"] else "no",
                f"{row['size'] or 0:.2f} GB", str(row["entrypoint"] or ""), str(row["created_at"])[:19],
            )  # fmt: skip
        return grid

    emit(rows, fmt, table)


@image.command("delete")
@click.argument("image_id", required=False, metavar="[IMAGE]")
@click.option("--all", "-a", "all_", is_flag=True, help="All images.")
def delete(image_id: str | None, all_: bool) -> None:
    """Delete images, by ID or name (not while sandboxes use them)."""
    with client() as daytona:
        if all_ and image_id:
            raise click.UsageError("give an IMAGE (ID or name) or --all, not both")
        if all_:
            targets = daytona.images.list()
        elif image_id:
            targets = [_by_id_or_name(daytona, image_id)]
        else:
            targets = [pick(daytona.images.list(), lambda i: f"{i.id}  {i.name}", "image")]
        for target in targets:
            daytona.images.delete(target.id)
            err.print(f"{target.name}: deleted")


def _by_id_or_name(daytona: Daytona, wanted: str) -> Image:
    try:
        return daytona.images.get(wanted)
    except DaytonaNotFoundError:
        named = [i for i in daytona.images.list() if i.name in (wanted, f"{wanted}:latest")]
        if not named:
            raise DaytonaNotFoundError(f"image {wanted} not found (neither an ID nor one of your names)", 404) from None
        return named[0]
