"""Real HTML nobody on the team wrote, served by a real web server, crawled the normal way.

The corpus is the Python library reference from Debian's ``python3-doc`` (``.ci/run``
installs it), served by the standard library's ``ThreadingHTTPServer``, which answers
``/py/library`` with a 301 to ``/py/library/`` as nginx does. The target's start URL is
that redirecting form, so every relative link on the index is only right when resolved
against the final URL. Fields are compared with an independent lxml parse of the files on
disk. Next to it, pages whose charset is only in the HTTP header, only in ``<meta>``, or only
a byte-order mark (cp1251, Shift_JIS, ISO-8859-1, UTF-16).
"""

from __future__ import annotations

import gzip
import json
import os
import threading
import urllib.error
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import dagster as dg
import duckdb
import pytest
import yaml
from lxml import html
from retry_support import run

from fleet_assets import settings
from fleet_assets.lib import keys, tables
from fleet_assets.lib import manifest as mf
from fleet_assets.lib.store.local import LocalObjectStore

DOCS = Path("/usr/share/doc/python3/html")
DAY1, DAY2 = "2025-06-10", "2025-06-11"
PIPELINE = ["raw_pages", "extracted_records"]
TOC = "div.toctree-wrapper a.reference.internal"

# Header-only, meta-only and BOM-only charsets: (path, text, encoding, Content-Type, meta).
CHARSET_PAGES = [
    ("/cs/header-cp1251", "Привет мир", "cp1251", "text/html; charset=windows-1251", None),
    ("/cs/header-latin1", "Crème brûlée à la française", "iso-8859-1",
     "text/html; charset=iso-8859-1", None),
    ("/cs/header-sjis", "日本語のページです", "shift_jis", "text/html; charset=Shift_JIS", None),
    ("/cs/meta-cp1251", "Добрый день", "cp1251", "text/html", "windows-1251"),
    ("/cs/meta-sjis", "東京の天気", "shift_jis", "text/html", "shift_jis"),
    ("/cs/meta-latin1", "Ça coûte 5 €? Non: ½ prix", "cp1252", "text/html", "iso-8859-1"),
    ("/cs/bom-utf16", "Ünïcode ☃ 雪だるま", "utf-16", "text/html", None),
    ("/cs/bom-utf8", "Ελληνικά και ελληνικά", "utf-8-sig", "text/html", None),
]


def charset_body(text: str, encoding: str, meta: str | None) -> bytes:
    head = f'<head><meta charset="{meta}"><title>t</title></head>' if meta else "<head></head>"
    return f"<html>{head}<body><h1>{text}</h1></body></html>".encode(encoding)


class Server:
    """The docs under /py/ and the charset pages under /cs/, every request logged."""

    def __init__(self, root: Path) -> None:
        self.log: list[tuple[str, int]] = []
        log, lock = self.log, threading.Lock()
        pages = {p: (charset_body(t, e, m), ct) for p, t, e, ct, m in CHARSET_PAGES}

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(root), **kwargs)

            def send_response(self, code, message=None):
                with lock:
                    log.append((self.path, code))
                super().send_response(code, message)

            def do_GET(self):  # noqa: N802 - http.server API
                if self.path in pages:
                    body, ctype = pages[self.path]
                    self.send_response(200)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def requests(self, prefix: str = "/") -> list[tuple[str, int]]:
        return [(p, c) for p, c in self.log if p.startswith(prefix)]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path):
    if not (DOCS / "library" / "index.html").exists():
        message = f"{DOCS} is missing: apt-get install python3-doc (.ci/run does)"
        if settings.require_services():
            pytest.fail(message)
        pytest.skip(message)
    root = tmp_path / "www"
    root.mkdir()
    os.symlink(DOCS.resolve(), root / "py")
    srv = Server(root)
    yield srv
    srv.close()


@pytest.fixture
def targets(tmp_path, server):
    doc = {"targets": [
        {"name": "pydocs",
         "listing": {"start_url": f"{server.url}/py/library",  # answers 301 -> /py/library/
                     "link": {"css": TOC, "attr": "href"}, "max_pages": 1},
         "record": {"fields": {
             "title": {"css": "h1"},
             "next": {"css": "link[rel=next]", "attr": "href"},
             "first_link": {"css": "div.body a.reference.internal", "attr": "href",
                            "type": "url"}},
             "required": ["title"]},
         "politeness": {"max_concurrency": 8, "requests_per_second": 0}},
        {"name": "charsets", "urls": [server.url + p for p, *_ in CHARSET_PAGES],
         "record": {"fields": {"text": {"css": "h1"}}, "required": ["text"]}},
    ]}
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    return str(path)


def independent(url: str) -> dict[str, str | None]:
    """The expected fields, read with lxml straight from the file the server sent."""
    path = DOCS / urlsplit(url).path.removeprefix("/py/")
    doc = html.parse(str(path)).getroot()
    first = doc.cssselect("div.body a.reference.internal")
    nxt = doc.xpath("//link[@rel='next']/@href")
    return {
        "title": " ".join(doc.cssselect("h1")[0].text_content().split()),
        "next": urljoin(url, nxt[0]) if nxt else None,
        # type: url: absolute, without the fragment (it names no other page)
        "first_link": urljoin(url, first[0].get("href")).split("#")[0] if first else None,
    }


def records(home: Path, target: str, date: str) -> list[dict]:
    return tables.from_parquet(LocalObjectStore(home).get(keys.table_key("records", target, date)))


def test_the_python_manual_behind_a_redirect_is_crawled_whole_and_right(
        fleet_env, server, targets):
    index_url = f"{server.url}/py/library/"  # where the 301 lands: links resolve from here
    index = html.parse(str(DOCS / "library" / "index.html")).getroot()
    expected = {urljoin(index_url, a.get("href")).split("#")[0] for a in index.cssselect(TOC)}
    assert len(expected) > 250
    with dg.instance_for_test() as instance:
        assert run(instance, DAY1, "pydocs", targets, selection=PIPELINE).success
        rows = records(fleet_env, "pydocs", DAY1)
        got = {r["url"] for r in rows}
        assert len(got & expected) >= 0.98 * len(expected)
        assert got <= expected
        # every field equals the independent parse, on every page
        for r in rows:
            assert json.loads(r["data"]) == independent(r["url"]), r["url"]
        # no wrong-URL request: the only 404 is robots.txt
        assert [p for p, c in server.requests() if c == 404] == ["/robots.txt"]
        assert ("/py/library", 301) in server.requests()
        entries = mf.loads(LocalObjectStore(fleet_env).get(keys.manifest_key("pydocs", DAY1)))
        assert {e.encoding for e in entries} == {"utf-8"}
        # a re-run sends nothing
        before = len(server.requests())
        assert run(instance, DAY1, "pydocs", targets, selection=PIPELINE).success
        assert len(server.requests()) == before
        # the second day: the same items, none new, none delisted
        assert run(instance, DAY2, "pydocs", targets, selection=PIPELINE).success
        for date in (DAY1, DAY2):
            assert run(instance, date, "pydocs", targets, selection=["daily_aggregates"]).success
    con = duckdb.connect(str(fleet_env / "warehouse.duckdb"), read_only=True)
    day2 = dict(con.execute("SELECT metric, value FROM aggregates WHERE target='pydocs' "
                            "AND date=?", [DAY2]).fetchall())
    con.close()
    assert day2["records"] == len(rows)
    assert day2["new_items"] == 0 and day2["delisted_items"] == 0


def test_charset_only_in_the_header_meta_or_bom_is_decoded_like_a_browser(
        fleet_env, server, targets):
    with dg.instance_for_test() as instance:
        assert run(instance, DAY1, "charsets", targets, selection=PIPELINE).success
    by_url = {r["url"]: json.loads(r["data"])["text"] for r in records(fleet_env, "charsets", DAY1)}
    assert by_url == {server.url + p: text for p, text, *_ in CHARSET_PAGES}
    entries = mf.loads(LocalObjectStore(fleet_env).get(keys.manifest_key("charsets", DAY1)))
    for e in entries:  # the encoding used is recorded, and it reads the stored bytes right
        text = next(t for p, t, *_ in CHARSET_PAGES if e.url.endswith(p))
        body = LocalObjectStore(fleet_env).get(e.object_key)
        assert text in gzip.decompress(body).decode(e.encoding), e.url


def test_the_server_redirects_a_directory_like_nginx(server):
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as exc:
        opener.open(f"{server.url}/py/library")
    assert exc.value.code == 301 and exc.value.headers["Location"] == "/py/library/"

