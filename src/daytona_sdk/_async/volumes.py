"""`daytona.volume`: named persistent storage, mounted into sandboxes with `CreateWorkspaceParams(volumes=…)`."""

from __future__ import annotations

from .._errors import DaytonaNotFoundError
from .._template_models import Volume
from ._http import AsyncHttp


class AsyncVolumes:
    def __init__(self, http: AsyncHttp) -> None:
        self._http = http

    async def list(self) -> list[Volume]:
        return [Volume.from_api(item) for item in await self._http.request("GET", "/volumes")]

    async def create(self, name: str) -> Volume:
        return Volume.from_api(await self._http.request("POST", "/volumes", json={"name": name}))

    async def get(self, name: str, create: bool = False) -> Volume:
        """Your volume called `name`; with `create=True`, made when there is none."""
        try:
            return Volume.from_api(await self._http.request("GET", f"/volumes/by-name/{name}"))
        except DaytonaNotFoundError:
            if not create:
                raise
            return await self.create(name)

    async def delete(self, volume: Volume | str) -> None:
        """Delete a volume and its files (by object or id); DaytonaConflictError while a sandbox mounts it."""
        await self._http.request("DELETE", f"/volumes/{volume.id if isinstance(volume, Volume) else volume}")
