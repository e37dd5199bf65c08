"""Images for sandboxes, `/api/images` as `daytona_api_client` 0.14.0 calls it, plus build and push.

`POST /images/build` takes a tar build context and streams Docker's build log as JSON lines;
`POST /images/push` takes a `docker save` tarball. Both register the result, like `POST /images`
does for an image already on the runner. A registered image is checked first: the sandbox agent
needs python3 >= 3.9 in it.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import iterate_in_threadpool, run_in_threadpool
from pydantic import Field
from sqlalchemy import func, select
from starlette.responses import StreamingResponse

from .. import quotas
from ..db.models import Image, Sandbox, User
from ..errors import BadRequest, Conflict, NotFound
from ..runner.base import RuntimeFailure
from ..runner.images import ImageTools
from .deps import CurrentUser, ServerState, State
from .schemas import CamelModel

router = APIRouter(prefix="/images", tags=["images"])

IMAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9._/:-]{0,254}$")
MAX_CONTEXT_BYTES = 10 * 1024**3


class CreateImage(CamelModel):
    name: str = Field(min_length=1, max_length=255)
    entrypoint: str | None = Field(default=None, max_length=4096)


class ToggleState(CamelModel):
    enabled: bool


class ImageDto(CamelModel):
    id: str
    user_id: str
    name: str
    enabled: bool
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
        state=image.state,
        size=image.size,
        entrypoint=image.entrypoint,
        error_reason=image.error_reason,
        created_at=image.created_at,
        updated_at=image.updated_at,
        last_used_at=image.last_used_at,
    )


def normalize_name(name: str) -> str:
    """Docker's reference format, with `:latest` when no tag is given."""
    name = name.strip()
    if not IMAGE_NAME.match(name) or name.endswith((":", "/")) or "//" in name:
        raise BadRequest(f"invalid image name {name!r}: use lowercase letters, digits, '.', '_', '-', '/' and a :tag")
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else f"{name}:latest"


def tools(state: ServerState) -> ImageTools:
    runtime: Any = state.sandboxes.runtime
    return ImageTools(runtime.client, runtime.network)


def _find(state: ServerState, user: User, image_id: str) -> Image:
    with state.db.session() as session:
        image = session.get(Image, image_id)
        if image is None or (image.owner_id != user.id and user.role != "admin"):
            raise NotFound(f"image {image_id} not found")
        return image


def register(state: ServerState, user: User, name: str, entrypoint: str | None) -> Image:
    """Check an image that is on the runner and record it as the user's, active."""
    with state.db.session() as session:
        existing = session.scalars(select(Image).where(Image.name == name)).first()
        if existing is not None and existing.owner_id != user.id and user.role != "admin":
            raise Conflict(f"image name {name} is taken: choose another name or tag")
    size = tools(state).size_gb(name)
    if size is None:
        raise BadRequest(
            f"image {name} is not on the runner: build or push it (daytona image push {name} -f Dockerfile)"
        )
    problem = tools(state).validate(name)
    if problem:
        raise BadRequest(problem)
    with state.db.session() as session:
        image = session.scalars(select(Image).where(Image.name == name)).first()
        quotas.check_image(session, user, size, replacing=image is not None)
        if image is None:
            image = Image(id=str(uuid.uuid4()), owner_id=user.id, name=name, enabled=True)
            session.add(image)
        image.state, image.size, image.entrypoint, image.error_reason = "active", size, entrypoint, None
        session.commit()
        return image


@router.get("", response_model=PaginatedImages, response_model_by_alias=True, summary="List images")
async def get_all_images(
    user: CurrentUser,
    state: State,
    page: Annotated[int, Query(ge=1)] = 1,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
) -> PaginatedImages:
    def query() -> tuple[list[Image], int]:
        with state.db.session() as session:
            scope = select(Image) if user.role == "admin" else select(Image).where(Image.owner_id == user.id)
            total = session.scalar(select(func.count()).select_from(scope.subquery())) or 0
            items = list(session.scalars(scope.order_by(Image.created_at).offset((page - 1) * limit).limit(limit)))
            return items, total

    items, total = await run_in_threadpool(query)
    return PaginatedImages(
        items=[to_dto(i) for i in items], total=total, page=page, total_pages=max(1, math.ceil(total / limit))
    )


@router.post("", response_model=ImageDto, response_model_by_alias=True, summary="Register an image on the runner")
async def create_image(body: CreateImage, user: CurrentUser, state: State) -> ImageDto:
    name = normalize_name(body.name)
    return to_dto(await run_in_threadpool(register, state, user, name, body.entrypoint))


@router.get("/{image_id}", response_model=ImageDto, response_model_by_alias=True)
async def get_image(image_id: str, user: CurrentUser, state: State) -> ImageDto:
    return to_dto(await run_in_threadpool(_find, state, user, image_id))


@router.patch("/{image_id}/toggle", response_model=ImageDto, response_model_by_alias=True)
async def toggle_image_state(image_id: str, body: ToggleState, user: CurrentUser, state: State) -> ImageDto:
    def toggle() -> Image:
        _find(state, user, image_id)
        with state.db.session() as session:
            image = session.get(Image, image_id)
            assert image is not None
            image.enabled = body.enabled
            session.commit()
            return image

    return to_dto(await run_in_threadpool(toggle))


@router.delete("/{image_id}", summary="Unregister an image and remove it from the runner")
async def remove_image(image_id: str, user: CurrentUser, state: State) -> None:
    def remove() -> None:
        image = _find(state, user, image_id)
        with state.db.session() as session:
            users = list(session.scalars(select(Sandbox.id).where(Sandbox.image == image.name)))
        if users:
            raise Conflict(f"image {image.name} is used by sandbox(es) {', '.join(users)}: delete them first")
        if image.name != state.settings.default_image:
            try:
                tools(state).remove(image.name)
            except RuntimeFailure as exc:
                raise Conflict(str(exc)) from None
        with state.db.session() as session:
            row = session.get(Image, image_id)
            if row is not None:
                session.delete(row)
                session.commit()

    await run_in_threadpool(remove)


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

    def events() -> Iterator[bytes]:
        error = ""
        try:
            for event in tools(state).build(tag, context, dockerfile):
                if "error" in event:
                    error = str(event["error"]).strip()
                text = event.get("stream") or event.get("status") or event.get("error")
                if text:
                    yield json.dumps({"log": str(text)}).encode() + b"\n"
        finally:
            context.close()
        if error:
            yield json.dumps({"error": f"the build failed: {error}"}).encode() + b"\n"
            return
        try:
            image = register(state, user, tag, entrypoint)
        except (BadRequest, Conflict) as exc:
            yield json.dumps({"error": exc.message}).encode() + b"\n"
            return
        yield json.dumps({"image": to_dto(image).model_dump(by_alias=True, mode="json")}).encode() + b"\n"

    async def stream() -> AsyncIterator[bytes]:
        async for line in iterate_in_threadpool(events()):
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
        loaded = await run_in_threadpool(tools(state).load, tarball)
    except RuntimeFailure as exc:
        raise BadRequest(f"{exc}: send the output of `docker save {tag}`") from None
    finally:
        tarball.close()
    if tag not in loaded:
        raise BadRequest(f"the tarball holds {', '.join(loaded) or 'no tagged image'}, not {tag}")
    return to_dto(await run_in_threadpool(register, state, user, tag, entrypoint))
