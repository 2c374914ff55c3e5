"""lib/drift.py: coverage, schema, min_records and volume verdicts from a RecordsReport."""

from __future__ import annotations

import pytest

from fleet_assets.lib import drift
from fleet_assets.lib.records import RecordsReport
from fleet_assets.lib.targets import DriftSettings

SETTINGS = DriftSettings(min_required_coverage=0.9, volume_window=5, volume_min_ratio=0.5)
FIELDS = ("sku", "title", "price")


def stats(parsed=10, records=10, no_fields=0, missing=None, found=None, urls=(), pages=None):
    return RecordsReport(
        pages=parsed if pages is None else pages,
        pages_parsed=parsed, records=records, pages_with_no_fields=no_fields,
        missing_required=missing or {}, fields_found=found or {f: parsed for f in FIELDS},
        sample_urls=tuple(urls))


@pytest.mark.parametrize(("records", "passed"), [(10, True), (9, True), (8, False), (0, False)])
def test_coverage_compares_complete_pages_with_the_threshold(records, passed):
    verdict = drift.coverage(stats(records=records, missing={"price": 10 - records}), SETTINGS)
    assert verdict.passed is passed
    assert verdict.evidence["pages_without_required_fields"] == 10 - records


def test_pages_that_loaded_but_yielded_no_field_are_drift_with_evidence():
    urls = [f"http://x/p/{n}" for n in range(5)]
    verdict = drift.coverage(stats(records=0, no_fields=10, missing={"sku": 10, "title": 10},
                                   urls=urls), SETTINGS)
    assert not verdict.passed
    assert "10 loaded page(s) yielded no field at all" in verdict.summary
    assert "sku (10)" in verdict.summary and "title (10)" in verdict.summary
    assert verdict.evidence["sample_urls"] == urls
    assert verdict.evidence["missing_required_fields"] == {"sku": 10, "title": 10}


def test_a_partition_without_stored_pages_is_not_judged_as_drift():
    # all pages pending as CAPTCHA/block pages (class B) or gone (D): nothing stored to judge
    empty = stats(parsed=0, records=0, found={})
    assert drift.coverage(empty, SETTINGS).passed
    assert drift.schema(empty, FIELDS).passed


def test_coverage_of_nothing_is_not_measured_never_a_perfect_score():
    verdict = drift.coverage(stats(parsed=0, records=0, found={}), SETTINGS)
    assert verdict.evidence["required_field_coverage"] is None
    assert "no stored page" in verdict.summary


@pytest.mark.parametrize(("records", "pages", "minimum", "passed"), [
    (0, 285, 1, False),   # every link 404 (a listing behind a redirect): zero is not green
    (0, 0, 1, False),     # an empty URL list yields nothing either
    (1, 10, 1, True),
    (4, 10, 5, False),
    (0, 10, 0, True),     # min_records: 0 switches the check off
])
def test_min_records_fails_a_partition_that_yields_too_few(records, pages, minimum, passed):
    settings = DriftSettings(min_records=minimum)
    verdict = drift.min_records(stats(parsed=records, records=records, pages=pages), settings)
    assert verdict.passed is passed
    assert verdict.evidence["records"] == records and verdict.evidence["pages"] == pages


def test_schema_names_configured_fields_that_no_page_yielded():
    verdict = drift.schema(stats(found={"sku": 10, "title": 3, "price": 0}), FIELDS)
    assert not verdict.passed and "price" in verdict.summary
    assert verdict.evidence["fields_never_found"] == ["price"]
    assert verdict.evidence["fields_extracted"] == ["sku", "title"]


def test_schema_passes_when_every_configured_field_appears_somewhere():
    assert drift.schema(stats(found={"sku": 10, "title": 1, "price": 4}), FIELDS).passed


@pytest.mark.parametrize(("records", "history", "passed"), [
    (5, [10, 10, 10], True),       # exactly half the median
    (4, [10, 10, 10], False),
    (4, [10, 2, 10, 1, 100], False),  # median 10, not the mean
    (0, [10, 10], True),           # fewer than 3 partitions: no baseline yet
    (0, [], True),
    (0, [0, 0, 0], True),          # a zero baseline measures nothing: min_records judges zero
])
def test_volume_compares_with_the_median_of_the_trailing_partitions(records, history, passed):
    assert drift.volume(records, history, SETTINGS).passed is passed


def test_volume_uses_only_the_window_of_newest_partitions():
    settings = DriftSettings(volume_window=3, volume_min_ratio=0.5)
    verdict = drift.volume(6, [10, 10, 10, 100, 100], settings)
    assert verdict.passed and verdict.evidence["baseline_median"] == 10
