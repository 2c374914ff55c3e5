import copy

import pytest
from budget import cpu_budget

from fleet_assets.lib.targets import (
    TargetConfigError,
    load_targets,
    parse_targets,
    validate_targets_file,
)
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
        (lambda d: d["targets"][0].update(colour="red"), 
         r"target 'shop'\.colour: unknown key; allowed: .*listing"),
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
         r"proxies\[0\]: literal credentials.*\$\{USER_VAR\}"),
        (lambda d: d["targets"][0].update(politeness={"max_concurrency": 0}), "max_concurrency"),
        (lambda d: d.update(targets=[]), "non-empty list"),
        (lambda d: d.update(extra=1), r"extra: unknown key at the top level"),
        (lambda d: d["targets"][0].update(taxonomy={"status": {"403": "Z"}}),
         r"target 'shop'\.taxonomy: status\.403"),
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


# -- validated as data, whole ------------------------------------------------------------------
TEXT = """\
targets:
  - name: shop
    description: "catalog"
    urls: ["http://127.0.0.1:1/x/{date}"]
    record:
      fields:
        sku: {css: "span.sku"}
        price: {css: "span.price", type: float}
      required: [sku]
"""


def _load_text(tmp_path, text):
    p = tmp_path / "targets.yaml"
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return load_targets(p)


def _problems(tmp_path, text):
    p = tmp_path / "targets.yaml"
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return [str(x) for x in validate_targets_file(p)]


def test_the_text_fixture_loads(tmp_path):
    assert _load_text(tmp_path, TEXT)["shop"].record.field_names == ("sku", "price")


@pytest.mark.parametrize("line, where", [
    ("    timeout_seconds: .nan", "target 'shop'.timeout_seconds"),
    ("    timeout_seconds: .inf", "target 'shop'.timeout_seconds"),
    ("    drift: {min_required_coverage: .nan}", "target 'shop'.drift.min_required_coverage"),
    ("    politeness: {requests_per_second: -.inf}", "politeness.requests_per_second"),
    ("    retry: {A: {cap_seconds: .inf}}", "retry: A.cap_seconds"),
])
def test_nan_and_inf_are_rejected_naming_the_field(tmp_path, line, where):
    with pytest.raises(TargetConfigError) as err:
        _load_text(tmp_path, TEXT + line + "\n")
    assert where in str(err.value) and "finite" in str(err.value)


@pytest.mark.parametrize("line, where", [
    ('    politeness: {obey_robots: "false"}', "target 'shop'.politeness.obey_robots"),
    ('    refetch_tombstoned: "no"', "target 'shop'.refetch_tombstoned"),
    ("    refetch_tombstoned: 1", "target 'shop'.refetch_tombstoned"),
])
def test_quoted_booleans_are_rejected_naming_the_field(tmp_path, line, where):
    with pytest.raises(TargetConfigError) as err:
        _load_text(tmp_path, TEXT + line + "\n")
    assert where in str(err.value) and "without quotes" in str(err.value)


def test_unquoted_yaml_booleans_still_load(tmp_path):
    t = _load_text(tmp_path, TEXT + "    politeness: {obey_robots: no}\n")["shop"]
    assert t.politeness.obey_robots is False


@pytest.mark.parametrize("selector, words", [
    ('{xpath: "//span[foo()]"}', ["unknown function foo()"]),
    ('{xpath: "//nothing-here[my:fn(.)]"}', ["namespace prefix"]),
    ('{xpath: "//span[@id=$sku]"}', ["undefined variable $sku"]),
    ('{xpath: "//x:span"}', ["namespace prefix 'x'"]),
    ('{css: "a:hover"}', [":hover never matches"]),
    ('{css: "li:visited"}', [":visited never matches"]),
    ('{css: "span::text"}', ["pseudo-element"]),
])
def test_selectors_that_cannot_work_are_rejected_at_load(tmp_path, selector, words):
    text = TEXT.replace('sku: {css: "span.sku"}', f"sku: {selector}")
    with pytest.raises(TargetConfigError) as err:
        _load_text(tmp_path, text)
    assert "target 'shop'.record.fields.sku" in str(err.value)
    for w in words:
        assert w in str(err.value)


def test_three_mistakes_are_reported_together(tmp_path):
    text = (TEXT.replace('{css: "span.price", type: float}', '{css: "span.price", type: money}')
            + '    politeness: {obey_robots: "false"}\n    timeout_seconds: .nan\n')
    with pytest.raises(TargetConfigError) as err:
        _load_text(tmp_path, text)
    wheres = [p.where for p in err.value.problems]
    assert wheres == ["target 'shop'.politeness.obey_robots", "target 'shop'.timeout_seconds",
                      "target 'shop'.record.fields.price.type"] or sorted(wheres) == sorted(
        ["target 'shop'.politeness.obey_robots", "target 'shop'.timeout_seconds",
         "target 'shop'.record.fields.price.type"])
    assert str(err.value).startswith("3 problems")
    assert len(_problems(tmp_path, text)) == 3


def test_mistakes_in_two_targets_and_defaults_are_all_reported():
    doc = copy.deepcopy(GOOD)
    doc["defaults"] = {"max_body_bytes": "big"}
    other = copy.deepcopy(GOOD["targets"][0])
    other.update(name="news", refetch_tombstoned="yes")
    doc["targets"][0]["colour"] = "red"
    doc["targets"].append(other)
    with pytest.raises(TargetConfigError) as err:
        parse_targets(doc)
    wheres = {p.where for p in err.value.problems}
    assert wheres == {"defaults.max_body_bytes", "target 'shop'.colour",
                      "target 'news'.refetch_tombstoned"}


# The classic "billion laughs" in YAML: 9 levels of 9 aliases, all inside `description`
# (a valid key, so the loader must get that far): 9^9 strings once expanded.
ALIAS_BOMB = "[" + ", ".join(
    ['&a [lol, lol, lol, lol, lol, lol, lol, lol, lol]']
    + [f"&{n} [{', '.join(['*' + p] * 9)}]" for p, n in zip("abcdefgh", "bcdefghi", strict=True)]
) + "]"


def test_an_alias_bomb_is_refused_fast_without_expanding_it(tmp_path):
    assert len(ALIAS_BOMB) < 500
    text = TEXT.replace('"catalog"', ALIAS_BOMB)
    with cpu_budget(2), pytest.raises(TargetConfigError, match="alias bomb"):
        _load_text(tmp_path, text)  # measured ~3 ms; the old loader ran 65 s to MemoryError


@pytest.mark.parametrize("text, words", [
    (b"targets:\n  - name: \xff\xfeshop\n", ["line 2", "not UTF-8", "save the file as UTF-8"]),
    ("a: &a [*a]\ntargets: []\n", ["cycle"]),
    ("x: " + "[" * 5000 + "]" * 5000 + "\n", ["nested"]),
    (TEXT + "    timeout_seconds: 3\n    timeout_seconds: 4\n", ["duplicate key 'timeout_seconds'"]),
    ("- just\n- a list\n", ["expected a mapping with 'targets:'"]),
    ("targets: {shop: 1}\n", ["non-empty list"]),
    ("targets: [shop]\n", ["targets[0]", "expected a mapping"]),
    (TEXT.replace("required: [sku]", "required: sku"), ["record.required", "expected a list"]),
    (TEXT.replace("fields:", "fields: [a, b]\n      xfields:"), ["record.fields"]),
    (TEXT.replace('urls: ["http://127.0.0.1:1/x/{date}"]', 'urls: "http://127.0.0.1:1/x"'),
     ["urls", "expected a list"]),
    ("", ["expected a mapping"]),
    ("defaults: []\n" + TEXT, ["defaults: expected a mapping"]),
    (TEXT + "    max_body_bytes: .inf\n", ["max_body_bytes: expected a whole number"]),
    (TEXT.replace('{css: "span.sku"}', '{css: "span.sku", attr: ""}'), ["attr: must not be empty"]),
])
def test_malformed_files_are_problems_not_tracebacks(tmp_path, text, words):
    found = " | ".join(_problems(tmp_path, text))
    for w in words:
        assert w in found


def test_an_oversized_file_is_refused_before_it_is_parsed(tmp_path):
    found = _problems(tmp_path, TEXT + "#" * 1_100_000 + "\n")
    assert len(found) == 1 and "larger than" in found[0]


@pytest.mark.parametrize("name", ["date", "url", "natural_key", "item_key", "target",
                                  "content_sha256", "data"])
def test_field_names_that_collide_with_record_columns_are_rejected(name):
    doc = _with(lambda d: d["targets"][0]["record"]["fields"].update({name: {"css": "b"}}))
    with pytest.raises(TargetConfigError) as err:
        parse_targets(doc)
    assert f"target 'shop'.record.fields.{name} (the name)" in str(err.value)
    assert f"page_{name}" in str(err.value)  # the fix


@pytest.mark.parametrize("url", [
    "http://${FLEET_T_USER}:hunter2@127.0.0.1:3128",
    "http://alice:${FLEET_T_PASS}@127.0.0.1:3128",
    "http://hunter2@127.0.0.1:3128",
])
def test_literal_proxy_credentials_are_refused_even_next_to_a_reference(monkeypatch, url):
    monkeypatch.setenv("FLEET_T_USER", "u")
    monkeypatch.setenv("FLEET_T_PASS", "p")
    with pytest.raises(TargetConfigError) as err:
        parse_targets(_with(lambda d: d["targets"][0].update(proxies=[url])))
    assert "proxies[0]" in str(err.value) and "literal credentials" in str(err.value)
    assert "hunter2" not in str(err.value) and "alice" not in str(err.value)


@pytest.mark.parametrize("url", [
    "http://${FLEET_T_USER}:hunter2@127.0.0.1:1/c",
    "http://127.0.0.1:1/c?api_key=hunter2&page=1",
    "http://127.0.0.1:1/c?page=1&token=hunter2",
    "http://127.0.0.1:1/c?key=hunter2",
])
def test_literal_credentials_in_a_target_url_are_refused(monkeypatch, url):
    monkeypatch.setenv("FLEET_T_USER", "u")
    with pytest.raises(TargetConfigError) as err:
        parse_targets(_with(lambda d: d["targets"][0]["listing"].update(start_url=url)))
    assert "listing.start_url" in str(err.value) and "hunter2" not in str(err.value)


def test_a_secret_in_a_target_url_is_kept_as_a_reference_and_expanded_only_to_send(monkeypatch):
    monkeypatch.setenv("FLEET_T_HOST", "http://127.0.0.1:5")
    monkeypatch.setenv("FLEET_T_KEY", "s3cr3t-value")
    url = "${FLEET_T_HOST}/jobs/{date}?api_key=${FLEET_T_KEY}"
    t = parse_targets(_with(lambda d: (d["targets"][0].pop("listing"),
                                       d["targets"][0].update(urls=[url]))))["shop"]
    stored = t.urls_for("2025-01-02")
    assert stored == ["http://127.0.0.1:5/jobs/2025-01-02?api_key=${FLEET_T_KEY}"]
    assert t.request_url(stored[0]) == "http://127.0.0.1:5/jobs/2025-01-02?api_key=s3cr3t-value"
    assert "s3cr3t" not in repr(t)


def test_ordinary_query_parameters_are_not_mistaken_for_secrets():
    url = "http://127.0.0.1:1/c?sortkey=price&monkey=1&page=2"
    t = parse_targets(_with(lambda d: d["targets"][0]["listing"].update(start_url=url)))
    assert t["shop"].listing.start_url == url


def test_a_secret_reference_must_be_set_at_load(monkeypatch):
    monkeypatch.delenv("FLEET_T_UNSET_KEY", raising=False)
    with pytest.raises(TargetConfigError, match="FLEET_T_UNSET_KEY is not set"):
        parse_targets(_with(lambda d: d["targets"][0]["listing"].update(
            start_url="http://127.0.0.1:1/c?key=${FLEET_T_UNSET_KEY}")))


def test_validate_targets_file_returns_no_problem_for_the_repository_file():
    assert validate_targets_file(REPO_ROOT / "targets.yaml") == []


def test_fleet_check_lists_every_problem_and_exits_2(tmp_path, capsys):
    from fleet_assets.cli.main import main

    bad = tmp_path / "targets.yaml"
    bad.write_text(TEXT + '    politeness: {obey_robots: "false"}\n    timeout_seconds: .nan\n')
    assert main(["check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "2 problem(s)" in err and "obey_robots" in err and "timeout_seconds" in err
    assert "Traceback" not in err
    assert main(["check", str(REPO_ROOT / "targets.yaml")]) == 0
    assert "3 target(s) OK" in capsys.readouterr().out


def test_a_secret_is_sent_percent_encoded_and_redacted_in_any_echo(monkeypatch):
    from fleet_assets.lib.urlrefs import redact, request_url

    monkeypatch.setenv("FLEET_T_KEY", "a&b#c/d e")
    stored = "http://127.0.0.1:5/x?key=${FLEET_T_KEY}&page=2"
    sent = request_url(stored)
    assert sent == "http://127.0.0.1:5/x?key=a%26b%23c%2Fd%20e&page=2"
    for echo in (sent, "http://127.0.0.1:5/y?k=a&b#c/d e", "http://h/?k=a%26b%23c/d%20e"):
        assert "a&b" not in redact(echo, stored) and "a%26b" not in redact(echo, stored)


def test_failure_rule_mistakes_are_reported_with_the_other_fields():
    doc = _with(lambda d: d["targets"][0].update(
        retry={"C": {"max_attempts": 2}}, taxonomy={"status": {"403": "Z"}}, timeout_seconds=-1))
    with pytest.raises(TargetConfigError) as err:
        parse_targets(doc)
    assert {p.where for p in err.value.problems} == {
        "target 'shop'.retry", "target 'shop'.taxonomy", "target 'shop'.timeout_seconds"}
