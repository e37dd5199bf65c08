"""Snapshots, `/api/snapshots` as `daytona_api_client` 0.226 calls them: the seed's images under today's name.

A thin mapper over daytona_server.images.snapshots (and so over the image service's rules).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import iterate_in_threadpool, run_in_threadpool
from pydantic import Field
from starlette.responses import Response, StreamingResponse

from ...db.models import Image
from ...images.snapshots import SnapshotRequest, entrypoint_list, log_key
from ..deps import CurrentUser, ServerState, State
from ..schemas import CamelModel, Text
from .schemas import BuildInfoIn, Url

router = APIRouter(prefix="/snapshots", tags=["snapshots"])

# Our image states as today's snapshot states.
STATES = {"pending": "pending", "validating": "pending", "building": "building", "active": "active"}


class CreateSnapshot(CamelModel):
    name: Text = Field(min_length=1, max_length=255)
    image_name: Text | None = Field(default=None, min_length=1, max_length=512)
    entrypoint: list[str] | None = Field(default=None, max_length=64)
    cpu: int | None = Field(default=None, ge=1, le=64)
    gpu: int | None = Field(default=None, ge=0, le=8)
    memory: int | None = Field(default=None, ge=1, le=256)
    disk: int | None = Field(default=None, ge=1, le=2048)
    build_info: BuildInfoIn | None = None


class SnapshotBuildInfo(CamelModel):
    dockerfile_content: str | None = None
    context_hashes: list[str] | None = None
    created_at: datetime
    updated_at: datetime
    snapshot_ref: str


class SnapshotDto(CamelModel):
    id: str
    organization_id: str
    general: bool
    name: str
    image_name: str | None
    state: str
    size: float | None
    entrypoint: list[str] | None
    cpu: int
    gpu: int
    mem: int
    disk: int
    error_reason: str | None
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None
    build_info: SnapshotBuildInfo | None = None
    source_sandbox_id: str | None


class PaginatedSnapshots(CamelModel):
    items: list[SnapshotDto]
    total: int
    page: int
    total_pages: int


def display_name(name: str) -> str:
    """A snapshot's name as today's clients give it: `app`, for what the engine calls `app:latest`."""
    return name.removesuffix(":latest")


def to_dto(image: Image, state: ServerState) -> SnapshotDto:
    settings, defaults = state.settings, image.defaults or {}
    status = "inactive" if image.state == "active" and not image.enabled else STATES.get(image.state, image.state)
    return SnapshotDto(
        id=image.id,
        organization_id=image.owner_id,
        general=image.general,
        name=display_name(image.name),
        image_name=image.name,
        state=status,
        size=image.size,
        entrypoint=entrypoint_list(image),
        cpu=defaults.get("cpu") or settings.default_cpu,
        gpu=defaults.get("gpu") or 0,
        mem=defaults.get("memory") or settings.default_memory_gb,
        disk=defaults.get("disk") or settings.default_disk_gb,
        error_reason=image.error_reason,
        created_at=image.created_at,
        updated_at=image.updated_at,
        last_used_at=image.last_used_at,
        build_info=(
            SnapshotBuildInfo(
                dockerfile_content=image.dockerfile,
                created_at=image.created_at,
                updated_at=image.updated_at,
                snapshot_ref=image.engine_ref,
            )
            if image.dockerfile
            else None
        ),
        source_sandbox_id=image.source_sandbox_id,
    )


@router.get("", response_model=PaginatedSnapshots, response_model_by_alias=True, summary="List snapshots")
async def list_snapshots(
    user: CurrentUser,
    state: State,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
) -> PaginatedSnapshots:
    items, total, pages = await run_in_threadpool(state.images.list, user, page, limit)
    return PaginatedSnapshots(items=[to_dto(i, state) for i in items], total=total, page=page, total_pages=pages)


@router.post(
    "",
    response_model=SnapshotDto,
    response_model_by_alias=True,
    summary="Create a snapshot from an image, or build one from a declarative image (state building, then active)",
)
async def create_snapshot(body: CreateSnapshot, user: CurrentUser, state: State) -> SnapshotDto:
    defaults = {"cpu": body.cpu, "gpu": body.gpu, "memory": body.memory, "disk": body.disk}
    request = SnapshotRequest(
        name=body.name,
        image_name=body.image_name,
        dockerfile=body.build_info.dockerfile_content if body.build_info else None,
        entrypoint=body.entrypoint,
        defaults={k: v for k, v in defaults.items() if v is not None},
    )
    image = await run_in_threadpool(state.snapshots.create, user, request)
    return to_dto(image, state)


@router.get("/{snapshot_id_or_name}", response_model=SnapshotDto, response_model_by_alias=True)
async def get_snapshot(snapshot_id_or_name: str, user: CurrentUser, state: State) -> SnapshotDto:
    return to_dto(await run_in_threadpool(state.snapshots.get, user, snapshot_id_or_name), state)


@router.delete("/{snapshot_id}", summary="Delete a snapshot (409 while sandboxes use it)")
async def remove_snapshot(snapshot_id: str, user: CurrentUser, state: State) -> None:
    image = await run_in_threadpool(state.snapshots.get, user, snapshot_id)
    await run_in_threadpool(state.images.remove, user, image.id)
    state.sandboxes.builder.logs.remove(log_key(image.id))


@router.post("/{snapshot_id}/activate", response_model=SnapshotDto, response_model_by_alias=True)
async def activate_snapshot(snapshot_id: str, user: CurrentUser, state: State) -> SnapshotDto:
    image = await run_in_threadpool(state.snapshots.get, user, snapshot_id)
    return to_dto(await run_in_threadpool(state.images.toggle, user, image.id, True), state)


@router.post("/{snapshot_id}/deactivate", status_code=204, response_class=Response)
async def deactivate_snapshot(snapshot_id: str, user: CurrentUser, state: State) -> Response:
    image = await run_in_threadpool(state.snapshots.get, user, snapshot_id)
    await run_in_threadpool(state.images.toggle, user, image.id, False)
    return Response(status_code=204)


@router.get("/{snapshot_id}/build-logs-url", response_model=Url, response_model_by_alias=True)
async def get_snapshot_build_logs_url(snapshot_id: str, request: Request, user: CurrentUser, state: State) -> Url:
    image = await run_in_threadpool(state.snapshots.get, user, snapshot_id)
    return Url(url=str(request.base_url).rstrip("/") + f"/api/snapshots/{image.id}/build-logs")


@router.get("/{snapshot_id}/build-logs", response_class=StreamingResponse, summary="A snapshot's build log")
async def get_snapshot_build_logs(
    snapshot_id: str, user: CurrentUser, state: State, follow: bool = False
) -> StreamingResponse:
    image = await run_in_threadpool(state.snapshots.get, user, snapshot_id)
    missing = f"snapshot {image.name} has no build log: it was not built from a declarative image"
    chunks = state.sandboxes.builder.logs.follow(log_key(image.id), follow, missing)
    return StreamingResponse(iterate_in_threadpool(chunks), media_type="text/plain; charset=utf-8")
