"""The ``fleet`` command: serve the sandbox, run the demo, query the warehouse."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import warnings
from collections.abc import Sequence

from fleet_assets.cli import check
from fleet_assets.lib.targets import TargetConfigError


def _days(end: str | None, days: int) -> list[str]:
    last = dt.date.fromisoformat(end) if end else dt.date.today() - dt.timedelta(days=1)
    return [(last - dt.timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]


def cmd_sandbox(args: argparse.Namespace) -> int:
    from fleet_assets.sandbox.__main__ import main as sandbox_main

    argv = ["--port", str(args.port), "--proxies", str(args.proxies)]
    if args.faults:
        argv += ["--faults", args.faults]
    return sandbox_main(argv)


def _progress(run, n: int, total: int) -> None:
    status = "ok " if run.success else "FAILED"
    pages = run.metadata.get("raw_pages.pages")
    records = run.metadata.get("extracted_records.records")
    detail = ""
    if pages is not None:
        detail += f" pages={int(pages)}"
    if records is not None:
        detail += f" records={int(records)}"
    if not run.success:
        detail += f"  {run.error.splitlines()[0][:120] if run.error else ''}"
    print(f"  [{n:>3}/{total}] {status} {run.target:<8} {run.date}{detail}", flush=True)


def cmd_demo(args: argparse.Namespace) -> int:
    from fleet_assets.cli.launch import AGGREGATE, INGEST, materialize_many
    from fleet_assets.lib.home import fleet_home, targets_path, warehouse_path
    from fleet_assets.lib.targets import load_targets
    from fleet_assets.resources import build_resources
    from fleet_assets.sandbox.process import SandboxProcess
    from fleet_assets.state.instance import get_instance, register_targets

    dates = _days(args.end, args.days)
    with SandboxProcess() as sandbox:
        os.environ["FLEET_SANDBOX_URL"] = sandbox.url
        targets = load_targets(targets_path())
        names = [t for t in targets if not args.target or t in args.target]
        instance = get_instance()
        added = register_targets(instance, names)
        print(f"fleet demo: FLEET_HOME={fleet_home()}  sandbox={sandbox.url}")
        print(f"  targets: {', '.join(names)}{' (registered ' + ', '.join(added) + ')' if added else ''}")
        print(f"  dates:   {dates[0]} .. {dates[-1]}")
        pairs = [(d, t) for t in names for d in dates]
        print(f"  ingest: {len(pairs)} partitions (raw_pages -> extracted_records), "
              f"{args.workers} at once")
        ingest = materialize_many(pairs, INGEST, workers=args.workers, on_done=_progress)
        ok_pairs = [(r.date, r.target) for r in ingest if r.success]
        print(f"  aggregate: {len(ok_pairs)} partitions (daily_aggregates)")
        aggregate = materialize_many(ok_pairs, AGGREGATE, workers=args.workers,
                                     on_done=_progress)
    warehouse = build_resources()["warehouse"]
    warehouse.ensure_views(targets.values())
    rows = warehouse.query(
        "SELECT r.target, count(DISTINCT r.date) AS days, count(*) AS records, "
        "(SELECT count(*) FROM aggregates a WHERE a.target = r.target) AS aggregate_rows "
        "FROM records r GROUP BY r.target ORDER BY r.target"
    )
    print(f"\nwarehouse {warehouse_path()}:")
    print(f"  {'target':<10}{'days':>6}{'records':>10}{'aggregate rows':>16}")
    for target, days, records, aggs in rows:
        print(f"  {target:<10}{days:>6}{records:>10}{aggs:>16}")
    failed = [r for r in [*ingest, *aggregate] if not r.success]
    if failed:
        print(f"\n{len(failed)} partition run(s) failed; see the Dagster UI (make dev)")
        return 1
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    from fleet_assets.lib.home import targets_path
    from fleet_assets.lib.targets import load_targets
    from fleet_assets.resources import build_resources

    warehouse = build_resources()["warehouse"]
    warehouse.ensure_views(load_targets(targets_path()).values())
    con = warehouse.connect(read_only=True)
    try:
        cur = con.execute(args.query)
        cols = [d[0] for d in cur.description or []]
        print("\t".join(cols))
        for row in cur.fetchall():
            print("\t".join("" if v is None else str(v) for v in row))
    finally:
        con.close()
    return 0


def cmd_reset_circuit(args: argparse.Namespace) -> int:
    from fleet_assets.state.circuit import reset_circuit
    from fleet_assets.state.instance import get_instance

    try:
        state = reset_circuit(get_instance(), args.target, by=f"cli {os.environ.get('USER', '')}",
                              note=args.note or "")
    except ValueError as exc:
        print(f"fleet reset-circuit: {exc}", file=sys.stderr)
        return 2
    print(f"circuit {args.target}: {state.status} ({state.reason})")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from fleet_assets.assets.health import fleet_health_table
    from fleet_assets.lib.health import text_table
    from fleet_assets.lib.home import targets_path
    from fleet_assets.lib.targets import load_targets
    from fleet_assets.state.instance import get_instance

    rows = fleet_health_table(get_instance(), load_targets(targets_path()), recent_dates=args.days)
    print(f"fleet status: {len(rows)} target(s), last {args.days} partition day(s) each")
    print(text_table(rows))
    return 0


def cmd_backfill(args: argparse.Namespace) -> int:
    from fleet_assets.automation.partitions import START_DATE
    from fleet_assets.cli.backfill import BackfillError, GraphQLBackfills, date_range
    from fleet_assets.lib.home import targets_path
    from fleet_assets.lib.targets import load_targets

    try:
        dates = date_range(args.start, args.end, START_DATE)
        known = load_targets(targets_path())
        unknown = sorted(set(args.target or ()) - set(known))
        if unknown:
            raise BackfillError(f"--target {', '.join(unknown)}: not in {targets_path()} "
                                f"(known: {', '.join(sorted(known))})")
        names = sorted(args.target or known)
        client = GraphQLBackfills(args.url)
        backfill_id = client.launch(dates, names, executor=args.executor)
        print(f"fleet backfill: {backfill_id} at {client.url}/overview/backfills/{backfill_id}")
        print(f"  {len(dates)} day(s) {dates[0]} .. {dates[-1]} x {len(names)} target(s): "
              f"{', '.join(names)}", flush=True)
        if not args.wait:
            return 0
        done = [0]

        def report(run, progress) -> None:
            done[0] += 1
            status = "ok " if run.status == "SUCCESS" else run.status
            print(f"  [{done[0]:>3}] {status} {run.partition:<22} run {run.run_id[:8]}  "
                  f"({progress.materialized}/{progress.targeted} asset partitions)", flush=True)

        final = client.wait(backfill_id, timeout=args.timeout, on_run_done=report)
    except BackfillError as exc:
        print(f"fleet backfill: {exc}", file=sys.stderr)
        return 2
    print(f"backfill {final.status}: {final.materialized}/{final.targeted} asset partitions "
          f"materialized, {final.failed} failed")
    return 0 if final.status in ("COMPLETED", "COMPLETED_SUCCESS") and not final.failed else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fleet", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sandbox", help="serve the local adversarial web site and proxies")
    p.add_argument("--port", type=int, default=8787)
    p.add_argument("--proxies", type=int, default=3)
    p.add_argument("--faults", help="fault knobs as JSON, e.g. '{\"transient_rate\": 0.2}'")
    p.set_defaults(func=cmd_sandbox)

    p = sub.add_parser("demo", help="materialize targets x days through the local instance")
    p.add_argument("--days", type=int, default=7)
    p.add_argument("--end", help="last date (YYYY-MM-DD); default yesterday")
    p.add_argument("--target", action="append", help="only this target (repeatable)")
    p.add_argument("--workers", type=int, default=3, help="partitions run at once")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("sql", help="run a read-only SQL query on the warehouse")
    p.add_argument("query")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("reset-circuit", help="after fixing targets.yaml: move a target's drift "
                       "circuit to half-open (its next partition is a probe)")
    p.add_argument("target")
    p.add_argument("--note", help="why (kept with the reset event)")
    p.set_defaults(func=cmd_reset_circuit)

    p = sub.add_parser("status", help="per-target fleet health (same table as fleet_health)")
    p.add_argument("--days", type=int, default=7, help="recent partition days per target")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("backfill", help="launch a Dagster backfill (run by the daemon) via GraphQL")
    p.add_argument("--from", dest="start", required=True, help="first date (YYYY-MM-DD)")
    p.add_argument("--to", dest="end", required=True, help="last date (YYYY-MM-DD)")
    p.add_argument("--target", action="append", help="only this target (repeatable; default all)")
    p.add_argument("--url", help="Dagster webserver (default $FLEET_DAGSTER_URL or http://127.0.0.1:3000)")
    p.add_argument("--no-wait", dest="wait", action="store_false",
                   help="return after launching instead of following progress")
    p.add_argument("--timeout", type=float, default=3600, help="seconds to wait for completion")
    p.add_argument("--executor", choices=("in_process", "multiprocess"), default="in_process",
                   help="how each run executes its steps (default in_process: one process per run)")
    p.set_defaults(func=cmd_backfill)

    check.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Dagster flags beta/preview APIs we use on purpose (partitioned checks); not news to a CLI user.
    warnings.filterwarnings("ignore", message=r".*is currently in (beta|preview)")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except TargetConfigError as exc:
        print(f"fleet: targets.yaml: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
