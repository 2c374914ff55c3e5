"""``python -m fleet_assets.sandbox --port 8787 --proxies 3 [--proxy-auth user:pass]
[--faults JSON] [--shop-items N] [--port-file PATH]``"""

from __future__ import annotations

import argparse
import json
import sys

from fleet_assets.sandbox.faults import Faults
from fleet_assets.sandbox.run import DEFAULT_PORT, serve


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m fleet_assets.sandbox", description="Local adversarial web site and proxies."
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 = any free port")
    parser.add_argument("--proxies", type=int, default=0, help="number of forward proxies")
    parser.add_argument("--proxy-auth", metavar="USER:PASS", help="require Basic proxy auth")
    parser.add_argument("--faults", default="{}", help="fault knobs as a JSON object")
    parser.add_argument("--shop-items", type=int, default=40, help="catalog slots per day")
    parser.add_argument("--port-file", help="write {url, proxies} JSON here once ready")
    parser.add_argument("--quiet", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        faults = Faults.from_dict(json.loads(args.faults))
    except (ValueError, TypeError) as exc:
        print(f"invalid --faults: {exc}", file=sys.stderr)
        return 2
    auth = None
    if args.proxy_auth:
        user, sep, password = args.proxy_auth.partition(":")
        if not sep:
            print("--proxy-auth must be USER:PASS", file=sys.stderr)
            return 2
        auth = (user, password)
    serve(
        args.port,
        args.proxies,
        faults=faults,
        shop_items=args.shop_items,
        proxy_auth=auth,
        port_file=args.port_file,
        quiet=args.quiet,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
