"""failed_partitions: the partitions whose newest run failed, with the raw_pages failure and recoveries."""

import dagster as dg
import pytest

from fleet_assets.automation.partitions import TARGETS_PARTITIONS, fleet_partitions, partition_key
from fleet_assets.lib.failures import FailureClass
from fleet_assets.state.history import RECOVERY_TAG
from fleet_assets.state.recovery import failed_partitions

DATE = "2025-06-10"


class Outcome(dg.Config):
    fail: str = ""  # "" succeeds; "raw_pages" fails with a class; "other" fails downstream
    failure_class: str = "A"
    due_at: float = 1234.5


@dg.asset(partitions_def=fleet_partitions)
def raw_pages(config: Outcome) -> None:
    if config.fail == "raw_pages":
        raise dg.Failure("pages pending", metadata={"failure_class": config.failure_class,
                                                    "due_at": config.due_at})


@dg.asset(partitions_def=fleet_partitions, deps=[raw_pages])
def extracted_records(config: Outcome) -> None:
    if config.fail == "other":
        raise dg.Failure("records failed")


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        inst.add_dynamic_partitions(TARGETS_PARTITIONS, ["shop", "news"])
        yield inst


def _run(instance, target, fail="", tags=None, **outcome):
    cfg = {"fail": fail, **outcome}
    return dg.materialize(
        [raw_pages, extracted_records], partition_key=partition_key(DATE, target),
        instance=instance, raise_on_error=False, tags=tags or {},
        run_config=dg.RunConfig(ops={"raw_pages": Outcome(**cfg),
                                     "extracted_records": Outcome(**cfg)}))


def test_no_failed_run_means_no_failed_partition(instance):
    _run(instance, "shop")
    assert failed_partitions(instance) == []


def test_a_raw_pages_failure_carries_its_class_and_due_time(instance):
    failed = _run(instance, "shop", fail="raw_pages", failure_class="B", due_at=99.0)
    [p] = failed_partitions(instance)
    assert (p.key, p.date, p.target) == (f"{DATE}|shop", DATE, "shop")
    assert p.run.dagster_run.run_id == failed.run_id
    assert p.failed_in_raw_pages and p.failure_class is FailureClass.ENVIRONMENTAL and p.due_at == 99.0
    assert p.recoveries == 0


def test_a_failure_in_another_step_is_reported_without_a_class(instance):
    _run(instance, "news", fail="other")
    [p] = failed_partitions(instance)
    assert p.target == "news" and not p.failed_in_raw_pages
    assert p.failure_class is None and p.due_at is None


def test_a_partition_whose_newest_run_succeeded_is_no_longer_failed(instance):
    _run(instance, "shop", fail="raw_pages")
    _run(instance, "news", fail="raw_pages")
    _run(instance, "shop", tags={RECOVERY_TAG: "true"})
    assert [p.target for p in failed_partitions(instance)] == ["news"]


def test_recoveries_are_counted_from_the_recovery_tagged_runs_of_the_partition(instance):
    _run(instance, "shop", fail="raw_pages")
    _run(instance, "shop", fail="raw_pages", tags={RECOVERY_TAG: "true"})
    last = _run(instance, "shop", fail="raw_pages", tags={RECOVERY_TAG: "true"})
    _run(instance, "news", fail="raw_pages", tags={RECOVERY_TAG: "true"})  # another partition
    by_target = {p.target: p for p in failed_partitions(instance)}
    assert by_target["shop"].recoveries == 2 and by_target["news"].recoveries == 1
    assert by_target["shop"].run.dagster_run.run_id == last.run_id


def test_only_the_lookback_window_of_failed_runs_is_read(instance):
    _run(instance, "shop", fail="raw_pages")
    _run(instance, "news", fail="raw_pages")
    assert [p.target for p in failed_partitions(instance, lookback_runs=1)] == ["news"]
