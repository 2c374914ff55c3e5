"""The suspect check settled from the start of a page answers as the whole-page check does."""

from __future__ import annotations

import random

import pytest

from fleet_assets.lib.crawl import suspects
from fleet_assets.lib.crawl.suspects import yields_required_early
from fleet_assets.lib.extract import yields_required
from fleet_assets.lib.targets import FieldRule, RecordRules, Selector


def rules(*fields: FieldRule, required: tuple[str, ...] | None = None) -> RecordRules:
    return RecordRules(fields=fields, required=required or tuple(f.name for f in fields))


TITLE = rules(FieldRule("title", Selector(css="h1")))
PRICE = rules(FieldRule("price", Selector(css="span.price"), "float"))
STOCK = rules(FieldRule("stock", Selector(css="p.stock"), "bool"))
SKU = rules(FieldRule("sku", Selector(css="div.item", attr="data-sku")))
LAST = rules(FieldRule("title", Selector(css="h1:last-child")))
LINK = rules(FieldRule("doc", Selector(css="a.doc", attr="href"), "url"))
EITHER = rules(FieldRule("price", Selector(css="span.price"), "float"),
               FieldRule("title", Selector(xpath="//h1[last()]")))
ALL = (TITLE, PRICE, STOCK, SKU, LAST, LINK, EITHER)
FILLER = b"<p>filler text</p>" * 60  # ~1 KB


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr(suspects, "_FIRST", 257)  # cuts inside small pages
    monkeypatch.setattr(suspects, "_WHOLE_BELOW", 0)
    monkeypatch.setattr(suspects, "_PREFIX_PART", 1)  # the second start is the whole page


@pytest.fixture(params=[1, 3])
def prefix_part(request, monkeypatch):
    monkeypatch.setattr(suspects, "_PREFIX_PART", request.param)


@pytest.mark.parametrize("body", [
    b"<h1>Title</h1>" + FILLER,
    b"<h1>   </h1>" + FILLER + b"<h1>Late title</h1>",  # an empty first match is skipped
    b"<html><body>" + FILLER + b"<h1>" + b"x" * 600 + b"</h1>",  # text across chunks, at EOF
    b"<span class=price>n/a</span>" + FILLER + b"<span class=price>12.5</span>",  # first counts
    b"<span class=price>" + b" " * 300 + b"12" + b"</span><p>after",  # value across an edge
    b"<p class=stock>in stock</p>" + FILLER, b"<p class=stock>in stock soon</p>" + FILLER,
    b"<p class=stock>in" + b" " * 400 + b"stock later</p>" + FILLER,  # a prefix reads True
    b"<div class=item data-sku=' '></div><div class=item data-sku=A1>" + FILLER,
    b"<ul><li><h1>one</h1></li><li><h1>two</h1></li></ul>" + FILLER + b"<h1>three</h1>",
    b"<base href='http://elsewhere/x/'>" + FILLER + b"<a class=doc href=y>d</a>",
    b"", b"   ", FILLER, b"<h1>T", b"<h1></h1><h1>", b"\xff\xfe<\x00h\x001\x00>\x00T\x00",
    "<meta charset=latin-1><h1>caf\u00e9</h1>".encode("latin-1") + FILLER,
])
def test_the_early_check_answers_as_the_whole_page_check(body, prefix_part):
    for rule_set in ALL:
        expected = yields_required(body, rule_set, "http://h/p", "text/html")
        assert yields_required_early(body, rule_set, "http://h/p", "text/html") is expected


def test_a_field_settled_early_stops_reading_the_page(monkeypatch):
    whole_page: list[bytes] = []
    monkeypatch.setattr(suspects, "yields_required", lambda body, *a: whole_page.append(body))
    assert yields_required_early(b"<h1>Title</h1>" + FILLER * 50, TITLE) is True
    assert yields_required_early(b"<span class=price>n/a</span>" + FILLER * 50, PRICE) is False
    assert whole_page == []  # neither page was parsed whole


def test_random_pages_get_the_whole_page_verdict(prefix_part):
    rng = random.Random(14)
    parts = [b"<h1>", b"</h1>", b"Title", b" ", b"<span class=price>", b"</span>", b"9.99",
             b"<p class=stock>", b"</p>", b"sold out", b"<div class=item data-sku=Z>", b"</div>",
             b"<a class=doc href=q>", b"</a>", b"<!-- c -->", b"<br>", b"x" * 200, b"<table><td>",
             b"<li>", b"<p>", b"&amp;", b"<base href=/b/>"]
    for _ in range(400):
        body = b"".join(rng.choice(parts) for _ in range(rng.randint(0, 40)))
        for rule_set in ALL:
            expected = yields_required(body, rule_set, "http://h/p", None)
            assert yields_required_early(body, rule_set, "http://h/p", None) is expected, body


def test_a_small_page_is_parsed_whole_at_once(monkeypatch):
    monkeypatch.setattr(suspects, "_WHOLE_BELOW", 32_768)
    whole_page: list[bytes] = []
    monkeypatch.setattr(suspects, "yields_required", lambda body, *a: whole_page.append(body))
    yields_required_early(b"<h1>Title</h1>" + FILLER, TITLE)
    assert len(whole_page) == 1


def test_only_the_first_third_is_read_before_the_whole_page(monkeypatch):
    monkeypatch.setattr(suspects, "_PREFIX_PART", 3)
    whole_page: list[bytes] = []
    monkeypatch.setattr(suspects, "yields_required", lambda body, *a: whole_page.append(body))
    yields_required_early(FILLER * 10 + b"<h1>Late</h1><p>", TITLE)  # past the first third
    assert len(whole_page) == 1
    assert yields_required_early(b"<h1>Early</h1><p>" + FILLER * 10, TITLE) is True
    assert len(whole_page) == 1


def test_any_cut_of_the_start_gives_the_whole_page_verdict(monkeypatch):
    """The start is cut at random bytes: inside tags, attribute values, text and scripts."""
    rng = random.Random(7)
    parts = [b"<h1>", b"</h1>", b"Title", b" ", b"<span class=price>", b"</span>", b"9.99",
             b"in stock", b"<p class=stock>", b"</p>", b"<div class=item data-sku=Z>",
             b"<div class=item data-sku='  '>", b"</div>", b"<a class=doc href=q>", b"</a>",
             b"<!-- c -->", b"x" * 50, b"<script>", b"</script>", b"<h2>", b"</h2>", b"<title>",
             b"</title>", b"<base href=/b/>"]
    for _ in range(500):
        body = b"".join(rng.choice(parts) for _ in range(rng.randint(1, 60)))
        monkeypatch.setattr(suspects, "_FIRST", rng.randint(1, len(body)))
        monkeypatch.setattr(suspects, "_PREFIX_PART", rng.choice([1, 2, 3]))
        for rule_set in ALL:
            expected = yields_required(body, rule_set, "http://h/p", None)
            assert yields_required_early(body, rule_set, "http://h/p", None) is expected, body
