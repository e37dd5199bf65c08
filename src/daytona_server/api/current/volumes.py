"""Volumes, `/api/volumes` as today's `daytona_api_client` (0.226) calls it: a thin mapper over daytona_server.volumes.

Every answer with a body is 200 (the generated client reads a body only for the status it expects),
`DELETE` included (an empty 200, or 409 while a sandbox uses the volume).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from ...db.models import Volume
from ..deps import CurrentUser, State
from ..schemas import CamelModel

router = APIRouter(prefix="/volumes", tags=["volumes"])


class CreateVolume(CamelModel):
    name: str = Field(description="1-255 characters: letters, digits, '.', '_' or '-'; unique among your volumes")


class VolumeDto(CamelModel):
    id: str
    name: str
    organization_id: str = Field(description="The owner's user id")
    state: str
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None
    error_reason: str | None


def to_dto(volume: Volume) -> VolumeDto:
    return VolumeDto(
        id=volume.id,
        name=volume.name,
        organization_id=volume.owner_id,
        state=volume.state,
        created_at=volume.created_at,
        updated_at=volume.updated_at,
        last_used_at=volume.last_used_at,
        error_reason=volume.error_reason,
    )


@router.get("", response_model=list[VolumeDto], response_model_by_alias=True, summary="List volumes")
async def list_volumes(user: CurrentUser, state: State) -> list[VolumeDto]:
    return [to_dto(v) for v in await run_in_threadpool(state.volumes.list, user)]


@router.get(
    "/by-name/{name}", response_model=VolumeDto, response_model_by_alias=True, summary="Get one of your volumes by name"
)
async def get_volume_by_name(name: str, user: CurrentUser, state: State) -> VolumeDto:
    return to_dto(await run_in_threadpool(state.volumes.get_by_name, user, name))


@router.get("/{volume_id}", response_model=VolumeDto, response_model_by_alias=True, summary="Get a volume")
async def get_volume(volume_id: str, user: CurrentUser, state: State) -> VolumeDto:
    return to_dto(await run_in_threadpool(state.volumes.get, user, volume_id))


@router.post("", response_model=VolumeDto, response_model_by_alias=True, summary="Create a volume")
async def create_volume(body: CreateVolume, user: CurrentUser, state: State) -> VolumeDto:
    return to_dto(await run_in_threadpool(state.volumes.create, user, body.name))


@router.delete(
    "/{volume_id}",
    response_class=Response,
    responses={200: {"description": "Deleted, with its files"}},
    summary="Delete a volume no sandbox uses",
)
async def delete_volume(volume_id: str, user: CurrentUser, state: State) -> Response:
    await run_in_threadpool(state.volumes.delete, user, volume_id)
    return Response(status_code=200)
