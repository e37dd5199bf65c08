"""Sandbox lifecycle routes, `/api/workspace/...` as `daytona_api_client` 0.14.0 calls them.

A thin mapper over daytona_server.lifecycle.service: a wire body in becomes a SandboxRequest, a
Sandbox row out becomes a Workspace.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool

from ...config import Settings
from ...db.models import Sandbox
from ...errors import BadRequest
from ...lifecycle.requests import SandboxRequest
from ..deps import CurrentUser, State
from ..preview import preview_token
from ..schemas import MAX_MINUTES, parse_labels
from .schemas import (
    CreateWorkspace,
    NetworkSettings,
    PreviewUrl,
    ResizeWorkspace,
    Workspace,
    WorkspaceInfo,
    WorkspaceLabels,
)

router = APIRouter(prefix="/workspace", tags=["workspace"])
Minutes = Annotated[int, Path(ge=0, le=MAX_MINUTES, description="Minutes; 0 = never")]


def to_request(body: CreateWorkspace) -> SandboxRequest:
    """The service's request for a `POST /workspace` body."""
    return SandboxRequest(
        id=body.id,
        name=body.name,
        image=body.image,
        os_user=body.user,
        env=body.env or {},
        labels=body.labels or {},
        public=bool(body.public),
        sandbox_class=body.var_class,
        target=body.target,
        cpu=body.cpu,
        gpu=body.gpu,
        memory=body.memory,
        disk=body.disk,
        auto_stop_interval=body.auto_stop_interval,
        volumes=[v.model_dump(by_alias=True, exclude_none=True) for v in body.volumes or []],
        network_block_all=body.network_block_all,
        network_allow_list=body.network_allow_list,
        domain_allow_list=body.domain_allow_list,
    )


def to_dto(sandbox: Sandbox, settings: Settings, refused: int | None = None) -> Workspace:
    """A sandbox as 0.14.0's Workspace; what it has no field for rides in `info.providerMetadata`.

    `refused` (connections its network policy refused) is known on a single sandbox's read only.
    """
    network: dict[str, object] = {
        "blockAll": sandbox.network_blocked,
        "allowList": sandbox.network_allow_list,
        "domainAllowList": sandbox.domain_allow_list,
    }
    if refused is not None:
        network["refused"] = refused
    metadata = {
        "state": sandbox.state,
        "region": sandbox.target,
        "class": sandbox.sandbox_class,
        "nodeDomain": settings.node_domain,
        "updatedAt": sandbox.updated_at.isoformat(),
        "lastSnapshot": None,
        "snapshotState": None,
        "autoStopInterval": sandbox.auto_stop_interval,
        "autoArchiveInterval": sandbox.auto_archive_interval,
        "progress": sandbox.progress,
        "archive": (
            {
                "size": sandbox.archive_size,
                "sha256": sandbox.archive_sha256,
                "archivedAt": sandbox.archived_at.isoformat(),
            }
            if sandbox.archive_key and sandbox.archived_at
            else None
        ),
        "resources": {"cpu": sandbox.cpu, "gpu": sandbox.gpu, "memory": sandbox.memory, "disk": sandbox.disk},
        "network": network,
    }
    return Workspace(
        id=sandbox.id,
        name=sandbox.name,
        image=sandbox.image,
        user=sandbox.os_user,
        env=sandbox.env,
        labels=sandbox.labels,
        public=sandbox.public,
        target=sandbox.target,
        info=WorkspaceInfo(
            created=sandbox.created_at.isoformat(), name=sandbox.name, provider_metadata=json.dumps(metadata)
        ),
        cpu=sandbox.cpu,
        gpu=sandbox.gpu,
        memory=sandbox.memory,
        disk=sandbox.disk,
        state=sandbox.state,
        error_reason=sandbox.error_reason,
        auto_stop_interval=sandbox.auto_stop_interval,
    )


@router.post("", response_model=Workspace, response_model_by_alias=True, summary="Create a sandbox")
async def create_workspace(body: CreateWorkspace, user: CurrentUser, state: State) -> Workspace:
    sandbox = await run_in_threadpool(state.sandboxes.create, user, to_request(body))
    return to_dto(sandbox, state.settings)


@router.get("", response_model=list[Workspace], response_model_by_alias=True, summary="List sandboxes")
async def list_workspaces(
    user: CurrentUser,
    state: State,
    verbose: bool = False,
    labels: Annotated[str | None, Query(description="JSON object of labels that must all match")] = None,
) -> list[Workspace]:
    wanted = parse_labels(labels)
    found = await run_in_threadpool(state.sandboxes.list, user, wanted)
    return [to_dto(s, state.settings) for s in found]


@router.get("/{workspace_id}", response_model=Workspace, response_model_by_alias=True)
async def get_workspace(workspace_id: str, user: CurrentUser, state: State, verbose: bool = False) -> Workspace:
    sandbox = await run_in_threadpool(state.sandboxes.get, user, workspace_id)
    return to_dto(sandbox, state.settings, await run_in_threadpool(state.sandboxes.network_refused, sandbox))


@router.post(
    "/{workspace_id}/network-settings",
    response_model=Workspace,
    response_model_by_alias=True,
    summary="Our extension: change the sandbox's egress policy, at once, without a restart",
)
async def update_network_settings(
    workspace_id: str, body: NetworkSettings, user: CurrentUser, state: State
) -> Workspace:
    sandbox = await run_in_threadpool(
        state.sandboxes.set_network,
        user,
        workspace_id,
        body.network_block_all,
        body.network_allow_list,
        body.domain_allow_list,
    )
    return to_dto(sandbox, state.settings)


@router.delete("/{workspace_id}", summary="Delete a sandbox and its container")
async def delete_workspace(workspace_id: str, user: CurrentUser, state: State, force: bool = False) -> None:
    await run_in_threadpool(state.sandboxes.delete, user, workspace_id)
    await state.agents.forget(workspace_id)


@router.post(
    "/{workspace_id}/start",
    summary="Start a stopped sandbox; an archived one is restored in the background (state restoring)",
)
async def start_workspace(workspace_id: str, user: CurrentUser, state: State) -> None:
    await state.agents.forget(workspace_id)
    await run_in_threadpool(state.sandboxes.start, user, workspace_id)


@router.post("/{workspace_id}/stop", summary="Stop a sandbox, keeping its filesystem")
async def stop_workspace(workspace_id: str, user: CurrentUser, state: State) -> None:
    await run_in_threadpool(state.sandboxes.stop, user, workspace_id)
    await state.agents.forget(workspace_id)


@router.put("/{workspace_id}/labels", response_model=WorkspaceLabels, response_model_by_alias=True)
async def replace_labels(workspace_id: str, body: WorkspaceLabels, user: CurrentUser, state: State) -> WorkspaceLabels:
    sandbox = await run_in_threadpool(state.sandboxes.set_labels, user, workspace_id, body.labels)
    return WorkspaceLabels(labels=sandbox.labels)


@router.post("/{workspace_id}/autostop/{interval}", summary="Set the auto-stop interval (minutes, 0 = never)")
async def set_autostop_interval(workspace_id: str, interval: Minutes, user: CurrentUser, state: State) -> None:
    await run_in_threadpool(state.sandboxes.set_autostop, user, workspace_id, interval)


@router.post(
    "/{workspace_id}/archive",
    summary="Move a stopped sandbox's changes to object storage (state archiving, then archived)",
)
async def archive_workspace(workspace_id: str, user: CurrentUser, state: State) -> None:
    await run_in_threadpool(state.sandboxes.archive, user, workspace_id)


@router.post(
    "/{workspace_id}/resize",
    status_code=201,
    response_model=Workspace,
    response_model_by_alias=True,
    summary="Change CPU and memory of a stopped sandbox",
)
async def resize_workspace(workspace_id: str, body: ResizeWorkspace, user: CurrentUser, state: State) -> Workspace:
    sandbox = await run_in_threadpool(state.sandboxes.resize, user, workspace_id, body.cpu, body.memory, body.disk)
    return to_dto(sandbox, state.settings)


@router.post("/{workspace_id}/autoarchive/{interval}", summary="Set the auto-archive interval (minutes, 0 = never)")
async def set_autoarchive_interval(workspace_id: str, interval: Minutes, user: CurrentUser, state: State) -> None:
    await run_in_threadpool(state.sandboxes.set_autoarchive, user, workspace_id, interval)


@router.post(
    "/{workspace_id}/public/{is_public}",
    status_code=201,
    summary="Make the sandbox's preview links public or private",
)
async def update_public_status(workspace_id: str, is_public: bool, user: CurrentUser, state: State) -> None:
    await run_in_threadpool(state.sandboxes.set_public, user, workspace_id, is_public)


@router.get(
    "/{workspace_id}/ports/{port}/preview-url",
    response_model=PreviewUrl,
    response_model_by_alias=True,
    summary="URL (and, for private sandboxes, the token) to reach a port of the sandbox",
)
async def get_preview_url(workspace_id: str, port: int, user: CurrentUser, state: State) -> PreviewUrl:
    if not 1 <= port <= 65535:
        raise BadRequest("port must be between 1 and 65535")
    sandbox = await run_in_threadpool(state.sandboxes.get, user, workspace_id)
    return PreviewUrl(
        url=state.settings.preview_url(port, sandbox.id),
        token=preview_token(state.preview_secret, sandbox.id),
    )
