"""Per-target plots in the Dagster UI: failure-class counts of each target over its days.

Every ``raw_pages``/``extracted_records`` attempt is an observation on ``fleet/targets/<target>``
with numeric metadata (state/history.py); the UI draws one chart per metadata key on that
asset's page. Here two targets get a week of attempts in a webserver's instance and headless
Chromium opens each target's plots.
"""

from __future__ import annotations

import os

import dagster as dg
import pytest

from fleet_assets.settings import REPO_ROOT
from fleet_assets.state import history
from fleet_assets_tests.dagster_services import DagsterServices
from fleet_assets_tests.test_operate import CHROMIUM, CHROMIUM_FLAGS, _require_browser, _skip_onboarding

pytestmark = pytest.mark.slow
ARTIFACTS = REPO_ROOT / "test-artifacts"
WEEK = [f"2025-06-{d:02d}" for d in range(10, 17)]  # FLEET_START_DATE is 2025 in DagsterServices


def _report_week(instance: dg.DagsterInstance, target: str, a_per_day: int) -> None:
    for n, date in enumerate(WEEK):
        ledger = {"ledger_ok": 30, "ledger_A": a_per_day + n, "ledger_B": n % 3, "ledger_D": 1}
        instance.report_runless_asset_event(history.attempt_observation(
            "raw_pages", date, target, history.SUCCESS, ledger, {}))
        instance.report_runless_asset_event(history.attempt_observation(
            "extracted_records", date, target, history.SUCCESS, {"outcome_C": n % 2}, {}))


@pytest.fixture(scope="module")
def webserver(sandbox_process, tmp_path_factory):
    with DagsterServices(tmp_path_factory.mktemp("plots"), sandbox_process.url, daemon=False) as svc:
        yield svc


def test_each_target_has_its_failure_class_plots(webserver):
    sync_playwright = _require_browser()
    with dg.DagsterInstance.from_config(str(webserver.dagster_home)) as instance:
        _report_week(instance, "shop", 2)
        _report_week(instance, "news", 5)
    _skip_onboarding(webserver.url)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1400})
            page.set_default_timeout(60_000)
            for target in ("shop", "news"):
                # Dagster 1.13 draws plots in the overview's Metadata section: "Plots" instead
                # of "Table", by event time (observations have no by-partition plot).
                page.goto(f"{webserver.url}/assets/fleet/targets/{target}",
                          wait_until="networkidle")
                page.get_by_role("button", name="Plots").click()
                page.get_by_text("Events", exact=True).last.click()
                for key in ("attempts_A", "attempts_B", "attempts_D", "pages_C"):
                    page.get_by_text(key, exact=True).first.wait_for(state="visible")
                charts = page.locator("canvas")
                charts.first.wait_for(state="visible")
                assert charts.count() >= 6, f"{target}: {charts.count()} charts"  # ok, A-D, C
                box = charts.first.bounding_box()
                assert box and box["width"] > 100 and box["height"] > 50
                page.screenshot(path=str(ARTIFACTS / f"plots-{target}.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "plots-failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    assert os.path.exists(ARTIFACTS / "plots-news.png")
