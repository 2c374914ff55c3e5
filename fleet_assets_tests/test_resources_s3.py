"""S3StoreResource from the environment: credentials only as EnvVar, resolved outside a run too."""

from __future__ import annotations

import io
import uuid

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fleet_assets.lib.failures import ConfigError
from fleet_assets.resources.s3 import S3StoreResource, prod_store
from fleet_assets_tests.s3server import ACCESS_KEY, SECRET_KEY, s3_client


@pytest.fixture
def env(s3_server, monkeypatch):
    bucket = f"fleet-{uuid.uuid4().hex[:12]}"
    s3_client(s3_server).create_bucket(Bucket=bucket)
    for name, value in {"FLEET_S3_BUCKET": bucket, "FLEET_S3_PREFIX": "fleet/",
                        "FLEET_S3_ENDPOINT_URL": s3_server.url, "AWS_REGION": "us-east-1",
                        "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                        "FLEET_S3_MAX_ATTEMPTS": "1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return bucket


def _keys(bucket: str) -> list[str]:
    res = prod_store()
    listed = res.client().list_objects_v2(Bucket=bucket).get("Contents", [])
    return [o["Key"] for o in listed]


def test_prod_store_reads_the_environment_and_keeps_secrets_as_env_vars(env, s3_server):
    res = prod_store()
    assert isinstance(res, S3StoreResource)
    assert (res.bucket, res.prefix, res.s3.endpoint_url) == (env, "fleet/", s3_server.url)
    assert res.s3.aws_secret_access_key == dg.EnvVar("AWS_SECRET_ACCESS_KEY")
    assert res.s3.aws_session_token is None  # unset: boto3's default chain, not an empty secret
    assert SECRET_KEY not in repr(res)


def test_outside_a_run_the_env_var_credentials_are_resolved_and_the_store_works(env):
    store = prod_store().get_store()
    assert store.put_if_absent("raw/a", b"one") and store.get("raw/a") == b"one"
    assert _keys(env) == ["fleet/raw/a"]


def test_a_duckdb_connection_is_configured_to_read_the_bucket(env):
    res = prod_store()
    store = res.get_store()
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist([{"n": 1}, {"n": 2}]), buf)
    store.put("tables/t/x.parquet", buf.getvalue())
    con = duckdb.connect()
    res.configure_duckdb(con)
    assert con.execute(f"SELECT sum(n) FROM read_parquet('{store.uri('tables/t/*.parquet')}')"
                       ).fetchone() == (3,)


def test_without_a_bucket_the_setting_is_named(env, monkeypatch):
    monkeypatch.delenv("FLEET_S3_BUCKET")
    with pytest.raises(ConfigError, match="FLEET_S3_BUCKET"):
        prod_store()
