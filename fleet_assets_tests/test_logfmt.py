"""kv: one log line of key=value pairs that a log shipper splits back into the same fields."""

from __future__ import annotations

import shlex

import pytest

from fleet_assets.lib.logfmt import kv


def test_plain_values_are_written_bare_in_the_given_order():
    assert kv(event="complete", target="shop", stored=40) == "event=complete target=shop stored=40"


def test_a_mapping_is_flattened_into_sorted_prefixed_keys():
    assert kv(pending={"B": 1, "A": 2}, n=3) == "pending_A=2 pending_B=1 n=3"


@pytest.mark.parametrize("value, written", [
    (True, "true"), (False, "false"), (None, '""'), ("", '""'),
    (0.123456, "0.123"), (12.0, "12"), (123456.7, "123457"),
])
def test_booleans_empties_and_floats_have_one_spelling(value, written):
    assert kv(v=value) == f"v={written}"


@pytest.mark.parametrize("text", ['two words', 'a"quote', "k=v", "tab\there", "line\nbreak",
                                  'back\\slash and "quote"'])
def test_a_value_that_would_split_the_line_is_quoted_and_splits_back_to_itself(text):
    line = kv(url=text, n=1)
    assert line.endswith(" n=1") and "\n" not in line
    # A shell-style split of the line gives back exactly two fields, the first holding the text.
    first, second = shlex.split(line.replace("\\n", "\n"), posix=True)
    assert first == f"url={text}" and second == "n=1"
