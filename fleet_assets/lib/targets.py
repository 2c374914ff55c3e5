"""Targets as configuration: ``targets.yaml`` validated as data, whole, into frozen records.

Reads, per target (see docs/targets-schema.md for the full file):
``name``, ``description``, exactly one of ``urls`` / ``listing``, ``record`` (``id``,
``fields``, ``required``), ``politeness`` (``max_concurrency``, ``requests_per_second``,
``obey_robots``, ``max_crawl_delay_seconds``), ``allowed_origins`` (origins beyond the
start URLs' own that redirects and links may reach), ``max_body_bytes``,
``timeout_seconds``, ``taxonomy`` and ``retry``
(overrides of the failure table and class policies), ``refetch_tombstoned``,
``proxies`` (list of proxy URLs, credentials only as ``${ENV_VAR}``),
``drift`` (check thresholds). A top-level ``defaults`` mapping is merged under every target.

URLs may use ``${VAR}`` / ``${VAR:-default}`` (lib/urlrefs.py: the location expands at load,
a reference elsewhere only for the request) and ``{date}`` (expanded per partition). The
file is read by lib/config.py (size, UTF-8, aliases), its shape checked by the pydantic
models of lib/target_spec.py; ``validate_targets_file`` returns every problem, the loaders
raise ``TargetConfigError`` listing them all, each naming the target, the field and the fix.
A target name is a slug and so can never escape its storage prefix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fleet_assets.lib import urlrefs
from fleet_assets.lib.config import Problem, TargetConfigError, problems_from, read_yaml
from fleet_assets.lib.target_spec import (
    MERGED_ONE_LEVEL,
    DefaultsSpec,
    SelectorSpec,
    TargetSpec,
)
from fleet_assets.lib.urlrefs import expand_env

__all__ = [
    "DriftSettings", "FieldRule", "Listing", "Politeness", "Problem", "RecordRules", "Selector",
    "Target", "TargetConfigError", "expand_env", "load_targets", "parse_targets",
    "validate_targets", "validate_targets_file",
]
FIELD_TYPES = ("str", "int", "float", "bool", "date", "url")


@dataclass(frozen=True)
class Selector:
    css: str | None = None
    xpath: str | None = None
    attr: str | None = None

    @property
    def expression(self) -> str:
        return self.css if self.css is not None else str(self.xpath)


@dataclass(frozen=True)
class FieldRule:
    name: str
    selector: Selector
    type: str = "str"


@dataclass(frozen=True)
class RecordRules:
    fields: tuple[FieldRule, ...]
    required: tuple[str, ...]
    id_field: str | None = None

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def required_fields(self) -> tuple[FieldRule, ...]:
        """The rules of the required fields, in ``required`` order."""
        by_name = {f.name: f for f in self.fields}
        return tuple(by_name[r] for r in self.required if r in by_name)


@dataclass(frozen=True)
class Listing:
    start_url: str
    link: Selector
    next_page: Selector | None = None
    max_pages: int = 100


@dataclass(frozen=True)
class Politeness:
    max_concurrency: int = 8
    requests_per_second: float = 0.0
    obey_robots: bool = True
    max_crawl_delay_seconds: float = 30.0  # a longer robots.txt Crawl-delay defers pages


@dataclass(frozen=True)
class DriftSettings:
    min_required_coverage: float = 0.9
    volume_window: int = 7
    volume_min_ratio: float = 0.5
    volume_severity: str = "WARN"
    min_records: int = 1  # fewer records fail the partition (0 disables)


@dataclass(frozen=True)
class Target:
    name: str
    record: RecordRules
    urls: tuple[str, ...] = ()
    listing: Listing | None = None
    description: str = ""
    politeness: Politeness = field(default_factory=Politeness)
    max_body_bytes: int = 2_000_000
    timeout_seconds: float = 10.0
    taxonomy: Mapping[str, Any] = field(default_factory=dict)
    retry: Mapping[str, Any] = field(default_factory=dict)
    proxies: tuple[str, ...] = ()
    refetch_tombstoned: bool = False
    drift: DriftSettings = field(default_factory=DriftSettings)
    allowed_origins: tuple[str, ...] = ()  # beyond the start URLs' own (lib/http/origins.py)

    def urls_for(self, date: str) -> list[str]:
        """The day's URLs in stored form (secrets as ``${VAR}``): keys and manifests use these."""
        return [u.replace("{date}", date) for u in self.urls]

    @staticmethod
    def request_url(url: str) -> str:
        """What to send for a stored URL: its remaining ``${VAR}`` references expanded."""
        return urlrefs.request_url(url)



def _selector(spec: SelectorSpec) -> Selector:
    return Selector(css=spec.css, xpath=spec.xpath, attr=spec.attr)


def _build(spec: TargetSpec) -> Target:
    listing = None
    if spec.listing is not None:
        ls = spec.listing
        listing = Listing(start_url=ls.start_url, link=_selector(ls.link),
                          next_page=_selector(ls.next_page) if ls.next_page else None,
                          max_pages=ls.max_pages)
    rec = spec.record
    return Target(
        name=spec.name,
        description=spec.description,
        urls=tuple(spec.urls or ()),
        listing=listing,
        record=RecordRules(
            fields=tuple(FieldRule(name, _selector(f), f.type) for name, f in rec.fields.items()),
            required=tuple(rec.required),
            id_field=rec.id,
        ),
        politeness=Politeness(**spec.politeness.model_dump()),
        max_body_bytes=spec.max_body_bytes,
        timeout_seconds=float(spec.timeout_seconds),
        taxonomy=dict(spec.taxonomy),
        retry=dict(spec.retry),
        proxies=tuple(spec.proxies),
        refetch_tombstoned=spec.refetch_tombstoned,
        drift=DriftSettings(**spec.drift.model_dump()),
        allowed_origins=tuple(spec.allowed_origins),
    )


def validate_targets(doc: Any, source: str = "targets.yaml") -> tuple[dict[str, Target],
                                                                       list[Problem]]:
    """The targets a parsed document defines, and every problem in it (both, never raising)."""
    if not isinstance(doc, Mapping):
        return {}, [Problem(source, "expected a mapping with 'targets:' (and optional "
                                    "'defaults:'); see docs/targets-schema.md")]
    problems = [Problem(f"{source}: {k}", "unknown key at the top level; allowed: defaults, targets")
                for k in doc if k not in ("defaults", "targets")]
    defaults = doc.get("defaults")
    defaults = {} if defaults is None else defaults  # `defaults:` left empty is fine
    try:
        DefaultsSpec.model_validate(defaults)
    except ValidationError as exc:
        problems += problems_from(exc, "defaults", DefaultsSpec)
        defaults = {}  # reported once here, not again under every target
    raw_targets = doc.get("targets")
    if not isinstance(raw_targets, list) or not raw_targets:
        problems.append(Problem(f"{source}: targets", "'targets' must be a non-empty list of "
                                                      "targets (- name: ...)"))
        raw_targets = []
    targets: dict[str, Target] = {}
    for i, raw in enumerate(raw_targets):
        if not isinstance(raw, Mapping):
            problems.append(Problem(f"targets[{i}]", "expected a mapping (name:, record:, ...)"))
            continue
        name = raw.get("name")
        where = f"target {name!r}" if isinstance(name, str) and name else f"targets[{i}]"
        merged = {**defaults, **raw}
        for key in MERGED_ONE_LEVEL:
            if isinstance(defaults.get(key), Mapping) and isinstance(raw.get(key, {}), Mapping):
                merged[key] = {**defaults[key], **raw.get(key, {})}
        try:
            spec = TargetSpec.model_validate(merged)
        except ValidationError as exc:
            found = problems_from(exc, where, TargetSpec)
            # A bad name is reported by position: the name itself cannot be trusted.
            problems += [Problem(f"targets[{i}].name", p.message) if p.where == f"{where}.name"
                         else p for p in found]
            continue
        if spec.name in targets:
            problems.append(Problem(f"{source}: target {spec.name!r}",
                                    "is defined twice; give each target a unique name"))
            continue
        targets[spec.name] = _build(spec)
    return targets, problems


def parse_targets(doc: Any, source: str = "targets.yaml") -> dict[str, Target]:
    targets, problems = validate_targets(doc, source)
    if problems:
        raise TargetConfigError(problems, source)
    return targets


def validate_targets_file(path: str | Path) -> list[Problem]:
    """Every problem of a targets file (empty when it loads): what ``fleet check`` reports."""
    try:
        doc = read_yaml(path, missing_hint="set FLEET_TARGETS or create targets.yaml")
    except TargetConfigError as exc:
        return list(exc.problems)
    return validate_targets(doc, str(path))[1]


def load_targets(path: str | Path) -> dict[str, Target]:
    doc = read_yaml(path, missing_hint="set FLEET_TARGETS or create targets.yaml")
    return parse_targets(doc, str(path))
