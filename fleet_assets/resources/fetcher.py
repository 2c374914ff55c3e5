"""The fetcher resource: HTTP settings, the proxy pool and the retry settings of a step.

Settings: ``proxies`` (proxy URLs; credentials only as ``${ENV_VAR}`` references, expanded
when used and never logged), ``proxies_env_var`` (the variable holding a comma-separated
proxy list, read at run time so that no credential is ever part of resource config shown in
the UI; default ``FLEET_PROXIES``), ``proxy_cooldown_seconds`` (how long a proxy stays burned for
a target), ``max_in_run_wait_seconds`` (a retry due sooner is waited for inside the run;
a later one ends the step so a sensor relaunches it), ``backoff_scale`` (multiplies every
class policy's base and cap: tests and benchmarks shrink it), ``pool_size``.
"""


import os
import random
from dataclasses import replace

import dagster as dg

from fleet_assets import settings
from fleet_assets.lib.crawl.backoff import ClassPolicy
from fleet_assets.lib.crawl.proxies import Proxy, ProxyPool
from fleet_assets.lib.crawl.retry import policies_from
from fleet_assets.lib.failures import FailureClass
from fleet_assets.lib.http.fetcher import FetchSettings, HttpFetcher
from fleet_assets.lib.http.origins import target_policy
from fleet_assets.lib.store.base import ObjectStore
from fleet_assets.lib.targets import Target
from fleet_assets.lib.taxonomy import Taxonomy

# Exceptions nobody classified (a bug, a dying disk) get a few spaced attempts too.
UNCLASSIFIED_RETRY = dg.RetryPolicy(
    max_retries=2, delay=1.0, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.FULL
)


class FetcherResource(dg.ConfigurableResource):
    """How steps reach targets: HTTP client settings, proxies and retry pacing."""

    proxies: list[str] = []
    proxies_env_var: str = "FLEET_PROXIES"
    proxy_cooldown_seconds: float = 300.0
    max_in_run_wait_seconds: float = 30.0
    backoff_scale: float = 1.0
    pool_size: int = 16

    def http(self, target: Target) -> HttpFetcher:
        """The target's fetcher; ``ConfigError`` (the step fails, no tombstone) on bad settings."""
        settings = FetchSettings(
            timeout_seconds=target.timeout_seconds,
            max_body_bytes=target.max_body_bytes,
            pool_size=max(self.pool_size, target.politeness.max_concurrency),
        )
        return HttpFetcher(settings, origins=target_policy(target))

    def taxonomy(self, target: Target) -> Taxonomy:
        return Taxonomy().with_overrides(dict(target.taxonomy))

    def policies(self, target: Target) -> dict[FailureClass, ClassPolicy]:
        policies = policies_from(dict(target.retry))
        return {
            cls: replace(p, base_seconds=p.base_seconds * self.backoff_scale,
                         cap_seconds=p.cap_seconds * self.backoff_scale)
            for cls, p in policies.items()
        }

    def proxy_pool(self, target: Target, store: ObjectStore) -> ProxyPool | None:
        from_env = [p.strip() for p in settings.secret(self.proxies_env_var).split(",")]
        urls = list(target.proxies) or list(self.proxies) or [p for p in from_env if p]
        if not urls:
            return None
        proxies = [Proxy.from_config(u, os.environ) for u in urls]
        # Each step builds a fresh pool: start its round-robin at a random proxy, or every
        # attempt's first request would go to the same one (and to a banned one again as
        # soon as its cooldown ends).
        random.shuffle(proxies)
        return ProxyPool(proxies, store=store, cooldown_seconds=self.proxy_cooldown_seconds)
