"""``fleet export TABLE``: write a warehouse table (or view) to a Parquet, CSV or JSON-lines file.

DuckDB's ``COPY`` writes the file from the read-only warehouse, so an export never takes
the write lock and never changes the data it reads.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fleet_assets.cli.common import CliError, add_command, configured_targets, require_targets

FORMATS = {"parquet": ("parquet", "(FORMAT parquet)"), "csv": ("csv", "(FORMAT csv, HEADER true)"),
           "jsonl": ("jsonl", "(FORMAT json)")}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "export", "write a warehouse table (records, tombstones, aggregates, "
                    "records_<target>) to a file")
    p.add_argument("table", help="a table or view of the warehouse")
    p.add_argument("--format", choices=sorted(FORMATS), default="parquet", help="file format")
    p.add_argument("--output", "-o", help="file to write (default ./TABLE.EXT)")
    p.add_argument("--target", action="append", help="only this target's rows (repeatable)")
    p.add_argument("--from", dest="start", help="first date (YYYY-MM-DD)")
    p.add_argument("--to", dest="end", help="last date (YYYY-MM-DD)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import duckdb

    from fleet_assets.cli.common import parse_date
    from fleet_assets.resources import build_resources

    targets = configured_targets()
    require_targets(args.target or (), targets)
    start = parse_date(args.start, "--from") if args.start else None
    end = parse_date(args.end, "--to") if args.end else None
    if start and end and start > end:
        # Otherwise an empty file and exit 0: the swapped range looks like missing data.
        raise CliError(f"--from {start} is after --to {end}: give the earlier date to --from")
    ext, options = FORMATS[args.format]
    output = Path(args.output or f"{args.table}.{ext}").resolve()
    if output.is_dir():
        example = output / f"{args.table}.{ext}"
        raise CliError(f"-o {args.output}: is a directory; give a file, e.g. {example}")
    warehouse = build_resources()["warehouse"]
    warehouse.ensure_views(targets.values())
    con = warehouse.connect(read_only=True)
    try:
        tables = sorted(r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall())
        if args.table not in tables:
            raise CliError(f"no table {args.table!r} in the warehouse (tables: {', '.join(tables)})")
        columns = {r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
            [args.table]).fetchall()}
        where, params = [], []
        if args.target:
            where.append(f"target IN ({', '.join('?' for _ in args.target)})")
            params += args.target
        if start:
            where.append("date >= ?")
            params.append(start)
        if end:
            where.append("date <= ?")
            params.append(end)
        # Only the columns filtered on must exist: records_<target> has a date but no target.
        if args.target and "target" not in columns:
            raise CliError(f"{args.table} has no target column (a records_<target> view is one "
                           "target's already); drop --target")
        if (start or end) and "date" not in columns:
            raise CliError(f"{args.table} has no date column to filter on; drop --from/--to")
        # The table name is one of the warehouse's own (checked above); values are parameters.
        select = f'SELECT * FROM "{args.table}"' + (f" WHERE {' AND '.join(where)}" if where else "")
        rows = con.execute(f"SELECT count(*) FROM ({select})", params).fetchone()[0]
        output.parent.mkdir(parents=True, exist_ok=True)
        try:
            con.execute(f"COPY ({select}) TO '{_quote(output)}' {options}", params)
        except duckdb.Error as exc:
            raise CliError(str(exc).strip().splitlines()[0]) from None
    finally:
        con.close()
    print(f"wrote {rows} row(s) of {args.table} to {output} ({args.format})")
    return 0


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")
