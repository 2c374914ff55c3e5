"""Blocking drift checks on ``extracted_records``, one evaluation per date x target partition.

Each check judges the typed ``RecordsReport`` the records step returns (``lib/records.py``:
pages parsed, records, pages per field, missing required fields, sample URLs), read back as
the one versioned ``report`` entry of the materialization, with ``lib/drift.py``. An
ERROR failure stops ``daily_aggregates`` for that partition in the same run, opens the
target's circuit (each verdict that matters is recorded by ``state/circuit.py``) and, for the first
failure of an opening, sends one alert through the notifier.
"""

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import dagster as dg

from fleet_assets.automation.partitions import fleet_partitions, split
from fleet_assets.lib import drift
from fleet_assets.lib.circuit import RESET_COMMAND, RESET_JOB
from fleet_assets.lib.failures import ConfigError
from fleet_assets.lib.records import RecordsReport
from fleet_assets.lib.targets import Target
from fleet_assets.resources.alerts import AlertsResource, CircuitAlert
from fleet_assets.resources.targets import TargetsResource
from fleet_assets.state.circuit import (
    DRIFT_CHECK_NAMES,
    OPEN,
    RECORDS,
    derive_circuit,
    opening_key,
    record_verdict,
)

PREVIEW_NOTICE = r".*partitions_def on an AssetCheckSpec is currently in preview"


def _report(context: dg.AssetCheckExecutionContext) -> RecordsReport:
    """The typed report of the partition's latest ``extracted_records`` materialization."""
    result = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=RECORDS, asset_partitions=[context.partition_key]), limit=1)
    mat = result.records[0].asset_materialization if result.records else None
    if mat is None:
        raise dg.Failure(
            description=f"extracted_records {context.partition_key} has no materialization to "
            "check; materialize it first", allow_retries=False)
    entry = mat.metadata.get("report")
    try:
        return RecordsReport.from_json(entry.value if entry is not None else None)
    except ConfigError as exc:
        raise dg.Failure(description=f"{context.partition_key}: {exc}", allow_retries=False) from None


def _metadata(evidence: dict[str, Any]) -> dict[str, Any]:
    return {k: dg.MetadataValue.json(v) if isinstance(v, (list, dict)) else v
            for k, v in evidence.items()}


def _verdict(context: dg.AssetCheckExecutionContext, alerts: AlertsResource, target: Target,
             check: str, verdict: drift.DriftVerdict, severity: str) -> dg.AssetCheckResult:
    if not verdict.passed and severity == "ERROR":
        try:
            _announce(context, alerts, target, check, verdict)
        except Exception as exc:  # noqa: BLE001 - a broken notifier must not swallow the verdict
            context.log.error(f"could not send the drift alert for {target.name}: "
                              f"{type(exc).__name__}: {exc}")
    elif not verdict.passed:
        context.log.warning(f"{check} ({severity}) on {context.partition_key}: {verdict.summary}")
    # The circuit is derived from these events (state/circuit.py), not from check history.
    record_verdict(context.op_execution_context.log_event, context.instance,
                   str(context.partition_key), check, verdict.passed, severity, verdict.summary,
                   dict(verdict.evidence))
    return dg.AssetCheckResult(
        asset_key=RECORDS,
        check_name=check,
        passed=verdict.passed,
        severity=dg.AssetCheckSeverity(severity),
        description=verdict.summary,
        metadata={"summary": verdict.summary, **_metadata(dict(verdict.evidence))},
    )


def _announce(context: dg.AssetCheckExecutionContext, alerts: AlertsResource, target: Target,
              check: str, verdict: drift.DriftVerdict) -> None:
    """Alert if this failure opens the circuit; a circuit already open was announced."""
    before = derive_circuit(context.instance, target.name)
    if before.state.status == OPEN:
        context.log.warning(f"{check} failed on {context.partition_key}; circuit for "
                            f"{target.name} already open since it failed on "
                            f"{before.state.evidence_partition}")
        return
    alerts.notify_opening(CircuitAlert(
        target=target.name,
        check=check,
        partition=context.partition_key,
        reason=f"check {check} failed on {context.partition_key}: {verdict.summary}",
        opening=opening_key(context.instance, before),
        reset_command=RESET_COMMAND.format(target=target.name),
        reset_job=RESET_JOB,
        run_id=context.op_execution_context.run_id,
        evidence=dict(verdict.evidence),
    ), context.log)


Judge = Callable[[dg.AssetCheckExecutionContext, RecordsReport, Target], drift.DriftVerdict]


@dataclass(frozen=True)
class DriftCheck:
    """One blocking check of a partition: its report and the target's settings give a verdict."""

    name: str
    description: str
    judge: Judge
    severity: Callable[[Target], str] = lambda _: "ERROR"

    def spec(self) -> dg.AssetCheckSpec:
        return dg.AssetCheckSpec(self.name, asset=RECORDS, description=self.description,
                                 blocking=True, partitions_def=fleet_partitions)


REQUIRED_FIELD_COVERAGE = DriftCheck(
    "required_field_coverage",
    "Share of stored 200 pages yielding every required field is at least the target's "
    "drift.min_required_coverage (a loaded page with no field is drift).",
    lambda _, report, target: drift.coverage(report, target.drift))
SCHEMA_DRIFT = DriftCheck(
    "schema_drift",
    "Every field configured in targets.yaml is extracted from at least one stored page: "
    "fields extracted versus fields configured.",
    lambda _, report, target: drift.schema(report, target.record.field_names))
MIN_RECORDS = DriftCheck(
    "min_records",
    "The partition yields at least drift.min_records records (default 1): a partition that "
    "reached its pages and yields nothing is never green.",
    lambda _, report, target: drift.min_records(report, target.drift))


def _volume_history(context: dg.AssetCheckExecutionContext, target: Target) -> list[int]:
    """Record counts of the trailing healthy materialized partitions of the target, newest first."""
    date, name = split(context)
    earlier = sorted(
        (k for k in context.instance.get_materialized_partitions(RECORDS)
         if k.endswith(f"|{name}") and k.split("|", 1)[0] < date),
        reverse=True,
    )[: target.drift.volume_window * 2]
    if not earlier:
        return []
    result = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=RECORDS, asset_partitions=earlier), limit=len(earlier) * 4)
    latest: dict[str, RecordsReport | None] = {}
    for record in result.records:
        mat = record.asset_materialization
        if mat is not None and str(mat.partition) not in latest:
            entry = mat.metadata.get("report")
            try:
                latest[str(mat.partition)] = RecordsReport.from_json(entry.value if entry else None)
            except (ConfigError, KeyError, TypeError, ValueError):
                latest[str(mat.partition)] = None  # an older version's: not a baseline
    settings = target.drift
    healthy = [
        report.records for _, report in sorted(latest.items(), reverse=True)
        if report is not None and report.coverage is not None
        and report.coverage >= settings.min_required_coverage
        and report.records >= settings.min_records
    ]
    return healthy[: settings.volume_window]


VOLUME_ANOMALY = DriftCheck(
    "volume_anomaly",
    "Record count is at least drift.volume_min_ratio of the median of the trailing "
    "drift.volume_window healthy partitions (severity drift.volume_severity).",
    lambda context, report, target: drift.volume(report.records, _volume_history(context, target),
                                                 target.drift),
    severity=lambda target: target.drift.volume_severity)


CHECKS = {c.name: c for c in (REQUIRED_FIELD_COVERAGE, SCHEMA_DRIFT, MIN_RECORDS, VOLUME_ANOMALY)}
assert tuple(CHECKS) == DRIFT_CHECK_NAMES, "the circuit reads exactly these checks"

# Partitioned checks are a preview API in Dagster 1.13, used on purpose; its notice would be
# printed by every process that loads the code location (dg dev, its code server).
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=PREVIEW_NOTICE)
    _SPECS = [c.spec() for c in CHECKS.values()]

    @dg.multi_asset_check(specs=_SPECS, name="drift_checks", can_subset=True,
                          description="The blocking drift checks of one extracted_records partition.")
    def drift_checks(context: dg.AssetCheckExecutionContext, targets: TargetsResource,
                     alerts: AlertsResource) -> Iterator[dg.AssetCheckResult]:
        """One step evaluates the four checks (each still its own result, blocking and visible
        in the UI, and selectable alone): one report read, one targets.yaml read, and on the
        multiprocess executor one step process instead of four."""
        target = targets.get(split(context)[1])  # targets.yaml read once for this step
        report = _report(context)
        for key in sorted(context.selected_asset_check_keys, key=lambda k: DRIFT_CHECK_NAMES.index(k.name)):
            check = CHECKS[key.name]
            verdict = check.judge(context, report, target)
            yield _verdict(context, alerts, target, check.name, verdict, check.severity(target))


DRIFT_CHECKS = [drift_checks]
