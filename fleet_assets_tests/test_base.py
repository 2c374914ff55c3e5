"""The object store protocol: clean keys only; a corrupt object names its key and where it is kept."""

from __future__ import annotations

import pytest

from fleet_assets.lib.failures import FleetError
from fleet_assets.lib.store.base import CorruptObject, ObjectStore, check_key
from fleet_assets.lib.store.local import LocalObjectStore


@pytest.mark.parametrize("key", ["raw/shop/2025-06-10/a.html.gz", "manifest.json", "a/b-c_d.e"])
def test_clean_relative_keys_pass_unchanged(key):
    assert check_key(key) == key


@pytest.mark.parametrize("key", ["", "/etc/passwd", "a/../b", "../a", "a//b", "a/./b", "a/"])
def test_keys_that_could_escape_or_alias_are_refused_naming_the_key(key):
    with pytest.raises(ValueError, match="not a clean relative key"):
        check_key(key)


def test_a_corrupt_object_is_a_fleet_error_naming_key_reason_and_quarantine():
    err = CorruptObject("raw/a.gz", "content_sha256 mismatch", "quarantine/raw/a.gz.1")
    assert isinstance(err, FleetError)
    assert str(err) == "raw/a.gz: content_sha256 mismatch; kept as quarantine/raw/a.gz.1"
    assert str(CorruptObject("raw/a.gz", "empty")) == "raw/a.gz: empty"


def test_the_local_store_satisfies_the_protocol_and_a_plain_object_does_not(tmp_path):
    assert isinstance(LocalObjectStore(tmp_path), ObjectStore)
    assert not isinstance(object(), ObjectStore)
