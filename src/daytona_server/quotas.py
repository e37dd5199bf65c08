"""Per-user limits, checked when sandboxes are created, started or resized.

Limits per sandbox or image answer 403 (the request can never fit); limits on what the user has
in use answer 429 (it fits once something is stopped or deleted). 0 means unlimited. Admins are
unlimited. System images count toward nobody's quota.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .db.models import Image, Sandbox, User
from .errors import Forbidden, TooManyRequests

DEFAULT_QUOTA: dict[str, float] = {
    "maxCpuPerWorkspace": 8,
    "maxMemoryPerWorkspace": 32,  # GB
    "maxDiskPerWorkspace": 100,  # GB
    "maxGpuPerWorkspace": 1,
    "maxConcurrentWorkspaces": 10,  # running at once
    "totalCpuQuota": 16,  # cores of running sandboxes
    "totalMemoryQuota": 64,  # GB of running sandboxes
    "totalGpuQuota": 1,  # GPUs of running sandboxes
    "totalDiskQuota": 500,  # GB of all sandboxes
    "workspaceQuota": 50,  # sandboxes in any state
    "imageQuota": 20,
    "maxImageSize": 20,  # GB
    "totalImageSize": 100,  # GB
}
RUNNING = ("creating", "starting", "started", "restoring")


def quota_of(user: User) -> dict[str, float]:
    return {**DEFAULT_QUOTA, **{k: float(v) for k, v in (user.quota or {}).items() if k in DEFAULT_QUOTA}}


def usage_of(session: Session, user_id: str, exclude: str | None = None) -> dict[str, float]:
    sandboxes = [s for s in session.scalars(select(Sandbox).where(Sandbox.owner_id == user_id)) if s.id != exclude]
    running = [s for s in sandboxes if s.state in RUNNING]
    images = list(session.scalars(select(Image).where(Image.owner_id == user_id, Image.general.is_(False))))
    return {
        "currentCpuUsage": sum(s.cpu for s in running),
        "currentMemoryUsage": sum(s.memory for s in running),
        "currentDiskUsage": sum(s.disk for s in sandboxes),
        "currentGpuUsage": sum(s.gpu for s in running),
        "concurrentWorkspaces": len(running),
        "currentWorkspaces": len(sandboxes),
        "currentImageNumber": len(images),
        "totalImageSizeUsed": round(sum(i.size or 0 for i in images), 3),
    }


def _limit(quota: dict[str, float], name: str) -> float | None:
    value = quota[name]
    return value if value > 0 else None


def check(
    session: Session, user: User, sandbox_id: str, cpu: int, memory: int, disk: int, new: bool, gpu: int = 0
) -> None:
    """Raise 403/429 when `user` may not run a sandbox of this size (beside the others they run)."""
    if user.role == "admin":
        return
    quota = quota_of(user)
    per_sandbox = [(cpu, "maxCpuPerWorkspace", "CPUs"), (memory, "maxMemoryPerWorkspace", "GB memory"),
                   (disk, "maxDiskPerWorkspace", "GB disk"), (gpu, "maxGpuPerWorkspace", "GPUs")]  # fmt: skip
    for value, name, unit in per_sandbox:
        limit = _limit(quota, name)
        if limit is not None and value > limit:
            raise Forbidden(f"{value} {unit} exceeds your per-sandbox limit of {limit:g}; ask an admin to raise it")
    usage = usage_of(session, user.id, exclude=sandbox_id)
    checks: list[tuple[Any, str, str]] = [
        (usage["concurrentWorkspaces"] + 1, "maxConcurrentWorkspaces", "running sandboxes"),
        (usage["currentCpuUsage"] + cpu, "totalCpuQuota", "CPUs in running sandboxes"),
        (usage["currentMemoryUsage"] + memory, "totalMemoryQuota", "GB memory in running sandboxes"),
        (usage["currentDiskUsage"] + disk, "totalDiskQuota", "GB disk in all sandboxes"),
    ]
    if gpu:
        checks.append((usage["currentGpuUsage"] + gpu, "totalGpuQuota", "GPUs in running sandboxes"))
    if new:
        checks.append((usage["currentWorkspaces"] + 1, "workspaceQuota", "sandboxes"))
    for wanted, name, what in checks:
        limit = _limit(quota, name)
        if limit is not None and wanted > limit:
            raise TooManyRequests(
                f"quota exceeded: this would make {wanted:g} {what}, your limit is {limit:g};"
                " stop or delete a sandbox first",
            )  # fmt: skip


def check_image_count(
    session: Session, user: User, replacing: Image | None, usage: dict[str, float] | None = None
) -> None:
    """Raise 429 when `user` may not add another image (replacing one of theirs always fits)."""
    if user.role == "admin" or replacing is not None:
        return
    limit = _limit(quota_of(user), "imageQuota")
    count = (usage or usage_of(session, user.id))["currentImageNumber"]
    if limit is not None and count + 1 > limit:
        raise TooManyRequests(f"quota exceeded: you have {count:g} images, the limit is {limit:g}; delete one first")


def check_image(session: Session, user: User, size_gb: float, replacing: Image | None) -> None:
    """Raise 403/429 when `user` may not keep an image of `size_gb` (in place of `replacing`)."""
    if user.role == "admin":
        return
    usage = usage_of(session, user.id)
    check_image_count(session, user, replacing, usage)
    quota = quota_of(user)
    limit = _limit(quota, "maxImageSize")
    if limit is not None and size_gb > limit:
        raise Forbidden(f"image of {size_gb:.2f} GB exceeds your limit of {limit:g} GB per image")
    used = usage["totalImageSizeUsed"] - ((replacing.size or 0) if replacing else 0)
    limit = _limit(quota, "totalImageSize")
    if limit is not None and used + size_gb > limit:
        raise TooManyRequests(
            f"quota exceeded: your images would take {used + size_gb:.2f} GB, the limit is {limit:g} GB;"
            " delete an image first"
        )
