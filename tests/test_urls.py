"""URLs: one page gets one id however the crawler spells it; two pages never share one."""

from __future__ import annotations

import pytest

from bench.url_spellings import APART, SAME
from service.stages.normalize.urls import (
    canonical_url,
    canonicalize,
    derived_id,
    registered_domain,
)


@pytest.mark.parametrize(("spelling", "canonical"),
                         [(spelling, group[0]) for group in SAME for spelling in group])
def test_each_spelling_of_a_page_has_its_canonical_form_and_id(spelling: str,
                                                               canonical: str) -> None:
    assert canonicalize(spelling) == canonical
    assert derived_id(canonical_url(spelling, None)) == derived_id(canonical)


def test_the_table_covers_enough_spellings() -> None:
    assert sum(len(group) for group in SAME) >= 30 and len(APART) >= 10


@pytest.mark.parametrize(("one", "other"), APART)
def test_spellings_of_two_pages_keep_two_ids(one: str, other: str) -> None:
    assert canonicalize(one) != canonicalize(other)


def test_canonical_forms_are_fixed_points() -> None:
    for group in SAME:
        assert canonicalize(group[0]) == group[0]


@pytest.mark.parametrize("url", ["notaurl", "/a", "//example.com/a", "ftp://example.com/a",
                                 "mailto:a@example.com", "http://", "https://exa mple.com/",
                                 "http://example.com:99999/", "https://[::zz]/a",
                                 "https://xn--a.com/", "https://" + "a" * 64 + ".\u00e9.com/"])
def test_what_is_not_an_absolute_http_url_has_no_canonical_form(url: str) -> None:
    assert canonicalize(url) is None


def test_a_declared_canonical_counts_only_on_the_same_registered_domain() -> None:
    page = "https://m.example.co.uk/a?utm_source=x"
    assert canonical_url(page, "https://www.example.co.uk/news/a#x") == \
        "https://www.example.co.uk/news/a"
    assert canonical_url(page, "/news/a") == "https://m.example.co.uk/news/a"
    assert canonical_url(page, "https://aggregator.example.com/a") == "https://m.example.co.uk/a"
    assert canonical_url(page, "javascript:alert(1)") == "https://m.example.co.uk/a"
    assert canonical_url(page, "https://other.co.uk/a") == "https://m.example.co.uk/a"
    assert canonical_url(page, "What the story is about?") == "https://m.example.co.uk/a"
    assert canonical_url(page, "//www.example.co.uk/b") == "https://www.example.co.uk/b"


def test_registered_domains() -> None:
    assert registered_domain("https://news.bbc.co.uk/x") == "bbc.co.uk"
    assert registered_domain("http://10.0.0.1/x") == "10.0.0.1"
    assert registered_domain("https://xn--bcher-kva.de/x") == "xn--bcher-kva.de"
