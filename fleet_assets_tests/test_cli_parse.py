"""`fleet parse`: a target's rules on one live page, or on a stored partition without refetching."""

from __future__ import annotations

import dagster as dg
import yaml

from fleet_assets.assets import ALL
from fleet_assets.automation.partitions import TARGETS_PARTITIONS, partition_key
from fleet_assets.cli import main as cli
from fleet_assets.resources import build_resources
from fleet_assets.settings import REPO_ROOT

DATE = "2025-06-10"
JOB_FIELDS = ("job_id", "title", "company", "salary", "remote", "location")


def test_parse_fetches_a_sandbox_page_and_prints_every_field(fleet_env, sandbox, capsys):
    url = f"{sandbox.url}/jobs/{DATE}/job/3"
    assert cli.main(["parse", "jobs", url]) == 0
    out = capsys.readouterr().out
    assert f"fetch {url}: HTTP 200" in out
    assert "verdict: ok" in out
    for field in JOB_FIELDS:
        assert f"  {field} " in out, field
    assert "missing required: none" in out
    assert sandbox.stats()["total"] >= 1


def test_parse_names_the_missing_required_fields_of_a_drifted_page(fleet_env, sandbox, capsys):
    sandbox.set_faults({"drift_from": {"jobs": "2025-06-01"}})
    assert cli.main(["parse", "jobs", f"{sandbox.url}/jobs/{DATE}/job/3"]) == 1
    out = capsys.readouterr().out
    assert "verdict: class C (required field(s) not extracted:" in out
    missing = out.split("missing required: ")[1].strip()
    assert missing != "none"
    assert "(required, MISSING)" in out


def test_parse_reports_a_failed_fetch_by_class(fleet_env, sandbox, capsys):
    assert cli.main(["parse", "jobs", f"{sandbox.url}/jobs/{DATE}/nothing-here"]) == 1
    assert "verdict: class D (HTTP 404)" in capsys.readouterr().out


def test_parse_reextracts_a_stored_partition_with_the_current_rules_without_fetching(
        fleet_env, sandbox, tmp_path, monkeypatch, capsys):
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(TARGETS_PARTITIONS, ["jobs"])
        assert dg.materialize(ALL, selection=["raw_pages"], partition_key=partition_key(DATE, "jobs"),
                              instance=instance, resources=build_resources()).success
    assert cli.main(["parse", "jobs", "--date", DATE]) == 0
    assert "15 stored page(s), 15 complete, 0 missing required fields" in capsys.readouterr().out

    # Break one selector, as a site redesign would from the rules' side: the stored pages now
    # lack `company`, and nothing is fetched again to find that out.
    doc = yaml.safe_load((REPO_ROOT / "targets.yaml").read_text())
    jobs = next(t for t in doc["targets"] if t["name"] == "jobs")
    jobs["record"]["fields"]["company"]["css"] = "span.employer"
    changed = tmp_path / "targets.yaml"
    changed.write_text(yaml.safe_dump(doc))
    monkeypatch.setenv("FLEET_TARGETS", str(changed))
    sandbox.reset_stats()
    assert cli.main(["parse", "jobs", "--date", DATE]) == 1
    out = capsys.readouterr().out
    assert "15 stored page(s), 0 complete, 15 missing required fields (company: 15)" in out
    assert sandbox.stats()["total"] == 0

    one = f"{sandbox.url}/jobs/{DATE}/job/3"
    assert cli.main(["parse", "jobs", "--date", DATE, "--url", one]) == 1
    out = capsys.readouterr().out
    assert "company  = None  (required, MISSING)" in out
    assert "missing required: company" in out


def test_parse_explains_bad_input(fleet_env, capsys):
    assert cli.main(["parse", "nope", "http://127.0.0.1:1/"]) == 2
    assert "TARGET nope: not in" in capsys.readouterr().err
    assert cli.main(["parse", "jobs"]) == 2
    assert "give a URL to fetch, or --date D" in capsys.readouterr().err
    assert cli.main(["parse", "jobs", "--date", DATE]) == 2
    assert f"no stored partition {DATE}|jobs" in capsys.readouterr().err


def test_parse_refuses_a_url_the_target_never_fetches_naming_the_fix(fleet_env, capsys):
    """It printed "class D (transport error: offsite)" without naming the target's origins."""
    assert cli.main(["parse", "jobs", "http://127.0.0.1:1/x"]) == 2
    err = capsys.readouterr().err
    assert "http://127.0.0.1:1 is not an origin of this target" in err and "allowed_origins" in err
    assert cli.main(["parse", "jobs", "notaurl"]) == 2
    assert "'notaurl'" in capsys.readouterr().err
