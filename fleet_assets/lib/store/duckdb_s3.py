"""Let DuckDB read ``s3://`` Parquet files through the store's own boto3 client.

DuckDB cannot download its httpfs extension on these machines, and the PyPI-packaged httpfs
(``duckdb-extension-httpfs``) exists only for DuckDB 1.5.x, not the pinned 2.0.1. So DuckDB
gets an fsspec filesystem instead (``con.register_filesystem``): ``S3ReadFileSystem``
answers ``ls``/``info``/``glob`` with ``ListObjectsV2``/``HeadObject`` and reads with ranged
``GetObject``, using the same client (endpoint, region, credentials) as ``S3ObjectStore``.
No credential appears in SQL text, in a DuckDB secret or in a log line.

Read only: DuckDB never writes to the store (tables are written by ``S3ObjectStore.put``).

Settings: ``client`` (a boto3 S3 client), ``block_size`` (bytes per ranged read, 8 MiB).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

from fleet_assets.lib.store.base import StoreError


def _split(path: str) -> tuple[str, str]:
    path = path.removeprefix("s3://").lstrip("/")
    bucket, _, key = path.partition("/")
    return bucket, key


class S3ReadFileSystem(AbstractFileSystem):
    protocol = ("s3",)
    cachable = False  # each instance carries its own client

    def __init__(self, client: Any, block_size: int = 8 * 1024 * 1024, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client
        self.blocksize = block_size

    @classmethod
    def _strip_protocol(cls, path: str) -> str:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        return path.removeprefix("s3://").rstrip("/")

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list:
        bucket, key = _split(self._strip_protocol(path))
        prefix = f"{key}/" if key else ""
        out: list[dict[str, Any]] = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix, Delimiter="/"
            ):
                for cp in page.get("CommonPrefixes", ()):
                    out.append({"name": f"{bucket}/{cp['Prefix'].rstrip('/')}", "size": 0,
                                "type": "directory"})
                for obj in page.get("Contents", ()):
                    out.append({"name": f"{bucket}/{obj['Key']}", "size": obj["Size"],
                                "type": "file", "LastModified": obj["LastModified"]})
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"listing s3://{bucket}/{prefix} failed: {type(exc).__name__}") from None
        if not out and key:
            info = self.info(path)
            return [info] if detail else [info["name"]]
        return out if detail else [o["name"] for o in out]

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        bucket, key = _split(self._strip_protocol(path))
        try:
            head = self.client.head_object(Bucket=bucket, Key=key)
            return {"name": f"{bucket}/{key}", "size": head["ContentLength"], "type": "file",
                    "LastModified": head["LastModified"]}
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 404:
                raise StoreError(f"s3://{bucket}/{key}: {type(exc).__name__}") from None
        except BotoCoreError as exc:
            raise StoreError(f"s3://{bucket}/{key}: {type(exc).__name__}") from None
        try:
            listed = self.client.list_objects_v2(Bucket=bucket, Prefix=f"{key}/", MaxKeys=1)
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"listing s3://{bucket}/{key}/: {type(exc).__name__}") from None
        if listed.get("KeyCount", 0):
            return {"name": f"{bucket}/{key}", "size": 0, "type": "directory"}
        raise FileNotFoundError(f"s3://{bucket}/{key}")

    def modified(self, path: str) -> Any:
        info = self.info(path)
        if "LastModified" not in info:
            raise IsADirectoryError(path)
        return info["LastModified"]

    def _open(self, path: str, mode: str = "rb", block_size: Any = None, autocommit: bool = True,
              cache_options: Any = None, **kwargs: Any) -> S3ReadFile:
        if mode != "rb":
            raise ValueError(f"{type(self).__name__} is read only; cannot open {path} as {mode!r}")
        return S3ReadFile(self, path, mode="rb", block_size=block_size or self.blocksize,
                          cache_type="readahead", cache_options=cache_options)


class S3ReadFile(AbstractBufferedFile):
    def _fetch_range(self, start: int, end: int) -> bytes:
        if end <= start:
            return b""
        bucket, key = _split(self.path)
        try:
            resp = self.fs.client.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{end - 1}")
            return resp["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"reading s3://{bucket}/{key} failed: {type(exc).__name__}") from None


def register(con: Any, client: Any) -> None:
    """Make ``s3://`` paths readable on a DuckDB connection through ``client``."""
    if con.filesystem_is_registered("s3"):
        con.unregister_filesystem("s3")
    con.register_filesystem(S3ReadFileSystem(client))


__all__ = ["S3ReadFileSystem", "register"]
