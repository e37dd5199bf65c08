# Generated from ../_async by scripts/gen_sync_sdk.py: edit the async code, then run `make sdk-sync`.
"""`daytona.images`: images for sandboxes, built or pushed to the server's runner."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from .._errors import DaytonaError
from .._image_models import Image, write_build_context
from ._http import SyncHttp

CHUNK = 1 << 20
LogCallback = Callable[[str], None]


def _file_chunks(fh: IO[bytes]) -> Iterator[bytes]:
    while chunk := fh.read(CHUNK):
        yield chunk


class Images:
    def __init__(self, http: SyncHttp) -> None:
        self._http = http

    def list(self) -> list[Image]:
        items: list[Image] = []
        page = 1
        while True:
            data = self._http.request("GET", "/images", params={"page": page, "limit": 200})
            items += [Image.from_api(item) for item in data["items"]]
            if page >= int(data["totalPages"]):
                return items
            page += 1

    def get(self, image_id: str) -> Image:
        return Image.from_api(self._http.request("GET", f"/images/{image_id}"))

    def find(self, name: str) -> Image | None:
        """The registered image called `name` (a missing tag means :latest), or None."""
        wanted = name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"
        return next((image for image in self.list() if image.name == wanted), None)

    def register(self, name: str, entrypoint: str | None = None) -> Image:
        """Register an image that is already on the server's Docker engine."""
        body = {"name": name, "entrypoint": entrypoint}
        data = self._http.request("POST", "/images", json={k: v for k, v in body.items() if v is not None})
        return Image.from_api(data)

    def build(
        self,
        name: str,
        context: str | Path,
        dockerfile: str = "Dockerfile",
        entrypoint: str | None = None,
        on_log: LogCallback | None = None,
        timeout: float | None = 3600,
    ) -> Image:
        """Build `name` on the server from a local build context; `on_log` gets the build's output."""
        context_dir = Path(context)
        if not context_dir.is_dir():
            raise DaytonaError(f"build context {context_dir} is not a directory")
        if not (context_dir / dockerfile).is_file():
            raise DaytonaError(f"no Dockerfile at {context_dir / dockerfile}")
        params = {"name": name, "dockerfile": dockerfile, "entrypoint": entrypoint}
        with tempfile.TemporaryFile() as tar:
            write_build_context(context_dir, tar)
            size = tar.tell()
            tar.seek(0)
            with self._http.stream(
                "POST",
                "/images/build",
                params={k: v for k, v in params.items() if v is not None},
                content=_file_chunks(tar),
                headers={"Content-Type": "application/x-tar", "Content-Length": str(size)},
                timeout=timeout,
            ) as response:
                for line in response.iter_lines():
                    if not line:
                        continue
                    event: dict[str, Any] = json.loads(line)
                    if "log" in event and on_log:
                        on_log(str(event["log"]))
                    if "error" in event:
                        raise DaytonaError(str(event["error"]))
                    if "image" in event:
                        return Image.from_api(event["image"])
        raise DaytonaError("the server ended the build without a result; see its log")

    def push(
        self, name: str, tarball: IO[bytes], size: int | None = None, entrypoint: str | None = None,
        timeout: float | None = 3600,
    ) -> Image:  # fmt: skip
        """Upload a `docker save` tarball holding `name` to the server's runner and register it."""
        params = {"name": name, "entrypoint": entrypoint}
        headers = {"Content-Type": "application/x-tar"}
        if size is not None:
            headers["Content-Length"] = str(size)
        with self._http.stream(
            "POST",
            "/images/push",
            params={k: v for k, v in params.items() if v is not None},
            content=_file_chunks(tarball),
            headers=headers,
            timeout=timeout,
        ) as response:
            response.read()
            return Image.from_api(response.json())

    def delete(self, image_id: str) -> None:
        self._http.request("DELETE", f"/images/{image_id}")

    def toggle(self, image_id: str, enabled: bool) -> Image:
        data = self._http.request("PATCH", f"/images/{image_id}/toggle", json={"enabled": enabled})
        return Image.from_api(data)
