"""Blocking drift checks on ``extracted_records``, one evaluation per date x target partition.

Each check judges the evidence the asset recorded in its materialization metadata (pages
parsed, pages per field, missing required fields, sample URLs) with ``lib/drift.py``. An
ERROR failure stops ``daily_aggregates`` for that partition in the same run, opens the
target's circuit (each verdict that matters is recorded by ``state/circuit.py``) and, for the first
failure of an opening, sends one alert through the notifier.
"""

from typing import Any

import dagster as dg

from fleet_assets.automation.partitions import fleet_partitions, split
from fleet_assets.lib import drift
from fleet_assets.lib.circuit import RESET_COMMAND, RESET_JOB
from fleet_assets.lib.targets import Target
from fleet_assets.resources.alerts import AlertsResource, CircuitAlert
from fleet_assets.resources.targets import TargetsResource
from fleet_assets.state.circuit import OPEN, RECORDS, derive_circuit, opening_key, record_verdict


def _materialization(context: dg.AssetCheckExecutionContext) -> dict[str, Any]:
    result = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=RECORDS, asset_partitions=[context.partition_key]), limit=1)
    if not result.records:
        raise dg.Failure(
            description=f"extracted_records {context.partition_key} has no materialization to "
            "check; materialize it first", allow_retries=False)
    mat = result.records[0].asset_materialization
    assert mat is not None
    return {k: v.value for k, v in mat.metadata.items()}


def _stats(meta: dict[str, Any]) -> drift.ExtractionStats:
    if "fields_found" not in meta:
        raise dg.Failure(
            description="extracted_records metadata lacks fields_found (materialized by an older "
            "version); re-materialize the partition", allow_retries=False)
    return drift.ExtractionStats(
        pages_parsed=int(meta.get("pages_parsed", 0)),
        records=int(meta.get("records", 0)),
        pages_with_no_fields=int(meta.get("pages_with_no_fields", 0)),
        missing_required=dict(meta.get("missing_required_fields") or {}),
        fields_found=dict(meta.get("fields_found") or {}),
        sample_urls=tuple(meta.get("sample_drifted_urls") or ()),
    )


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


@dg.asset_check(asset=RECORDS, blocking=True, partitions_def=fleet_partitions,
                description="Share of stored 200 pages yielding every required field is at least "
                "the target's drift.min_required_coverage (a loaded page with no field is drift).")
def required_field_coverage(context: dg.AssetCheckExecutionContext, targets: TargetsResource,
                            alerts: AlertsResource) -> dg.AssetCheckResult:
    _, name = split(context)
    target = targets.get(name)
    verdict = drift.coverage(_stats(_materialization(context)), target.drift)
    return _verdict(context, alerts, target, "required_field_coverage", verdict, "ERROR")


@dg.asset_check(asset=RECORDS, blocking=True, partitions_def=fleet_partitions,
                description="Every field configured in targets.yaml is extracted from at least one "
                "stored page: fields extracted versus fields configured.")
def schema_drift(context: dg.AssetCheckExecutionContext, targets: TargetsResource,
                 alerts: AlertsResource) -> dg.AssetCheckResult:
    _, name = split(context)
    target = targets.get(name)
    verdict = drift.schema(_stats(_materialization(context)), target.record.field_names)
    return _verdict(context, alerts, target, "schema_drift", verdict, "ERROR")


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
    latest: dict[str, dict[str, Any]] = {}
    for record in result.records:
        mat = record.asset_materialization
        if mat is not None and mat.partition not in latest:
            latest[str(mat.partition)] = {k: v.value for k, v in mat.metadata.items()}
    healthy = [
        int(meta.get("records", 0)) for key, meta in sorted(latest.items(), reverse=True)
        if float(meta.get("required_field_coverage", 0)) >= target.drift.min_required_coverage
    ]
    return healthy[: target.drift.volume_window]


@dg.asset_check(asset=RECORDS, blocking=True, partitions_def=fleet_partitions,
                description="Record count is at least drift.volume_min_ratio of the median of the "
                "trailing drift.volume_window healthy partitions (severity drift.volume_severity).")
def volume_anomaly(context: dg.AssetCheckExecutionContext, targets: TargetsResource,
                   alerts: AlertsResource) -> dg.AssetCheckResult:
    _, name = split(context)
    target = targets.get(name)
    meta = _materialization(context)
    verdict = drift.volume(int(meta.get("records", 0)), _volume_history(context, target),
                           target.drift)
    return _verdict(context, alerts, target, "volume_anomaly", verdict,
                    target.drift.volume_severity)


DRIFT_CHECKS = [required_field_coverage, schema_drift, volume_anomaly]
