"""The ``news`` site: a daily front page linking that day's articles.

URL layout::

    /news/{date}/                      index; one ``a.headline-link`` per article (8-14 a day)
    /news/{date}/article/{slug}        one article; 404 for a slug not on that day's index

An article has a headline, a section, a published date, a body and its word count; about a
quarter of articles are agency copy with no byline (the optional ``author``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from html import escape

from fleet_assets.sandbox import layout
from fleet_assets.sandbox.seeded import rng, stable_hash, words

_SECTIONS = ["World", "Business", "Science", "Culture", "Sport", "Technology"]
_AUTHORS = [
    "Zoë Martín",
    "Björn Ålund",
    "Amélie Dubois",
    "Kwame Mensah",
    "Li Wei",
    "Sofía Núñez",
    "Jürgen Weiß",
    "Priya Raman",
    "Ólafur Jónsson",
    "Chidi Okafor",
]
_VERBS = ["approves", "rejects", "unveils", "delays", "expands", "questions", "celebrates"]
_NAV = [
    ("Front page", "/news/"),
    *((s, f"/news/section/{s.lower()}") for s in _SECTIONS),
    ("Opinion", "/news/opinion"),
    ("Podcasts", "/news/podcasts"),
    ("Subscribe", "/news/sub"),
]


@dataclass(frozen=True)
class Article:
    slug: str
    headline: str
    section: str
    author: str | None
    paragraphs: tuple[str, ...]

    @property
    def word_count(self) -> int:
        return sum(len(p.split()) for p in self.paragraphs)


def _article(date: dt.date, n: int) -> Article:
    r = rng("news", date, n)
    subject, obj = (w.capitalize() for w in words(r, 2))
    headline = f"{subject} council {r.choice(_VERBS)} {obj.lower()} plan"
    if n % 3 == 0:
        headline += " — what it means"
    slug = f"{headline.split(' —')[0].lower().replace(' ', '-')}-{stable_hash(date, n) % 65536:04x}"
    author = None if r.random() < 0.25 else r.choice(_AUTHORS)
    body = tuple(
        " ".join(words(r, r.randint(30, 60))).capitalize() + f", said {r.choice(_AUTHORS)}."
        for _ in range(r.randint(3, 6))
    )
    return Article(slug, headline, r.choice(_SECTIONS), author, body)


@lru_cache(maxsize=256)
def articles(date: dt.date) -> dict[str, Article]:
    """The day's articles by slug, in front-page order."""
    count = 8 + stable_hash("news-count", date) % 7
    return {a.slug: a for a in (_article(date, n) for n in range(count))}


def _crumbs(date: dt.date) -> list[tuple[str, str]]:
    return [("News", "/news/"), (date.strftime("%d %B %Y"), f"/news/{date}/")]


@lru_cache(maxsize=256)
def index_page(date: dt.date) -> bytes:
    items = "".join(
        f'<li class="teaser"><span class="kicker">{a.section}</span> '
        f'<a class="headline-link" href="/news/{date}/article/{a.slug}">{escape(a.headline)}</a>'
        f'<p class="standfirst">{escape(a.paragraphs[0][:100])}…</p></li>'
        for a in articles(date).values()
    )
    main = f'<h1 class="front">Front page, {date:%A %d %B %Y}</h1><ol class="stories">{items}</ol>'
    return layout.page(
        site="Fleet Daily", title="Front page", main=main, nav=_NAV, crumbs=_crumbs(date)
    )


@lru_cache(maxsize=1024)
def article_page(date: dt.date, slug: str, drifted: bool) -> bytes | None:
    article = articles(date).get(slug)
    if article is None:
        return None
    a = article
    body = layout.paragraphs(list(a.paragraphs))
    if drifted:
        byline = f'<div class="story-credit">{escape(a.author)}</div>' if a.author else ""
        main = (
            f'<div class="story" data-kind="{a.section.lower()}">'
            f'<h2 class="story-title">{escape(a.headline)}</h2>{byline}'
            f'<span class="story-date" data-ts="{date}T07:30:00Z">{date:%d.%m.%Y}</span>'
            f'<div class="story-text" data-len="{a.word_count}">{body}</div></div>'
        )
    else:
        byline = (
            f'<p class="byline">By <a class="author" '
            f'href="/news/authors/{stable_hash(a.author) % 999}">'
            f"{escape(a.author)}</a></p>"
            if a.author
            else '<p class="agency">Agency copy</p>'
        )
        main = (
            f'<article class="article" data-slug="{a.slug}">'
            f'<a class="section" href="/news/section/{a.section.lower()}">'
            f'{a.section}</a><h1 class="headline">{escape(a.headline)}</h1>{byline}'
            f'<time class="published" datetime="{date}">{date:%d %B %Y}, 07:30</time>'
            f'<span class="word-count" data-words="{a.word_count}">{a.word_count} words</span>'
            f'<div class="body">{body}</div></article>'
        )
    return layout.page(
        site="Fleet Daily",
        title=a.headline,
        main=main,
        nav=_NAV,
        crumbs=_crumbs(date) + [(a.section, f"/news/section/{a.section.lower()}")],
        drifted=drifted,
    )
