"""extracted_records and lib/records.py: rows, the typed report, and the checks it feeds.

The asset tests run ``dg.materialize`` on a temporary instance against a local store whose
manifest and pages are written here, so nothing depends on the sandbox or the wall clock.
"""

from __future__ import annotations

import gzip
import hashlib

import dagster as dg
import pytest

from fleet_assets.assets.records import extracted_records
from fleet_assets.automation.partitions import TARGETS_PARTITIONS, partition_key
from fleet_assets.checks import DRIFT_CHECKS
from fleet_assets.lib import keys
from fleet_assets.lib import manifest as mf
from fleet_assets.lib.failures import ConfigError
from fleet_assets.lib.records import SAMPLE_URLS, RecordsReport, extract_partition
from fleet_assets.lib.store.base import CorruptObject
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.lib.targets import load_targets
from fleet_assets.resources import build_resources

DATE = "2026-11-10"
TARGETS_YAML = """
targets:
  - name: jobs
    urls: ["http://jobs.invalid/{date}/job/1"]
    record:
      id: ref
      fields:
        ref:   {css: "span.ref", type: str}
        title: {css: "h1", type: str}
        pay:   {css: "span.pay", type: float}
      required: [ref, title]
"""


def page(ref: str, title: str = "Engineer", pay: str = "100") -> bytes:
    return (f"<html><body><h1>{title}</h1><span class=ref>{ref}</span>"
            f"<span class=pay>{pay}</span></body></html>").encode()


def entry(url: str, status: str = "stored", body: bytes | None = None) -> mf.ManifestEntry:
    nk = keys.natural_key(url, DATE)
    return mf.ManifestEntry(
        url=url, natural_key=nk, status=status,
        object_key=keys.raw_page_key("jobs", DATE, nk) if status == "stored" else None,
        content_sha256=hashlib.sha256(body).hexdigest() if body is not None else None,
        failure_class="D" if status == "gone" else None)


@pytest.fixture
def rules(tmp_path):
    path = tmp_path / "targets.yaml"
    path.write_text(TARGETS_YAML)
    return load_targets(path)["jobs"].record


# -- lib/records.py ----------------------------------------------------------------------------
def test_stored_pages_become_rows_and_the_report_counts_what_was_found(rules):
    bodies = {"http://j/1": page("R1"), "http://j/2": page("R2", pay="n/a"),
              "http://j/3": b"<html><body><p>layout changed</p></body></html>"}
    entries = [entry(u, body=b) for u, b in bodies.items()] + [entry("http://j/4", "gone")]
    out = extract_partition(entries, lambda e: bodies[e.url], rules, "jobs", DATE)
    assert [r["url"] for r in out.rows] == ["http://j/1", "http://j/2"]
    assert out.rows[0]["item_key"] == keys.item_key("jobs", "R1")
    report = out.report
    assert (report.pages, report.pages_parsed, report.records) == (4, 3, 2)
    assert report.pages_with_no_fields == 1 and report.sample_urls == ("http://j/3",)
    assert report.missing_required == {"ref": 1, "title": 1}
    assert report.fields_found == {"ref": 2, "title": 2, "pay": 1}
    assert report.coverage == pytest.approx(2 / 3)


def test_nothing_parsed_has_no_coverage_rather_than_a_perfect_one(rules):
    out = extract_partition([entry("http://j/1", "gone")], lambda e: b"", rules, "jobs", DATE)
    assert out.rows == [] and out.report.records == 0 and out.report.coverage is None


def test_a_corrupt_page_is_reported_not_parsed(rules):
    def read(e):
        raise CorruptObject(e.object_key, "unreadable gzip", "quarantine/x")

    out = extract_partition([entry("http://j/1", body=b"x")], read, rules, "jobs", DATE)
    assert out.rows == [] and out.report.pages_parsed == 0 and len(out.corrupt) == 1


def test_threads_give_the_rows_and_report_of_one_thread_in_manifest_order(rules):
    bodies = {}
    for i in range(200):
        url = f"http://j/{i}"
        bodies[url] = (page(f"R{i}", pay=str(i)) if i % 7 else b"<html><p>drifted</p></html>")
    entries = [entry(u, body=b) for u, b in bodies.items()]
    entries.insert(50, entry("http://j/gone", "gone"))
    one = extract_partition(entries, lambda e: bodies[e.url], rules, "jobs", DATE, threads=1)
    many = extract_partition(entries, lambda e: bodies[e.url], rules, "jobs", DATE, threads=8)
    assert many.rows == one.rows and many.report == one.report
    assert [r["url"] for r in many.rows] == [u for i, u in enumerate(bodies) if i % 7]


def test_threads_are_used_for_large_pages_or_a_remote_store_only():
    from dataclasses import replace

    from fleet_assets.lib.records import EXTRACT_THREADS, LARGE_PAGE_BYTES, extract_threads

    def pages(size: int, n: int = 10) -> list[mf.ManifestEntry]:
        return [replace(entry(f"http://j/{i}", body=b"x"), bytes=size) for i in range(n)]

    assert EXTRACT_THREADS >= 2
    assert extract_threads(pages(4_500), remote_store=False) == 1  # GIL handoffs cost more
    assert extract_threads(pages(LARGE_PAGE_BYTES), remote_store=False) == EXTRACT_THREADS
    assert extract_threads(pages(4_500), remote_store=True) == EXTRACT_THREADS
    assert extract_threads(pages(10**6, n=1), remote_store=True) == 1
    gone = [entry(f"http://j/g{i}", "gone") for i in range(5)]
    assert extract_threads([*gone, *pages(10**6, n=1)], remote_store=False) == 1


def test_a_page_that_cannot_be_read_ends_the_extraction(rules):
    from fleet_assets.lib.store.base import ObjectMissing

    def read(e):
        if e.url.endswith("/3"):
            raise ObjectMissing(e.object_key)
        return page("R")

    with pytest.raises(ObjectMissing):
        extract_partition([entry(f"http://j/{i}", body=page("R")) for i in range(40)], read,
                          rules, "jobs", DATE, threads=4)


def test_sample_urls_are_capped_and_sorted(rules):
    urls = [f"http://j/{n:02d}" for n in range(9, -1, -1)]
    out = extract_partition([entry(u, body=b"<p/>") for u in urls], lambda e: b"<p/>", rules,
                            "jobs", DATE)
    assert out.report.sample_urls == tuple(sorted(urls)[:SAMPLE_URLS])


def test_the_report_round_trips_as_versioned_json(rules):
    report = RecordsReport(pages=3, pages_parsed=2, records=1, pages_with_no_fields=0,
                           missing_required={"title": 1}, fields_found={"ref": 2},
                           sample_urls=("http://j/2",))
    assert RecordsReport.from_json(report.to_json()) == report
    with pytest.raises(ConfigError, match="re-materialize the partition"):
        RecordsReport.from_json({"records": 1})  # an older materialization's loose keys


# -- the asset and its checks ------------------------------------------------------------------
@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (tmp_path / "targets.yaml").write_text(TARGETS_YAML)
    monkeypatch.setenv("FLEET_HOME", str(home))
    monkeypatch.setenv("FLEET_TARGETS", str(tmp_path / "targets.yaml"))
    monkeypatch.delenv("FLEET_ENV", raising=False)
    return home


def materialize(home, entries, bodies):
    store = LocalObjectStore(home)
    for e in entries:
        if e.object_key:
            store.put_if_absent(e.object_key, gzip.compress(bodies[e.url], mtime=0))
    store.put(keys.manifest_key("jobs", DATE), mf.dumps(entries))
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(TARGETS_PARTITIONS, ["jobs"])
    return dg.materialize([extracted_records, *DRIFT_CHECKS], instance=instance,
                          partition_key=partition_key(DATE, "jobs"),
                          resources=build_resources(), raise_on_error=False)


def checks(result) -> dict[str, bool]:
    return {e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
            for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}


def test_a_partition_whose_pages_are_all_gone_fails_min_records(home):
    """Zero is not green: every link 404 (a listing behind a redirect) used to pass every check."""
    entries = [entry(f"http://j/{n}", "gone") for n in range(3)]
    result = materialize(home, entries, {})
    assert checks(result)["min_records"] is False
    meta = result.asset_materializations_for_node("extracted_records")[0].metadata
    assert meta["records"].value == 0
    assert "required_field_coverage" not in meta  # not measured, so not reported as 1.0
    assert RecordsReport.from_json(meta["report"].value).pages == 3


def test_a_healthy_partition_passes_every_check_from_its_report(home):
    bodies = {f"http://j/{n}": page(f"R{n}") for n in range(3)}
    result = materialize(home, [entry(u, body=b) for u, b in bodies.items()], bodies)
    assert result.success
    assert checks(result) == {"required_field_coverage": True, "schema_drift": True,
                              "min_records": True, "volume_anomaly": True}
    meta = result.asset_materializations_for_node("extracted_records")[0].metadata
    assert meta["records"].value == 3 and meta["required_field_coverage"].value == 1.0


def test_each_step_reads_targets_yaml_once(home, monkeypatch):
    from fleet_assets.resources import targets as targets_resource

    reads = []
    real = targets_resource.load_targets
    monkeypatch.setattr(targets_resource, "load_targets", lambda path: reads.append(path) or real(path))
    bodies = {"http://j/1": page("R1")}
    assert materialize(home, [entry(u, body=b) for u, b in bodies.items()], bodies).success
    assert len(reads) == 2  # extracted_records, then the one step of the drift checks
