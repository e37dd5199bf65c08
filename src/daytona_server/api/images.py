"""Images for sandboxes, `/api/images` as `daytona_api_client` 0.14.0 calls it, plus build and push.

A thin mapper over daytona_server.images.service, which holds the rules (namespaces, system
images, quota). `POST /images/build` takes a tar build context and streams Docker's build log as
JSON lines; `POST /images/push` takes a `docker save` tarball.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Annotated, BinaryIO

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import iterate_in_threadpool, run_in_threadpool
from pydantic import Field
from starlette.responses import StreamingResponse

from ..db.models import Image
from ..errors import BadRequest
from ..images.naming import normalize_name
from .deps import CurrentUser, State
from .schemas import CamelModel

router = APIRouter(prefix="/images", tags=["images"])

MAX_CONTEXT_BYTES = 10 * 1024**3


class CreateImage(CamelModel):
    name: str = Field(min_length=1, max_length=255)
    entrypoint: str | None = Field(default=None, max_length=4096)


class ToggleState(CamelModel):
    enabled: bool


class GeneralState(CamelModel):
    general: bool


class ImageDto(CamelModel):
    id: str
    user_id: str
    name: str
    enabled: bool
    general: bool = Field(description="A system image: everyone may use it, only admins may change it")
    state: str
    size: float | None
    entrypoint: str | None
    error_reason: str | None
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None


class PaginatedImages(CamelModel):
    items: list[ImageDto]
    total: int
    page: int
    total_pages: int


def to_dto(image: Image) -> ImageDto:
    return ImageDto(
        id=image.id,
        user_id=image.owner_id,
        name=image.name,
        enabled=image.enabled,
        general=image.general,
        state=image.state,
        size=image.size,
        entrypoint=image.entrypoint,
        error_reason=image.error_reason,
        created_at=image.created_at,
        updated_at=image.updated_at,
        last_used_at=image.last_used_at,
    )


@router.get("", response_model=PaginatedImages, response_model_by_alias=True, summary="List images")
async def get_all_images(
    user: CurrentUser,
    state: State,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
) -> PaginatedImages:
    items, total, pages = await run_in_threadpool(state.images.list, user, page, limit)
    return PaginatedImages(items=[to_dto(i) for i in items], total=total, page=page, total_pages=pages)


@router.post("", response_model=ImageDto, response_model_by_alias=True, summary="Register an image on the runner")
async def create_image(body: CreateImage, user: CurrentUser, state: State) -> ImageDto:
    name = normalize_name(body.name)
    return to_dto(await run_in_threadpool(state.images.register, user, name, body.entrypoint))


@router.get("/{image_id}", response_model=ImageDto, response_model_by_alias=True)
async def get_image(image_id: str, user: CurrentUser, state: State) -> ImageDto:
    return to_dto(await run_in_threadpool(state.images.get, user, image_id))


@router.patch("/{image_id}/toggle", response_model=ImageDto, response_model_by_alias=True)
async def toggle_image_state(image_id: str, body: ToggleState, user: CurrentUser, state: State) -> ImageDto:
    return to_dto(await run_in_threadpool(state.images.toggle, user, image_id, body.enabled))


@router.patch(
    "/{image_id}/general",
    response_model=ImageDto,
    response_model_by_alias=True,
    summary="Make an image a system image that every user may use, or take that back (admins)",
)
async def set_image_general(image_id: str, body: GeneralState, user: CurrentUser, state: State) -> ImageDto:
    return to_dto(await run_in_threadpool(state.images.set_general, user, image_id, body.general))


@router.delete("/{image_id}", summary="Unregister an image and remove it from the runner")
async def remove_image(image_id: str, user: CurrentUser, state: State) -> None:
    await run_in_threadpool(state.images.remove, user, image_id)


async def _spool(request: Request) -> BinaryIO:
    """The request body in a temp file (spilled to disk past 8 MB), never whole in memory."""
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024**2)  # noqa: SIM115 - handed to the caller
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_CONTEXT_BYTES:
            spool.close()
            raise BadRequest(f"upload larger than {MAX_CONTEXT_BYTES // 1024**3} GB")
        await run_in_threadpool(spool.write, chunk)
    if size == 0:
        spool.close()
        raise BadRequest("empty body: send a tar archive")
    spool.seek(0)
    return spool  # type: ignore[return-value]


@router.post("/build", summary="Build an image from a tar build context; streams the log as JSON lines")
async def build_image(
    request: Request,
    user: CurrentUser,
    state: State,
    name: Annotated[str, Query(description="name:tag of the image to build")],
    dockerfile: Annotated[str, Query(description="path of the Dockerfile in the context")] = "Dockerfile",
    entrypoint: str | None = None,
) -> StreamingResponse:
    tag = normalize_name(name)
    context = await _spool(request)
    try:  # the service builds from a rewritten copy of the context
        events = await run_in_threadpool(state.images.build, user, tag, context, dockerfile, entrypoint)
    finally:
        context.close()

    def lines() -> Iterator[bytes]:
        for event in events:
            image = event.pop("image", None)
            if isinstance(image, Image):
                event["image"] = to_dto(image).model_dump(by_alias=True, mode="json")
            yield json.dumps(event).encode() + b"\n"

    async def stream() -> AsyncIterator[bytes]:
        async for line in iterate_in_threadpool(lines()):
            yield line

    return StreamingResponse(stream(), media_type="application/x-ndjson")


@router.post("/push", response_model=ImageDto, response_model_by_alias=True, summary="Upload a `docker save` tarball")
async def push_image(
    request: Request,
    user: CurrentUser,
    state: State,
    name: Annotated[str, Query(description="name:tag of the image inside the tarball")],
    entrypoint: str | None = None,
) -> ImageDto:
    tag = normalize_name(name)
    tarball = await _spool(request)
    try:
        return to_dto(await run_in_threadpool(state.images.push, user, tag, tarball, entrypoint))
    finally:
        tarball.close()
