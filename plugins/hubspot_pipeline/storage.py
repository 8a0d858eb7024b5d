"""Object storage: S3 through an Airflow AWS connection, or a local folder laid out as ``<bucket>/<key>``.

Both write whole objects only: S3 never shows a partial object, and the local store writes a temporary
file and renames it over the key, so a reader sees either the old or the new content.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path

import pandas as pd

from hubspot_pipeline.config import StorageConfig


class ObjectStore(ABC):
    """One bucket of objects addressed by key."""

    bucket: str

    @abstractmethod
    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        """Write (or replace) one object."""

    @abstractmethod
    def put_file(self, key: str, path: Path, content_type: str) -> None:
        """Write (or replace) one object from a local file, streaming it (large dataset files)."""

    @abstractmethod
    def get_bytes(self, key: str) -> bytes:
        """Read one object."""

    @abstractmethod
    def get_file(self, key: str, path: Path) -> None:
        """Copy one object to a local file, streaming it."""

    @abstractmethod
    def list_keys(self, prefix: str) -> list[str]:
        """Keys under ``prefix``, sorted."""

    @abstractmethod
    def delete_prefix(self, prefix: str) -> None:
        """Delete every object under ``prefix``."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Delete one object, without listing the bucket (a write-only key pair may not list)."""

    @abstractmethod
    def uri(self, key: str) -> str:
        """Where the object is, for people and reports."""

    def put_frame(self, key: str, frame: pd.DataFrame) -> None:
        """Write a DataFrame as Parquet (used to hand data from one task to the next; LZ4 reads back about
        twice as fast as the default Snappy)."""
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False, compression="lz4")
        self.put_bytes(key, buffer.getvalue(), "application/vnd.apache.parquet")

    def get_frame(self, key: str) -> pd.DataFrame:
        return pd.read_parquet(io.BytesIO(self.get_bytes(key)))


class LocalObjectStore(ObjectStore):
    """A folder standing in for a bucket: object ``key`` is the file ``<root>/<bucket>/<key>``."""

    def __init__(self, root: Path, bucket: str):
        self.bucket = bucket
        self.path = Path(root) / bucket

    def _file(self, key: str) -> Path:
        target = (self.path / key).resolve()
        if self.path.resolve() not in target.parents:
            raise ValueError(f"key {key!r} escapes the bucket folder")
        return target

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        target = self._file(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
        try:
            with os.fdopen(handle, "wb") as temporary_file:
                temporary_file.write(data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        target = self._file(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
        os.close(handle)
        try:
            shutil.copyfile(path, temporary)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get_bytes(self, key: str) -> bytes:
        return self._file(key).read_bytes()

    def get_file(self, key: str, path: Path) -> None:
        shutil.copyfile(self._file(key), path)

    def list_keys(self, prefix: str) -> list[str]:
        if not self.path.exists():
            return []
        keys = (path.relative_to(self.path).as_posix() for path in self.path.rglob("*") if path.is_file())
        return sorted(key for key in keys if key.startswith(prefix) and not Path(key).name.startswith("."))

    def delete_prefix(self, prefix: str) -> None:
        for key in self.list_keys(prefix):
            self._file(key).unlink()

    def delete(self, key: str) -> None:
        self._file(key).unlink(missing_ok=True)

    def uri(self, key: str) -> str:
        return str(self.path / key)


class S3ObjectStore(ObjectStore):
    """A bucket on S3 (or an S3-compatible endpoint set in the connection's ``endpoint_url``)."""

    def __init__(
        self,
        conn_id: str,
        bucket: str,
        *,
        server_side_encryption: str = "AES256",
        kms_key_id: str | None = None,
        acl: str | None = None,
    ):
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        self.bucket = bucket
        self.hook = S3Hook(aws_conn_id=conn_id)
        self.write_arguments = {"ServerSideEncryption": server_side_encryption}
        if kms_key_id:
            self.write_arguments["SSEKMSKeyId"] = kms_key_id
        if acl:
            self.write_arguments["ACL"] = acl

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        self.hook.get_conn().put_object(
            Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, **self.write_arguments
        )

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        # upload_file switches to a multipart upload for large files; S3 shows the object only once the
        # upload completes, so readers never see part of it.
        extra_args = {"ContentType": content_type, **self.write_arguments}
        self.hook.get_conn().upload_file(str(path), self.bucket, key, ExtraArgs=extra_args)

    def get_bytes(self, key: str) -> bytes:
        return self.hook.get_conn().get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def get_file(self, key: str, path: Path) -> None:
        self.hook.get_conn().download_file(self.bucket, key, str(path))

    def list_keys(self, prefix: str) -> list[str]:
        return sorted(self.hook.list_keys(bucket_name=self.bucket, prefix=prefix) or [])

    def delete_prefix(self, prefix: str) -> None:
        if keys := self.list_keys(prefix):
            self.hook.delete_objects(bucket=self.bucket, keys=keys)

    def delete(self, key: str) -> None:
        self.hook.get_conn().delete_object(Bucket=self.bucket, Key=key)

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"


def object_store(storage: StorageConfig, bucket: str, conn_id: str, *, acl: str | None = None) -> ObjectStore:
    """The store for ``bucket`` under the configured backend."""
    if storage.backend == "local":
        return LocalObjectStore(storage.local_root, bucket)
    return S3ObjectStore(
        conn_id,
        bucket,
        server_side_encryption=storage.server_side_encryption,
        kms_key_id=storage.kms_key_id,
        acl=acl,
    )
