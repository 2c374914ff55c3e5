"""``fleet parse``: try a target's extraction rules on one page, or on a stored partition.

Scrapy users reach for ``scrapy parse``; this is the fleet's version, through the fleet's
own fetcher, taxonomy and extraction, so what it prints is what ``raw_pages`` and
``extracted_records`` would decide:

- ``fleet parse TARGET URL``: fetch the page once (the target's timeout, body cap and
  proxies), print the fetch verdict, every field and the missing required ones.
- ``fleet parse TARGET --date D [--url U]``: re-extract the partition's stored pages with the
  current rules, without fetching anything: the loop for fixing a drifted selector.

Exit status: 0 when every page fetched and has every required field, 1 otherwise.
"""

from __future__ import annotations

import argparse
from typing import Any

from fleet_assets.cli.common import CliError, add_command, configured_targets, parse_date, require_targets


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "parse", "try a target's extraction rules on one live page, or re-extract "
                    "a stored partition with the current rules (no refetch)", description=__doc__)
    p.add_argument("target", help="a target of targets.yaml")
    p.add_argument("url", nargs="?", help="fetch this URL now (without --date)")
    p.add_argument("--date", help="re-extract this partition's stored pages (YYYY-MM-DD)")
    p.add_argument("--url", dest="only_url", help="with --date: only this stored page")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    targets = configured_targets()
    require_targets([args.target], targets, option="TARGET")
    target = targets[args.target]
    if args.date:
        return _stored(target, parse_date(args.date), args.only_url or args.url)
    if not args.url:
        raise CliError("give a URL to fetch, or --date D to re-extract a stored partition")
    return _live(target, args.url)


def _print_fields(values: dict[str, Any], required: tuple[str, ...], missing: tuple[str, ...]) -> None:
    width = max((len(n) for n in values), default=0)
    for name, value in values.items():
        mark = "  (required, MISSING)" if name in missing else ("  (required)" if name in required else "")
        print(f"  {name:<{width}} = {value!r}{mark}")
    print(f"missing required: {', '.join(missing) if missing else 'none'}")


def _live(target, url: str) -> int:
    from fleet_assets.lib.extract import extract_record
    from fleet_assets.lib.http.origins import BadURL, Offsite, target_policy
    from fleet_assets.resources import build_resources

    try:
        # The fetcher would refuse it too, as "transport error: offsite" / "invalid_url",
        # which names neither the target's origins nor the fix.
        target_policy(target).check(url)
    except (BadURL, Offsite) as exc:
        raise CliError(f"URL {url}: {exc}") from None

    resources = build_resources()
    fetcher = resources["fetcher"]
    pool = fetcher.proxy_pool(target, resources["store"].get_store())
    proxy = pool.pick(target.name) if pool is not None else None
    http = fetcher.http(target)
    try:
        outcome = http.fetch(url, proxy=proxy)
    finally:
        http.close()
    verdict = fetcher.taxonomy(target).classify(outcome)
    via = f" via proxy {proxy.safe_id}" if proxy is not None else ""
    status = f"HTTP {outcome.status}" if outcome.status is not None else f"error {outcome.error}"
    print(f"fetch {url}{via}: {status}, {len(outcome.body or b'')} bytes"
          + (f", final URL {outcome.effective_url}" if outcome.effective_url != url else ""))
    if not verdict.ok:
        print(f"verdict: class {verdict.failure.value} ({verdict.reason}); "
              f"{'retried' if verdict.retryable else 'not retried'} by raw_pages, nothing to extract")
        return 1
    extraction = extract_record(outcome.body or b"", target.record, outcome.effective_url,
                                outcome.header("content-type"))
    print("verdict: ok" if extraction.complete else
          f"verdict: class C (required field(s) not extracted: {', '.join(extraction.missing_required)})")
    _print_fields(extraction.values, target.record.required, extraction.missing_required)
    return 0 if extraction.complete else 1


def _stored(target, date: str, only_url: str | None) -> int:
    from collections import Counter

    from fleet_assets.lib import keys
    from fleet_assets.lib import manifest as mf
    from fleet_assets.lib.extract import extract_record
    from fleet_assets.lib.store.base import ObjectMissing
    from fleet_assets.lib.store.integrity import problem as stored_body
    from fleet_assets.resources import build_resources

    store = build_resources()["store"].get_store()
    try:
        entries = mf.loads(store.get(keys.manifest_key(target.name, date)))
    except ObjectMissing:
        raise CliError(f"no stored partition {date}|{target.name}: materialize raw_pages for it "
                       "first (fleet demo, or the UI)") from None
    stored = [e for e in entries if e.status == mf.STORED and (only_url is None or e.url == only_url)]
    if only_url is not None and not stored:
        raise CliError(f"--url {only_url}: not a stored page of {date}|{target.name}")
    missing: Counter[str] = Counter()
    complete = 0
    for entry in stored:
        body, why = stored_body(store.get(entry.object_key or ""), entry.content_sha256)
        if body is None:  # an inspection never repairs: say what is wrong and how to repair it
            raise CliError(f"{entry.object_key}: {why}; run `fleet verify --repair`, then "
                           f"materialize raw_pages for {date}|{target.name}")
        extraction = extract_record(body, target.record, entry.final_url or entry.url,
                                    entry.content_type)
        missing.update(extraction.missing_required)
        complete += extraction.complete
        if only_url is not None:
            print(f"{entry.url} (stored {entry.fetched_at or ''}, re-extracted with the current rules)")
            _print_fields(extraction.values, target.record.required, extraction.missing_required)
        else:
            gap = "" if extraction.complete else f"  missing: {', '.join(extraction.missing_required)}"
            print(f"  {'ok' if extraction.complete else 'C':<3} {entry.url}{gap}")
    print(f"{date}|{target.name}: {len(stored)} stored page(s), {complete} complete, "
          f"{len(stored) - complete} missing required fields"
          + (f" ({', '.join(f'{k}: {v}' for k, v in sorted(missing.items()))})" if missing else ""))
    return 0 if complete == len(stored) else 1
