"""The production raw store: S3 (or an S3-compatible server) through ``dagster_aws``.

Environment (read by ``prod_store``, which ``build_resources`` calls when ``FLEET_ENV=prod``;
the ``FLEET_S3_*`` ones through ``settings.s3()``):

- ``FLEET_S3_BUCKET``: the bucket (required).
- ``FLEET_S3_PREFIX``: key prefix inside the bucket, e.g. ``fleet/`` (default: none).
- ``AWS_REGION``: the region (default ``us-east-1``).
- ``FLEET_S3_ENDPOINT_URL``: an S3-compatible endpoint (MinIO, Ceph, moto); unset for AWS.
- ``FLEET_S3_MAX_ATTEMPTS``: botocore attempts per call before an outage is reported (3).
- ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``: credentials, passed
  only as ``dg.EnvVar`` (resolved at run time, never shown in the UI); unset, boto3 uses its
  default chain (instance role, IRSA on Kubernetes).
"""


import os

import dagster as dg
from dagster_aws.s3 import S3Resource

from fleet_assets import settings
from fleet_assets.lib.store import duckdb_s3 as s3duck
from fleet_assets.lib.store.s3 import S3ObjectStore
from fleet_assets.resources.store import ObjectStoreResource


class S3StoreResource(ObjectStoreResource):
    """Raw pages, manifests and table files in ``s3://bucket/prefix``."""

    s3: S3Resource
    bucket: str
    prefix: str = ""

    def client(self):
        """A boto3 S3 client; EnvVar credentials are resolved here when used outside a run
        (``fleet sql``), as Dagster resolves them inside one."""
        s3 = self.s3
        secrets = (s3.aws_access_key_id, s3.aws_secret_access_key, s3.aws_session_token)
        if any(isinstance(v, dg.EnvVar) for v in secrets):
            s3 = s3.process_config_and_initialize()
        return s3.get_client()

    def get_store(self) -> S3ObjectStore:
        return S3ObjectStore(client=self.client(), bucket=self.bucket, prefix=self.prefix)

    def configure_duckdb(self, con) -> None:
        super().configure_duckdb(con)
        s3duck.register(con, self.client())


def _env_secret(name: str) -> dg.EnvVar | None:
    # Only whether the variable is set is read here; its value is resolved at run time.
    return dg.EnvVar(name) if os.environ.get(name) else None


def prod_store() -> S3StoreResource:
    s = settings.s3()
    return S3StoreResource(
        s3=S3Resource(
            region_name=os.environ.get("AWS_REGION", "us-east-1"),
            endpoint_url=s.endpoint_url,
            max_attempts=s.max_attempts,
            aws_access_key_id=_env_secret("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=_env_secret("AWS_SECRET_ACCESS_KEY"),
            aws_session_token=_env_secret("AWS_SESSION_TOKEN"),
        ),
        bucket=s.bucket,
        prefix=s.prefix,
    )


__all__ = ["S3StoreResource", "prod_store"]
