"""`fleet backfill` input checks: bad input fails before anything is launched, naming the fix."""

import pytest

from fleet_assets.cli import main as cli
from fleet_assets.cli.backfill import BackfillError, date_range
from fleet_assets_tests.dagster_services import free_port


def test_date_range_is_inclusive():
    assert date_range("2025-06-10", "2025-06-12", "2025-01-01") == ["2025-06-10", "2025-06-11", "2025-06-12"]


@pytest.mark.parametrize("start, end, message", [
    ("2025-06-12", "2025-06-10", "before --from 2025-06-12; swap them"),
    ("2024-12-31", "2025-01-02", "before the first partition 2025-01-01; start at 2025-01-01, "
                                  "or set FLEET_START_DATE"),
    ("2025-06-10", "2999-01-01", "not a complete day yet"),
    ("June 10", "2025-06-12", "write dates as YYYY-MM-DD"),
])
def test_date_range_rejects_bad_input(start, end, message):
    with pytest.raises(BackfillError, match=message):
        date_range(start, end, "2025-01-01")


@pytest.mark.parametrize("argv, message", [
    (["--target", "nope"], "--target nope: not in"),
    (["--url", "http://127.0.0.1:{port}"], "no Dagster webserver at http://127.0.0.1:"),
])
def test_fleet_backfill_explains_bad_input_and_exits_2(argv, message, capsys):
    argv = [a.format(port=free_port()) for a in argv]
    assert cli.main(["backfill", "--from", "2025-06-10", "--to", "2025-06-11", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err


DRIFT_DATE = "2025-06-11"
DRIFT_TARGETS = ["jobs", "news", "shop"]
_CHECK_EXECUTIONS = """query($check: String!) {
  assetCheckExecutions(assetKey: {path: ["extracted_records"]}, checkName: $check, limit: 50) {
    runId partition status evaluation { success partition } } }"""


@pytest.mark.slow
def test_a_drifted_partition_runs_once_and_its_check_shows_the_failure(
        sandbox, tmp_path, monkeypatch):
    """A backfill of one day x 3 targets with `news` drifted: the drift is a decision, so
    Dagster does not run the partition again; the check tab's data shows that partition
    failed and the others passed, and the CLI's FAILURE line says why."""
    import re
    import subprocess
    import sys

    from fleet_assets.cli.backfill import GraphQLBackfills
    from fleet_assets.settings import REPO_ROOT
    from fleet_assets_tests.dagster_services import DagsterServices

    sandbox.set_faults({"drift_from": {"news": DRIFT_DATE}})
    with DagsterServices(tmp_path / "svc", sandbox.url) as services:
        env = {**services.env, "FLEET_DAGSTER_URL": services.url}
        proc = subprocess.run(
            [sys.executable, "-m", "fleet_assets.cli.main", "backfill", "--from", DRIFT_DATE,
             "--to", DRIFT_DATE, "--timeout", "420"],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=480)
        out = proc.stdout
        assert proc.returncode == 1, f"{out}\n{proc.stderr}\n{services.logs()}"
        # The counter counts finished partitions; the FAILURE line carries the check's reason.
        assert re.search(r"\[\s*3/3\]", out), out
        [failure] = [line for line in out.splitlines() if " FAILURE " in line]
        assert f"{DRIFT_DATE}|news" in failure and "check " in failure, failure

        client = GraphQLBackfills(services.url)
        backfill_id = re.search(r"fleet backfill: (\S+) at ", out).group(1)
        runs = client.progress(backfill_id).runs
        per_partition = {p: [r for r in runs if r.partition == p]
                         for p in (f"{DRIFT_DATE}|{t}" for t in DRIFT_TARGETS)}
        assert {p: len(r) for p, r in per_partition.items()} == {p: 1 for p in per_partition}, runs
        all_runs = client.query("{ runsOrError { ... on Runs { results { runId } } } }")
        assert len(all_runs["runsOrError"]["results"]) == len(DRIFT_TARGETS)  # no retry run anywhere

        executions = client.query(_CHECK_EXECUTIONS, {"check": "required_field_coverage"})
        by_partition = {}
        for execution in executions["assetCheckExecutions"]:
            by_partition.setdefault(execution["partition"], []).append(execution)
        assert sorted(by_partition) == sorted(per_partition)
        for partition, found in by_partition.items():
            assert len(found) == 1, (partition, found)
            [execution] = found
            drifted = partition == f"{DRIFT_DATE}|news"
            assert execution["evaluation"]["success"] is (not drifted), (partition, execution)
            assert execution["status"] == ("FAILED" if drifted else "SUCCEEDED"), execution
