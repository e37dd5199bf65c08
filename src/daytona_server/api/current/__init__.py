"""Today's wire format, as `daytona` 0.226 / `@daytonaio/sdk` 0.218 speak it (map: shared/WIRE-CURRENT.md).

`/api/sandbox…`, `/api/snapshots`, `/api/volumes`, and the toolbox under `{toolboxProxyUrl}/{id}/…`.
Thin adapters over the same services as the seed's format (api/v014).
"""
