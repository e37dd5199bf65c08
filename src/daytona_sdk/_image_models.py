"""Images registered with the server (what `daytona image list` shows)."""

from __future__ import annotations

import fnmatch
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any


@dataclass
class Image:
    id: str
    name: str
    enabled: bool
    state: str
    size: float | None  # GB
    entrypoint: str | None
    error_reason: str | None
    created_at: str
    updated_at: str
    last_used_at: str | None
    user_id: str
    general: bool = False  # a system image: every user may use it, only admins change it

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Image:
        return cls(
            id=data["id"],
            name=data["name"],
            enabled=bool(data.get("enabled")),
            state=data.get("state", ""),
            size=data.get("size"),
            entrypoint=data.get("entrypoint"),
            error_reason=data.get("errorReason"),
            created_at=data.get("createdAt", ""),
            updated_at=data.get("updatedAt", ""),
            last_used_at=data.get("lastUsedAt"),
            general=bool(data.get("general")),
            user_id=data.get("userId", ""),
        )


def _ignore_patterns(context: Path) -> list[str]:
    path = context / ".dockerignore"
    if not path.is_file():
        return []
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line.rstrip("/") for line in lines if line and not line.startswith("#")]


def write_build_context(context: Path, out: IO[bytes]) -> int:
    """Tar the build context directory into `out`, honouring `.dockerignore`; return the file count."""
    patterns = _ignore_patterns(context)
    count = 0
    with tarfile.open(fileobj=out, mode="w") as tar:
        for root, dirs, files in os.walk(context):
            rel_root = Path(root).relative_to(context)
            for name in sorted(dirs + files):
                rel = (rel_root / name).as_posix()
                if any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(rel, p + "/*") for p in patterns):
                    if name in dirs:
                        dirs.remove(name)
                    continue
                if name in files:
                    tar.add(Path(root) / name, arcname=rel, recursive=False)
                    count += 1
                else:
                    tar.add(Path(root) / name, arcname=rel, recursive=False)
    out.flush()
    return count
