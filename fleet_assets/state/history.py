"""What the Dagster instance remembers about each partition, kept per target so it reads flat.

Every end of a ``raw_pages`` or ``extracted_records`` step attempt (success, in-run retry,
failure) is reported by ``AttemptReport`` as one ``dg.AssetObservation`` on the target's
own asset key ``fleet/targets/<target>``, partition = the date. Its numeric metadata is the
partition's ledger of attempts from the manifest (``attempts_ok/A/B/C/D``: every attempt of
every URL, across step attempts and runs) and, from records, ``pages_C``; the Dagster UI
plots these per target over time.

``digest`` folds these events into one small record per target and date; the fold is kept
in the object store (``SNAPSHOT_KEY``) with the storage id it covers, so ``fleet_health`` and
``fleet status`` read only what was reported since the last call (one indexed query), plus
the runs still in flight (one query), whatever the number of targets and days. Settings
read: none (``KEEP_DATES`` dates per target are kept).
"""

import json
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import dagster as dg

from fleet_assets.lib.health import CLASSES, PartitionObservation, class_of
from fleet_assets.lib.store.base import ObjectMissing, ObjectStore

RECOVERY_TAG = "fleet/recovery"
RECOVERY_NUMBER_TAG = "fleet/recovery_number"
PARTITION_TAG = "dagster/partition"
TARGET_TAG = "dagster/partition/target"
DATE_TAG = "dagster/partition/date"
WILL_RETRY_TAG = "dagster/will_retry"
LEDGER_LABELS = ("ok", *CLASSES)

_IN_FLIGHT = {
    dg.DagsterRunStatus.QUEUED: "queued", dg.DagsterRunStatus.NOT_STARTED: "queued",
    dg.DagsterRunStatus.STARTING: "started", dg.DagsterRunStatus.STARTED: "started",
    dg.DagsterRunStatus.CANCELING: "started",
}
SUCCESS, RETRY, FAILURE = "success", "retry", "failure"
SNAPSHOT_KEY = "state/history/targets.json"
SNAPSHOT_VERSION = 1
KEEP_DATES = 31  # dates kept per target in the snapshot (fleet status --days up to this)
_PAGE = 5000


def target_key(target: str) -> dg.AssetKey:
    return dg.AssetKey(["fleet", "targets", target])


def _plain(value: object) -> object:
    return value.value if isinstance(value, dg.MetadataValue) else value


def number(value: object) -> float | None:
    value = _plain(value)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def attempt_observation(step: str, date: str, target: str, outcome: str,
                        metadata: Mapping[str, object], tags: Mapping[str, str]) -> dg.AssetObservation:
    """One step attempt's end, as the per-target event ``observations`` and the UI read."""
    meta: dict[str, Any] = {"step": step, "outcome": outcome,
                            "recovery_number": int(tags.get(RECOVERY_NUMBER_TAG, "0") or 0)}
    cls = _plain(metadata.get("failure_class"))
    if cls:
        meta["failure_class"] = str(cls)
    due = number(metadata.get("due_at"))
    if due is not None:
        meta["due_at"] = dg.MetadataValue.float(due)
    if any(str(k).startswith("ledger_") for k in metadata):
        for label in LEDGER_LABELS:  # every label on every event: the UI plots fixed keys
            meta[f"attempts_{label}"] = int(number(metadata.get(f"ledger_{label}")) or 0)
    c = number(metadata.get("outcome_C"))
    if step == "extracted_records" and c is not None:
        meta["pages_C"] = int(c)
    return dg.AssetObservation(asset_key=target_key(target), partition=date, metadata=meta)


class AttemptReport:
    """Reports how one step attempt of a date x target asset ended, around its body.

    ``with AttemptReport(context) as report: return report.done(body(...))``: a result is
    a success, ``dg.RetryRequested`` an in-run retry, ``dg.Failure`` a failure with its
    metadata (class, due time, ledger); a circuit refusal did no work and is not reported.
    """

    def __init__(self, context: dg.AssetExecutionContext) -> None:
        self.context = context
        keys = context.partition_key.keys_by_dimension  # type: ignore[union-attr]
        self.date, self.target = keys["date"], keys["target"]

    def _report(self, outcome: str, metadata: Mapping[str, object] | None) -> None:
        self.context.log_event(attempt_observation(
            self.context.asset_key.to_user_string(), self.date, self.target, outcome,
            metadata or {}, self.context.run.tags))

    def __enter__(self) -> "AttemptReport":
        return self

    def done(self, result: dg.MaterializeResult) -> dg.MaterializeResult:
        self._report(SUCCESS, result.metadata)
        return result

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: object) -> bool:
        if isinstance(exc, dg.RetryRequested):
            self._report(RETRY, {})
        elif isinstance(exc, dg.Failure) and "circuit" not in (exc.metadata or {}):
            self._report(FAILURE, exc.metadata)
        return False  # never swallow: Dagster acts on the exception


def in_flight_runs(instance: dg.DagsterInstance) -> dict[tuple[str, str], dg.RunRecord]:
    """The newest queued or running run of each (target, date), from one query."""
    latest: dict[tuple[str, str], dg.RunRecord] = {}
    for record in instance.get_run_records(dg.RunsFilter(statuses=list(_IN_FLIGHT))):
        tags = record.dagster_run.tags
        if TARGET_TAG in tags and DATE_TAG in tags:
            latest.setdefault((tags[TARGET_TAG], tags[DATE_TAG]), record)  # newest first
    return latest


def _fold(digests: dict[str, dict[str, dict]], record: dg.EventLogRecord) -> None:
    """Fold one reported attempt into its partition's digest (records come oldest first)."""
    obs = record.asset_observation
    path = obs.asset_key.path if obs is not None else []
    if obs is None or len(path) != 3 or path[:2] != ["fleet", "targets"] or not record.partition_key:
        return
    meta = {k: v.value for k, v in obs.metadata.items()}
    d = digests.setdefault(path[2], {}).setdefault(record.partition_key, {
        "outcome": None, "failure_class": None, "at": 0.0, "run_id": "", "recovery_number": 0,
        "ledger": None, "succeeded_at": None, "recoveries": 0, "pages_C": None})
    if meta.get("step") == "raw_pages":
        number_ = int(meta.get("recovery_number") or 0)
        d.update(outcome=str(meta.get("outcome")), failure_class=meta.get("failure_class"),
                 at=record.timestamp, run_id=record.run_id, recovery_number=number_,
                 recoveries=max(d["recoveries"], number_))
        if any(f"attempts_{label}" in meta for label in LEDGER_LABELS):
            d["ledger"] = {label: int(meta.get(f"attempts_{label}") or 0) for label in LEDGER_LABELS}
        if meta.get("outcome") == SUCCESS:
            d["succeeded_at"] = record.timestamp
    elif "pages_C" in meta:
        d["pages_C"] = int(meta["pages_C"] or 0)


def _trim(digests: dict[str, dict[str, dict]], keep: int) -> None:
    for target, by_date in digests.items():
        digests[target] = {d: by_date[d] for d in sorted(by_date, reverse=True)[:keep]}


def _observations_after(instance: dg.DagsterInstance, cursor: int) -> list[dg.EventLogRecord]:
    """Observations of every asset key after ``cursor``, oldest first, one page.

    ``fetch_observations`` takes one asset key per call, which would make this one query
    per target; ``get_event_records`` reads every target's in one indexed query. The
    warnings it raises (use ``fetch_observations``; deprecated for Dagster 2.0) would reach
    ``fleet status``'s terminal on every call, so they are silenced here, for this call only.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Use fetch_observations instead")
        warnings.filterwarnings("ignore", message=".*get_event_records` is deprecated")
        return list(instance.get_event_records(
            dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_OBSERVATION,
                                  after_cursor=cursor or None), limit=_PAGE, ascending=True))


def digest(instance: dg.DagsterInstance, store: ObjectStore | None = None,
           keep: int = KEEP_DATES) -> dict[str, dict[str, dict]]:
    """Per target and date, the fold of every reported attempt: the snapshot plus what is new.

    With a ``store`` the fold is kept at ``SNAPSHOT_KEY`` with the storage id it covers, so
    each call reads only the attempts reported since (one indexed query); without one, or
    for more than ``keep`` dates, every attempt is read once.
    """
    snapshot = {"cursor": 0, "keep": keep, "targets": {}}
    if store is not None:
        try:
            loaded = json.loads(store.get(SNAPSHOT_KEY))
            if loaded.get("version") == SNAPSHOT_VERSION and loaded.get("keep", 0) >= keep:
                snapshot = loaded
        except (ObjectMissing, ValueError):
            pass  # none yet, or unreadable: rebuilt from the instance below
    digests, cursor = snapshot["targets"], int(snapshot["cursor"])
    while True:
        records = _observations_after(instance, cursor)
        for record in records:
            _fold(digests, record)
        if records:
            cursor = records[-1].storage_id
        if len(records) < _PAGE:
            break
    _trim(digests, snapshot["keep"])
    if store is not None and cursor != int(snapshot["cursor"]):
        store.put(SNAPSHOT_KEY, json.dumps({"version": SNAPSHOT_VERSION, "cursor": cursor,
                                            "keep": snapshot["keep"], "targets": digests},
                                           separators=(",", ":")).encode())
    return digests


def _outcomes(d: dict) -> dict[str, int]:
    outcomes = dict(d["ledger"] or {})
    cls = d["failure_class"]
    if d["outcome"] == FAILURE and cls in CLASSES and not any(outcomes.values()):
        outcomes[cls] = 1  # the listing itself failed: one page, no ledger
    if d["pages_C"] is not None:
        outcomes["C"] = outcomes.get("C", 0) + d["pages_C"]
    return outcomes


def _observation(date: str, d: dict | None, run: dg.RunRecord | None) -> PartitionObservation:
    d = d or {"outcome": None, "failure_class": None, "at": 0.0, "run_id": "", "ledger": None,
              "recovery_number": 0, "succeeded_at": None, "recoveries": 0, "pages_C": None}
    if run is not None and (run.create_timestamp.timestamp() >= d["at"]
                            or run.dagster_run.run_id == d["run_id"]):
        tags = run.dagster_run.tags
        return PartitionObservation(
            date, _IN_FLIGHT[run.dagster_run.status], is_recovery=tags.get(RECOVERY_TAG) == "true",
            recoveries=max(d["recoveries"], int(tags.get(RECOVERY_NUMBER_TAG, "0") or 0)),
            outcomes=_outcomes(d), succeeded_at=d["succeeded_at"])
    status = "success" if d["outcome"] == SUCCESS else "failure"
    return PartitionObservation(
        date, status, is_recovery=bool(d["recovery_number"]),
        failure_class=class_of(d["failure_class"]) if status == "failure" else None,
        recoveries=d["recoveries"], outcomes=_outcomes(d), succeeded_at=d["succeeded_at"])


def observations(instance: dg.DagsterInstance, targets: Iterable[str], recent_dates: int = 7,
                 store: ObjectStore | None = None) -> dict[str, list[PartitionObservation]]:
    """Per target, its ``recent_dates`` newest partitions that ran, newest first."""
    digests = digest(instance, store, max(KEEP_DATES, recent_dates))
    flying = in_flight_runs(instance)
    out: dict[str, list[PartitionObservation]] = {}
    for target in targets:
        by_date = digests.get(target, {})
        dates = sorted({*by_date, *(d for (t, d) in flying if t == target)}, reverse=True)
        out[target] = [_observation(d, by_date.get(d), flying.get((target, d)))
                       for d in dates[:recent_dates]]
    return out
