"""The object store interface and `open_store(url)`.

    DAYTONA_ARCHIVE_URL=file:///var/lib/daytona/archives        (default: <data dir>/archives)
    DAYTONA_ARCHIVE_URL=s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1
S3 credentials come from the usual AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import parse_qs, urlsplit


class StorageError(Exception):
    pass


@dataclass
class StoredObject:
    key: str
    size: int
    sha256: str


class ObjectStore(Protocol):
    url: str

    def put_file(self, key: str, path: Path, sha256: str) -> StoredObject:
        """Store the file at `path` durably under `key`; return only once it is safe."""
        ...

    def get_file(self, key: str, dest: BinaryIO) -> None:
        """Write the object's bytes to `dest`."""
        ...

    def local_path(self, key: str) -> Path | None:
        """A path to read the object from directly, when the store is on this machine."""
        ...

    def staging_dir(self) -> Path | None:
        """Where to write a file before `put_file` so that storing it is a rename; None: anywhere."""
        ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...


def open_store(url: str) -> ObjectStore:
    parts = urlsplit(url)
    if parts.scheme in ("", "file"):
        from .local import LocalStore

        return LocalStore(Path(parts.path if parts.scheme else url))
    if parts.scheme == "s3":
        from .s3 import S3Store

        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return S3Store(
            bucket=parts.netloc,
            prefix=parts.path.strip("/"),
            endpoint_url=options.get("endpoint"),
            region=options.get("region"),
        )
    raise StorageError(f"unsupported archive storage URL {url!r}: use file:///path or s3://bucket/prefix")
