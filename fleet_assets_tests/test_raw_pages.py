"""raw_pages: what the asset writes and how it acts on lib/crawl/retry.py's decision.

The retry flows end to end (429s, proxies, CAPTCHAs, attempts used up) are in
test_retries.py; the decision itself is unit-tested in test_retry.py.
"""

from __future__ import annotations

import dagster as dg
from retry_support import failure_metadata, raw_metadata, retries, run, targets_file

from fleet_assets.assets.raw_pages import OUTCOME_LABELS
from fleet_assets.resources.fetcher import FetcherResource

DATE = "2025-06-10"


def test_a_complete_partition_materializes_with_every_fixed_key(fleet_env, sandbox, tmp_path):
    result = run(dg.DagsterInstance.ephemeral(), DATE, "jobs", targets_file(tmp_path))
    assert result.success
    meta = raw_metadata(result)
    assert meta["pending"] == meta["pending_A"] == meta["pending_B"] == 0
    assert meta["stored"] == meta["pages"] > 0 and meta["listing_complete"] is True
    assert {f"outcome_{k}" for k in OUTCOME_LABELS} <= set(meta)
    assert meta["manifest_key"].endswith(f"{DATE}/_manifest.jsonl")


def test_a_wait_longer_than_the_in_run_limit_leaves_with_due_at(fleet_env, sandbox, tmp_path):
    """LeaveUntil: no RetryRequested, a Failure whose metadata the recovery sensor reads."""
    sandbox.set_faults({"transient_rate": 1.0, "only_targets": ["jobs"]})
    # -1: no wait is short enough to stay in the run, whatever the jitter drew
    fetcher = FetcherResource(backoff_scale=1.0, max_in_run_wait_seconds=-1.0)
    result = run(dg.DagsterInstance.ephemeral(), DATE, "jobs", targets_file(tmp_path),
                 fetcher=fetcher)
    assert not result.success and retries(result) == []
    meta = failure_metadata(result)
    assert meta["failure_class"] == "A" and meta["attempts"] == 1
    assert meta["wait_seconds"] >= 0 and meta["due_at"] > 0 and meta["pending_A"] > 0
