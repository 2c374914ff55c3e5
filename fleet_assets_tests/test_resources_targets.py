"""TargetsResource: a bad file or an unknown target fails the step once, naming the fix."""

from __future__ import annotations

import dagster as dg
import pytest

from fleet_assets.resources.targets import TargetsResource
from fleet_assets.settings import REPO_ROOT


def test_the_repository_file_loads_and_a_target_is_found():
    res = TargetsResource(path=str(REPO_ROOT / "targets.yaml"))
    targets = res.load()
    assert {"shop", "news", "jobs"} <= set(targets)
    assert res.get("shop").name == "shop"


def test_a_bad_file_is_a_failure_that_is_never_retried(tmp_path):
    bad = tmp_path / "targets.yaml"
    bad.write_text("targets:\n  - name: Bad Name\n")
    with pytest.raises(dg.Failure) as err:
        TargetsResource(path=str(bad)).load()
    assert err.value.allow_retries is False and "Bad Name" in err.value.description


def test_an_unknown_target_names_the_file_and_the_known_ones():
    path = str(REPO_ROOT / "targets.yaml")
    with pytest.raises(dg.Failure) as err:
        TargetsResource(path=path).get("gone")
    assert err.value.allow_retries is False
    assert f"target 'gone' is a partition but not in {path}" in err.value.description
    assert "known: jobs, news, shop" in err.value.description


def test_a_step_that_loaded_the_file_is_not_made_to_read_it_again(tmp_path):
    path = tmp_path / "targets.yaml"
    path.write_text((REPO_ROOT / "targets.yaml").read_text())
    res = TargetsResource(path=str(path))
    loaded = res.load()
    path.unlink()
    assert res.get("news", loaded) is loaded["news"]
