"""Semantic drift verdicts: is a partition's extraction still what the rules expect?

Reads a target's ``drift`` settings from targets.yaml (``DriftSettings``):
``min_required_coverage`` (share of stored pages that must yield every required field),
``volume_window`` (how many trailing healthy partitions form the volume baseline),
``volume_min_ratio`` (records / baseline median below this is an anomaly) and
``volume_severity`` (WARN or ERROR) and ``min_records`` (a partition with fewer records fails:
zero is never green). Verdicts are computed from the records step's typed ``RecordsReport``
(``lib/records.py``); a ratio over nothing is not measured, never "fine". Only *stored* pages
are judged: a CAPTCHA or block page
is class B, never stored, so it can never produce a drift verdict.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fleet_assets.lib.records import RecordsReport
from fleet_assets.lib.targets import DriftSettings

# Fewer healthy partitions than this (or than the window) give no volume baseline yet.
MIN_VOLUME_HISTORY = 3


@dataclass(frozen=True)
class DriftVerdict:
    passed: bool
    summary: str
    evidence: Mapping[str, Any] = field(default_factory=dict)


def coverage(report: RecordsReport, settings: DriftSettings) -> DriftVerdict:
    """Share of stored pages that yielded every required field, against the threshold."""
    share = report.coverage
    evidence = {
        "pages_parsed": report.pages_parsed,
        "pages_complete": report.records,
        "pages_without_required_fields": report.pages_without_required_fields,
        "pages_with_no_fields": report.pages_with_no_fields,
        "required_field_coverage": None if share is None else round(share, 4),
        "min_required_coverage": settings.min_required_coverage,
        "missing_required_fields": dict(sorted(report.missing_required.items())),
        "sample_urls": list(report.sample_urls),
    }
    if share is None:  # min_records judges an empty partition; a share of nothing is no share
        return DriftVerdict(True, "no stored page to judge coverage on", evidence)
    if share + 1e-12 >= settings.min_required_coverage:
        return DriftVerdict(True, f"required-field coverage {share:.0%} of {report.pages_parsed} "
                            f"page(s) meets {settings.min_required_coverage:.0%}", evidence)
    missing = ", ".join(f"{k} ({v})" for k, v in sorted(report.missing_required.items()))
    zero = (f"; {report.pages_with_no_fields} loaded page(s) yielded no field at all"
            if report.pages_with_no_fields else "")
    return DriftVerdict(False, f"required-field coverage {share:.0%} of {report.pages_parsed} "
                        f"page(s) is below {settings.min_required_coverage:.0%}; missing: "
                        f"{missing or 'none'}{zero}", evidence)


def min_records(report: RecordsReport, settings: DriftSettings) -> DriftVerdict:
    """A partition that yields fewer than ``min_records`` records fails: zero is never green."""
    evidence = {"records": report.records, "min_records": settings.min_records,
                "pages": report.pages, "pages_parsed": report.pages_parsed,
                "sample_urls": list(report.sample_urls)}
    if report.records >= settings.min_records:
        return DriftVerdict(True, f"{report.records} record(s), at least {settings.min_records}",
                            evidence)
    if report.pages_parsed:  # pages loaded but did not yield records: the rules no longer fit
        why = (f"required-field coverage {report.coverage:.0%} of {report.pages_parsed} stored "
               "page(s); check the record rules")
    else:
        why = (f"none of {report.pages} page(s) was stored; check the listing, the URLs and "
               "the tombstones")
    return DriftVerdict(False, f"{report.records} record(s), at least {settings.min_records} "
                        f"expected: {why}", evidence)


def schema(report: RecordsReport, configured: Sequence[str]) -> DriftVerdict:
    """Configured fields that no stored page yielded: the layout no longer carries them."""
    found = {f: int(report.fields_found.get(f, 0)) for f in configured}
    never = [f for f, n in found.items() if n == 0]
    evidence = {
        "pages_parsed": report.pages_parsed,
        "fields_configured": list(configured),
        "fields_extracted": sorted(f for f, n in found.items() if n),
        "fields_never_found": never,
        "pages_per_field": found,
        "sample_urls": list(report.sample_urls),
    }
    if not report.pages_parsed:
        return DriftVerdict(True, "no stored page to judge", evidence)
    if never:
        return DriftVerdict(False, f"{len(never)} of {len(configured)} configured field(s) found on "
                            f"none of {report.pages_parsed} page(s): {', '.join(never)}", evidence)
    return DriftVerdict(True, f"all {len(configured)} configured fields extracted", evidence)


def volume(records: int, history: Sequence[int], settings: DriftSettings) -> DriftVerdict:
    """Record count against the median of the trailing healthy partitions of the target."""
    window = list(history)[: settings.volume_window]
    evidence: dict[str, Any] = {
        "records": records,
        "history": window,
        "volume_window": settings.volume_window,
        "volume_min_ratio": settings.volume_min_ratio,
    }
    needed = min(MIN_VOLUME_HISTORY, settings.volume_window)
    if len(window) < needed:
        return DriftVerdict(True, f"no baseline yet ({len(window)} of {needed} partitions)",
                            evidence)
    median = statistics.median(window)
    if not median:  # a baseline of zero records measures nothing (min_records judges zero)
        return DriftVerdict(True, "no baseline yet (the median of the window is 0)", evidence)
    ratio = records / median
    evidence.update(baseline_median=median, ratio=round(ratio, 4))
    if ratio + 1e-12 >= settings.volume_min_ratio:
        return DriftVerdict(True, f"{records} records, {ratio:.0%} of the median {median:g}",
                            evidence)
    return DriftVerdict(False, f"{records} records is {ratio:.0%} of the median {median:g} of the "
                        f"last {len(window)} partitions (minimum {settings.volume_min_ratio:.0%})",
                        evidence)
