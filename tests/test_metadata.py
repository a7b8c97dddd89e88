"""Publication dates from a page's own metadata, in the order a page is most reliable about."""

from __future__ import annotations

import pytest

from service.stages.normalize.html import parse
from service.stages.normalize.metadata import page_published, shown_date, url_day

URL = "https://example.com/news/story"


def _published(head: str, body: str = "", url: str = URL) -> str | None:
    root = parse(f"<html><head>{head}</head><body>{body}<p>Text.</p></body></html>")
    assert root is not None
    return page_published(root, url)


@pytest.mark.parametrize(("head", "expected"), [
    ('<meta property="article:published_time" content="2018-05-31T20:00:00+02:00">',
     "2018-05-31T18:00:00Z"),
    ('<meta name="published" content="May 31, 2018">', "2018-05-31T00:00:00Z"),
    ('<meta name="w-published-date" content="2018-05-31T18:00:00Z">', "2018-05-31T18:00:00Z"),
    ('<meta property="article:publisher" content="https://facebook.com/x">', None),
    ('<meta property="article:modified_time" content="2019-01-01T00:00:00Z">', None),
    ('<script type="application/ld+json">{"@type": "NewsArticle", '
     '"dateModified": "2019-01-01", "datePublished": "Thu, 31 May 2018 18:00:00 GMT"}</script>',
     "2018-05-31T18:00:00Z"),
])
def test_declared_publication_times(head: str, expected: str | None) -> None:
    assert _published(head) == expected


def test_declared_metadata_comes_before_the_url_and_the_url_before_time_elements() -> None:
    dated_url = "https://example.com/2018/05/30/story"
    meta = '<meta name="pubdate" content="2018-05-31">'
    time = '<time datetime="2018-05-29T10:00:00Z">29 May</time>'
    assert _published(meta, time, dated_url) == "2018-05-31T00:00:00Z"
    assert _published("", time, dated_url) == "2018-05-30T00:00:00Z"
    assert _published("", time) == "2018-05-29T10:00:00Z"
    assert _published("", "<time>May 28, 2018</time>") == "2018-05-28T00:00:00Z"
    assert _published("", "<time>an hour ago</time>") is None


@pytest.mark.parametrize(("url", "expected"), [
    ("https://blog.example.org/2025/12/19/what-people-love", "2025-12-19T00:00:00Z"),
    ("https://example.com/2018/05/31", "2018-05-31T00:00:00Z"),
    ("https://example.com/2018/13/31/x", None),
    ("https://example.com/1899/05/31/x", None),
    ("https://example.com/products/2018/05/310/x", None),
    ("https://example.com/x?d=/2018/05/31/", None),
])
def test_the_day_a_url_path_files_an_article_under(url: str, expected: str | None) -> None:
    assert url_day(url) == expected


@pytest.mark.parametrize(("body", "expected"), [
    ('<div class="post-meta"><span class="entry-date">31 May 2018</span></div>',
     "2018-05-31T00:00:00Z"),
    ('<div class="updated-date">June 2, 2018</div><p>by A. Writer</p>'
     '<span>May 31, 2018</span>', "2018-05-31T00:00:00Z"),
    ("<p>Filed on 31 May 2018 by a reporter who was there and saw it</p>", None),
    ("<div><span>Share</span><span>31.05.2018</span></div>", "2018-05-31T00:00:00Z"),
    ('<div class="date">Tuesday</div>', None),
])
def test_the_date_a_page_shows_when_no_markup_declares_it(body: str,
                                                          expected: str | None) -> None:
    root = parse(f"<html><body>{body}</body></html>")
    assert root is not None
    assert shown_date(root) == expected


def test_the_metadata_eval_counts_an_instant_on_its_local_day_in_some_zone() -> None:
    from bench.eval_metadata import same_day_in_some_zone, same_title

    assert same_day_in_some_zone("2020-04-13T01:00:00Z", "2020-04-12")  # 21:00 in New York
    assert same_day_in_some_zone("2020-04-11T11:00:00Z", "2020-04-12")  # 01:00 at UTC+14
    assert not same_day_in_some_zone("2020-04-11T09:00:00Z", "2020-04-12")
    assert not same_day_in_some_zone("2020-04-13T00:00:00Z", "2020-04-12")  # a day, not a time
    assert same_title(" A  title\n", "A title") and not same_title(None, "A title")
