"""Each failure class gets its own response, proven through Dagster events against the sandbox."""

from __future__ import annotations

import email.utils
import time

import dagster as dg
import duckdb
import pytest
from retry_support import (
    FAST,
    body,
    failure_metadata,
    manifest,
    page_objects,
    raw_metadata,
    retries,
    run,
    step_failure,
    table,
    targets_file,
)

from fleet_assets.lib import keys
from fleet_assets.lib import manifest as mf
from fleet_assets.lib.markers import DEFAULT_CAPTCHA_MARKERS
from fleet_assets.lib.store.local import LocalObjectStore
from fleet_assets.resources.fetcher import FetcherResource

DATE = "2025-06-10"
NEXT = "2025-06-11"
JOBS = 15
MANY_ATTEMPTS = {"retry": {"A": {"max_attempts": 12}, "B": {"max_attempts": 12}}}


@pytest.fixture
def proxies_env(monkeypatch, sandbox):
    monkeypatch.setenv("FLEET_PROXIES", ",".join(sandbox.proxy_urls))
    return sandbox.proxy_urls


def logs(instance, result) -> list[str]:
    return [r.user_message for r in instance.all_logs(result.run_id)]


def test_transient_pages_are_retried_through_step_up_for_retry_and_all_end_stored(
        fleet_env, sandbox, tmp_path, proxies_env):
    sandbox.set_faults({"seed": 3, "transient_rate": 0.2, "reset_rate": 0.15,
                        "truncate_rate": 0.1, "only_targets": ["jobs"]})
    path = targets_file(tmp_path, jobs=MANY_ATTEMPTS)
    with dg.instance_for_test() as instance:
        result = run(instance, DATE, "jobs", path)
        assert result.success
        messages = logs(instance, result)
    stats = sandbox.stats()
    assert {"transient", "reset", "truncate"} <= set(stats["faults"])
    assert retries(result), "A pages must be retried by Dagster, not inside the step"
    assert any("retrying (A)" in m for m in messages)
    assert not any("rotating (B)" in m for m in messages)
    entries = manifest(fleet_env, "jobs", DATE)
    assert [e.status for e in entries] == [mf.STORED] * JOBS
    assert len(page_objects(fleet_env, "jobs", DATE)) == JOBS
    # A relayed reset or a 5xx is the site's noise: no healthy proxy was burned for it.
    assert raw_metadata(result)["proxies_rotated"] == 0
    assert not list(LocalObjectStore(fleet_env).list("state/proxies/"))


def test_banned_proxy_is_rotated_and_the_pages_succeed_through_the_others(
        fleet_env, sandbox, tmp_path, proxies_env):
    sandbox.set_faults({"ban_clients": ["proxy-0"]})
    path = targets_file(tmp_path)
    with dg.instance_for_test() as instance:
        result = run(instance, DATE, "jobs", path)
        assert result.success
        messages = logs(instance, result)
    meta = raw_metadata(result)
    assert meta["stored"] == JOBS
    stats = sandbox.stats()
    by_client = stats["by_client_status"]
    # Only bans on proxy-0, but robots.txt (the sandbox never faults it; it takes the proxy
    # route like the pages) may have gone through it.
    robots = stats["by_target"]["robots.txt"]
    assert set(by_client["proxy-0"]) <= {"403", "200"} and by_client["proxy-0"].get("200", 0) <= robots
    assert by_client["proxy-0"]["403"] >= 1
    ok = sum(by_client[p].get("200", 0) for p in ("proxy-0", "proxy-1", "proxy-2"))
    assert ok == JOBS + robots  # every page exactly once, through the healthy proxies
    assert "direct" not in by_client
    store = LocalObjectStore(fleet_env)
    assert list(store.list("state/proxies/jobs/"))  # the ban outlives the step
    # round-robin reaches proxy-0 in the first attempt, so some pages wait for a rotation
    assert retries(result) and any("rotating (B)" in m for m in messages)


class _Recording:
    """A real fetcher that also notes when each request left and its answer came back."""

    def __init__(self, inner, log):
        self.inner, self.log = inner, log

    def fetch(self, url, proxy=None, headers=None):
        sent = time.time()
        outcome = self.inner.fetch(url, proxy=proxy, headers=headers)
        self.log.append((url, sent, time.time(), outcome.status, outcome.header("retry-after")))
        return outcome


REQUESTS: list[tuple] = []


class RecordingFetcher(FetcherResource):
    def http(self, target):
        return _Recording(super().http(target), REQUESTS)


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_429_waits_at_least_its_retry_after(fleet_env, sandbox, tmp_path, form):
    retry_after = 2
    sandbox.set_faults({"seed": 5, "rate_limit_rate": 0.3, "retry_after": retry_after,
                        "retry_after_form": form, "only_targets": ["jobs"]})
    path = targets_file(tmp_path, jobs=MANY_ATTEMPTS)
    REQUESTS.clear()
    with dg.instance_for_test() as instance:
        result = run(instance, DATE, "jobs", path, RecordingFetcher(**FAST))
        assert result.success
        step_logs = [r for r in instance.all_logs(result.run_id) if r.dagster_event is not None]
    limited = [r for r in REQUESTS if r[3] == 429]
    assert limited and retries(result)
    for url, _sent, answered, _status, header in limited:
        later = [r[1] for r in REQUESTS if r[0] == url and r[1] > answered]
        assert later, f"{url} was never retried"
        if form == "seconds":
            assert later[0] - answered >= retry_after
        else:
            assert later[0] >= email.utils.parsedate_to_datetime(header).timestamp()
    # Dagster honoured each requested wait before re-executing the step.
    ups = [r for r in step_logs if r.dagster_event.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    restarts = [r.timestamp for r in step_logs
                if r.dagster_event.event_type == dg.DagsterEventType.STEP_RESTARTED]
    for up, restart_at in zip(ups, restarts, strict=True):
        assert restart_at - up.timestamp >= up.dagster_event.event_specific_data.seconds_to_wait - 0.05
    assert [e.status for e in manifest(fleet_env, "jobs", DATE)] == [mf.STORED] * JOBS


def test_captcha_pages_are_never_stored_as_data(fleet_env, sandbox, tmp_path, proxies_env):
    sandbox.set_faults({"captcha_clients": ["proxy-1"]})
    path = targets_file(tmp_path)
    with dg.instance_for_test() as instance:
        result = run(instance, DATE, "jobs", path,
                     selection=["raw_pages", "extracted_records"])
        assert result.success
    assert sandbox.stats()["faults"].get("captcha", 0) >= 1
    objects = page_objects(fleet_env, "jobs", DATE)
    assert len(objects) == JOBS
    for key in objects:
        text = body(fleet_env, key).lower()
        assert not any(m.lower().encode() in text for m in DEFAULT_CAPTCHA_MARKERS), key
    assert len(table(fleet_env, "records", "jobs", DATE)) == JOBS


def gone_count(sandbox) -> int:
    by_status = sandbox.stats()["by_status"]
    return by_status.get("404", 0) + by_status.get("410", 0)


def test_gone_pages_become_one_tombstone_each_with_evidence_and_no_retry(
        fleet_env, sandbox, tmp_path):
    sandbox.set_faults({"seed": 11, "gone_rate": 0.3, "only_targets": ["jobs"]})
    path = targets_file(tmp_path)
    with dg.instance_for_test() as instance:
        result = run(instance, DATE, "jobs", path, selection=["raw_pages", "extracted_records",
                                                               "daily_aggregates"])
        assert result.success, "a tombstone never fails the partition"
        assert not retries(result)
    gone = gone_count(sandbox)
    assert 0 < gone < JOBS
    rows = table(fleet_env, "tombstones", "jobs", DATE)
    entries = {e.url: e for e in manifest(fleet_env, "jobs", DATE)}
    assert sorted(r["url"] for r in rows) == sorted(u for u, e in entries.items()
                                                    if e.status == mf.GONE)
    assert len(rows) == gone
    store = LocalObjectStore(fleet_env)
    for r in rows:
        assert r["status"] in (404, 410) and r["first_seen_gone"] == DATE
        assert r["evidence_key"] == keys.evidence_key("jobs", DATE, r["natural_key"])
        assert store.exists(r["evidence_key"])
        assert "content-type" in r["headers"]
        assert entries[r["url"]].attempts == 1
    assert raw_metadata(result)["tombstones_written"] == gone
    con = duckdb.connect(str(fleet_env / "warehouse.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM tombstones WHERE date = ?", [DATE]).fetchone()[0] == gone
    con.close()

    # The next day, the tombstoned URLs are not fetched again.
    sandbox.reset_stats()
    with dg.instance_for_test() as instance:
        assert run(instance, NEXT, "jobs", path).success
    assert sandbox.stats()["by_target"]["jobs"] == JOBS - gone
    assert gone_count(sandbox) == 0
    rows2 = table(fleet_env, "tombstones", "jobs", NEXT)
    assert len(rows2) == gone
    assert {r["first_seen_gone"] for r in rows2} == {DATE}
    assert all(store.exists(r["evidence_key"]) for r in rows2)


def test_tombstoned_urls_are_refetched_when_the_target_opts_in(fleet_env, sandbox, tmp_path):
    sandbox.set_faults({"seed": 11, "gone_rate": 0.3, "only_targets": ["jobs"]})
    path = targets_file(tmp_path, jobs={"refetch_tombstoned": True})
    with dg.instance_for_test() as instance:
        assert run(instance, DATE, "jobs", path).success
        gone = gone_count(sandbox)
        sandbox.reset_stats()
        assert run(instance, NEXT, "jobs", path).success
    assert sandbox.stats()["by_target"]["jobs"] == JOBS
    assert gone_count(sandbox) == gone
    rows = table(fleet_env, "tombstones", "jobs", NEXT)
    assert {r["first_seen_gone"] for r in rows} == {DATE}  # the first day it was seen gone


def test_drifted_pages_are_stored_once_and_not_retried(fleet_env, sandbox, tmp_path):
    sandbox.set_faults({"drift_from": {"jobs": DATE}})
    path = targets_file(tmp_path)
    with dg.instance_for_test() as instance:
        result = run(instance, DATE, "jobs", path, FetcherResource(**FAST),
                     selection=["raw_pages", "extracted_records"])
    # C is confirmed before it counts: each page is asked once more (one B-paced retry of the
    # step, no proxies here), then stored as C and never fetched again.
    assert len(retries(result)) == 1
    assert sandbox.stats()["by_target"]["jobs"] == 2 * JOBS
    by_asset = {e.event_specific_data.materialization.asset_key.path[-1]:
                e.event_specific_data.materialization.metadata
                for e in result.get_asset_materialization_events()}
    assert by_asset["raw_pages"]["stored"].value == JOBS
    assert by_asset["raw_pages"]["confirmed_C"].value == JOBS
    assert by_asset["extracted_records"]["outcome_C"].value == JOBS
    assert by_asset["extracted_records"]["records"].value == 0


def test_a_long_retry_after_ends_the_step_with_due_at(fleet_env, sandbox, tmp_path):
    sandbox.set_faults({"rate_limit_rate": 1.0, "retry_after": 120, "only_targets": ["jobs"]})
    path = targets_file(tmp_path)
    before = time.time()
    with dg.instance_for_test() as instance:
        result = run(instance, DATE, "jobs", path, FetcherResource(**FAST))
    assert not result.success
    assert not retries(result), "a long wait must leave the run, not busy-wait in it"
    meta = failure_metadata(result)
    assert meta["failure_class"] == "B"
    assert before + 119 <= meta["due_at"] <= time.time() + 121
    assert sorted(meta["pending_urls_by_class"]) == ["B"]
    assert meta["pending"] == JOBS and meta["pending_B"] == JOBS
    assert sandbox.stats()["by_target"]["jobs"] == JOBS


def test_exhausted_attempts_fail_with_pending_urls_by_class(fleet_env, sandbox, tmp_path,
                                                            monkeypatch):
    # The fleet would close this always-failing host (test_budget); here attempts run out first.
    monkeypatch.setenv("FLEET_BUDGET_TRIP_AFTER", "1000")
    sandbox.set_faults({"transient_rate": 1.0, "only_targets": ["jobs"]})
    path = targets_file(tmp_path, jobs={"retry": {"A": {"max_attempts": 3}}})
    with dg.instance_for_test() as instance:
        result = run(instance, DATE, "jobs", path)
    assert not result.success
    assert len(retries(result)) == 2
    meta = failure_metadata(result)
    assert meta["failure_class"] == "A" and meta["attempts"] == 3
    assert len(meta["pending_urls_by_class"]["A"]) == JOBS
    assert "attempts exhausted" in step_failure(result).event_specific_data.error.message
    # every attempt re-fetched only what was pending: 15 pages x 3 attempts
    assert sandbox.stats()["by_target"]["jobs"] == 3 * JOBS


def test_every_proxy_burned_is_a_clear_class_b_failure_with_when_to_come_back(
        fleet_env, sandbox, tmp_path, proxies_env):
    sandbox.set_faults({"ban_clients": ["proxy-0", "proxy-1", "proxy-2"]})
    path = targets_file(tmp_path)
    with dg.instance_for_test() as instance:
        result = run(instance, DATE, "jobs", path)
    assert not result.success
    error = step_failure(result).event_specific_data.error
    assert "ProxiesExhausted (B)" in error.message and "come back after" in error.message
    meta = failure_metadata(result)
    assert meta["proxies_exhausted"] is True and meta["failure_class"] == "B"
    assert meta["due_at"] > time.time() + 200  # the default 300 s cooldown
    stats = sandbox.stats()  # never went direct, robots.txt included (it takes the proxy route)
    assert "direct" not in stats["by_client"] and stats["by_target"]["robots.txt"] >= 1

