import hashlib

import pytest

from fleet_assets.lib import keys


def test_natural_key_is_sha256_of_url_and_logical_date():
    url = "http://127.0.0.1:8787/shop/2025-03-01/product/A1"
    assert keys.natural_key(url, "2025-03-01") == hashlib.sha256(
        f"{url}|2025-03-01".encode()
    ).hexdigest()


def test_natural_key_changes_with_the_date_not_with_anything_else():
    url = "http://x/a"
    assert keys.natural_key(url, "2025-03-01") == keys.natural_key(url, "2025-03-01")
    assert keys.natural_key(url, "2025-03-01") != keys.natural_key(url, "2025-03-02")


def test_raw_page_key_layout():
    nk = keys.natural_key("http://x/a", "2025-03-01")
    assert keys.raw_page_key("shop", "2025-03-01", nk) == f"raw/shop/2025-03-01/{nk}.html.gz"
    assert keys.manifest_key("shop", "2025-03-01") == "raw/shop/2025-03-01/_manifest.jsonl"
    assert keys.table_key("records", "shop", "2025-03-01") == "tables/records/shop/2025-03-01.parquet"


@pytest.mark.parametrize("name", ["../etc", "a/b", "", "Shop", "-x", "a" * 64, "x\n", "..", "a b"])
def test_target_names_cannot_escape_their_prefix(name):
    with pytest.raises(ValueError, match="slug"):
        keys.partition_prefix(name, "2025-03-01")


@pytest.mark.parametrize("date", ["2025-3-1", "yesterday", "2025-02-30", "../../x", ""])
def test_bad_partition_dates_are_rejected(date):
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        keys.partition_prefix("shop", date)


def test_raw_page_key_requires_a_natural_key():
    with pytest.raises(ValueError, match="sha256"):
        keys.raw_page_key("shop", "2025-03-01", "../../secret")


def test_unknown_table_is_rejected():
    with pytest.raises(ValueError, match="unknown table"):
        keys.table_key("users", "shop", "2025-03-01")
