"""Semantic drift verdicts: is a partition's extraction still what the rules expect?

Reads a target's ``drift`` settings from targets.yaml (``DriftSettings``):
``min_required_coverage`` (share of stored pages that must yield every required field),
``volume_window`` (how many trailing healthy partitions form the volume baseline),
``volume_min_ratio`` (records / baseline median below this is an anomaly) and
``volume_severity`` (WARN or ERROR). Only *stored* pages are judged: a CAPTCHA or block page
is class B, never stored, so it can never produce a drift verdict.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fleet_assets.lib.targets import DriftSettings

# Fewer healthy partitions than this (or than the window) give no volume baseline yet.
MIN_VOLUME_HISTORY = 3
SAMPLE_URLS = 5


@dataclass(frozen=True)
class ExtractionStats:
    """What ``extracted_records`` saw in one partition (its materialization metadata)."""

    pages_parsed: int
    records: int
    pages_with_no_fields: int
    missing_required: Mapping[str, int] = field(default_factory=dict)
    fields_found: Mapping[str, int] = field(default_factory=dict)
    sample_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class DriftVerdict:
    passed: bool
    summary: str
    evidence: Mapping[str, Any] = field(default_factory=dict)


def coverage(stats: ExtractionStats, settings: DriftSettings) -> DriftVerdict:
    """Share of stored pages that yielded every required field, against the threshold."""
    share = stats.records / stats.pages_parsed if stats.pages_parsed else 1.0
    evidence = {
        "pages_parsed": stats.pages_parsed,
        "pages_complete": stats.records,
        "pages_without_required_fields": stats.pages_parsed - stats.records,
        "pages_with_no_fields": stats.pages_with_no_fields,
        "required_field_coverage": round(share, 4),
        "min_required_coverage": settings.min_required_coverage,
        "missing_required_fields": dict(sorted(stats.missing_required.items())),
        "sample_urls": list(stats.sample_urls[:SAMPLE_URLS]),
    }
    if share + 1e-12 >= settings.min_required_coverage:
        return DriftVerdict(True, f"required-field coverage {share:.0%} of {stats.pages_parsed} "
                            f"page(s) meets {settings.min_required_coverage:.0%}", evidence)
    missing = ", ".join(f"{k} ({v})" for k, v in sorted(stats.missing_required.items()))
    zero = (f"; {stats.pages_with_no_fields} loaded page(s) yielded no field at all"
            if stats.pages_with_no_fields else "")
    return DriftVerdict(False, f"required-field coverage {share:.0%} of {stats.pages_parsed} "
                        f"page(s) is below {settings.min_required_coverage:.0%}; missing: "
                        f"{missing or 'none'}{zero}", evidence)


def schema(stats: ExtractionStats, configured: Sequence[str]) -> DriftVerdict:
    """Configured fields that no stored page yielded: the layout no longer carries them."""
    found = {f: int(stats.fields_found.get(f, 0)) for f in configured}
    never = [f for f, n in found.items() if n == 0]
    evidence = {
        "pages_parsed": stats.pages_parsed,
        "fields_configured": list(configured),
        "fields_extracted": sorted(f for f, n in found.items() if n),
        "fields_never_found": never,
        "pages_per_field": found,
        "sample_urls": list(stats.sample_urls[:SAMPLE_URLS]),
    }
    if not stats.pages_parsed:
        return DriftVerdict(True, "no stored page to judge", evidence)
    if never:
        return DriftVerdict(False, f"{len(never)} of {len(configured)} configured field(s) found on "
                            f"none of {stats.pages_parsed} page(s): {', '.join(never)}", evidence)
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
    ratio = records / median if median else 1.0
    evidence.update(baseline_median=median, ratio=round(ratio, 4))
    if ratio + 1e-12 >= settings.volume_min_ratio:
        return DriftVerdict(True, f"{records} records, {ratio:.0%} of the median {median:g}",
                            evidence)
    return DriftVerdict(False, f"{records} records is {ratio:.0%} of the median {median:g} of the "
                        f"last {len(window)} partitions (minimum {settings.volume_min_ratio:.0%})",
                        evidence)
