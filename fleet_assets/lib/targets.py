"""Targets as configuration: load and validate ``targets.yaml``.

Reads, per target (see docs/targets-schema.md for the full file):
``name``, ``description``, exactly one of ``urls`` / ``listing``, ``record`` (``id``,
``fields``, ``required``), ``politeness`` (``max_concurrency``, ``requests_per_second``,
``obey_robots``), ``max_body_bytes``, ``timeout_seconds``, ``taxonomy`` and ``retry``
(overrides of the failure table and class policies), ``refetch_tombstoned``,
``proxies`` (list of proxy URLs, credentials only as ``${ENV_VAR}``),
``drift`` (check thresholds). A top-level ``defaults`` mapping is merged under every target.

Strings may use ``${VAR}`` / ``${VAR:-default}`` (expanded at load) and ``{date}`` (expanded
per partition). Every error names the target, the field and the fix; a target name is a
slug and so can never escape its storage prefix.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

from fleet_assets.lib.crawl.retry import policies_from
from fleet_assets.lib.failures import ConfigError, Taxonomy
from fleet_assets.lib.keys import check_target
from fleet_assets.lib.selectors import compile_expression

FIELD_TYPES = ("str", "int", "float", "bool", "date")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SECRET_ENV = re.compile(r"\$\{[^}]*\}")


class TargetConfigError(ConfigError):
    """targets.yaml is invalid; the message names the target, the field and the fix."""


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


@dataclass(frozen=True)
class DriftSettings:
    min_required_coverage: float = 0.9
    volume_window: int = 7
    volume_min_ratio: float = 0.5
    volume_severity: str = "WARN"


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

    def urls_for(self, date: str) -> list[str]:
        return [u.replace("{date}", date) for u in self.urls]


def expand_env(text: str, environ: Mapping[str, str] | None = None, *, where: str,
               quote_values: bool = False) -> str:
    """Expand ``${VAR}`` and ``${VAR:-default}`` (the one implementation: targets and proxies).

    A missing VAR is a ``TargetConfigError`` naming ``where`` and the variable, never a value.
    ``quote_values`` percent-encodes the substituted values, as a URL's user info needs.
    """
    env = os.environ if environ is None else environ

    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        value = env.get(name, default)
        if value is None:
            raise TargetConfigError(
                f"{where}: environment variable {name} is not set; export {name}=... in the "
                f"environment of the code location, or write ${{{name}:-default}}"
            )
        return quote(value, safe="") if quote_values else value

    return _ENV.sub(sub, text)


_TARGET_KEYS = {
    "name", "description", "urls", "listing", "record", "politeness", "max_body_bytes",
    "timeout_seconds", "taxonomy", "retry", "proxies", "refetch_tombstoned", "drift",
}


def _check_keys(obj: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise TargetConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TargetConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def _selector(value: Any, where: str) -> Selector:
    spec = _mapping(value, where)
    _check_keys(spec, {"css", "xpath", "attr", "type"}, where)
    has_css, has_xpath = "css" in spec, "xpath" in spec
    if has_css == has_xpath:
        raise TargetConfigError(f"{where}: give exactly one of 'css' or 'xpath'")
    expr = spec.get("css") if has_css else spec.get("xpath")
    if not isinstance(expr, str) or not expr.strip():
        raise TargetConfigError(f"{where}: the selector must be a non-empty string")
    attr = spec.get("attr")
    if attr is not None and not isinstance(attr, str):
        raise TargetConfigError(f"{where}.attr: expected an attribute name")
    sel = Selector(css=expr if has_css else None, xpath=expr if has_xpath else None, attr=attr)
    try:
        compile_expression(sel.css, sel.xpath)
    except ValueError as exc:
        raise TargetConfigError(f"{where}: {exc}") from None
    return sel


def _positive(value: Any, where: str, kind: type, minimum: float) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise TargetConfigError(f"{where}: expected a number >= {minimum}, got {value!r}")
    return kind(value)


def _record(value: Any, where: str) -> RecordRules:
    spec = _mapping(value, where)
    _check_keys(spec, {"id", "fields", "required"}, where)
    fields_spec = _mapping(spec.get("fields"), f"{where}.fields")
    if not fields_spec:
        raise TargetConfigError(f"{where}.fields: list at least one field")
    rules = []
    for fname, fspec in fields_spec.items():
        fwhere = f"{where}.fields.{fname}"
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", str(fname)):
            raise TargetConfigError(f"{fwhere}: field names are lowercase identifiers")
        ftype = _mapping(fspec, fwhere).get("type", "str")
        if ftype not in FIELD_TYPES:
            raise TargetConfigError(f"{fwhere}.type: {ftype!r} is not one of {FIELD_TYPES}")
        rules.append(FieldRule(name=str(fname), selector=_selector(fspec, fwhere), type=ftype))
    names = {r.name for r in rules}
    required = spec.get("required", [])
    if not isinstance(required, list) or not required:
        raise TargetConfigError(f"{where}.required: list the fields every page must yield")
    missing = [r for r in required if r not in names]
    if missing:
        raise TargetConfigError(f"{where}.required: {missing} are not defined under fields")
    id_field = spec.get("id")
    if id_field is not None and id_field not in names:
        raise TargetConfigError(f"{where}.id: {id_field!r} is not defined under fields")
    return RecordRules(fields=tuple(rules), required=tuple(required), id_field=id_field)


def _target(raw: Any, defaults: Mapping[str, Any], index: int) -> Target:
    spec = _mapping(raw, f"targets[{index}]")
    name = spec.get("name")
    try:
        check_target(name)
    except ValueError as exc:
        raise TargetConfigError(f"targets[{index}].name: {exc}") from None
    where = f"target {name!r}"
    _check_keys(spec, _TARGET_KEYS, where)
    merged: dict[str, Any] = {**defaults, **spec}
    merged["politeness"] = {**defaults.get("politeness", {}), **spec.get("politeness", {})}
    merged["drift"] = {**defaults.get("drift", {}), **spec.get("drift", {})}

    if ("urls" in spec) == ("listing" in spec):
        raise TargetConfigError(f"{where}: give exactly one of 'urls' or 'listing'")
    urls: tuple[str, ...] = ()
    listing = None
    if "urls" in spec:
        if not isinstance(spec["urls"], list) or not spec["urls"]:
            raise TargetConfigError(f"{where}.urls: expected a non-empty list of URLs")
        urls = tuple(_url(expand_env(str(u), where=f"{where}.urls"), f"{where}.urls") for u in spec["urls"])
    else:
        lspec = _mapping(spec["listing"], f"{where}.listing")
        _check_keys(lspec, {"start_url", "link", "next_page", "max_pages"}, f"{where}.listing")
        start = _url(expand_env(str(lspec.get("start_url", "")), where=f"{where}.listing.start_url"),
                     f"{where}.listing.start_url")
        listing = Listing(
            start_url=start,
            link=_selector(lspec.get("link"), f"{where}.listing.link"),
            next_page=_selector(lspec["next_page"], f"{where}.listing.next_page")
            if lspec.get("next_page") is not None
            else None,
            max_pages=_positive(lspec.get("max_pages", 100), f"{where}.listing.max_pages", int, 1),
        )
    pol = _mapping(merged["politeness"], f"{where}.politeness")
    _check_keys(pol, {"max_concurrency", "requests_per_second", "obey_robots"}, f"{where}.politeness")
    drift = _mapping(merged["drift"], f"{where}.drift")
    _check_keys(drift, {"min_required_coverage", "volume_window", "volume_min_ratio",
                        "volume_severity"}, f"{where}.drift")
    if drift.get("volume_severity", "WARN") not in ("WARN", "ERROR"):
        raise TargetConfigError(f"{where}.drift.volume_severity: use WARN or ERROR")
    proxies = merged.get("proxies", [])
    if not isinstance(proxies, list) or not all(isinstance(p, str) for p in proxies):
        raise TargetConfigError(f"{where}.proxies: expected a list of proxy URLs")
    for p in proxies:
        if re.search(r"//[^/@$]*:[^/@$]+@", p):
            raise TargetConfigError(
                f"{where}.proxies: write proxy credentials as ${{ENV_VAR}} references, "
                "never literally in targets.yaml"
            )
    taxonomy = _mapping(merged.get("taxonomy", {}), f"{where}.taxonomy")
    retry = _mapping(merged.get("retry", {}), f"{where}.retry")
    try:
        Taxonomy().with_overrides(dict(taxonomy))
    except ConfigError as exc:
        raise TargetConfigError(f"{where}.taxonomy: {exc}") from None
    try:
        policies_from(dict(retry))
    except ConfigError as exc:
        raise TargetConfigError(f"{where}: {exc}") from None
    return Target(
        name=name,
        description=str(spec.get("description", "")),
        urls=urls,
        listing=listing,
        record=_record(spec.get("record"), f"{where}.record"),
        politeness=Politeness(
            max_concurrency=_positive(pol.get("max_concurrency", 8),
                                      f"{where}.politeness.max_concurrency", int, 1),
            requests_per_second=_positive(pol.get("requests_per_second", 0),
                                          f"{where}.politeness.requests_per_second", float, 0),
            obey_robots=bool(pol.get("obey_robots", True)),
        ),
        max_body_bytes=_positive(merged.get("max_body_bytes", 2_000_000),
                                 f"{where}.max_body_bytes", int, 1),
        timeout_seconds=_positive(merged.get("timeout_seconds", 10.0),
                                  f"{where}.timeout_seconds", float, 0.001),
        taxonomy=taxonomy,
        retry=retry,
        proxies=tuple(proxies),
        refetch_tombstoned=bool(merged.get("refetch_tombstoned", False)),
        drift=DriftSettings(
            min_required_coverage=_positive(drift.get("min_required_coverage", 0.9),
                                            f"{where}.drift.min_required_coverage", float, 0),
            volume_window=_positive(drift.get("volume_window", 7),
                                    f"{where}.drift.volume_window", int, 1),
            volume_min_ratio=_positive(drift.get("volume_min_ratio", 0.5),
                                       f"{where}.drift.volume_min_ratio", float, 0),
            volume_severity=drift.get("volume_severity", "WARN"),
        ),
    )


def _url(url: str, where: str) -> str:
    if not re.match(r"^https?://[^/\s]+", url):
        raise TargetConfigError(f"{where}: {url!r} is not an absolute http(s) URL")
    return url


def parse_targets(doc: Any, source: str = "targets.yaml") -> dict[str, Target]:
    root = _mapping(doc, source)
    _check_keys(root, {"defaults", "targets"}, source)
    defaults = _mapping(root.get("defaults", {}) or {}, f"{source}: defaults")
    _check_keys(defaults, _TARGET_KEYS - {"name", "urls", "listing", "record", "description"},
                f"{source}: defaults")
    raw_targets = root.get("targets")
    if not isinstance(raw_targets, list) or not raw_targets:
        raise TargetConfigError(f"{source}: 'targets' must be a non-empty list")
    targets: dict[str, Target] = {}
    for i, raw in enumerate(raw_targets):
        t = _target(raw, defaults, i)
        if t.name in targets:
            raise TargetConfigError(
                f"{source}: target {t.name!r} is defined twice; give each target a unique name"
            )
        targets[t.name] = t
    return targets


def load_targets(path: str | Path) -> dict[str, Target]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TargetConfigError(
            f"{p}: no such targets file; set FLEET_TARGETS or create targets.yaml"
        ) from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TargetConfigError(f"{p}: not valid YAML: {exc}") from None
    return parse_targets(doc, str(p))
