"""The ``jobs`` site: a fixed set of job ads addressed directly by URL (no listing to crawl).

URL layout::

    /jobs/{date}/job/{n}      n in 1..JOB_COUNT; 404 otherwise

Each ad has a title, a company, a yearly salary (an int, revised now and then) and a remote
flag; ``location`` is shown only for on-site jobs (the optional field).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from html import escape

from fleet_assets.sandbox import layout
from fleet_assets.sandbox.seeded import day_number, pick, rng, stable_hash, unit

JOB_COUNT = 20
_ROLES = [
    "Data Engineer",
    "Site Reliability Engineer",
    "Product Designer",
    "Backend Developer",
    "Analytics Engineer",
    "Technical Writer",
    "Security Analyst",
    "QA Lead",
]
_LEVELS = ["Junior", "", "Senior", "Staff"]
_COMPANIES = [
    "Nordwind Logistik GmbH",
    "Café Numérique SARL",
    "Harbor & Pine Ltd",
    "Quantum Oak Inc.",
    "Łódź Systems S.A.",
    "Tanuki Works K.K.",
    "Aurora Grid AB",
]
_CITIES = ["Berlin", "Zürich", "Kraków", "Lisboa", "Montréal", "Osaka", "Austin"]
_NAV = [
    ("Find jobs", "/jobs/"),
    ("Companies", "/jobs/companies"),
    ("Salaries", "/jobs/pay"),
    ("Career advice", "/jobs/advice"),
    ("Post a job", "/jobs/post"),
    ("Sign in", "/jobs/login"),
]


def salary(date: dt.date, n: int) -> int:
    """Revised every 30 days by up to ±5%, in steps of 500."""
    base = 40_000 + stable_hash("salary", n) % 120_000
    period = day_number(date) // 30
    return int(base * (0.95 + 0.1 * unit("raise", n, period)) // 500 * 500)


def is_remote(n: int) -> bool:
    return unit("remote", n) < 0.4


@lru_cache(maxsize=1024)
def job_page(date: dt.date, n: int, drifted: bool) -> bytes | None:
    if not 1 <= n <= JOB_COUNT:
        return None
    level = pick(_LEVELS, "level", n)
    title = f"{level} {pick(_ROLES, 'role', n)}".strip()
    company, pay, remote = pick(_COMPANIES, "company", n), salary(date, n), is_remote(n)
    r = rng("job-text", n)
    duties = "".join(
        f"<li>{escape(' '.join(r.choice(_DUTIES) for _ in range(8)).capitalize())}.</li>"
        for _ in range(r.randint(5, 8))
    )
    location = "" if remote else pick(_CITIES, "city", n)
    perks = "".join(f"<li>{escape(p)}</li>" for p in _PERKS)
    about = (
        f"<p>{escape(company)} builds dependable software for logistics, energy and "
        "retail customers across Europe and Asia. Wir sind ein vielfältiges Team; "
        "nous valorisons l'autonomie, la curiosité et le travail bien fait.</p>"
    )
    if drifted:
        main = (
            f'<div class="posting" data-job="{n}"><h3 class="posting-role">{escape(title)}</h3>'
            f'<div class="posting-org">{escape(company)}</div>'
            f'<div class="posting-pay" data-yearly="{pay}">${pay:,} / yr</div>'
            f'<div class="posting-flags">{"Remote" if remote else escape(location)}</div>'
            f'<ul class="posting-duties">{duties}</ul>'
            f'<div class="posting-about">{about}</div><ul class="posting-perks">{perks}</ul></div>'
        )
    else:
        where = (
            '<span class="remote" data-remote="true">Remote</span>'
            if remote
            else f'<span class="remote" data-remote="false">On-site</span> in '
            f'<span class="location">{escape(location)}</span>'
        )
        main = (
            f'<article class="job" id="job-{n}"><h1 class="job-title">{escape(title)}</h1>'
            f'<p class="job-id">Reference <span class="ref">{n}</span></p>'
            f'<p class="employer"><span class="company">{escape(company)}</span></p>'
            f'<p class="pay"><span class="salary" data-amount="{pay}">${pay:,} a year</span></p>'
            f'<p class="where">{where}</p>'
            f'<h2>What you will do</h2><ul class="duties">{duties}</ul>'
            f'<h2>About us</h2>{about}<h2>Benefits</h2><ul class="perks">{perks}</ul></article>'
        )
    return layout.page(
        site="Fleet Jobs",
        title=title,
        main=main,
        nav=_NAV,
        crumbs=[("Jobs", "/jobs/"), (title, f"/jobs/{date}/job/{n}")],
        drifted=drifted,
    )


_PERKS = [
    "30 days of paid leave",
    "Budget for conferences and books",
    "Flexible hours",
    "Pension plan with employer match",
    "Öffi-Ticket or bike lease",
    "Home-office stipend",
]
_DUTIES = [
    "own",
    "design",
    "build",
    "ship",
    "pipelines",
    "services",
    "dashboards",
    "reviews",
    "incidents",
    "mentoring",
    "customers",
    "data",
    "quality",
    "reliability",
    "documentation",
    "roadmap",
    "au-pair-free",
    "café-level",
]
