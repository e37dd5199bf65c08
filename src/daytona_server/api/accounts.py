"""Accounts: dashboard sign-in, API keys (`/api/api-keys`) and users (`/api/users`, admins only).

A thin mapper over daytona_server.accounts, which holds the rules. API keys and users are
wire-compatible with `daytona_api_client` 0.14.0.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from ..accounts import AccountService, Profile, masked
from ..db.models import ApiKey, User
from .deps import SESSION_COOKIE, CurrentUser, ServerState, State
from .schemas import CamelModel, Text

router = APIRouter(tags=["accounts"])


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


def accounts(state: ServerState) -> AccountService:
    return state.accounts


def user_dto(profile: Profile) -> UserDto:
    user = profile.user
    return UserDto(id=user.id, name=user.name, role=user.role, quota=profile.quota, usage=profile.usage)


def profile_dto(state: ServerState, user: User) -> UserDto:
    """The user's DTO with quota and usage (blocking: reads the database)."""
    return user_dto(accounts(state).profile(user))


@router.post("/auth/login", summary="Sign in to the dashboard with a password or an API key (sets a cookie)")
async def login(body: Login, request: Request, response: Response, state: State) -> dict[str, Any]:
    user, token = await run_in_threadpool(accounts(state).sign_in, body.username, body.password, body.api_key)
    secure = request.url.scheme == "https"
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="strict", secure=secure, max_age=7 * 24 * 3600, path="/"
    )
    return {"user": {"id": user.id, "name": user.name, "role": user.role}}


@router.post("/auth/logout", summary="End the dashboard session")
async def logout(request: Request, response: Response, state: State) -> dict[str, Any]:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await run_in_threadpool(accounts(state).sign_out, token)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return {}


@router.get("/users/me", response_model=UserDto, response_model_by_alias=True, summary="Who the caller is")
async def me(user: CurrentUser, state: State) -> UserDto:
    return await run_in_threadpool(profile_dto, state, user)


@router.get("/users/overview", summary="The caller's quota and what they use of it")
async def get_user_usage_overview(user: CurrentUser, state: State) -> dict[str, float]:
    profile = await run_in_threadpool(accounts(state).profile, user)
    quota = profile.quota
    return {
        "totalCpuQuota": quota["totalCpuQuota"],
        "totalGpuQuota": quota["totalGpuQuota"],
        "totalMemoryQuota": quota["totalMemoryQuota"],
        "totalDiskQuota": quota["totalDiskQuota"],
        "totalWorkspaceQuota": quota["workspaceQuota"],
        "concurrentWorkspaceQuota": quota["maxConcurrentWorkspaces"],
        "imageQuota": quota["imageQuota"],
        "totalImageSizeQuota": quota["totalImageSize"],
        **profile.usage,
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
    return ApiKeyList(name=key.name, value=masked(key), created_at=key.created_at, last_used_at=key.last_used_at)


@router.post(
    "/api-keys",
    status_code=201,
    response_model=ApiKeyResponse,
    response_model_by_alias=True,
    summary="Create an API key",
)
async def create_api_key(body: CreateApiKey, user: CurrentUser, state: State) -> ApiKeyResponse:
    new = await run_in_threadpool(accounts(state).create_key, user, body.name)
    return ApiKeyResponse(name=new.key.name, value=new.value, created_at=new.key.created_at)


@router.get("/api-keys", response_model=list[ApiKeyList], response_model_by_alias=True, summary="List API keys")
async def list_api_keys(user: CurrentUser, state: State) -> list[ApiKeyList]:
    return [_listed(k) for k in await run_in_threadpool(accounts(state).list_keys, user)]


@router.get("/api-keys/{name}", response_model=ApiKeyList, response_model_by_alias=True)
async def get_api_key(name: str, user: CurrentUser, state: State) -> ApiKeyList:
    return _listed(await run_in_threadpool(accounts(state).get_key, user, name))


@router.delete("/api-keys/{name}", status_code=204, summary="Delete (revoke) an API key; it stops working at once")
async def delete_api_key(name: str, user: CurrentUser, state: State) -> None:
    await run_in_threadpool(accounts(state).delete_key, user, name)


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
        """The limits that were sent (only these fields, never a subclass's id or password)."""
        fields = set(QuotaFields.model_fields)
        return {k: v for k, v in self.model_dump(by_alias=True, include=fields).items() if v is not None}


class CreateUser(QuotaFields):
    id: str
    name: Text = Field(min_length=1, max_length=255)
    password: Text | None = Field(default=None, min_length=8, max_length=1024)
    role: str = Field(default="user", pattern="^(admin|user)$")


@router.post(
    "/users", status_code=201, response_model=UserDto, response_model_by_alias=True, summary="Create a user (admins)"
)
async def create_user(body: CreateUser, user: CurrentUser, state: State) -> UserDto:
    service = accounts(state)

    def create() -> UserDto:
        new = service.create_user(user, body.id, body.name, body.role, body.password, body.values())
        return user_dto(service.profile(new))

    return await run_in_threadpool(create)


@router.get("/users", response_model=list[UserDto], response_model_by_alias=True, summary="List users (admins)")
async def list_users(user: CurrentUser, state: State) -> list[UserDto]:
    service = accounts(state)

    def query() -> list[UserDto]:
        return [user_dto(service.profile(u)) for u in service.list_users(user)]

    return await run_in_threadpool(query)


@router.put("/users/{user_id}/quota", response_model=UserDto, response_model_by_alias=True)
async def update_user_quota(user_id: str, body: QuotaFields, user: CurrentUser, state: State) -> UserDto:
    service = accounts(state)
    return await run_in_threadpool(lambda: user_dto(service.profile(service.set_quota(user, user_id, body.values()))))


@router.delete("/users/{user_id}", summary="Delete a user without sandboxes (admins)")
async def delete_user(user_id: str, user: CurrentUser, state: State) -> None:
    await run_in_threadpool(accounts(state).delete_user, user, user_id)
