"""The shape of targets.yaml as typed pydantic models (docs/targets-schema.md is the prose).

Strict: ``"false"`` is not a boolean, ``"5"`` not a number, ``.nan``/``.inf`` not a number
at all; unknown keys are refused. Every field is checked and every mistake collected by
pydantic, so one load reports them all. Selectors are compiled and dry-run here
(lib/selectors.py) and URLs checked for literal credentials (lib/urlrefs.py). Reads the
environment variables that URLs reference (to check that they are set).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from fleet_assets.lib.crawl.retry import policies_from
from fleet_assets.lib.failures import ConfigError
from fleet_assets.lib.http.origins import BadURL, parse
from fleet_assets.lib.keys import check_target
from fleet_assets.lib.selectors import selector_problem
from fleet_assets.lib.tables import SCHEMAS
from fleet_assets.lib.taxonomy import Taxonomy
from fleet_assets.lib.urlrefs import PROXY_SCHEMES, credential_problem, stored_url

FieldType = Literal["str", "int", "float", "bool", "date", "url"]
# A field becomes a column of records_<target> next to these; a clash would be renamed
# silently (date_1) by the view, so it is refused instead.
RESERVED_FIELDS = frozenset(SCHEMAS["records"].names)


def _slug(value: str) -> str:
    try:
        check_target(value)
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    return value


def _field_name(value: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", value):
        raise ValueError(f"field name {value!r} is not a lowercase identifier; use letters, "
                         "digits and _ (e.g. unit_price)")
    if value in RESERVED_FIELDS:
        raise ValueError(f"field name {value!r} is a column of every record "
                         f"({', '.join(sorted(RESERVED_FIELDS))}); rename it, e.g. "
                         f"page_{value} or item_{value}")
    return value


# ``{name}`` not preceded by ``$`` (``${VAR}`` is an environment variable): a placeholder.
_PLACEHOLDER = re.compile(r"(?<!\$)\{([^{}]*)\}")


def _url(value: str) -> str:
    problem = credential_problem(value)
    if problem:
        raise ValueError(problem)
    # A typo such as {data} would be sent literally, the same URL every day, and never fail.
    unknown = sorted({m for m in _PLACEHOLDER.findall(value) if m != "date"})
    if unknown:
        raise ValueError(f"unknown placeholder {', '.join('{' + u + '}' for u in unknown)}; "
                         "the only one is {date} (the partition date, YYYY-MM-DD); write a "
                         "literal brace as %7B / %7D")
    try:
        stored = stored_url(value, "url")
    except ConfigError as exc:
        raise ValueError(str(exc).removeprefix("url: ")) from None
    if not re.match(r"^https?://[^/\s]+", stored):
        raise ValueError(f"{stored!r} is not an absolute http(s) URL; write http://host/path")
    # Parsed now as the fetcher will: a space or a bad port found only at fetch time would be
    # invalid_url (D), a tombstone for a typo in this file. A secret ${VAR} kept unexpanded
    # stands for one path or query character.
    sample = re.sub(r"\$\{[^}]*\}", "x", stored.replace("{date}", "2000-01-01"))
    try:
        parse(sample)
    except BadURL as exc:
        raise ValueError(f"{exc}; fix the URL (a space as %20, / not \\, a port up to "
                         "65535)") from None
    return stored


def _proxy(value: str) -> str:
    problem = credential_problem(value)
    if problem:
        raise ValueError(problem + " (proxy credentials only as ${ENV_VAR})")
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if "${" not in scheme and scheme not in PROXY_SCHEMES:
        raise ValueError(f"proxy scheme {scheme or '(none)'!r} is not supported; use one of "
                         f"{', '.join(PROXY_SCHEMES)} (e.g. http://host:3128)")
    return value  # expanded by Proxy.from_config, for the request only


def _origin(value: str) -> str:
    """An ``allowed_origins`` entry: scheme://host[:port], normalised with an explicit port."""
    from fleet_assets.lib.http.origins import BadURL, parse

    try:
        parsed = parse(value)
    except BadURL as exc:
        raise ValueError(f"{exc}; write an origin like https://cdn.example.com") from None
    rest = value.split("://", 1)[-1]
    if any(c in rest for c in "?#") or "/" in rest.rstrip("/"):
        raise ValueError(f"{value!r} has a path or query; an origin is scheme://host[:port]")
    return str(parsed.origin)


Url = Annotated[str, AfterValidator(_url)]
OriginUrl = Annotated[str, AfterValidator(_origin)]
ProxyUrl = Annotated[str, AfterValidator(_proxy)]
FieldName = Annotated[str, AfterValidator(_field_name)]
Slug = Annotated[str, AfterValidator(_slug)]


def _finite(value: Any, where: str = "") -> None:
    """taxonomy/retry are free-form mappings checked by taxonomy.py and retry.py; NaN/inf never belong."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}: {value} is not a finite number; write an ordinary number")
    if isinstance(value, dict):
        for k, v in value.items():
            _finite(v, f"{where}.{k}" if where else str(k))


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class SelectorSpec(_Spec):
    css: str | None = None
    xpath: str | None = None
    attr: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _compiles(self) -> SelectorSpec:
        problem = selector_problem(css=self.css, xpath=self.xpath)
        if problem:
            raise ValueError(problem)
        return self


class FieldSpec(SelectorSpec):
    type: FieldType = "str"


class ListingSpec(_Spec):
    start_url: Url
    link: SelectorSpec
    next_page: SelectorSpec | None = None
    max_pages: int = Field(100, ge=1)


class RecordSpec(_Spec):
    id: str | None = None
    fields: dict[FieldName, FieldSpec] = Field(min_length=1)
    required: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _names_exist(self) -> RecordSpec:
        missing = [r for r in self.required if r not in self.fields]
        if missing:
            raise ValueError(f"required lists {missing}, not defined under fields; define "
                             "them or remove them from required")
        if self.id is not None and self.id not in self.fields:
            raise ValueError(f"id {self.id!r} is not defined under fields; name one of "
                             f"{', '.join(self.fields)}")
        return self


class PolitenessSpec(_Spec):
    max_concurrency: int = Field(8, ge=1)
    requests_per_second: float = Field(0.0, ge=0)
    obey_robots: bool = True
    max_crawl_delay_seconds: float = Field(30.0, ge=0)


class DriftSpec(_Spec):
    min_required_coverage: float = Field(0.9, ge=0, le=1)
    volume_window: int = Field(7, ge=1)
    volume_min_ratio: float = Field(0.5, ge=0)
    volume_severity: Literal["WARN", "ERROR"] = "WARN"
    min_records: int = Field(1, ge=0)


class CommonSpec(_Spec):
    """The keys a target shares with ``defaults``."""

    politeness: PolitenessSpec = PolitenessSpec()
    max_body_bytes: int = Field(2_000_000, ge=1)
    timeout_seconds: float = Field(10.0, gt=0)
    taxonomy: dict[str, Any] = {}
    retry: dict[str, Any] = {}
    proxies: list[ProxyUrl] = []
    refetch_tombstoned: bool = False
    drift: DriftSpec = DriftSpec()

    @field_validator("taxonomy")
    @classmethod
    def _taxonomy(cls, value: dict[str, Any]) -> dict[str, Any]:
        _finite(value)
        try:
            Taxonomy().with_overrides(dict(value))
        except ConfigError as exc:  # its message starts with "taxonomy.", the field's name
            raise ValueError(str(exc).removeprefix("taxonomy.")) from None
        return value

    @field_validator("retry")
    @classmethod
    def _retry(cls, value: dict[str, Any]) -> dict[str, Any]:
        _finite(value)
        try:
            policies_from(dict(value))
        except ConfigError as exc:
            raise ValueError(str(exc).removeprefix("retry.")) from None
        return value


class DefaultsSpec(CommonSpec):
    pass


class TargetSpec(CommonSpec):
    name: Slug
    description: str = ""
    urls: list[Url] | None = Field(None, min_length=1)
    listing: ListingSpec | None = None
    record: RecordSpec
    allowed_origins: list[OriginUrl] = []

    @model_validator(mode="after")
    def _one_source(self) -> TargetSpec:
        if (self.urls is None) == (self.listing is None):
            raise ValueError("give exactly one of 'urls' or 'listing'")
        return self


MERGED_ONE_LEVEL = ("politeness", "drift")  # defaults merge into these key by key
