"""`daytona sandbox ...`: create, list, inspect, start, stop and delete sandboxes."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import click
from rich.table import Table

from daytona_sdk import (
    CreateWorkspaceParams,
    Daytona,
    DaytonaError,
    Workspace,
    WorkspaceResources,
    WorkspaceState,
)

from ._common import FORMAT_OPTION, client, emit, err, interactive, parse_pairs, pick


def to_dict(workspace: Workspace, verbose: bool = False) -> dict[str, Any]:
    """The stable machine-readable shape of a sandbox (`--format json|yaml`)."""
    info = workspace.instance
    data: dict[str, Any] = {
        "id": info.id,
        "name": info.name,
        "state": str(info.state),
        "image": info.image,
        "user": info.user,
        "target": info.target,
        "class": info.class_name,
        "cpu": int(info.resources.cpu),
        "memory": int(info.resources.memory.removesuffix("Gi")),
        "disk": int(info.resources.disk.removesuffix("Gi")),
        "gpu": int(info.resources.gpu or 0),
        "labels": info.labels,
        "public": info.public,
        "autoStopInterval": info.auto_stop_interval,
        "autoArchiveInterval": info.auto_archive_interval,
        "createdAt": info.created,
        "errorReason": info.error_reason,
        "progress": info.progress,
    }
    if info.network is not None:
        data["network"] = {
            "blockAll": info.network.block_all,
            "allowList": info.network.allow_list,
            "domainAllowList": info.network.domain_allow_list,
            "refused": info.network.refused,
        }
    if verbose:
        data["env"] = info.env
        data["updatedAt"] = info.updated_at
        data["nodeDomain"] = info.node_domain
        data["providerMetadata"] = json.loads(info.provider_metadata or "{}")
    return data


def _table(rows: list[dict[str, Any]]) -> Table:
    table = Table(box=None, header_style="bold")
    for column in ("ID", "NAME", "STATE", "IMAGE", "TARGET", "CPU", "MEMORY", "DISK", "CREATED"):
        table.add_column(column)
    for row in rows:
        state = row["state"] + (f" ({row['progress']})" if row.get("progress") else "")
        table.add_row(
            row["id"], row["name"], state, row["image"], row["target"], str(row["cpu"]),
            f"{row['memory']} GB", f"{row['disk']} GB", row["createdAt"][:19].replace("T", " "),
        )  # fmt: skip
    return table


def _resolve(daytona: Daytona, sandbox_id: str | None, what: str = "sandbox") -> Workspace:
    if sandbox_id:
        return daytona.get_current_workspace(sandbox_id)
    workspaces = daytona.list()
    return pick(workspaces, lambda w: f"{w.id}  {w.instance.name}  {w.instance.state}", what)


def _targets(daytona: Daytona, sandbox_id: str | None, all_: bool) -> list[Workspace]:
    if all_ and sandbox_id:
        raise click.UsageError("give an ID or --all, not both")
    if all_:
        return daytona.list()
    return [_resolve(daytona, sandbox_id)]


@click.group("sandbox")
def sandbox() -> None:
    """Create and manage sandboxes."""


@sandbox.command("create")
@click.option("--auto-stop", type=click.IntRange(min=0), help="Minutes idle before auto-stop (0 = never).")
@click.option("--class", "class_name", type=click.Choice(["small", "medium", "large"]), help="Resource preset.")
@click.option("--cpu", type=click.IntRange(min=1), help="CPU cores.")
@click.option("--disk", type=click.IntRange(min=1), help="Disk in GB.")
@click.option("--env", "-e", "env", multiple=True, metavar="KEY=VALUE", help="Environment variable (repeatable).")
@click.option("--gpu", type=click.IntRange(min=0), help="GPUs.")
@click.option("--image", help="Image (default: the server's default sandbox image).")
@click.option("--label", "-l", "labels", multiple=True, metavar="KEY=VALUE", help="Label (repeatable).")
@click.option("--memory", type=click.IntRange(min=1), help="Memory in MB (rounded up to whole GB).")
@click.option("--name", help="Display name (default: the ID).")
@click.option("--network-block-all", is_flag=True, help="No network at all (only loopback).")
@click.option("--network-allow-list", metavar="CIDRS", help="Comma-separated IPv4 CIDRs, the only ones reachable.")
@click.option("--domain-allow-list", metavar="DOMAINS", help="Comma-separated domains, the only ones reachable.")
@click.option("--public", is_flag=True, help="Make preview links public.")
@click.option("--target", type=click.Choice(["eu", "us", "asia"]), help="Region (default: DAYTONA_TARGET or us).")
@click.option("--user", help="OS user inside the sandbox (default: daytona).")
@click.option("--language", type=click.Choice(["python", "typescript", "javascript"]), default="python")
@click.option("--id", "sandbox_id", help="ID of the new sandbox (default: generated).")
@click.option("--timeout", type=click.FloatRange(min=0), default=60, show_default=True, help="Seconds to wait.")
def create(
    auto_stop: int | None, class_name: str | None, cpu: int | None, disk: int | None, env: tuple[str, ...],
    gpu: int | None, image: str | None, labels: tuple[str, ...], memory: int | None, name: str | None,
    network_block_all: bool, network_allow_list: str | None, domain_allow_list: str | None, public: bool,
    target: str | None, user: str | None, language: str, sandbox_id: str | None, timeout: float,
) -> None:  # fmt: skip
    """Create a sandbox and print its ID."""
    env_vars = parse_pairs(env, "--env")
    label_map = parse_pairs(labels, "--label")
    resources = None
    if cpu or memory or disk or gpu is not None:
        resources = WorkspaceResources(cpu=cpu, memory=math.ceil(memory / 1024) if memory else None, disk=disk, gpu=gpu)
    params = CreateWorkspaceParams.model_validate(
        {
            "language": language, "id": sandbox_id, "name": name, "image": image, "os_user": user,
            "env_vars": env_vars or None, "labels": label_map or None, "public": public or None, "target": target,
            "resources": resources, "auto_stop_interval": auto_stop, "class_name": class_name,
            "network_block_all": network_block_all or None, "network_allow_list": network_allow_list,
            "domain_allow_list": domain_allow_list,
        }
    )  # fmt: skip
    with client() as daytona, err.status("Creating sandbox…"):
        workspace = daytona.create(params, timeout=timeout)
    click.echo(workspace.id)


@sandbox.command("list")
@FORMAT_OPTION
@click.option("--label", "-l", "labels", multiple=True, metavar="KEY=VALUE", help="Only sandboxes with this label.")
def list_(fmt: str, labels: tuple[str, ...]) -> None:
    """List sandboxes."""
    with client() as daytona:
        rows = [to_dict(w) for w in daytona.list(labels=parse_pairs(labels, "--label") or None)]
    emit(rows, fmt, lambda: _table(rows))


@sandbox.command("info")
@click.argument("sandbox_id", required=False, metavar="[ID]")
@FORMAT_OPTION
@click.option("--verbose", "-v", is_flag=True, help="Include environment and provider metadata.")
def info(sandbox_id: str | None, fmt: str, verbose: bool) -> None:
    """Show a sandbox."""
    with client() as daytona:
        data = to_dict(_resolve(daytona, sandbox_id), verbose)

    def table() -> Table:
        grid = Table.grid(padding=(0, 2))
        for key, value in data.items():
            grid.add_row(f"[bold]{key}[/bold]", json.dumps(value) if isinstance(value, dict | list) else str(value))
        return grid

    emit(data, fmt, table)


WAIT_OPTIONS = [
    click.option("--all", "-a", "all_", is_flag=True, help="All sandboxes."),
    click.option("--wait/--no-wait", default=True, show_default=True, help="Wait for the target state."),
    click.option(
        "--timeout", type=click.FloatRange(min=0), default=300, show_default=True, help="Seconds (0 = no limit)."
    ),
]  # fmt: skip


def _with(options: list[Any]) -> Any:
    def decorate(func: Any) -> Any:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def _wait(workspace: Workspace, wanted: WorkspaceState, timeout: float) -> None:
    """Poll until `wanted`, showing the server's progress (restores report it)."""
    deadline = time.monotonic() + timeout if timeout else None
    with err.status(f"{workspace.id}: waiting for {wanted.value}…") as status:
        while True:
            info = workspace.info()
            if info.state == wanted:
                return
            if info.state == WorkspaceState.ERROR:
                raise DaytonaError(f"sandbox {workspace.id} failed: {info.error_reason}")
            if deadline is not None and time.monotonic() > deadline:
                raise DaytonaError(f"sandbox {workspace.id} is still {info.state} after {timeout:g}s")
            status.update(f"{workspace.id}: {info.progress or info.state}…")
            time.sleep(0.5)


@sandbox.command("start")
@click.argument("sandbox_id", required=False, metavar="[ID]")
@_with(WAIT_OPTIONS)
def start(sandbox_id: str | None, all_: bool, wait: bool, timeout: float) -> None:
    """Start a sandbox (an archived one is restored)."""
    with client() as daytona:
        for workspace in _targets(daytona, sandbox_id, all_):
            if all_ and workspace.instance.state == WorkspaceState.STARTED:
                continue
            workspace.start(timeout=timeout, wait=False)
            if wait:
                _wait(workspace, WorkspaceState.STARTED, timeout)
            err.print(f"{workspace.id}: started" if wait else f"{workspace.id}: starting")


@sandbox.command("stop")
@click.argument("sandbox_id", required=False, metavar="[ID]")
@_with(WAIT_OPTIONS)
def stop(sandbox_id: str | None, all_: bool, wait: bool, timeout: float) -> None:
    """Stop a sandbox; its filesystem is kept."""
    with client() as daytona:
        for workspace in _targets(daytona, sandbox_id, all_):
            if all_ and workspace.instance.state != WorkspaceState.STARTED:
                continue
            workspace.stop(timeout=timeout, wait=False)
            if wait:
                _wait(workspace, WorkspaceState.STOPPED, timeout)
            err.print(f"{workspace.id}: stopped")


@sandbox.command("archive")
@click.argument("sandbox_id", required=False, metavar="[ID]")
@_with(WAIT_OPTIONS)
def archive(sandbox_id: str | None, all_: bool, wait: bool, timeout: float) -> None:
    """Move a stopped sandbox's changes to object storage."""
    with client() as daytona:
        for workspace in _targets(daytona, sandbox_id, all_):
            if all_ and workspace.instance.state != WorkspaceState.STOPPED:
                continue
            workspace.archive()
            if wait:
                _wait(workspace, WorkspaceState.ARCHIVED, timeout)
            err.print(f"{workspace.id}: archived" if wait else f"{workspace.id}: archiving")


@sandbox.command("delete")
@click.argument("sandbox_id", required=False, metavar="[ID]")
@click.option("--all", "-a", "all_", is_flag=True, help="All sandboxes.")
@click.option("--force", "-f", is_flag=True, help="Do not ask for confirmation (--all in a terminal asks).")
def delete(sandbox_id: str | None, all_: bool, force: bool) -> None:
    """Delete sandboxes and everything in them.

    As the reference CLI: an ID is deleted at once; `--all` asks first when run in a terminal.
    """
    with client() as daytona:
        targets = _targets(daytona, sandbox_id, all_)
        if not targets:
            err.print("no sandboxes to delete")
            return
        if all_ and not force and interactive():
            names = ", ".join(w.id for w in targets)
            click.confirm(f"Delete {names}?", abort=True, err=True)
        for workspace in targets:
            daytona.remove(workspace)
            err.print(f"{workspace.id}: deleted")
