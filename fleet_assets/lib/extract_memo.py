"""A page is parsed once per process: extractions remembered by the body's sha256.

The crawl's suspect check (``crawl/suspects.py``) has to extract a page's required fields
before it stores the page; ``extracted_records`` then extracts every field of the same
stored body. When both steps run in one process (the in-process executor: ``fleet demo``
for one partition, ``dg.materialize``), the second parse of each page is the same pure
function on the same input. ``extraction_of`` runs ``extract.extract_record`` once per
(body sha256, record rules, page URL, Content-Type) and hands later callers the same
``Extraction``: the suspect check extracts every field instead of stopping at the first
required one (a few selector runs more), and the records step reads and verifies each
stored body (``store/integrity.read_page``) but no longer parses it (4,779 sandbox pages:
about 1 s of the step's 1.3 s).

The key is the body's hash, so a changed page or rule set is a miss, never a stale value;
in another process (the multiprocess executor, a Celery worker) every call is a miss and
costs what ``extract_record`` costs. Bounded: the oldest of ``MEMO_PAGES`` go first.
Python's stdlib ``functools.lru_cache`` would key on the body itself (hashing 100 KB per
call and keeping every body alive), hence this small table.
"""

from __future__ import annotations

import threading

from fleet_assets.lib.extract import Extraction, extract_record
from fleet_assets.lib.targets import RecordRules

MEMO_PAGES = 50_000  # ~1 KB each: values of a few fields

_Key = tuple[str, RecordRules, "str | None", "str | None"]
_memo: dict[_Key, Extraction] = {}
_lock = threading.Lock()


def extraction_of(body: bytes, sha256: str, rules: RecordRules, url: str | None = None,
                  content_type: str | None = None) -> Extraction:
    """``extract_record(body, rules, url, content_type)``; ``sha256`` must be the body's."""
    key = (sha256, rules, url, content_type)
    with _lock:
        hit = _memo.get(key)
    if hit is not None:
        return hit
    extraction = extract_record(body, rules, url, content_type)
    with _lock:
        if len(_memo) >= MEMO_PAGES:
            del _memo[next(iter(_memo))]  # dicts keep insertion order: the oldest goes
        _memo[key] = extraction
    return extraction


def found_required(extraction: Extraction, rules: RecordRules) -> bool:
    """Whether at least one required field has a value: the suspect check's question."""
    return any(extraction.values.get(name) is not None for name in rules.required)


def forget() -> None:
    """Drop every remembered extraction (tests; a long-lived process that wants memory back)."""
    with _lock:
        _memo.clear()
