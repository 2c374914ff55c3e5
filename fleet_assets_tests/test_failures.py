"""The failure classes, the fetch outcome record and the one exception tree (lib/failures.py)."""

from __future__ import annotations

from fleet_assets.lib.failures import (
    ConfigError,
    FailureClass,
    FetchFailed,
    FetchOutcome,
    FleetError,
    ListingFailed,
    ObjectMissing,
    ProxiesExhausted,
    StoreError,
)


def _outcome(status: int, headers: dict[str, str] | None = None) -> FetchOutcome:
    return FetchOutcome(url="http://site.test/p", status=status, headers=headers or {},
                        body=b"<h1>Blue widget</h1>", error=None, proxy_id=None)


def test_header_lookup_is_case_insensitive():
    outcome = _outcome(429, headers={"Retry-After": "5"})
    assert outcome.header("retry-after") == "5" and outcome.header("RETRY-AFTER") == "5"
    assert outcome.header("x-missing") is None


def test_outcome_repr_leaves_the_body_out():
    assert "Blue widget" not in repr(_outcome(200))


# -- exceptions ------------------------------------------------------------------------------
def test_proxies_exhausted_is_environmental_and_says_when():
    exc = ProxiesExhausted("shop", until=1_700_000_000.0, proxies=3)
    assert isinstance(exc, FetchFailed) and isinstance(exc, FleetError)
    assert exc.failure_class is FailureClass.ENVIRONMENTAL and exc.until == 1_700_000_000.0
    assert "all 3 proxies are burned for shop until 2023-11-14T22:13:20" in str(exc)


def test_store_and_listing_failures_are_in_the_tree():
    assert issubclass(StoreError, FleetError)
    assert issubclass(ObjectMissing, FleetError) and issubclass(ObjectMissing, KeyError)
    exc = ListingFailed("http://x/list", FailureClass.TRANSIENT, "HTTP 503", wait=2.0)
    assert isinstance(exc, FetchFailed) and exc.failure_class is FailureClass.TRANSIENT
    assert exc.url == "http://x/list" and exc.wait == 2.0 and "HTTP 503" in str(exc)


def _exceptions_defined_in_the_package() -> set[type]:
    import importlib
    import inspect
    import pkgutil

    import fleet_assets

    found = set()
    for info in pkgutil.walk_packages(fleet_assets.__path__, "fleet_assets."):
        module = importlib.import_module(info.name)
        found |= {obj for _, obj in inspect.getmembers(module, inspect.isclass)
                  if issubclass(obj, BaseException) and obj.__module__ == info.name}
    return found


def test_the_docstring_tree_lists_every_exception_the_package_defines():
    """Every exception class is a FleetError, is in the documented tree, and is raised somewhere."""
    import pathlib
    import re

    from fleet_assets.lib import failures

    documented = set(re.findall(r"(?:├──|└──)\s+(\w+)", failures.__doc__ or ""))
    defined = _exceptions_defined_in_the_package()
    assert [c.__name__ for c in defined if not issubclass(c, FleetError)] == []
    assert documented | {"FleetError"} == {c.__name__ for c in defined}
    source = "\n".join(p.read_text() for p in pathlib.Path(failures.__file__).parents[1].rglob("*.py"))
    for name in documented - {"FetchFailed"}:  # the base of the classed failures, never raised bare
        assert re.search(rf"(raise|return) {name}\b", source), f"nobody raises {name}"


def test_config_error_is_a_value_error_and_a_fleet_error():
    assert issubclass(ConfigError, ValueError) and issubclass(ConfigError, FleetError)
    assert not issubclass(ConfigError, FetchFailed)


def test_failure_class_values_are_the_letters():
    assert [c.value for c in FailureClass] == ["A", "B", "C", "D"]
    assert FailureClass("B") is FailureClass.ENVIRONMENTAL and FailureClass.HARD == "D"
