"""extract_memo.py: one parse per page per process, never a stale value."""

from __future__ import annotations

import hashlib

import pytest

from fleet_assets.lib import extract, extract_memo
from fleet_assets.lib.extract_memo import extraction_of, found_required
from fleet_assets.lib.targets import FieldRule, RecordRules, Selector

RULES = RecordRules(fields=(FieldRule("title", Selector(css="h1")),
                            FieldRule("price", Selector(css="b"), "float")),
                    required=("title",))
OTHER = RecordRules(fields=(FieldRule("title", Selector(css="h2")),), required=("title",))


@pytest.fixture(autouse=True)
def counted(monkeypatch):
    extract_memo.forget()
    calls: list[bytes] = []
    real = extract_memo.extract_record

    def counting(body, *a, **kw):
        calls.append(body)
        return real(body, *a, **kw)

    monkeypatch.setattr(extract_memo, "extract_record", counting)
    yield calls
    extract_memo.forget()


def sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def test_the_same_page_is_parsed_once_and_equals_a_fresh_extraction(counted):
    body = b"<h1>Lamp</h1><b>9.5</b><h2>x</h2>"
    first = extraction_of(body, sha(body), RULES, "http://h/p", "text/html")
    again = extraction_of(body, sha(body), RULES, "http://h/p", "text/html")
    assert again is first and len(counted) == 1
    assert first == extract.extract_record(body, RULES, "http://h/p", "text/html")
    assert first.values == {"title": "Lamp", "price": 9.5} and found_required(first, RULES)


def test_another_body_rule_set_url_or_content_type_is_parsed_anew(counted):
    body, changed = b"<h1>Lamp</h1>", b"<h1>Desk</h1>"
    extraction_of(body, sha(body), RULES, "http://h/p", None)
    assert extraction_of(changed, sha(changed), RULES, "http://h/p", None).values["title"] == "Desk"
    assert not found_required(extraction_of(body, sha(body), OTHER, "http://h/p", None), OTHER)
    extraction_of(body, sha(body), RULES, "http://h/q", None)
    extraction_of(body, sha(body), RULES, "http://h/p", "text/html; charset=cp1251")
    assert len(counted) == 5


def test_the_table_is_bounded_oldest_first(counted, monkeypatch):
    monkeypatch.setattr(extract_memo, "MEMO_PAGES", 3)
    bodies = [f"<h1>{i}</h1>".encode() for i in range(5)]
    for b in bodies:
        extraction_of(b, sha(b), RULES)
    assert len(extract_memo._memo) == 3
    extraction_of(bodies[-1], sha(bodies[-1]), RULES)  # kept
    extraction_of(bodies[0], sha(bodies[0]), RULES)  # dropped: parsed again
    assert len(counted) == 6


def test_the_crawl_check_and_the_records_step_parse_a_page_once(counted, tmp_path):
    """What the two steps do in one process: the suspect check, then extract_partition."""
    from fleet_assets.lib import manifest as mf
    from fleet_assets.lib.crawl.suspects import yields_required
    from fleet_assets.lib.records import extract_partition

    body = b"<h1>Lamp</h1><b>2</b>"
    assert yields_required(body, RULES, "http://h/p", "text/html")
    entry = mf.ManifestEntry(url="http://h/p", natural_key="a" * 64, status=mf.STORED,
                             object_key="raw/k", content_sha256=sha(body),
                             final_url="http://h/p", content_type="text/html")
    out = extract_partition([entry], lambda e: body, RULES, "shop", "2025-06-10")
    assert len(counted) == 1 and out.report.records == 1
