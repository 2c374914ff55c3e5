"""The Scrapy baseline: the shop partition crawled the way a Scrapy user would write it.

Run in its own process (Twisted's reactor starts once per process)::

    python -m bench.scrapy_spider [docs] START_URL OUT.jsonl CONCURRENCY

Same pages (catalog walk, then every product), same concurrency, no politeness delay,
robots.txt obeyed (as the fleet does), the same fields and types, a JSON-lines feed.
``docs``: the real-corpus figure (``bench/real_corpus.py``): every ``a.reference.internal``
link of the documentation's contents page, and each page's ``h1`` as its title.
Prints one JSON line: {"seconds": ..., "items": ...}.
"""

from __future__ import annotations

import json
import sys
import time

import scrapy
from scrapy.crawler import CrawlerProcess

from fleet_assets.lib.extract import coerce

FIELDS = {  # the shop target's rules (bench/env.py SHOP_FIELDS), as Scrapy selectors
    "sku": ("css", "span.sku::text", "str"),
    "title": ("xpath", "//h1[@class='title']//text()", "str"),
    "price": ("css", "span.price::text", "float"),
    "in_stock": ("css", "span.stock::attr(data-in-stock)", "bool"),
    "rating": ("css", "span.rating::text", "float"),
    "image": ("css", "img.main::attr(src)", "str"),
}


class ShopSpider(scrapy.Spider):
    name = "shop"

    def __init__(self, start_url: str, **kw):
        super().__init__(**kw)
        self.start_url = start_url

    async def start(self):
        yield scrapy.Request(self.start_url, callback=self.parse_catalog)

    def parse_catalog(self, response):
        for href in response.css("a.product-link::attr(href)").getall():
            yield response.follow(href, callback=self.parse_product)
        nxt = response.css("a.next::attr(href)").get()
        if nxt:
            yield response.follow(nxt, callback=self.parse_catalog)

    def parse_product(self, response):
        item = {"url": response.url}
        for name, (kind, expr, ftype) in FIELDS.items():
            sel = response.css(expr) if kind == "css" else response.xpath(expr)
            raw = " ".join("".join(sel.getall()).split()) or None
            item[name] = coerce(raw, ftype)
        yield item


class DocsSpider(scrapy.Spider):
    name = "docs"

    def __init__(self, start_url: str, **kw):
        super().__init__(**kw)
        self.start_url = start_url

    async def start(self):
        yield scrapy.Request(self.start_url, callback=self.parse_contents)

    def parse_contents(self, response):
        # Scrapy drops fragments when it deduplicates requests, as the fleet's listing does.
        for href in response.css("a.reference.internal::attr(href)").getall():
            yield response.follow(href, callback=self.parse_page)

    def parse_page(self, response):
        title = " ".join("".join(response.css("h1 ::text").getall()).split()) or None
        yield {"url": response.url, "title": coerce(title, "str")}


def main(argv: list[str]) -> None:
    spider = ShopSpider
    if argv[0] == "docs":
        spider, argv = DocsSpider, argv[1:]
    start_url, out, concurrency = argv[0], argv[1], int(argv[2])
    process = CrawlerProcess(settings={
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "ROBOTSTXT_OBEY": True,
        "RETRY_ENABLED": True,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        "FEEDS": {out: {"format": "jsonlines", "overwrite": True}},
    })
    process.crawl(spider, start_url=start_url)
    started = time.perf_counter()
    process.start()
    seconds = time.perf_counter() - started
    with open(out) as fh:
        items = sum(1 for _ in fh)
    print(json.dumps({"seconds": seconds, "items": items}))


if __name__ == "__main__":
    main(sys.argv[1:])
