"""selector_problem: a selector that cannot work is named with its fix at load, never read as drift."""

from __future__ import annotations

import pytest

from fleet_assets.lib.selectors import selector_problem


@pytest.mark.parametrize("css", ["h1.title", "div#a > p a[href]", "li:nth-child(2)", "li:first-child",
                                 "span[data-n='1']", "p:contains('x')", "ul li:last-of-type"])
def test_working_css_selectors_have_no_problem(css):
    assert selector_problem(css=css) is None


@pytest.mark.parametrize("xpath", ["//h1/text()", "//a/@href", "normalize-space(//p)",
                                   "//li[position() = last()]", "//*[local-name()='div']",
                                   "//div[contains(@class, 'c')]", "//p/following-sibling::span",
                                   "count(//li)", "//span[@data-n='a:b(']"])
def test_working_xpaths_have_no_problem(xpath):
    assert selector_problem(xpath=xpath) is None


@pytest.mark.parametrize("css, words", [
    ("a:hover", "pseudo-class :hover never matches a fetched page"),
    ("a:visited", "pseudo-class :visited"),
    ("p::text", "pseudo-element ::text selects no element"),
    ("p:dir(ltr)", ":dir() is not supported"),
    ("div:not(a:hover)", "pseudo-class :hover never matches"),  # found inside another selector
    ("h1[", "check the syntax"),
])
def test_css_that_never_matches_is_named_with_its_fix(css, words):
    problem = selector_problem(css=css)
    assert problem is not None and words in problem and repr(css) in problem


@pytest.mark.parametrize("xpath, words", [
    # Each of these compiles and, on a page where the path matches nothing, "works".
    ("//p[re:test(., 'x')]", "undefined namespace prefix in re:test()"),
    ("//p[matches(., 'x')]", "unknown function matches()"),
    ("//p[@id=$id]", "undefined variable $id"),
    ("//h:div", "undefined namespace prefix 'h'"),
    ("//p[@id='x]", "string literal is not closed"),
    ("//p[", "check the syntax"),
])
def test_xpath_that_fails_only_when_reached_is_caught_at_load(xpath, words):
    problem = selector_problem(xpath=xpath)
    assert problem is not None and words in problem


@pytest.mark.parametrize("kwargs, words", [
    ({}, "exactly one of 'css' or 'xpath'"),
    ({"css": "a", "xpath": "//a"}, "exactly one of 'css' or 'xpath'"),
    ({"css": "  "}, "non-empty string"),
    ({"xpath": 3}, "non-empty string"),
])
def test_a_selector_is_exactly_one_non_empty_string(kwargs, words):
    assert words in selector_problem(**kwargs)
