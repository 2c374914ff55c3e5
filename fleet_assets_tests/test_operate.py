"""Operating the fleet like a Dagster user: webserver + daemon on loopback, backfills, the UI.

One webserver and one daemon serve the whole module (starting them costs seconds). The
backfill test runs first and owns the dates it checks; the browser test uses another date.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from fleet_assets import settings
from fleet_assets.cli.backfill import GraphQLBackfills
from fleet_assets.settings import REPO_ROOT
from fleet_assets_tests.dagster_services import DagsterServices

DATES = ["2025-06-10", "2025-06-11", "2025-06-12"]
TARGETS = ["jobs", "news", "shop"]
UI_PARTITION = ("2025-06-20", "jobs")
GRAPH_ASSETS = ("raw_pages", "extracted_records", "daily_aggregates", "fleet_health")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = REPO_ROOT / "test-artifacts"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def services(sandbox_process, tmp_path_factory):
    with DagsterServices(tmp_path_factory.mktemp("dagster-services"), sandbox_process.url) as svc:
        yield svc


def _partitions(fleet_home: Path, table: str) -> set[tuple[str, str]]:
    con = duckdb.connect(str(fleet_home / "warehouse.duckdb"), read_only=True)
    try:
        return {(str(d), t) for t, d in con.execute(f"SELECT DISTINCT target, date FROM {table}").fetchall()}
    finally:
        con.close()


def test_fleet_backfill_runs_3_targets_x_3_days_through_graphql_and_the_daemon(services, sandbox):
    env = {**services.env, "FLEET_DAGSTER_URL": services.url}
    proc = subprocess.run(
        [sys.executable, "-m", "fleet_assets.cli.main", "backfill", "--from", DATES[0], "--to", DATES[-1],
         "--timeout", "420"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=480,
    )
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}\n{services.logs()}"
    lines = [line for line in proc.stdout.splitlines() if re.match(r"\s+\[\s*\d+/\d+\] ok ", line)]
    runs_per_partition = {p: sum(f" {p} " in line for line in lines) for p in
                          (f"{d}|{t}" for d in DATES for t in TARGETS)}
    assert all(n >= 1 for n in runs_per_partition.values()), proc.stdout  # a progress line each
    assert "backfill COMPLETED_SUCCESS: 27/27 asset partitions materialized, 0 failed" in proc.stdout

    backfill_id = re.search(r"fleet backfill: (\S+) at ", proc.stdout).group(1)
    runs = GraphQLBackfills(services.url).query(
        """query($tags: [ExecutionTag!]) { runsOrError(filter: {tags: $tags}) {
        ... on Runs { results { runConfigYaml } } } }""",
        {"tags": [{"key": "dagster/backfill", "value": backfill_id}]})["runsOrError"]["results"]
    assert runs and all("in_process" in r["runConfigYaml"] for r in runs)

    expected = {(d, t) for d in DATES for t in TARGETS}
    assert _partitions(services.fleet_home, "records") == expected
    assert _partitions(services.fleet_home, "aggregates") == expected


def _require_browser():
    required = settings.require_services()
    if not Path(CHROMIUM).exists():
        if required:
            pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)")
        pytest.skip(f"{CHROMIUM} is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            pytest.fail("playwright is missing: pip install -e '.[ui]' (.ci/run does)")
        pytest.skip("playwright is not installed (the ui extra)")
    return sync_playwright


def _skip_onboarding(url: str) -> None:
    """What clicking "Skip" on the community dialog does, so no dialog covers the page."""
    client = GraphQLBackfills(url)
    client.query("mutation { setNuxSeen }")
    assert client.query("{ shouldShowNux }")["shouldShowNux"] is False


def _expand_asset_graph(page, assets, attempts: int = 3) -> None:
    """Expand every group of the lineage graph; a reload re-fits the expanded graph to the view."""
    unfold = page.locator('[aria-label="unfold_more"]')
    for _ in range(attempts):
        page.get_by_text("Global asset lineage").first.wait_for(state="visible")
        page.wait_for_timeout(1500)  # the layout is computed after the data arrives
        while unfold.count():
            unfold.first.click()
            page.wait_for_timeout(300)
        page.wait_for_timeout(1000)  # the expanded groups are remembered by the page
        page.reload(wait_until="networkidle")
        page.wait_for_timeout(1500)
        if not unfold.count() and all(page.get_by_text(a, exact=True).count() for a in assets):
            return


def _wait_for_run(url: str, partition: str, timeout: float = 240) -> str:
    client = GraphQLBackfills(url)
    query = """query($tags: [ExecutionTag!]) { runsOrError(filter: {tags: $tags}) {
      ... on Runs { results { runId status } } } }"""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = client.query(query, {"tags": [{"key": "dagster/partition", "value": partition}]})
        results = runs["runsOrError"]["results"]
        if results and results[0]["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
            return results[0]["status"] + " " + results[0]["runId"]
        time.sleep(1)
    raise AssertionError(f"no finished run of {partition} within {timeout}s")


def test_ui_shows_the_asset_graph_automation_and_materializes_a_partition(services):
    sync_playwright = _require_browser()
    from fleet_assets.definitions import defs

    checks = sorted({(key.asset_key.to_user_string(), key.name)
                     for key in defs.resolve_asset_graph().asset_check_keys})
    ARTIFACTS.mkdir(exist_ok=True)
    _skip_onboarding(services.url)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(60_000)

            page.goto(f"{services.url}/asset-groups", wait_until="networkidle")
            _expand_asset_graph(page, GRAPH_ASSETS)
            for asset in GRAPH_ASSETS:
                page.get_by_text(asset, exact=True).first.wait_for(state="visible")
            page.screenshot(path=str(ARTIFACTS / "asset-graph.png"))

            page.goto(f"{services.url}/overview/automation", wait_until="networkidle")
            for name in ("fleet_targets_sensor", "fleet_daily_sensor", "fleet_recovery_sensor",
                         "fleet_health_schedule"):
                page.get_by_text(name, exact=True).first.wait_for(state="visible")
            page.screenshot(path=str(ARTIFACTS / "automation.png"))

            for asset, check in checks:
                page.goto(f"{services.url}/assets/{asset}?view=checks", wait_until="networkidle")
                page.get_by_text(check, exact=True).first.wait_for(state="visible")
            if checks:
                page.screenshot(path=str(ARTIFACTS / "checks.png"))

            date, target = UI_PARTITION
            page.goto(f"{services.url}/assets/raw_pages", wait_until="networkidle")
            page.get_by_text(re.compile("^Materialize")).first.click()
            dialog = page.get_by_role("dialog")
            dialog.get_by_placeholder(re.compile("^ex: ")).fill(date)
            dialog.get_by_placeholder(re.compile("^ex: ")).press("Enter")
            dialog.get_by_text("Select a partition or create one").click()
            page.get_by_role("menuitem").filter(has_text=re.compile(f"^{target}")).first.click()
            dialog.get_by_text("Launch runs to materialize raw_pages").click()  # close the menu
            page.screenshot(path=str(ARTIFACTS / "materialize-dialog.png"))
            dialog.get_by_role("button", name="Launch 1 run").click()

            status, run_id = _wait_for_run(services.url, f"{date}|{target}").split()
            page.goto(f"{services.url}/runs/{run_id}", wait_until="networkidle")
            page.screenshot(path=str(ARTIFACTS / "ui-run.png"))
            assert status == "SUCCESS", services.logs()
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "failure.png"))
            raise
        finally:
            browser.close()
    manifest = services.fleet_home / "raw" / target / date / "_manifest.jsonl"
    assert manifest.exists()

