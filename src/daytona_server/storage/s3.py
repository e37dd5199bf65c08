"""Archives in any S3-compatible object store (AWS S3, MinIO, Ceph, ...), through boto3."""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

from .base import StorageError, StoredObject


class S3Store:
    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None, region: str | None = None):
        import boto3
        from botocore.config import Config

        if not bucket:
            raise StorageError("an s3:// archive URL needs a bucket: s3://bucket/prefix")
        self.bucket = bucket
        self.prefix = prefix
        self.url = f"s3://{bucket}/{prefix}"
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region or "us-east-1",
            config=Config(retries={"max_attempts": 5, "mode": "standard"}),
        )

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def put_file(self, key: str, path: Path, sha256: str) -> StoredObject:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            # upload_file switches to multipart for large files; it returns once S3 has the object.
            self.client.upload_file(str(path), self.bucket, self._key(key), ExtraArgs={"Metadata": {"sha256": sha256}})
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot store archive in {self.url}: {exc}") from None
        return StoredObject(key=key, size=int(head["ContentLength"]), sha256=sha256)

    def get_file(self, key: str, dest: BinaryIO) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.download_fileobj(self.bucket, self._key(key), dest)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot read archive {key} from {self.url}: {exc}") from None

    def local_path(self, key: str) -> Path | None:
        return None

    def staging_dir(self) -> Path | None:
        return None  # uploads read from any local file

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot delete archive {key} from {self.url}: {exc}") from None

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError:
            return False
