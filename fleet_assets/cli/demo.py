"""``fleet demo``: start the sandbox and materialize targets x days through the local instance.

The sandbox listens on 8787 (``--sandbox-port``) when that port is free: its URLs are part of every page's
natural key, so a second demo finds every page already stored and stores 0 new objects. It is
started only when a selected target's URLs point at it (``uses_sandbox``): a demo of a real
site pays neither its process nor its imports (0.25-0.4 s of the command on this machine).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from fleet_assets.cli.common import CliError, add_command, configured_targets, recent_days, require_targets
from fleet_assets.settings import SANDBOX_PORT

if TYPE_CHECKING:
    from fleet_assets.lib.targets import Target

NEXT_STEPS = """
next steps:
  make dev                     Dagster UI on http://127.0.0.1:3000: assets, runs, checks, partitions
  .venv/bin/fleet status       per-target health: state, failure classes, circuit
  .venv/bin/fleet sql "SELECT target, count(*) FROM records GROUP BY 1"
  .venv/bin/fleet parse {target} --date {date}    re-extract stored pages with the current rules"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "demo", "materialize targets x days through the local instance")
    p.add_argument("--days", type=int, default=7, help="how many days, ending at --end")
    p.add_argument("--end", help="last date (YYYY-MM-DD); default yesterday")
    p.add_argument("--target", action="append", help="only this target (repeatable; default all)")
    p.add_argument("--workers", type=int, default=3, help="partitions run at once")
    p.add_argument("--sandbox-port", type=int, default=SANDBOX_PORT,
                   help="the sandbox's port when free (else any); keep it to keep the pages' keys")
    p.set_defaults(func=run)


def _progress(run, n: int, total: int) -> None:
    status = "ok    " if run.success else "FAILED"
    detail = ""
    for label, key in (("pages", "raw_pages.pages"), ("new", "raw_pages.newly_stored"),
                       ("records", "extracted_records.records")):
        if key in run.metadata:
            detail += f" {label}={int(run.metadata[key])}"
    if not run.success:
        detail += f"  {run.error[:200]}  (run {run.run_id[:8]}: its log in the UI)"
    print(f"  [{n:>3}/{total}] {status} {run.stage:<16} {run.target:<8} {run.date}{detail}",
          flush=True)


def _partition_days(dates: list[str]) -> list[str]:
    """The dates that are partitions (``FLEET_START_DATE`` .. yesterday); else a ``CliError``.

    Dagster raised ``DagsterUnknownPartitionError`` with a traceback for any other date. Days
    before the start are dropped with a note when some remain (a 7-day demo in the start's
    first week), so the default command works on a new deployment.
    """
    from fleet_assets.settings import start_date

    first = start_date()
    newest = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    if dates[-1] > newest:
        raise CliError(f"--end {dates[-1]} is not a complete day yet; the newest partition is {newest}")
    if dates[-1] < first:
        raise CliError(f"--end {dates[-1]} is before the first partition day {first}; give a later "
                       "--end, or set FLEET_START_DATE to the first day your fleet crawls")
    kept = [d for d in dates if d >= first]
    if len(kept) < len(dates):
        print(f"  {len(dates) - len(kept)} day(s) before FLEET_START_DATE {first} skipped")
    return kept


def uses_sandbox(targets: Mapping[str, Target], names: Iterable[str]) -> bool:
    """Whether a selected target's URLs point at the sandbox (``settings.sandbox_url``).

    The targets were loaded before the sandbox starts, so ``${FLEET_SANDBOX_URL:-...}``
    resolved to the variable's value or its default: either way the URL starts with it.
    """
    from fleet_assets.settings import sandbox_url

    base = sandbox_url().rstrip("/")
    for name in names:
        target = targets[name]
        urls = [*target.urls, *([target.listing.start_url] if target.listing else []),
                *target.allowed_origins]
        if any(u == base or u.startswith(base + "/") for u in urls):
            return True
    return False


def _sandbox(needed: bool, port: int) -> contextlib.AbstractContextManager:
    if not needed:
        return contextlib.nullcontext()
    from fleet_assets.sandbox.process import SandboxProcess, port_if_free

    return SandboxProcess(port=port_if_free(port) if port else 0)


def run(args: argparse.Namespace) -> int:
    from fleet_assets.cli.launch import materialize_fleet
    from fleet_assets.resources import build_resources
    from fleet_assets.settings import fleet_home, warehouse_path
    from fleet_assets.state.instance import get_instance, register_targets

    dates = _partition_days(recent_days(args.end, args.days))
    targets = configured_targets()
    require_targets(args.target or (), targets)
    names = [t for t in targets if not args.target or t in args.target]
    with _sandbox(uses_sandbox(targets, names), args.sandbox_port) as sandbox:
        if sandbox is not None:
            os.environ["FLEET_SANDBOX_URL"] = sandbox.url
        added = register_targets(get_instance(), names)
        print(f"fleet demo: FLEET_HOME={fleet_home()}  sandbox="
              f"{sandbox.url if sandbox else 'not started (no selected target uses it)'}")
        if sandbox and args.sandbox_port and not sandbox.url.endswith(f":{args.sandbox_port}"):
            print(f"  port {args.sandbox_port} is busy: the sandbox URLs (part of each page's key) "
                  "differ from other runs, so this run stores its pages anew")
        print(f"  targets: {', '.join(names)}"
              f"{' (registered ' + ', '.join(added) + ')' if added else ''}")
        print(f"  dates:   {dates[0]} .. {dates[-1]}")
        pairs = [(d, t) for t in names for d in dates]
        print(f"  {len(pairs)} partitions, {args.workers} runs at once: raw_pages -> extracted_records"
              " -> daily_aggregates in one run,\n  and a run of its own for an aggregate that waits"
              " for the day before (so the count can change)")
        runs = materialize_fleet(pairs, workers=args.workers, on_done=_progress)
    new_objects = sum(int(r.metadata.get("raw_pages.newly_stored", 0)) for r in runs)
    print(f"\nstored {new_objects} new raw object(s) (a page is stored once: a re-run stores 0)")
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
    failed = [r for r in runs if not r.success]
    if failed:
        print(f"\n{len(failed)} partition run(s) failed, each with its reason above")
    # A target this demo ran (it named shop even with --target jobs or another targets file).
    print(NEXT_STEPS.format(target=names[0], date=dates[-1]))
    return 1 if failed else 0
