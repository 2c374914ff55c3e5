import copy

import pytest

from fleet_assets.lib.targets import TargetConfigError, load_targets, parse_targets
from fleet_assets.settings import REPO_ROOT

GOOD = {
    "targets": [
        {
            "name": "shop",
            "listing": {
                "start_url": "http://127.0.0.1:1/shop/{date}/catalog",
                "link": {"css": "a.p", "attr": "href"},
                "next_page": {"css": "a.next", "attr": "href"},
            },
            "record": {
                "id": "sku",
                "fields": {"sku": {"css": "span.sku"}, "price": {"css": ".p", "type": "float"}},
                "required": ["sku"],
            },
        }
    ]
}


def _with(mutate):
    doc = copy.deepcopy(GOOD)
    mutate(doc)
    return doc


def test_repository_targets_file_loads():
    targets = load_targets(REPO_ROOT / "targets.yaml")
    assert {"shop", "news", "jobs"} <= set(targets)


def test_defaults_merge_under_targets():
    doc = _with(lambda d: d.update(defaults={"politeness": {"max_concurrency": 3},
                                             "timeout_seconds": 4}))
    t = parse_targets(doc)["shop"]
    assert t.politeness.max_concurrency == 3
    assert t.timeout_seconds == 4.0
    assert t.politeness.obey_robots is True


def test_date_template_expands_per_partition():
    def to_url_list(doc):
        del doc["targets"][0]["listing"]
        doc["targets"][0]["urls"] = ["http://h/jobs/{date}/1"]

    doc = _with(to_url_list)
    assert parse_targets(doc)["shop"].urls_for("2025-02-03") == ["http://h/jobs/2025-02-03/1"]


def test_env_references_expand_with_defaults(monkeypatch):
    monkeypatch.delenv("FLEET_TEST_HOST", raising=False)
    doc = _with(lambda d: d["targets"][0]["listing"].update(
        start_url="${FLEET_TEST_HOST:-http://127.0.0.1:9}/c"))
    assert parse_targets(doc)["shop"].listing.start_url == "http://127.0.0.1:9/c"
    monkeypatch.setenv("FLEET_TEST_HOST", "http://127.0.0.1:7")
    assert parse_targets(doc)["shop"].listing.start_url == "http://127.0.0.1:7/c"


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["targets"][0].update(name="../../etc"), r"targets\[0\]\.name.*slug"),
        (lambda d: d["targets"][0].update(colour="red"), r"target 'shop': unknown key\(s\) colour"),
        (lambda d: d["targets"].append(copy.deepcopy(d["targets"][0])), "defined twice"),
        (lambda d: d["targets"][0]["record"]["fields"]["sku"].update(css="a[["),
         r"record\.fields\.sku: invalid CSS"),
        (lambda d: d["targets"][0]["record"]["fields"]["sku"].update(
            {"xpath": "//a[", "css": None}) or d["targets"][0]["record"]["fields"]["sku"].pop("css"),
         r"record\.fields\.sku: invalid XPath"),
        (lambda d: d["targets"][0]["record"].update(required=["nope"]), r"required.*nope"),
        (lambda d: d["targets"][0]["record"]["fields"]["price"].update(type="money"),
         r"price\.type"),
        (lambda d: d["targets"][0].update(urls=["http://x"]), "exactly one of 'urls' or 'listing'"),
        (lambda d: d["targets"][0]["listing"].update(start_url="ftp://x/"), "absolute http"),
        (lambda d: d["targets"][0]["listing"].update(start_url="${FLEET_UNSET_VAR_X}/x"),
         "FLEET_UNSET_VAR_X is not set"),
        (lambda d: d["targets"][0].update(proxies=["http://bob:hunter2@127.0.0.1:3128"]),
         r"proxies: write proxy credentials as \$\{ENV_VAR\}"),
        (lambda d: d["targets"][0].update(politeness={"max_concurrency": 0}), "max_concurrency"),
        (lambda d: d.update(targets=[]), "non-empty list"),
        (lambda d: d.update(extra=1), r"unknown key\(s\) extra"),
        (lambda d: d["targets"][0].update(taxonomy={"status": {"403": "Z"}}),
         r"target 'shop'.taxonomy: .*403"),
        (lambda d: d["targets"][0].update(retry={"C": {"max_attempts": 2}}), "never retried"),
        (lambda d: d["targets"][0].update(retry={"A": {"max_attempts": 0}}), "max_attempts"),
    ],
)
def test_bad_config_names_target_field_and_fix(mutate, message):
    with pytest.raises(TargetConfigError, match=message):
        parse_targets(_with(mutate))


def test_secret_values_never_appear_in_errors(monkeypatch):
    monkeypatch.setenv("FLEET_SECRET_PW", "hunter2")
    doc = _with(lambda d: d["targets"][0].update(
        proxies=["http://u:${FLEET_SECRET_PW}@127.0.0.1:1"], colour=1))
    with pytest.raises(TargetConfigError) as err:
        parse_targets(doc)
    assert "hunter2" not in str(err.value)


def test_missing_file_says_how_to_fix(tmp_path):
    with pytest.raises(TargetConfigError, match="FLEET_TARGETS"):
        load_targets(tmp_path / "nope.yaml")


def test_invalid_yaml_is_a_config_error(tmp_path):
    p = tmp_path / "t.yaml"
    p.write_text("targets: [\n")
    with pytest.raises(TargetConfigError, match="not valid YAML"):
        load_targets(p)
