"""Every ``FLEET_*`` environment variable, read in one place and typed.

``VARIABLES`` is the registry (name, default, meaning); README's "Environment" table is
generated from it (``python -m fleet_assets.settings``) and a test keeps the two equal. Each
accessor reads the environment when it is called, not at import: the CLI, sensors and tests
change the environment of a running process, and a secret (``FLEET_PROXIES``,
``FLEET_ALERT_WEBHOOK``, ``FLEET_SLACK_TOKEN``) is read at the moment it is used, never stored.
A bad value raises ``ConfigError`` naming the variable and the fix.

Layering: this module imports no dagster and nothing above ``lib/``; ``lib/`` never imports
it. ``lib/`` gets what it needs as parameters (a path, a number), so it stays usable and
testable without an environment and the imports run one way: ``settings`` -> ``lib``.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from fleet_assets.lib.failures import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]
# The embedded instance's settings, copied into DAGSTER_HOME. Not at the repository root:
# `dg dev` warns about a dagster.yaml in its folder that DAGSTER_HOME does not hold.
LOCAL_INSTANCE_YAML = REPO_ROOT / "deploy" / "dagster.local.yaml"
Environment = Literal["local", "prod"]
ENVIRONMENTS: tuple[Environment, ...] = ("local", "prod")
DEFAULT_START_DATE = "2026-11-01"


@dataclass(frozen=True)
class Variable:
    name: str
    default: str  # as the README shows it
    meaning: str


VARIABLES = (
    Variable("FLEET_HOME", "`.fleet/`", "where the embedded default keeps everything"),
    Variable("FLEET_ENV", "`local`", "`local` or `prod`: picks resources in "
             "`fleet_assets/resources/__init__.py`"),
    Variable("FLEET_TARGETS", "`targets.yaml`", "the targets file"),
    Variable("FLEET_SANDBOX_URL", "`http://127.0.0.1:8787`",
             "the sandbox, as used by `targets.yaml` (`${FLEET_SANDBOX_URL:-...}`)"),
    Variable("FLEET_PROXIES", "(none)",
             "comma-separated proxy URLs, read at run time, never logged"),
    Variable("FLEET_ALERT_WEBHOOK", "(none)", "URL that receives each circuit-opening alert as "
             "a JSON POST; read at send time, never logged"),
    Variable("FLEET_SLACK_TOKEN", "(none)", "Slack bot token for circuit-opening alerts "
             "(dagster-slack); read at send time"),
    Variable("FLEET_SLACK_CHANNEL", "(none)", "the Slack channel of those alerts"),
    Variable("FLEET_START_DATE", f"`{DEFAULT_START_DATE}`", "the first partition day (YYYY-MM-DD): "
             "the day the deployment started crawling"),
    Variable("FLEET_LAUNCH_HOUR", "`2`", "UTC hour at which `fleet_daily_sensor` launches "
             "yesterday's partitions"),
    Variable("FLEET_LAUNCH_JITTER_SECONDS", "`1800`",
             "bound of the stable per-target offset added to the launch hour"),
    Variable("FLEET_MAX_RECOVERIES", "`3`",
             "recovery runs `fleet_recovery_sensor` launches per partition"),
    Variable("FLEET_DAGSTER_URL", "`http://127.0.0.1:3000`", "the webserver `fleet backfill` talks to"),
    Variable("FLEET_S3_BUCKET", "(none)", "the S3 bucket (required when `FLEET_ENV=prod`)"),
    Variable("FLEET_S3_PREFIX", "(none)", "key prefix inside the bucket, e.g. `fleet/`"),
    Variable("FLEET_S3_ENDPOINT_URL", "(AWS)", "an S3-compatible endpoint (MinIO, Ceph, moto)"),
    Variable("FLEET_S3_MAX_ATTEMPTS", "`3`", "botocore attempts per S3 call before an outage "
             "is reported"),
    Variable("FLEET_CELERY_BROKER", "`pyamqp://guest:guest@127.0.0.1:5672//`",
             "broker of the `ingest_celery` executor (passed as an env reference)"),
    Variable("FLEET_CELERY_BACKEND", "`rpc://`", "result backend of the Celery executor"),
    Variable("FLEET_CELERY_QUEUE", "`dagster`", "the queue Celery steps go to"),
    Variable("FLEET_BUDGET_POSTGRES_URL", "(none)", "PostgreSQL DSN of the per-host request budget "
             "shared by machines (`FLEET_ENV=prod`; unset: files under `FLEET_HOME`, one machine)"),
    Variable("FLEET_BUDGET_MAX_WAIT", "`15`", "seconds a request waits for its host's budget "
             "before its page is deferred with a `due_at`"),
    Variable("FLEET_BUDGET_TRIP_AFTER", "`5`",
             "host failures in a row (5xx, resets, timeouts) that close the host for the fleet"),
    Variable("FLEET_BUDGET_BACKOFF_BASE", "`1`", "seconds a failing host first stays closed "
             "(doubling per failed probe)"),
    Variable("FLEET_BUDGET_BACKOFF_CAP", "`60`", "the most seconds a failing host stays closed "
             "between probes"),
    Variable("FLEET_MAX_CONCURRENT_RUNS", "(see file)", "global run limit of the queued run "
             "coordinator in `deploy/dagster.prod.yaml` (read by Dagster, not by this code)"),
    Variable("FLEET_REQUIRE_SERVICES", "(unset)", "`1`: tests fail, instead of skipping, when "
             "PostgreSQL, RabbitMQ or chromium is missing (CI)"),
)
NAMES = frozenset(v.name for v in VARIABLES)


def _raw(name: str) -> str:
    if name not in NAMES:  # a typo here would silently read nothing
        raise KeyError(f"{name} is not in settings.VARIABLES")
    return os.environ.get(name, "").strip()


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = _raw(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} is not a whole number >= {minimum}; unset it or fix it")
    return value


def is_set(name: str) -> bool:
    return bool(_raw(name))


def secret(name: str) -> str:
    """A secret's value at the moment of use ('' when unset); callers never log it.

    The name may be any variable a resource is configured to read (e.g. ``proxies_env_var``),
    so it is not limited to the registry.
    """
    return os.environ.get(name, "").strip()


# -- paths -------------------------------------------------------------------------------------
def fleet_home() -> Path:
    return Path(_raw("FLEET_HOME") or REPO_ROOT / ".fleet").resolve()


def dagster_home() -> Path:
    return fleet_home() / "dagster_home"


def warehouse_path() -> Path:
    return fleet_home() / "warehouse.duckdb"


SANDBOX_PORT = 8787  # the sandbox's port when free: its URLs are part of every page's key
DEFAULT_SANDBOX_URL = f"http://127.0.0.1:{SANDBOX_PORT}"


def sandbox_url() -> str:
    """Where targets.yaml's ``${FLEET_SANDBOX_URL:-...}`` points now."""
    return _raw("FLEET_SANDBOX_URL") or DEFAULT_SANDBOX_URL


def targets_path() -> Path:
    return Path(_raw("FLEET_TARGETS") or REPO_ROOT / "targets.yaml").resolve()


# -- the environment switch and its resources ----------------------------------------------------
def fleet_env() -> Environment:
    env = _raw("FLEET_ENV") or "local"
    if env not in ENVIRONMENTS:
        raise ConfigError(f"FLEET_ENV={env!r} is not one of {', '.join(ENVIRONMENTS)}; "
                          "unset it or pick one")
    return env  # type: ignore[return-value]


def slack_channel() -> str:
    return _raw("FLEET_SLACK_CHANNEL")


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    prefix: str
    endpoint_url: str | None
    max_attempts: int


def s3() -> S3Settings:
    bucket = _raw("FLEET_S3_BUCKET")
    if not bucket:
        raise ConfigError("FLEET_ENV=prod needs FLEET_S3_BUCKET (the bucket for raw pages and tables)")
    prefix = _raw("FLEET_S3_PREFIX")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return S3Settings(bucket, prefix, _raw("FLEET_S3_ENDPOINT_URL") or None,
                      _int("FLEET_S3_MAX_ATTEMPTS", 3, minimum=1))


@dataclass(frozen=True)
class CelerySettings:
    broker: str | None  # None: the default broker; else the variable to read at run time
    backend: str | None
    queue: str


def celery() -> CelerySettings:
    return CelerySettings(
        broker="FLEET_CELERY_BROKER" if is_set("FLEET_CELERY_BROKER") else None,
        backend="FLEET_CELERY_BACKEND" if is_set("FLEET_CELERY_BACKEND") else None,
        queue=_raw("FLEET_CELERY_QUEUE") or "dagster",
    )


def _seconds(name: str, default: float) -> float:
    raw = _raw(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{name}={raw!r} is not a number of seconds > 0; unset it or fix it")
    return value


@dataclass(frozen=True)
class BudgetSettings:
    max_wait_seconds: float
    trip_after_failures: int
    backoff_base_seconds: float
    backoff_cap_seconds: float


def budget() -> BudgetSettings:
    """The per-host budget's tuning (``resources/budget.py``); its DSN stays an env reference."""
    base = _seconds("FLEET_BUDGET_BACKOFF_BASE", 1.0)
    cap = _seconds("FLEET_BUDGET_BACKOFF_CAP", 60.0)
    if cap < base:
        raise ConfigError(f"FLEET_BUDGET_BACKOFF_CAP={cap} is below FLEET_BUDGET_BACKOFF_BASE="
                          f"{base}; the cap must be at least the base")
    return BudgetSettings(_seconds("FLEET_BUDGET_MAX_WAIT", 15.0),
                          _int("FLEET_BUDGET_TRIP_AFTER", 5, minimum=1), base, cap)


# -- automation and tools ----------------------------------------------------------------------
def start_date() -> str:
    raw = _raw("FLEET_START_DATE") or DEFAULT_START_DATE
    try:
        dt.date.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"FLEET_START_DATE={raw!r} is not a date; write it as YYYY-MM-DD "
                          "(the first day the fleet crawls) or unset it") from None
    return raw


def launch_hour() -> int:
    hour = _int("FLEET_LAUNCH_HOUR", 2)
    if hour > 23:
        raise ConfigError(f"FLEET_LAUNCH_HOUR={hour} is not an hour of the day; use 0-23")
    return hour


def launch_jitter_seconds() -> int:
    return _int("FLEET_LAUNCH_JITTER_SECONDS", 1800)


def max_recoveries() -> int:
    return _int("FLEET_MAX_RECOVERIES", 3)


DEFAULT_DAGSTER_URL = "http://127.0.0.1:3000"


def dagster_url() -> str:
    return _raw("FLEET_DAGSTER_URL") or DEFAULT_DAGSTER_URL


def require_services() -> bool:
    return _raw("FLEET_REQUIRE_SERVICES") == "1"


def markdown_table() -> str:
    """README's Environment table, generated from ``VARIABLES``."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    rows += [f"| `{v.name}` | {v.default} | {v.meaning} |" for v in VARIABLES]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
