import pytest

from fleet_assets.lib.extract import coerce, extract_links, extract_record
from fleet_assets.lib.targets import FieldRule, RecordRules, Selector

RULES = RecordRules(
    fields=(
        FieldRule("sku", Selector(css="span.sku")),
        FieldRule("title", Selector(xpath="//h1[@class='title']")),
        FieldRule("price", Selector(css="span.price"), "float"),
        FieldRule("rating", Selector(css="span.rating"), "float"),
        FieldRule("in_stock", Selector(css="span.stock", attr="data-in-stock"), "bool"),
    ),
    required=("sku", "title", "price"),
    id_field="sku",
)


def test_extracts_typed_fields():
    page = (b"<html><body><h1 class='title'> Caf\xc3\xa9  <b>Noir</b></h1><span class=sku>A-1</span>"
            b"<span class=price>$1,299.50</span><span class=rating>4.5</span>"
            b"<span class=stock data-in-stock=true>In stock</span></body></html>")
    ex = extract_record(page, RULES)
    assert ex.complete
    assert ex.values == {"sku": "A-1", "title": "Café Noir", "price": 1299.5, "rating": 4.5,
                         "in_stock": True}


def test_missing_optional_field_is_none_and_still_complete():
    ex = extract_record(b"<h1 class=title>T</h1><span class=sku>S</span><span class=price>3</span>",
                        RULES)
    assert ex.complete
    assert ex.values["rating"] is None


def test_missing_required_field_is_reported():
    ex = extract_record(b"<h1 class=title>T</h1><span class=price>3</span>", RULES)
    assert ex.missing_required == ("sku",)


def test_malformed_html_is_recovered():
    page = b"<html><h1 class=title>Broken<span class=sku>X9<span class=price>12.00</div></p></html"
    ex = extract_record(page, RULES)
    assert ex.values["sku"] and ex.values["sku"].startswith("X9")
    assert ex.values["price"] == 12.0


@pytest.mark.parametrize("body", [b"", b"   \n", b"\x00\x01\x02"])
def test_empty_or_binary_bodies_yield_no_fields(body):
    ex = extract_record(body, RULES)
    assert not ex.complete


def test_declared_charset_is_honoured():
    page = ('<html><head><meta charset="iso-8859-1"></head><h1 class=title>Ménage</h1>'
            "<span class=sku>1</span><span class=price>2</span></html>").encode("latin-1")
    assert extract_record(page, RULES).values["title"] == "Ménage"


@pytest.mark.parametrize(
    "raw, ftype, expected",
    [("$1,299.00", "float", 1299.0), ("12 items", "int", 12), ("n/a", "float", None),
     ("Sold out", "bool", False), ("yes", "bool", True), ("maybe", "bool", None),
     ("Posted 2025-03-01T10:00", "date", "2025-03-01"), ("2025-02-30", "date", None),
     (None, "str", None)],
)
def test_coerce(raw, ftype, expected):
    assert coerce(raw, ftype) == expected


def test_links_are_absolute_deduplicated_and_http_only():
    page = (b"<a class=p href='/a'>1</a><a class=p href='/a#x'>dup</a>"
            b"<a class=p href='javascript:alert(1)'>j</a><a class=p href='mailto:x@y'>m</a>"
            b"<a class=p href='http://other.example/b'>o</a><a class=p>no href</a>"
            b"<a class=p href='http://[bad'>bad</a>")
    links = extract_links(page, Selector(css="a.p", attr="href"), "http://h/shop/",
                          hosts=["h", "other.example"])
    assert links == ["http://h/a", "http://other.example/b"]
    # by default only the listing's own host (see test_bad_input for the SSRF cases)
    assert extract_links(page, Selector(css="a.p", attr="href"), "http://h/shop/") == ["http://h/a"]


def test_link_limit_caps_huge_listings():
    page = b"".join(b"<a class=p href='/i%d'>x</a>" % i for i in range(5000))
    assert len(extract_links(page, Selector(css="a.p", attr="href"), "http://h/", limit=100)) == 100
