"""Accounts: dashboard sign-in, API keys (`/api/api-keys`) and users (`/api/users`, admins only).

API keys and users are wire-compatible with `daytona_api_client` 0.14.0. A key's value is shown once,
at creation; it is stored only as a SHA-256, and a deleted key stops working at once.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import Field
from sqlalchemy import select

from .. import auth, quotas
from ..db.models import ApiKey, Sandbox, User
from ..errors import ApiError, BadRequest, Conflict, NotFound
from .deps import SESSION_COOKIE, CurrentUser, ServerState, State, require_admin
from .schemas import CamelModel, Text

router = APIRouter(tags=["accounts"])
USER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


# -- dashboard sign-in ------------------------------------------------------------------------------


class Login(CamelModel):
    username: str | None = None
    password: str | None = None
    api_key: str | None = None


class UserDto(CamelModel):
    id: str
    name: str
    role: str
    quota: dict[str, float] = Field(default_factory=dict)
    usage: dict[str, float] = Field(default_factory=dict)


def user_dto(state: ServerState, user: User) -> UserDto:
    with state.db.session() as session:
        usage = quotas.usage_of(session, user.id)
    return UserDto(id=user.id, name=user.name, role=user.role, quota=quotas.quota_of(user), usage=usage)


@router.post("/auth/login", summary="Sign in to the dashboard with a password or an API key (sets a cookie)")
async def login(body: Login, request: Request, response: Response, state: State) -> dict[str, Any]:
    def check() -> tuple[User, str] | None:
        with state.db.session() as session:
            if body.api_key:
                user = auth.authenticate(session, body.api_key)
            elif body.username and body.password:
                user = auth.authenticate_password(session, body.username, body.password)
            else:
                raise BadRequest("send username and password, or apiKey")
            if user is None:
                return None
            return user, auth.open_session(session, user)

    found = await run_in_threadpool(check)
    if found is None:
        raise ApiError(401, "wrong username, password or API key")
    user, token = found
    secure = request.url.scheme == "https"
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="strict", secure=secure, max_age=7 * 24 * 3600, path="/"
    )
    return {"user": {"id": user.id, "name": user.name, "role": user.role}}


@router.post("/auth/logout", summary="End the dashboard session")
async def logout(request: Request, response: Response, state: State) -> dict[str, Any]:
    token = request.cookies.get(SESSION_COOKIE)
    if token:

        def close() -> None:
            with state.db.session() as session:
                auth.close_session(session, token)

        await run_in_threadpool(close)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return {}


@router.get("/users/me", response_model=UserDto, response_model_by_alias=True, summary="Who the caller is")
async def me(user: CurrentUser, state: State) -> UserDto:
    return await run_in_threadpool(user_dto, state, user)


@router.get("/users/overview", summary="The caller's quota and what they use of it")
async def get_user_usage_overview(user: CurrentUser, state: State) -> dict[str, float]:
    dto = await run_in_threadpool(user_dto, state, user)
    quota = dto.quota
    return {
        "totalCpuQuota": quota["totalCpuQuota"],
        "totalGpuQuota": quota["totalGpuQuota"],
        "totalMemoryQuota": quota["totalMemoryQuota"],
        "totalDiskQuota": quota["totalDiskQuota"],
        "totalWorkspaceQuota": quota["workspaceQuota"],
        "concurrentWorkspaceQuota": quota["maxConcurrentWorkspaces"],
        "imageQuota": quota["imageQuota"],
        "totalImageSizeQuota": quota["totalImageSize"],
        **dto.usage,
    }


# -- API keys -----------------------------------------------------------------------------------------


class CreateApiKey(CamelModel):
    name: Text = Field(min_length=1, max_length=255)


class ApiKeyResponse(CamelModel):
    name: str
    value: str
    created_at: datetime


class ApiKeyList(CamelModel):
    name: str
    value: str = Field(description="The masked key")
    created_at: datetime
    last_used_at: datetime | None = None


def _listed(key: ApiKey) -> ApiKeyList:
    return ApiKeyList(
        name=key.name,
        value=f"{key.prefix}{'*' * 8}",
        created_at=key.created_at,
        last_used_at=key.last_used_at,
    )


def _own_key(state: ServerState, user: User, name: str) -> ApiKey:
    with state.db.session() as session:
        key = session.scalars(select(ApiKey).where(ApiKey.user_id == user.id, ApiKey.name == name)).first()
        if key is None:
            raise NotFound(f"API key {name!r} not found")
        return key


@router.post(
    "/api-keys",
    status_code=201,
    response_model=ApiKeyResponse,
    response_model_by_alias=True,
    summary="Create an API key",
)
async def create_api_key(body: CreateApiKey, user: CurrentUser, state: State) -> ApiKeyResponse:
    name = body.name.strip()
    if not name:
        raise BadRequest("name must not be blank")

    def create() -> ApiKeyResponse:
        with state.db.session() as session:
            taken = session.scalars(select(ApiKey).where(ApiKey.user_id == user.id, ApiKey.name == name)).first()
            if taken is not None:
                raise Conflict(f"you already have an API key named {name!r}: pick another name or delete it")
            value = auth.generate_key()
            owner = session.get(User, user.id)
            assert owner is not None
            key = auth.add_key(session, owner, name, value)
            session.commit()
            return ApiKeyResponse(name=name, value=value, created_at=key.created_at)

    return await run_in_threadpool(create)


@router.get("/api-keys", response_model=list[ApiKeyList], response_model_by_alias=True, summary="List API keys")
async def list_api_keys(user: CurrentUser, state: State) -> list[ApiKeyList]:
    def query() -> list[ApiKeyList]:
        with state.db.session() as session:
            keys = session.scalars(select(ApiKey).where(ApiKey.user_id == user.id).order_by(ApiKey.created_at))
            return [_listed(k) for k in keys]

    return await run_in_threadpool(query)


@router.get("/api-keys/{name}", response_model=ApiKeyList, response_model_by_alias=True)
async def get_api_key(name: str, user: CurrentUser, state: State) -> ApiKeyList:
    return _listed(await run_in_threadpool(_own_key, state, user, name))


@router.delete("/api-keys/{name}", status_code=204, summary="Delete (revoke) an API key; it stops working at once")
async def delete_api_key(name: str, user: CurrentUser, state: State) -> None:
    def delete() -> None:
        key = _own_key(state, user, name)
        with state.db.session() as session:
            row = session.get(ApiKey, key.id)
            if row is not None:
                session.delete(row)
                session.commit()

    await run_in_threadpool(delete)


# -- users (admins) ---------------------------------------------------------------------------------


class QuotaFields(CamelModel):
    total_cpu_quota: float | None = Field(default=None, ge=0)
    total_memory_quota: float | None = Field(default=None, ge=0)
    total_disk_quota: float | None = Field(default=None, ge=0)
    max_cpu_per_workspace: float | None = Field(default=None, ge=0)
    max_memory_per_workspace: float | None = Field(default=None, ge=0)
    max_disk_per_workspace: float | None = Field(default=None, ge=0)
    max_gpu_per_workspace: float | None = Field(default=None, ge=0)
    total_gpu_quota: float | None = Field(default=None, ge=0)
    max_concurrent_workspaces: float | None = Field(default=None, ge=0)
    workspace_quota: float | None = Field(default=None, ge=0)
    image_quota: float | None = Field(default=None, ge=0)
    max_image_size: float | None = Field(default=None, ge=0)
    total_image_size: float | None = Field(default=None, ge=0)

    def values(self) -> dict[str, float]:
        return {k: v for k, v in self.model_dump(by_alias=True).items() if v is not None}


class CreateUser(QuotaFields):
    id: str
    name: Text = Field(min_length=1, max_length=255)
    password: Text | None = Field(default=None, min_length=8, max_length=1024)
    role: str = Field(default="user", pattern="^(admin|user)$")


@router.post(
    "/users", status_code=201, response_model=UserDto, response_model_by_alias=True, summary="Create a user (admins)"
)
async def create_user(body: CreateUser, user: CurrentUser, state: State) -> UserDto:
    require_admin(user)
    if not USER_ID.match(body.id):
        raise BadRequest("id must be 1-64 characters: letters, digits, '.', '_', '@' or '-'")

    def create() -> User:
        with state.db.session() as session:
            if session.get(User, body.id) is not None:
                raise Conflict(f"user {body.id} already exists")
            new = User(
                id=body.id,
                name=body.name,
                role=body.role,
                password_hash=auth.hash_password(body.password) if body.password else None,
                quota=body.values(),
            )
            session.add(new)
            session.commit()
            return new

    return await run_in_threadpool(lambda: user_dto(state, create()))


@router.get("/users", response_model=list[UserDto], response_model_by_alias=True, summary="List users (admins)")
async def list_users(user: CurrentUser, state: State) -> list[UserDto]:
    require_admin(user)

    def query() -> list[UserDto]:
        with state.db.session() as session:
            users = list(session.scalars(select(User).order_by(User.created_at)))
        return [user_dto(state, u) for u in users]

    return await run_in_threadpool(query)


@router.put("/users/{user_id}/quota", response_model=UserDto, response_model_by_alias=True)
async def update_user_quota(user_id: str, body: QuotaFields, user: CurrentUser, state: State) -> UserDto:
    require_admin(user)

    def update() -> User:
        with state.db.session() as session:
            target = session.get(User, user_id)
            if target is None:
                raise NotFound(f"user {user_id} not found")
            target.quota = {**(target.quota or {}), **body.values()}
            session.commit()
            return target

    return await run_in_threadpool(lambda: user_dto(state, update()))


@router.delete("/users/{user_id}", summary="Delete a user without sandboxes (admins)")
async def delete_user(user_id: str, user: CurrentUser, state: State) -> None:
    require_admin(user)

    def delete() -> None:
        with state.db.session() as session:
            target = session.get(User, user_id)
            if target is None:
                raise NotFound(f"user {user_id} not found")
            if target.id == auth.ADMIN_ID:
                raise Conflict("the first admin cannot be deleted")
            if session.scalars(select(Sandbox.id).where(Sandbox.owner_id == user_id)).first():
                raise Conflict(f"user {user_id} still has sandboxes: delete them first")
            session.delete(target)
            session.commit()

    await run_in_threadpool(delete)
