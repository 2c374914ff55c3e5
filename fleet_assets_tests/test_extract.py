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


# -- decoding like a browser: BOM, then the HTTP charset, then <meta>, then detection --------
WORDS = {"cp1251": "Привет мир", "shift_jis": "日本語のページ", "iso-8859-1": "Crème brûlée",
         "utf-16": "Ünïcode ☃"}


def page_in(text: str, encoding: str, meta: str | None = None) -> bytes:
    head = f'<head><meta charset="{meta}"></head>' if meta else ""
    doc = (f"<html>{head}<body><h1 class='title'>{text}</h1><span class=sku>S</span>"
           "<span class=price>1</span></body></html>")
    return doc.encode(encoding)


@pytest.mark.parametrize("encoding", ["cp1251", "shift_jis", "iso-8859-1"])
def test_charset_only_in_the_http_header_is_used(encoding):
    body = page_in(WORDS[encoding], encoding)
    ex = extract_record(body, RULES, content_type=f"text/html; charset={encoding}")
    assert ex.values["title"] == WORDS[encoding]
    assert WORDS[encoding] in body.decode(ex.encoding)  # the encoding recorded is the one used


@pytest.mark.parametrize("encoding", ["cp1251", "shift_jis", "iso-8859-1"])
def test_charset_only_in_meta_is_used(encoding):
    ex = extract_record(page_in(WORDS[encoding], encoding, meta=encoding), RULES,
                        content_type="text/html")
    assert ex.values["title"] == WORDS[encoding]


def test_a_bom_wins_over_a_wrong_header():
    body = page_in(WORDS["utf-16"], "utf-16")  # BOM first
    ex = extract_record(body, RULES, content_type="text/html; charset=iso-8859-1")
    assert ex.values["title"] == WORDS["utf-16"] and ex.encoding.startswith("utf-16")


def test_the_http_charset_wins_over_meta():
    body = page_in(WORDS["cp1251"], "cp1251", meta="utf-8")
    ex = extract_record(body, RULES, content_type="text/html; charset=windows-1251")
    assert ex.values["title"] == WORDS["cp1251"] and ex.encoding == "cp1251"


def test_nothing_declared_is_detected():
    assert extract_record(page_in("Crème", "cp1252"), RULES).values["title"] == "Crème"
    assert extract_record(page_in("Crème", "utf-8"), RULES).encoding == "utf-8"


# -- URLs resolve like a browser's: the final URL, then <base href> ---------------------------
LINKY = RecordRules(
    fields=(FieldRule("title", Selector(css="h1")),
            FieldRule("image", Selector(css="img", attr="src")),
            FieldRule("next", Selector(css="a.next", attr="href")),
            FieldRule("doc", Selector(css="a.doc", attr="href"), "url"),
            FieldRule("data", Selector(css="a.doc", attr="data-x"))),
    required=("title",),
)


def test_link_attributes_and_url_fields_are_absolute_from_the_final_url():
    body = (b"<h1>T</h1><img src='img/a.png'><a class=next href='?page=2'>n</a>"
            b"<a class=doc href='../os.html#x' data-x='rel/path'>d</a>")
    ex = extract_record(body, LINKY, "http://h/py/library/")
    assert ex.values == {"title": "T", "image": "http://h/py/library/img/a.png",
                         "next": "http://h/py/library/?page=2", "doc": "http://h/py/os.html",
                         "data": "rel/path"}  # not a link attribute: as written


def test_base_href_is_the_base_of_relative_links():
    body = b"<head><base href='/static/v2/'></head><h1>T</h1><img src='a.png'><a class=doc href=b>"
    ex = extract_record(body, LINKY, "http://h/page")
    assert ex.values["image"] == "http://h/static/v2/a.png"
    assert ex.values["doc"] == "http://h/static/v2/b"
    assert extract_links(body, Selector(css="a.doc", attr="href"), "http://h/page") == [
        "http://h/static/v2/b"]


def test_the_first_base_with_an_href_counts_wherever_it_is():
    body = (b"<h1>T</h1>" + b"<p>filler</p>" * 500 + b"<div><base target=_top>"
            b"<base href='/deep/'><base href='/later/'></div><a class=doc href=b>")
    assert extract_record(body, LINKY, "http://h/page").values["doc"] == "http://h/deep/b"


def test_url_fields_drop_what_is_not_a_web_url():
    body = b"<h1>T</h1><a class=doc href='javascript:void(0)'>x</a>"
    assert extract_record(body, LINKY, "http://h/").values["doc"] is None


def test_each_thread_parses_with_its_own_parser():
    """A parser shared by threads takes a lock per parse: pages were parsed one at a time."""
    import threading

    from fleet_assets.lib import extract

    seen, barrier = [], threading.Barrier(4)

    def work():
        barrier.wait()
        seen.append(extract.thread_parser())  # kept alive: ids of freed parsers could repeat
        assert extract.parse_page(b"<html><h1>x</h1></html>") is not None

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(p) for p in seen}) == 4
    assert extract.thread_parser() is extract.thread_parser()  # and one per thread, not one per page


def test_links_differing_only_in_their_fragment_are_one_link_in_first_order():
    from fleet_assets.lib.extract import extract_links
    from fleet_assets.lib.targets import Selector

    body = (b'<a href="b.html#s1">1</a><a href="a.html#x">2</a><a href="#top">3</a>'
            b'<a href="http://other.example/c.html#x">4</a><a href="b.html">5</a>'
            b'<a href="http://other.example/c.html#y">6</a><a href="a.html#y">7</a>'
            b'<a href=" a.html ">8</a><a href="javascript:x#y">9</a>')
    links = extract_links(body, Selector(css="a", attr="href"), "http://h.example/d/i.html")
    assert links == ["http://h.example/d/b.html", "http://h.example/d/a.html"]


def test_the_fast_join_of_root_relative_links_agrees_with_urljoin():
    """``_join`` skips urljoin for plain root-relative paths; on everything else it defers."""
    import random
    from urllib.parse import urljoin

    from fleet_assets.lib.extract import _join

    rng = random.Random(7)
    pieces = ["a", "img", "x.png", ".", "..", "", "%20", "~u", "b;p", "q?x=1", "#f", "//h", "\\",
              " ", "\t", "é", "A-_", "@:", "'()", "*+,", "=&$!"]
    bases = ["http://h.example/dir/page.html", "https://H.example:8443/a/b/", "HTTP://h/",
             "http://h.example", "https://user@h.example/p?q=1#f", "ftp://h/x", "file:///tmp/a.html"]
    checked = 0
    for _ in range(20000):
        raw = "/" + "/".join(rng.choice(pieces) for _ in range(rng.randrange(1, 5)))
        if rng.random() < 0.2:
            raw += "/"
        base = rng.choice(bases)
        assert _join(base, raw) == urljoin(base, raw), (base, raw)
        checked += 1
    assert checked == 20000
