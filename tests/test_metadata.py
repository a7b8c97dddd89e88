"""Publication dates from a page's own metadata, in the order a page is most reliable about."""

from __future__ import annotations

import pytest

from service.stages.normalize.html import parse
from service.stages.normalize.metadata import (
    markup,
    page_published,
    shown_date,
    text_date,
    url_day,
)

URL = "https://example.com/news/story"


def _published(head: str, body: str = "", url: str = URL,
               preamble: tuple[str, ...] = ()) -> str | None:
    root = parse(f"<html><head>{head}</head><body>{body}<p>Text.</p></body></html>")
    assert root is not None
    return page_published(markup(root), url, list(preamble))


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
    # a name of the page's own that holds no date does not hide the standard one after it
    ('<meta name="publish_time" content="17:00">'
     '<meta property="article:published_time" content="2018-05-31T14:00:00-04:00">',
     "2018-05-31T18:00:00Z"),
    # the standard name first, wherever the page puts it
    ('<meta name="w-published-date" content="2017-01-01">'
     '<meta property="article:published_time" content="2018-05-31T18:00:00Z">',
     "2018-05-31T18:00:00Z"),
    # a JSON-LD value that is no date, then one that is
    ('<script type="application/ld+json">{"datePublished": "draft-pending"}</script>'
     '<script type="application/ld+json">{"datePublished": "2018-05-31"}</script>',
     "2018-05-31T00:00:00Z"),
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
    ("https://example.com/blog/2023/october/03/wine-types/", "2023-10-03T00:00:00Z"),
    ("https://example.com/2018/Sept/3/x", "2018-09-03T00:00:00Z"),
    ("https://blog.example.fr/articles/2025-12-15+Rust+backend", "2025-12-15T00:00:00Z"),
    ("https://example.com/news/2018-05-31", "2018-05-31T00:00:00Z"),
    ("https://example.com/a/2018-05-311/", None),
    ("https://example.com/a/12018-05-31/", None),
    ("https://example.com/a/2018-13-01/", None),
    ("https://example.com/2025-12_essay", None),  # a month is no day
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
    # a byline anywhere on the page, its date in the label's element or beside it
    ('<div class="meta"><span>Posted on April 13, 2023</span></div>', "2023-04-13T00:00:00Z"),
    ("<p><span>Essay - Published:</span> <b>2025.12.17</b> |</p>", "2025-12-17T00:00:00Z"),
    ("<p>Posted on the 15/12/2025 at 19:00 by a reader</p>", "2025-12-15T00:00:00Z"),
    ("<i>Updated: 10/31/2024</i>", "2024-10-31T00:00:00Z"),
    # published comes before updated, wherever each is
    ("<p>Last updated: June 2, 2018</p><p>Published May 31, 2018</p>", "2018-05-31T00:00:00Z"),
    # a label far from the date does not date the page by it
    ("<p>Published in our weekly digest, since 1998: May 31, 2018</p>", None),
    # the page's footer dates the site, an article's footer the article
    ("<footer><p>Site last updated: December 20, 2025</p></footer>", None),
    ("<article><p>Text</p><footer>Last updated May 31, 2018</footer></article>",
     "2018-05-31T00:00:00Z"),
    # a date with marks around it, before dates in lists further down
    ("<span><i>\u25cf</i> December 23, 2025 <i>\u25cf</i></span><ul><li>13/01/2026</li></ul>",
     "2025-12-23T00:00:00Z"),
    ("<span>(3215130290126)</span>", None),  # a count, not epoch milliseconds
    ("<span>09.10.2024</span>", None),  # 9 October or September 10
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


DECLARED = '<meta property="article:published_time" content="2024-07-05T14:20:08Z">'


@pytest.mark.parametrize(("head", "preamble", "expected"), [
    # the article's header shows another day than the metadata: the header's
    (DECLARED, ("By A. Writer", "March 1, 2024"), "2024-03-01T00:00:00Z"),
    (DECLARED, ("Published: 1 March 2024",), "2024-03-01T00:00:00Z"),
    ('<script type="application/ld+json">{"datePublished": "Jun 24, 2025"}</script>',
     ("August 25, 2024",), "2024-08-25T00:00:00Z"),
    # the same day: the declared time, which says more
    (DECLARED, ("July 5, 2024",), "2024-07-05T14:20:08Z"),
    # a time declared in UTC that is the shown day somewhere (16:43 at UTC-8 is 00:43 UTC)
    ('<meta property="article:published_time" content="2023-01-21T16:43:28-08:00">',
     ("January 21, 2023",), "2023-01-22T00:43:28Z"),
    # ... but a declared day without a time is that day only
    ('<meta property="article:published_time" content="2024-07-05">',
     ("July 6, 2024",), "2024-07-06T00:00:00Z"),
    # the header says it shows an update: the publication time stands
    (DECLARED, ("Last updated: March 1, 2025",), "2024-07-05T14:20:08Z"),
    (DECLARED, ("By A. Writer", "Updated March 1, 2025"), "2024-07-05T14:20:08Z"),
    # the metadata declares the shown day as the modification: it explains the header
    (DECLARED + '<meta property="article:modified_time" content="2025-03-01T09:00:00Z">',
     ("March 1, 2025",), "2024-07-05T14:20:08Z"),
    (DECLARED + '<script type="application/ld+json">{"dateModified": "2025-03-01"}</script>',
     ("March 1, 2025",), "2024-07-05T14:20:08Z"),
    # no dateline: the declared time
    (DECLARED, ("Share this article",), "2024-07-05T14:20:08Z"),
])
def test_a_dateline_that_disagrees_with_the_declared_time(head: str, preamble: tuple[str, ...],
                                                          expected: str) -> None:
    assert _published(head, preamble=preamble) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Posted on the 15/12/2025 at 19:00 by", "2025-12-15T00:00:00Z"),
    ("Updated: 10/31/2024", "2024-10-31T00:00:00Z"),
    ("Published: 2025.12.17 |", "2025-12-17T00:00:00Z"),
    ("2018/05/31", "2018-05-31T00:00:00Z"),
    ("31.05.2018", "2018-05-31T00:00:00Z"),
    ("31-05-2018", "2018-05-31T00:00:00Z"),
    ("5/5/2020", "2020-05-05T00:00:00Z"),
    ("05/03/2026", None),  # 5 March or May 3
    ("09.10.2024", None),
    ("2.31.2018", None),
    ("2020/13/01", None),
    ("version 1.2.2024.5", None),
    ("12/05/1985", None),  # before 1990
    ("May 31, 2018 and 01/06/2018", "2018-05-31T00:00:00Z"),  # the first of several
])
def test_dates_written_in_digits(text: str, expected: str | None) -> None:
    assert text_date(text) == expected
