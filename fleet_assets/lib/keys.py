"""Deterministic keys: natural keys of pages and records, and every object key.

Nothing here reads the clock or a run id: a key is a function of the target, the
partition's logical date and the URL, so a re-run lands on exactly the same keys.

Layout of the object store (one root: ``$FLEET_HOME`` locally, ``s3://bucket/prefix`` in prod)::

    raw/<target>/<date>/<natural_key>.html.gz       one fetched body, gzip, put-if-absent
    raw/<target>/<date>/_listing.json               the day's URL list, once discovered
    raw/<target>/<date>/_manifest.jsonl             the partition ledger, replaced whole
    tables/<table>/<target>/<date>.parquet          one file per partition per table
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

TARGET_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
TABLES = ("records", "tombstones", "aggregates")


def check_target(name: str) -> str:
    if not isinstance(name, str) or not TARGET_NAME.fullmatch(name):
        raise ValueError(
            f"target name {name!r} is not a slug: use lowercase letters, digits, '-' or '_', "
            "starting with a letter (at most 63 characters)"
        )
    return name


def check_date(date: str) -> str:
    try:
        dt.date.fromisoformat(date)
    except (TypeError, ValueError):
        raise ValueError(f"partition date {date!r} is not YYYY-MM-DD") from None
    if len(date) != 10:
        raise ValueError(f"partition date {date!r} is not YYYY-MM-DD")
    return date


def natural_key(url: str, date: str) -> str:
    """sha256 of the URL and the partition's logical date (never wall-clock)."""
    return hashlib.sha256(f"{url}|{check_date(date)}".encode()).hexdigest()


def item_key(target: str, identity: str) -> str:
    """A stable identity for one item across days (for new/delisted counts)."""
    return hashlib.sha256(f"{check_target(target)}|{identity}".encode()).hexdigest()


def url_identity(url: str, date: str) -> str:
    """The URL with the partition date replaced by ``{date}``: one page across days.

    Used for tombstones and for the item identity of targets without ``record.id``, so a
    URL such as ``/jobs/2025-06-10/job/3`` is the same item on 2025-06-11.
    """
    return url.replace(check_date(date), "{date}")


def partition_prefix(target: str, date: str) -> str:
    return f"raw/{check_target(target)}/{check_date(date)}/"


def raw_page_key(target: str, date: str, nk: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{64}", nk):
        raise ValueError(f"natural key {nk!r} is not a sha256 hex digest")
    return f"{partition_prefix(target, date)}{nk}.html.gz"


def manifest_key(target: str, date: str) -> str:
    return f"{partition_prefix(target, date)}_manifest.jsonl"


def listing_key(target: str, date: str) -> str:
    return f"{partition_prefix(target, date)}_listing.json"


def table_key(table: str, target: str, date: str) -> str:
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; known: {', '.join(TABLES)}")
    return f"tables/{table}/{check_target(target)}/{check_date(date)}.parquet"


def table_glob(table: str) -> str:
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; known: {', '.join(TABLES)}")
    return f"tables/{table}/*/*.parquet"


def evidence_key(target: str, date: str, nk: str) -> str:
    """The response of a page that is gone (class D), kept as evidence next to the pages."""
    return raw_page_key(target, date, nk).replace(".html.gz", ".gone.json.gz")
