"""``fleet verify [--repair]``: check every stored object of a home or bucket against its proof.

Uses the store of the current environment (``FLEET_ENV``: the local ``$FLEET_HOME`` or the
S3 bucket, see resources/) unless ``--home`` names a local directory. Prints one line per
bad object and the partition to materialize again; ``--repair`` quarantines bad raw objects
and removes bad table files so that materialization rewrites them (lib/store/scan.py).
Exit status: 0 all good (or all repaired), 1 problems left, 2 the store cannot be reached.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fleet_assets.cli.common import add_command
from fleet_assets.lib.failures import ConfigError
from fleet_assets.lib.store.base import StoreError
from fleet_assets.lib.store.scan import scan


def _store(home: str | None):
    if home:
        from fleet_assets.lib.store.local import LocalObjectStore

        if not Path(home).is_dir():
            raise StoreError(f"--home {home}: no such directory")
        return LocalObjectStore(Path(home)), home
    from fleet_assets.resources import build_resources

    resource = build_resources()["store"]
    # Where the objects are, as the user configured it (not the resource's class name).
    root, bucket = getattr(resource, "root", None), getattr(resource, "bucket", None)
    where = (str(root) if root else
             f"s3://{bucket}/{getattr(resource, 'prefix', '') or ''}" if bucket else type(resource).__name__)
    return resource.get_store(), where


def cmd_verify(args: argparse.Namespace) -> int:
    try:
        store, where = _store(args.home)
        report = scan(store, repair=args.repair)
    except (StoreError, ConfigError) as exc:
        print(f"fleet verify: {exc}", file=sys.stderr)
        return 2
    checked = ", ".join(f"{n} {what}" for what, n in sorted(report.checked.items())) or "nothing"
    print(f"fleet verify: {where}: checked {checked}")
    for finding in report.findings:
        print(f"  BAD {finding}")
    if report.ok:
        print("  all objects match their proof")
        return 0
    reruns = sorted({f.rerun for f in report.findings})
    if args.repair:
        print(f"  repaired {len(report.findings)}; now materialize: {'; '.join(reruns)}")
        return 0
    print(f"  {len(report.findings)} bad object(s); run `fleet verify --repair`, then "
          f"materialize: {'; '.join(reruns)}")
    return 1


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "verify", "check every stored page and table file against its recorded "
                    "hash / row count (--repair quarantines what is bad)")
    p.add_argument("--repair", action="store_true",
                   help="quarantine bad raw objects, remove bad table files")
    p.add_argument("--home", help="a local FLEET_HOME to scan (default: the configured store)")
    p.set_defaults(func=cmd_verify)
