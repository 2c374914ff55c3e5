"""lib/manifest.py: the partition ledger, typed inside and the same bytes for the same ledger."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet_assets.lib import manifest as mf
from fleet_assets.lib.failures import FailureClass


def entry(url: str, status: str = "stored", cls: str | None = None, **kw) -> mf.ManifestEntry:
    return mf.ManifestEntry(url=url, natural_key="k-" + url, status=status, failure_class=cls, **kw)


def test_status_and_class_are_parsed_into_enums_when_an_entry_is_built():
    e = entry("http://x/1", "pending", "B", due_at=5.0)
    assert e.status is mf.Status.PENDING and e.failure_class is FailureClass.ENVIRONMENTAL
    assert not e.terminal and entry("http://x/2", "gone", "D").terminal


@pytest.mark.parametrize(("status", "cls", "message"), [
    ("fetched", None, "manifest status 'fetched' is not one of"),
    ("pending", "E", "manifest failure_class 'E' is not one of A, B, C, D or null"),
])
def test_a_bad_status_or_class_names_the_value(status, cls, message):
    with pytest.raises(ValueError, match=message):
        entry("http://x/1", status, cls)


def test_the_file_holds_letters_and_words_and_reads_back_typed():
    entries = [entry("http://x/2", "pending", "A", due_at=9.5), entry("http://x/1")]
    data = mf.dumps(entries)
    lines = [json.loads(line) for line in data.decode().splitlines()]
    assert [d["url"] for d in lines] == ["http://x/1", "http://x/2"]  # sorted by URL
    assert lines[1]["status"] == "pending" and lines[1]["failure_class"] == "A"
    assert mf.loads(data) == sorted(entries, key=lambda e: e.url)


@given(st.lists(st.tuples(st.sampled_from(["stored", "gone", "pending", "disallowed"]),
                          st.sampled_from([None, "A", "B", "C", "D"])), max_size=6))
def test_the_same_ledger_is_always_the_same_bytes(specs):
    entries = [entry(f"http://x/{n}", status, cls) for n, (status, cls) in enumerate(specs)]
    assert mf.dumps(entries) == mf.dumps(reversed(entries)) == mf.dumps(mf.loads(mf.dumps(entries)))


def test_a_line_that_is_not_an_entry_names_its_number():
    data = mf.dumps([entry("http://x/1")]) + b'{"url": "http://x/2"}\n'
    with pytest.raises(ValueError, match="manifest line 2 is not a manifest entry"):
        mf.loads(data)


def test_summary_counts_every_status_even_when_absent():
    counts = mf.summary([entry("http://x/1"), entry("http://x/2", "gone", "D")])
    assert counts == {"disallowed": 0, "gone": 1, "pending": 0, "stored": 1}
