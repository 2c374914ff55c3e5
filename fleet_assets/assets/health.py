"""``fleet_health``: the state of every target, derived from the instance's run history.

Grain: one row per target (registered as a partition or listed in targets.yaml), refreshed
whole on every materialization. The table is also stored as JSON in the object store and
printed by ``fleet status``; numeric metadata per target and class lets the UI plot
failure-class counts over time.
"""

import json
import warnings
from collections.abc import Iterable
from pathlib import Path

import dagster as dg
import yaml

from fleet_assets.assets.meta import OWNERS
from fleet_assets.automation.partitions import TARGETS_PARTITIONS, date_partitions
from fleet_assets.lib import health
from fleet_assets.lib.store.base import ObjectStore
from fleet_assets.resources.store import ObjectStoreResource
from fleet_assets.resources.targets import TargetsResource
from fleet_assets.settings import max_recoveries, targets_path
from fleet_assets.state import history
from fleet_assets.state.circuit import circuit_states

HEALTH_KEY = "health/fleet_health.json"
RECENT_DATES = 7


def fleet_health_table(instance: dg.DagsterInstance, configured: Iterable[str],
                       recent_dates: int = RECENT_DATES,
                       store: ObjectStore | None = None) -> list[health.TargetHealth]:
    """One ``TargetHealth`` per target known to the file (``configured`` names) or the instance.

    With ``store``, the per-target history fold is kept there (state/history.py), so a call
    reads only what happened since the previous one.
    """
    configured = set(configured)
    registered = set(instance.get_dynamic_partitions(TARGETS_PARTITIONS))
    names = sorted(registered | configured)
    circuits = circuit_states(instance, names)
    observed = history.observations(instance, names, recent_dates, store)
    return [
        health.derive(name, observed[name], circuits[name].status, circuits[name].reason,
                      configured=name in configured, max_recoveries=max_recoveries())
        for name in names
    ]


@dg.asset(
    group_name="health",
    kinds={"python", "json"},
    owners=OWNERS,
    tags={"stage": "health", "storage": "object-store"},
    deps=["raw_pages", "extracted_records"],
)
def fleet_health(
    context: dg.AssetExecutionContext,
    targets: TargetsResource,
    store: ObjectStoreResource,
) -> dg.MaterializeResult:
    """One row per target: state, failure-class counts of recent partitions, circuit, last success."""
    object_store = store.get_store()
    rows = fleet_health_table(context.instance, targets.load(), store=object_store)
    payload = [{"target": h.target, "state": h.state, "reason": h.reason, "counts": dict(h.counts),
                "partitions": h.partitions, "failed_partitions": h.failed_partitions,
                "circuit": h.circuit, "last_success": h.last_success} for h in rows]
    object_store.put(HEALTH_KEY, json.dumps(payload, indent=1, sort_keys=True).encode())
    metadata: dict[str, object] = {
        "table": dg.MetadataValue.md(health.markdown(rows)),
        "targets": len(rows),
        "object_key": HEALTH_KEY,
    }
    for state in health.STATES:
        metadata[f"targets_{state.lower()}"] = sum(h.state == state for h in rows)
    for cls in health.CLASSES:
        metadata[f"failures_{cls}"] = sum(h.counts[cls] for h in rows)
    for h in rows:
        for cls in health.CLASSES:
            metadata[f"{h.target}.failures_{cls}"] = h.counts[cls]
        metadata[f"{h.target}.failed_partitions"] = h.failed_partitions
    return dg.MaterializeResult(metadata=metadata)


def configured_names(path: Path | None = None) -> list[str]:
    """The target names of targets.yaml, read without validating the rest (fast at any size).

    A file that does not parse gives no names: ``fleet check`` and the targets sensor report
    its errors; the health table and the plots do not need them.
    """
    try:
        doc = yaml.safe_load((path or targets_path()).read_text(encoding="utf-8")) or {}
        return sorted({str(t["name"]) for t in doc.get("targets") or []
                       if isinstance(t, dict) and t.get("name")})
    except (OSError, ValueError, yaml.YAMLError, AttributeError, TypeError):
        return []


def target_history_specs(path: Path | None = None) -> list[dg.AssetSpec]:
    """One daily-partitioned external asset per target of targets.yaml: its attempts plotted.

    ``raw_pages`` and ``extracted_records`` report each attempt on ``fleet/targets/<target>``
    (state/history.py); the UI plots each numeric key (``attempts_A`` ...) on the target's
    own page. Only the names are read, so the code location loads fast with many targets.
    """
    return [
        dg.AssetSpec(
            history.target_key(name), group_name="targets", partitions_def=date_partitions,
            description=f"Every raw_pages and extracted_records attempt of {name}, per day: how "
            "each URL attempt ended (attempts_ok/A/B/C/D, from the manifest) and pages_C.",
            owners=OWNERS, kinds={"python"}, tags=_SPEC_TAGS, metadata=_SPEC_REFERENCE,
        )
        for name in configured_names(path)
    ]


_SPEC_TAGS = {"stage": "history", "storage": "dagster-instance", "partitioned": "date"}
with warnings.catch_warnings():  # code references are beta in 1.13; used on purpose
    warnings.simplefilter("ignore", dg.BetaWarning)
    _SPEC_REFERENCE = {"dagster/code_references": dg.CodeReferencesMetadataValue(code_references=[
        dg.LocalFileCodeReference(file_path=__file__,
                                  line_number=target_history_specs.__code__.co_firstlineno)])}
