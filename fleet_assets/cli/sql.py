"""``fleet sql QUERY``: a read-only query on the warehouse, printed as tab-separated rows."""

from __future__ import annotations

import argparse

from fleet_assets.cli.common import CliError, add_command, configured_targets


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "sql", "run a read-only SQL query on the warehouse (tab-separated output)")
    p.add_argument("query", help="e.g. \"SELECT target, count(*) FROM records GROUP BY 1\"")
    p.set_defaults(func=run)


def _hint(con, exc: Exception) -> str:
    """The fix for the usual mistakes: a table or column name, a write to the read-only views."""
    text = str(exc)
    if "read-only" in text:
        return "; the warehouse is read-only views: fleet sql only reads (fleet export writes files)"
    if text.startswith(("Catalog Error", "Binder Error")):
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()]
        return f"; tables: {', '.join(tables)} (columns: fleet sql \"DESCRIBE records\")"
    return ""


def run(args: argparse.Namespace) -> int:
    import duckdb

    from fleet_assets.resources import build_resources

    if not args.query.strip():
        raise CliError('give a query, e.g. fleet sql "SELECT target, count(*) FROM records GROUP BY 1"')
    warehouse = build_resources()["warehouse"]
    warehouse.ensure_views(configured_targets().values())
    con = warehouse.connect(read_only=True)
    try:
        try:
            cur = con.execute(args.query)
        except duckdb.Error as exc:
            # DuckDB's message starts with its kind ("Parser Error: ..."); the rest is a caret
            # diagram that repeats the query.
            raise CliError(str(exc).strip().splitlines()[0] + _hint(con, exc)) from None
        cols = [d[0] for d in cur.description or []]
        print("\t".join(cols))
        for row in cur.fetchall():
            print("\t".join("" if v is None else str(v) for v in row))
    finally:
        con.close()
    return 0
