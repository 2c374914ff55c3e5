"""How the cost of deriving a target's circuit grows with its history.

Records N days of check history for a target in a temporary SQLite instance (one
materialization of extracted_records and three blocking check evaluations per partition,
one failure, one reset, and the circuit events the checks write with ``record_verdict``),
then times ``circuit_state`` per history length, and ``circuit_states`` (one pass) against
``circuit_state`` called once per target, over 12 targets. Prints each timing and its
ratio, measured in one run:

    PYTHONPATH=. .venv/bin/python bench/bench_circuit.py
"""

import datetime as dt
import time
import warnings

import dagster as dg

from fleet_assets.automation.partitions import TARGETS_PARTITIONS
from fleet_assets.state.circuit import (
    DRIFT_CHECK_NAMES,
    RECORDS,
    circuit_state,
    circuit_states,
    record_verdict,
    reset_circuit,
)

HISTORIES = (10, 90, 365)
EXTRA_TARGETS, EXTRA_DAYS = 9, 30
REPEAT = 5


def record_history(instance: dg.DagsterInstance, target: str, days: int) -> None:
    start = dt.date(2025, 1, 1)
    for n in range(days):
        pk = f"{start + dt.timedelta(days=n)}|{target}"
        instance.report_runless_asset_event(dg.AssetMaterialization(RECORDS, partition=pk))
        for check in DRIFT_CHECK_NAMES:
            failed = n == days // 2 and check == "schema_drift"
            instance.report_runless_asset_event(dg.AssetCheckEvaluation(
                asset_key=RECORDS, check_name=check, passed=not failed, partition=pk,
                severity=dg.AssetCheckSeverity.ERROR, metadata={"records": 15}))
            record_verdict(instance.report_runless_asset_event, instance, pk, check, not failed,
                           "ERROR", "bench", {"records": 15})
        if n == days // 2:
            reset_circuit(instance, target, by="bench")


def timed(fn) -> float:
    best = float("inf")
    for _ in range(REPEAT):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    warnings.filterwarnings("ignore")
    with dg.instance_for_test() as instance:
        names = [f"t{days}" for days in HISTORIES]
        extra = [f"x{n}" for n in range(EXTRA_TARGETS)]
        instance.add_dynamic_partitions(TARGETS_PARTITIONS, names + extra)
        for days, name in zip(HISTORIES, names, strict=True):
            record_history(instance, name, days)
        for name in extra:
            record_history(instance, name, EXTRA_DAYS)
        base = None
        print(f"{'history (days)':>15} {'circuit_state s':>16} {'ratio':>7}  state")
        for days, name in zip(HISTORIES, names, strict=True):
            seconds = timed(lambda name=name: circuit_state(instance, name))
            base = base or seconds
            print(f"{days:>15} {seconds:>16.4f} {seconds / base:>7.2f}  "
                  f"{circuit_state(instance, name).status}")
        everyone = names + extra
        batched = timed(lambda: circuit_states(instance, everyone))
        each = timed(lambda: [circuit_state(instance, t) for t in everyone])
        assert circuit_states(instance, everyone) == {t: circuit_state(instance, t) for t in everyone}
        print(f"{len(everyone)} targets: circuit_states {batched:.4f}s, circuit_state per target "
              f"{each:.4f}s, ratio {each / batched:.1f}")


if __name__ == "__main__":
    main()
