"""The object store on S3 (or any S3-compatible server): the production ``ObjectStore``.

Keys map to ``s3://<bucket>/<prefix><key>``. The two write modes of ``store.py``:

- ``put_if_absent``: a conditional create, ``PutObject`` with ``If-None-Match: *``. S3 decides
  the race: exactly one writer gets 200; the others get 412 PreconditionFailed ("already
  there, nothing to do"). A 409 ConditionalRequestConflict (another conditional write to the
  key was in flight) is re-checked: if the object now exists the other writer won,
  otherwise the put is tried again (at most ``CONFLICT_RETRIES`` times).
- ``put``: a plain ``PutObject``, atomic on S3 (readers see the old or the new object). When
  the stored object already has exactly these bytes (single-part ETag == MD5) nothing is
  written, so a re-run of a complete partition makes zero writes.

Failures: a botocore connection or endpoint error, a timeout, a 5xx or throttling answer
raises ``StoreError`` (class A: the store is down, try later). Nothing is half-written: S3
stores an object whole or not at all, and a write whose answer was lost is found by the next
attempt (``put_if_absent`` then returns False; the bytes are the same by construction).
A missing bucket or refused credentials raise ``StoreConfigError``: no retry fixes them.

Settings (``S3ObjectStore`` fields): ``client`` (a boto3 S3 client, configured by the caller
with endpoint, region, credentials and retry attempts), ``bucket``, ``prefix`` ('' or a
folder-like prefix ending in '/'), ``list_page_size`` (keys per ListObjectsV2 call, 1000).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from fleet_assets.lib.failures import ConfigError
from fleet_assets.lib.store.base import ObjectMissing, StoreError, check_key

CONFLICT_RETRIES = 5
_MISSING = ("404", "NoSuchKey", "NotFound")
_CONFIG = ("NoSuchBucket", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch",
           "AllAccessDisabled", "InvalidBucketName", "PermanentRedirect")


class StoreConfigError(ConfigError):
    """The bucket or the credentials are wrong; the message names the setting to fix."""


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


@dataclass(frozen=True)
class S3ObjectStore:
    client: Any
    bucket: str
    prefix: str = ""
    list_page_size: int = 1000

    def __post_init__(self) -> None:
        if len(self.bucket) < 3:
            raise ConfigError(f"S3 bucket {self.bucket!r} is not a bucket name: set FLEET_S3_BUCKET")
        if self.prefix and (not self.prefix.endswith("/") or self.prefix.startswith("/")):
            raise ConfigError(
                f"S3 prefix {self.prefix!r} must be relative and end with '/' (e.g. 'fleet/'); "
                "fix FLEET_S3_PREFIX"
            )
        if self.prefix:
            check_key(self.prefix.rstrip("/"))

    # -- key mapping ---------------------------------------------------------------------------
    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.prefix}{key}"

    def _error(self, op: str, key: str, exc: Exception) -> Exception:
        """Translate a boto error into the store's taxonomy (never echoes credentials)."""
        where = f"s3://{self.bucket}/{self.prefix}{key}"
        if isinstance(exc, ClientError):
            code, status = _code(exc), _status(exc)
            if code in _CONFIG or status in (401, 403):
                return StoreConfigError(
                    f"S3 {op} {where} refused ({code or status}): check FLEET_S3_BUCKET, "
                    "AWS_REGION and the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY credentials"
                )
            return StoreError(f"S3 {op} {where} failed ({code or status}): the store is unavailable")
        return StoreError(f"S3 {op} {where} failed: {type(exc).__name__}: the store is unreachable")

    # -- writes ------------------------------------------------------------------------------
    def put_if_absent(self, key: str, data: bytes) -> bool:
        full = self._key(key)
        for _ in range(CONFLICT_RETRIES):
            try:
                self.client.put_object(Bucket=self.bucket, Key=full, Body=data, IfNoneMatch="*")
                return True
            except ClientError as exc:
                if _status(exc) == 412 or _code(exc) == "PreconditionFailed":
                    return False
                if not (_status(exc) == 409 or _code(exc) == "ConditionalRequestConflict"):
                    raise self._error("put_if_absent", key, exc) from None
            except BotoCoreError as exc:
                raise self._error("put_if_absent", key, exc) from None
            # 409: a concurrent conditional write was in flight; whoever finished won.
            if self.exists(key):
                return False
        raise StoreError(f"S3 put_if_absent s3://{self.bucket}/{full}: {CONFLICT_RETRIES} "
                         "conflicting concurrent writes in a row")

    def put(self, key: str, data: bytes) -> None:
        full = self._key(key)
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=full)
            if head.get("ETag", "").strip('"') == md5 and head.get("ContentLength") == len(data):
                return
        except ClientError as exc:
            if _code(exc) not in _MISSING and _status(exc) != 404:
                raise self._error("put", key, exc) from None
        except BotoCoreError as exc:
            raise self._error("put", key, exc) from None
        try:
            self.client.put_object(Bucket=self.bucket, Key=full, Body=data)
        except (ClientError, BotoCoreError) as exc:
            raise self._error("put", key, exc) from None

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (ClientError, BotoCoreError) as exc:
            raise self._error("delete", key, exc) from None

    # -- reads -------------------------------------------------------------------------------
    def get(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except ClientError as exc:
            if _code(exc) in _MISSING or _status(exc) == 404:
                raise ObjectMissing(key) from None
            raise self._error("get", key, exc) from None
        except BotoCoreError as exc:
            raise self._error("get", key, exc) from None

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError as exc:
            if _code(exc) in _MISSING or _status(exc) == 404:
                return False
            raise self._error("exists", key, exc) from None
        except BotoCoreError as exc:
            raise self._error("exists", key, exc) from None

    def list(self, prefix: str) -> Iterator[str]:
        # S3 lists keys in UTF-8 byte order, which is Python's str order: already sorted.
        full = self.prefix + prefix
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=full, PaginationConfig={"PageSize": self.list_page_size}
            )
            keys = [obj["Key"][len(self.prefix):] for page in pages for obj in page.get("Contents", ())]
        except (ClientError, BotoCoreError) as exc:
            raise self._error("list", prefix, exc) from None
        return iter(keys)


__all__ = ["CONFLICT_RETRIES", "S3ObjectStore", "StoreConfigError"]
