"""``fleet backfill``: launch and follow a Dagster partition backfill through GraphQL.

``fleet backfill`` and the end-to-end tests use the client here; the daemon then runs the backfill as
it runs one launched from the UI. Settings: ``FLEET_DAGSTER_URL`` (default
``http://127.0.0.1:3000``, the webserver of ``make dev``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from fleet_assets import settings
from fleet_assets.cli.common import CliError, add_command

ASSETS = ("raw_pages", "extracted_records", "daily_aggregates")
DONE = ("COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED")
TERMINAL_RUNS = ("SUCCESS", "FAILURE", "CANCELED")
EXECUTORS = ("in_process", "multiprocess")

_REPOS = """{ repositoriesOrError { __typename
  ... on RepositoryConnection { nodes { name location { name } assetNodes { assetKey { path } } } }
  ... on PythonError { message } } }"""
_ADD_PARTITION = """mutation($repo: RepositorySelector!, $name: String!, $key: String!) {
  addDynamicPartition(repositorySelector: $repo, partitionsDefName: $name, partitionKey: $key) {
    __typename ... on PythonError { message } ... on UnauthorizedError { message } } }"""
_LAUNCH = """mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on Error { message } } }"""
_STATUS = """query($id: String!, $tags: [ExecutionTag!]) {
  partitionBackfillOrError(backfillId: $id) { __typename
    ... on PartitionBackfill { status numPartitions
      assetBackfillData { assetBackfillStatuses { ... on AssetPartitionsStatusCounts {
        assetKey { path } numPartitionsTargeted numPartitionsMaterialized numPartitionsFailed } } } }
    ... on Error { message } }
  runsOrError(filter: {tags: $tags}) { ... on Runs { results { runId status tags { key value } } } } }"""
_RUN_EVENTS = """query($id: ID!) { logsForRun(runId: $id) { __typename
  ... on EventConnection { events { __typename
    ... on ExecutionStepFailureEvent { stepKey error { message } failureMetadata { description } }
    ... on AssetCheckEvaluationEvent { evaluation { checkName success severity description } } } }
  ... on PythonError { message } } }"""


class BackfillError(CliError):
    """The backfill could not be launched or followed; the message says what to fix."""


@dataclass(frozen=True)
class BackfillRun:
    run_id: str
    status: str
    partition: str


@dataclass(frozen=True)
class BackfillProgress:
    backfill_id: str
    status: str
    targeted: int  # asset partitions
    materialized: int
    failed: int
    runs: tuple[BackfillRun, ...]

    @property
    def done(self) -> bool:
        return self.status in DONE


def date_range(start: str, end: str, earliest: str) -> list[str]:
    """Every date from ``start`` to ``end`` inclusive, validated against the partitions."""
    try:
        first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    except ValueError as exc:
        raise BackfillError(f"--from/--to: {exc}; write dates as YYYY-MM-DD") from None
    if last < first:
        raise BackfillError(f"--to {end} is before --from {start}; swap them")
    if first < dt.date.fromisoformat(earliest):
        raise BackfillError(f"--from {start} is before the first partition {earliest}; start at "
                            f"{earliest}, or set FLEET_START_DATE to an earlier day")
    newest = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    if last > newest:
        raise BackfillError(f"--to {end} is not a complete day yet; the newest partition is {newest}")
    return [(first + dt.timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


class GraphQLBackfills:
    """A small client for the webserver's ``/graphql`` endpoint."""

    def __init__(self, url: str | None = None, timeout: float = 30.0):
        self.url = (url or settings.dagster_url()).rstrip("/")
        self.timeout = timeout
        import requests  # here: every `fleet` command imports this module for its parser

        self._session = requests.Session()
        self._session.trust_env = False  # loopback: never through an HTTP proxy

    def query(self, text: str, variables: dict | None = None) -> dict:
        import requests

        try:
            response = self._session.post(f"{self.url}/graphql", timeout=self.timeout,
                                          json={"query": text, "variables": variables or {}})
        except requests.ConnectionError:
            raise BackfillError(f"no Dagster webserver at {self.url}; start one with `make dev` "
                                "or pass --url / set FLEET_DAGSTER_URL") from None
        body = response.json() if response.content else {}
        if response.status_code != 200 or body.get("errors"):
            raise BackfillError(f"GraphQL error from {self.url}: {body.get('errors') or response.text}")
        return body["data"]

    def repository(self, asset: str = ASSETS[0]) -> dict:
        data = self.query(_REPOS)["repositoriesOrError"]
        for repo in data.get("nodes", []):
            if any(node["assetKey"]["path"] == [asset] for node in repo["assetNodes"]):
                return {"repositoryName": repo["name"], "repositoryLocationName": repo["location"]["name"]}
        raise BackfillError(f"no code location at {self.url} defines {asset}; "
                            "is the webserver started with this repository's workspace.yaml?")

    def ensure_targets(self, repo: dict, targets: Iterable[str]) -> None:
        for target in targets:
            result = self.query(_ADD_PARTITION, {"repo": repo, "name": "targets", "key": target})
            kind = result["addDynamicPartition"]["__typename"]
            if kind not in ("AddDynamicPartitionSuccess", "DuplicateDynamicPartitionError"):
                raise BackfillError(f"could not register target {target}: "
                                    f"{result['addDynamicPartition'].get('message', kind)}")

    def launch(self, dates: Sequence[str], targets: Sequence[str], assets: Sequence[str] = ASSETS,
               title: str = "", executor: str = "in_process") -> str:
        """Launch the backfill; returns its id.

        ``executor="in_process"`` runs a partition's steps in its run worker: they run one
        after the other anyway, so a process per step only costs start-up time, and a step
        waiting for an in-run retry sleeps instead of keeping a parent process busy.
        """
        from fleet_assets.automation.jobs import NO_RERUN_OF_FAILED_STEPS

        if executor not in EXECUTORS:
            raise BackfillError(f"executor {executor!r}: use one of {', '.join(EXECUTORS)}")
        repo = self.repository()
        self.ensure_targets(repo, targets)
        keys = [f"{d}|{t}" for t in targets for d in dates]
        # Exact asset partitions of the range, asset by asset: what is launched is what is listed.
        params = {
            "partitionsByAssets": [
                {"assetKey": {"path": [a]}, "partitions": {"ranges": [{"start": k, "end": k} for k in keys]}}
                for a in assets
            ],
            "title": title or f"fleet backfill {dates[0]}..{dates[-1]} {','.join(targets)}",
            # Backfill runs are asset runs, not `ingest` runs: they need the job's no-rerun tag too.
            "tags": [{"key": "fleet/launched_by", "value": "fleet-backfill"},
                     *({"key": k, "value": v} for k, v in NO_RERUN_OF_FAILED_STEPS.items())],
            "runConfigData": {"execution": {"config": {executor: {}}}},
        }
        result = self.query(_LAUNCH, {"params": params})["launchPartitionBackfill"]
        if result["__typename"] != "LaunchBackfillSuccess":
            raise BackfillError(f"launchPartitionBackfill: {result.get('message', result['__typename'])}")
        return result["backfillId"]

    def progress(self, backfill_id: str) -> BackfillProgress:
        data = self.query(_STATUS, {"id": backfill_id,
                                    "tags": [{"key": "dagster/backfill", "value": backfill_id}]})
        backfill = data["partitionBackfillOrError"]
        if "status" not in backfill:
            raise BackfillError(f"backfill {backfill_id}: {backfill.get('message', backfill['__typename'])}")
        counts = [s for s in (backfill.get("assetBackfillData") or {}).get("assetBackfillStatuses", [])
                  if "numPartitionsTargeted" in s]
        runs = []
        for run in (data.get("runsOrError") or {}).get("results", []):
            tags = {t["key"]: t["value"] for t in run["tags"]}
            runs.append(BackfillRun(run["runId"], run["status"], tags.get("dagster/partition", "")))
        return BackfillProgress(
            backfill_id, backfill["status"],
            targeted=sum(s["numPartitionsTargeted"] for s in counts),
            materialized=sum(s["numPartitionsMaterialized"] for s in counts),
            failed=sum(s["numPartitionsFailed"] for s in counts),
            runs=tuple(sorted(runs, key=lambda r: r.run_id)),
        )

    def failure_reason(self, run_id: str) -> str:
        """Why a run failed, in one line: a failed check, else the failed step's description."""
        logs = self.query(_RUN_EVENTS, {"id": run_id})["logsForRun"]
        events = logs.get("events") or []
        for event in events:
            evaluation = event.get("evaluation")
            # A WARN check does not fail a run; only a failed ERROR check can be the reason.
            if evaluation and not evaluation["success"] and evaluation["severity"] == "ERROR":
                return f"check {evaluation['checkName']}: {_line(evaluation.get('description'))}"
        failures = [e for e in events if e["__typename"] == "ExecutionStepFailureEvent"]
        if not failures:
            return logs.get("message") or "the run failed before any step; see its logs in the UI"
        last = failures[-1]
        text = (last.get("failureMetadata") or {}).get("description") or (last.get("error") or {}).get(
            "message")
        return f"{last['stepKey']}: {_line(text)}"

    def wait(self, backfill_id: str, timeout: float, poll_seconds: float = 2.0,
             on_run_done: Callable[[BackfillRun, BackfillProgress], None] | None = None) -> BackfillProgress:
        """Poll until the backfill is done; ``on_run_done`` sees each run once it finishes."""
        reported: set[str] = set()
        deadline = time.monotonic() + timeout
        while True:
            progress = self.progress(backfill_id)
            for run in progress.runs:
                if run.status in TERMINAL_RUNS and run.run_id not in reported:
                    reported.add(run.run_id)
                    if on_run_done:
                        on_run_done(run, progress)
            if progress.done and all(r.status in TERMINAL_RUNS for r in progress.runs):
                return progress
            if time.monotonic() > deadline:
                raise BackfillError(f"backfill {backfill_id} still {progress.status} after {timeout:.0f}s "
                                    f"({progress.materialized}/{progress.targeted} asset partitions); "
                                    "is dagster-daemon running?")
            time.sleep(poll_seconds)


def _line(text: str | None) -> str:
    return (text or "failed").strip().splitlines()[0][:300]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "backfill", "launch a Dagster backfill (run by the daemon) via GraphQL")
    p.add_argument("--from", dest="start", required=True, help="first date (YYYY-MM-DD)")
    p.add_argument("--to", dest="end", required=True, help="last date (YYYY-MM-DD)")
    p.add_argument("--target", action="append", help="only this target (repeatable; default all)")
    p.add_argument("--url", help="Dagster webserver (default $FLEET_DAGSTER_URL or "
                   f"{settings.DEFAULT_DAGSTER_URL})")
    p.add_argument("--no-wait", dest="wait", action="store_false",
                   help="return after launching instead of following progress")
    p.add_argument("--timeout", type=float, default=3600, help="seconds to wait for completion")
    p.add_argument("--executor", choices=EXECUTORS, default="in_process",
                   help="how each run executes its steps (in_process: one process per run)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fleet_assets.automation.partitions import START_DATE
    from fleet_assets.cli.common import configured_targets, require_targets

    dates = date_range(args.start, args.end, START_DATE)
    known = configured_targets()
    require_targets(args.target or (), known)
    names = sorted(args.target or known)
    client = GraphQLBackfills(args.url)
    backfill_id = client.launch(dates, names, executor=args.executor)
    print(f"fleet backfill: {backfill_id} at {client.url}/overview/backfills/{backfill_id}")
    print(f"  {len(dates)} day(s) {dates[0]} .. {dates[-1]} x {len(names)} target(s): "
          f"{', '.join(names)}", flush=True)
    if not args.wait:
        return 0
    total = len(dates) * len(names)
    finished: set[str] = set()

    def report(run: BackfillRun, progress: BackfillProgress) -> None:
        # Count partitions whose run finished, not the backfill's asset counters: those are
        # updated by the daemon's next iteration and lag behind the runs.
        finished.add(run.partition)
        status = "ok     " if run.status == "SUCCESS" else run.status
        reason = f"  {client.failure_reason(run.run_id)}" if run.status == "FAILURE" else ""
        print(f"  [{len(finished):>3}/{total}] {status} {run.partition:<22} run {run.run_id[:8]}"
              f"{reason}", flush=True)

    final = client.wait(backfill_id, timeout=args.timeout, on_run_done=report)
    print(f"backfill {final.status}: {final.materialized}/{final.targeted} asset partitions "
          f"materialized, {final.failed} failed")
    return 0 if final.status in ("COMPLETED", "COMPLETED_SUCCESS") and not final.failed else 1
