"""The ``shop`` site: a paginated product catalog whose assortment, prices and stock move daily.

URL layout (``{date}`` is YYYY-MM-DD, 2020-01-01 or later)::

    /shop/{date}/catalog?page=N       N >= 1; ``a.product-link`` per item, ``a.next`` if more
    /shop/{date}/product/{sku}        one product; 404 if the sku is not listed that day

The catalog is ``shop_items`` slots. Each slot holds a sequence of products: one lives for
15-59 days, then the slot is empty for 0-3 days (delisted) before the next product appears,
so the day's catalog size wanders a little around ``shop_items``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from functools import lru_cache
from html import escape

from fleet_assets.sandbox import layout
from fleet_assets.sandbox.seeded import day_number, money, pick, rng, stable_hash, unit

PAGE_SIZE = 20
_SKU = re.compile(r"^SKU-(\d{5})-(\d{3})$")
_ADJ = ["Velvet", "Nordic", "Compact", "Rustic", "Crème", "Smart", "Classic", "Señor", "Ultra"]
_MATERIAL = ["Copper", "Oak", "Linen", "Ceramic", "Steel", "Bamboo", "Wool", "Glass", "Jade"]
_NOUN = ["Kettle", "Lamp", "Backpack", "Chair", "Blender", "Headphones", "Rug", "Desk", "Clock"]
_CATEGORY = ["Kitchen", "Home", "Outdoor", "Audio", "Office", "Travel", "Décor"]
_NAV = [
    ("Home", "/shop/"),
    ("Kitchen", "/shop/c/kitchen"),
    ("Home & living", "/shop/c/home"),
    ("Outdoor", "/shop/c/outdoor"),
    ("Audio", "/shop/c/audio"),
    ("Office", "/shop/c/office"),
    ("Sale", "/shop/sale"),
    ("Gift cards", "/shop/gift-cards"),
    ("Basket", "/shop/basket"),
]


def _slot_state(slot: int, day: int) -> tuple[int, bool]:
    """(generation, listed) of ``slot`` on day number ``day``."""
    life = 15 + stable_hash("life", slot) % 45
    phase = stable_hash("phase", slot) % life
    gap = stable_hash("gap", slot) % 4
    return (day + phase) // life, (day + phase) % life < life - gap


@lru_cache(maxsize=64)
def catalog(date: dt.date, shop_items: int) -> tuple[str, ...]:
    """The skus listed on ``date``, in catalog order."""
    day = day_number(date)
    skus = []
    for slot in range(shop_items):
        gen, listed = _slot_state(slot, day)
        if listed:
            skus.append(f"SKU-{slot:05d}-{gen:03d}")
    return tuple(skus)


def is_listed(date: dt.date, sku: str, shop_items: int) -> bool:
    match = _SKU.match(sku)
    if not match:
        return False
    slot, gen = int(match[1]), int(match[2])
    return slot < shop_items and _slot_state(slot, day_number(date)) == (gen, True)


def title(sku: str) -> str:
    return f"{pick(_ADJ, sku, 'a')} {pick(_MATERIAL, sku, 'm')} {pick(_NOUN, sku, 'n')}"


def price(date: dt.date, sku: str) -> float:
    base = math.exp(math.log(4) + unit(sku, "base") * (math.log(2500) - math.log(4)))
    return round(base * (0.9 + 0.2 * unit(sku, date, "price")), 2)


def in_stock(date: dt.date, sku: str) -> bool:
    return unit(sku, date, "stock") < 0.8


def rating(sku: str) -> float | None:
    """About a third of products have no rating yet (the optional field)."""
    if unit(sku, "rated") >= 0.65:
        return None
    return round(1 + 4 * unit(sku, "rating"), 1)


def _crumbs(date: dt.date) -> list[tuple[str, str]]:
    return [("Shop", "/shop/"), (date.isoformat(), f"/shop/{date}/catalog")]


@lru_cache(maxsize=1024)
def catalog_page(date: dt.date, page: int, shop_items: int) -> bytes | None:
    skus = catalog(date, shop_items)
    pages = max(1, math.ceil(len(skus) / PAGE_SIZE))
    if not 1 <= page <= pages:
        return None
    cards = "".join(
        f'<li class="product-card"><img src="/static/thumb/{sku}.jpg" alt="" width="120">'
        f'<a class="product-link" href="/shop/{date}/product/{sku}">{escape(title(sku))}</a>'
        f'<span class="card-price">{money(price(date, sku))}</span></li>'
        for sku in skus[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    )
    pager = []
    if page > 1:
        pager.append(f'<a class="prev" href="/shop/{date}/catalog?page={page - 1}">Previous</a>')
    pager.append(f'<span class="page-no">Page {page} of {pages}</span>')
    if page < pages:
        pager.append(f'<a class="next" href="/shop/{date}/catalog?page={page + 1}">Next</a>')
    main = (
        f'<h1 class="catalog-title">All products</h1><p class="count">{len(skus)} products</p>'
        f'<ul class="product-grid">{cards}</ul><div class="pager">{"".join(pager)}</div>'
    )
    return layout.page(
        site="Fleet Shop", title=f"Catalog page {page}", main=main, nav=_NAV, crumbs=_crumbs(date)
    )


@lru_cache(maxsize=16384)
def _description(sku: str) -> tuple[str, ...]:
    r = rng(sku, "desc")
    return tuple(
        " ".join(r.choices(_DESCRIPTION_WORDS, k=r.randint(25, 45))).capitalize() + "."
        for _ in range(r.randint(2, 4))
    )


_DESCRIPTION_WORDS = [
    "crafted",
    "durable",
    "everyday",
    "design",
    "warm",
    "finish",
    "light",
    "sturdy",
    "handmade",
    "natural",
    "soft",
    "modern",
    "timeless",
    "easy",
    "clean",
    "compact",
    "généreux",
    "à",
    "la",
    "carte",
    "résistant",
    "fabriqué",
]


@lru_cache(maxsize=4096)
def product_page(date: dt.date, sku: str, shop_items: int, drifted: bool) -> bytes | None:
    if not is_listed(date, sku, shop_items):
        return None
    name, amount, stock, stars = title(sku), price(date, sku), in_stock(date, sku), rating(sku)
    stock_text = "In stock" if stock else "Out of stock"
    category = pick(_CATEGORY, sku, "cat")
    specs = "".join(
        f"<tr><th>{k}</th><td>{escape(v)}</td></tr>"
        for k, v in [
            ("Category", category),
            ("Material", pick(_MATERIAL, sku, "m")),
            ("Weight", f"{1 + stable_hash(sku, 'w') % 90 / 10:.1f} kg"),
            ("Warranty", f"{1 + stable_hash(sku, 'y') % 3} years"),
        ]
    )
    description = layout.paragraphs(_description(sku))
    if drifted:
        stars_html = f'<div class="pdp-stars" aria-label="{stars} of 5"></div>' if stars else ""
        main = (
            f'<div class="pdp"><h2 class="pdp-heading">{escape(name)}</h2>'
            f'<dl class="pdp-meta"><dt>Item</dt><dd data-field="id">{sku}</dd></dl>'
            f'<div class="pdp-price" data-cents="{round(amount * 100)}">{money(amount)}</div>'
            f'<p class="availability">{stock_text}</p>{stars_html}'
            f'<picture><source srcset="/static/img/{sku}.webp"></picture>'
            f'<section class="pdp-copy">{description}</section>'
            f'<table class="pdp-specs">{specs}</table></div>'
        )
    else:
        stars_html = (
            f'<span class="rating">{stars}</span> out of 5 '
            f'<span class="reviews">({stable_hash(sku, "rev") % 400 + 1} reviews)</span>'
            if stars is not None
            else '<span class="no-reviews">No reviews yet</span>'
        )
        main = (
            f'<article class="product"><h1 class="title">{escape(name)}</h1>'
            f'<p>SKU: <span class="sku">{sku}</span></p>'
            f'<img class="main" src="/static/img/{sku}.jpg" alt="{escape(name)}" width="480">'
            f'<p class="buy-box"><span class="price">{money(amount)}</span> '
            f'<span class="stock" data-in-stock="{str(stock).lower()}">{stock_text}</span></p>'
            f'<p class="review-line">{stars_html}</p>'
            f'<div class="description">{description}</div>'
            f'<table class="specs">{specs}</table></article>'
        )
    return layout.page(
        site="Fleet Shop",
        title=name,
        main=main,
        nav=_NAV,
        crumbs=_crumbs(date) + [(category, f"/shop/c/{category.lower()}")],
        drifted=drifted,
    )
