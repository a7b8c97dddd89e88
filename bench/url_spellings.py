"""URL spellings a crawler sends: groups that name one page, and pairs that name two.

Shared by tests/test_urls.py (the contract) and bench/bench_urls.py (the libraries measured
against it); it lives in bench/ because the benchmarks import no test module."""

from __future__ import annotations

# Each group: spellings of one page. The first is the canonical form.
SAME: list[list[str]] = [
    [
        "https://n.example.org/a5/?a=1&b=2",
        "HTTPS://N.Example.org:443/a5/?utm_source=x&b=2&a=1",
        "https://n.example.org/a5/?b=2&a=1",
        "https://n.example.org:443/a5/?a=1&b=2#comments",
        "https://N.EXAMPLE.ORG/a5/?a=1&b=2&fbclid=IwAR0abc",
        "https://n.example.org./a5/?a=1&b=2",
        "  https://n.example.org/a5/?a=1&b=2\n",
        "https://n.example.org/a5/?a=1&&b=2&",
        "https://n.example.org/a5/?gclid=x&a=1&utm_medium=social&b=2&utm_campaign=y",
        "https://n.example.org/a5/./?a=1&b=2",
        "https://n.example.org/x/../a5/?a=1&b=2",
        "https://n.example.org/%61%35/?a=1&b=2",
        "https://user:secret@n.example.org/a5/?a=1&b=2",
    ],
    [
        "http://example.com/news/story",
        "HTTP://EXAMPLE.COM/news/story",
        "http://example.com:80/news/story",
        "http://example.com/news/story#section-2",
        "http://example.com/news/story?",
        "http://example.com/news/story?utm_source=rss&utm_medium=feed",
        "http://example.com/news/%73tory",
    ],
    [
        "https://xn--bcher-kva.de/caf%C3%A9?q=%C3%A4",
        "https://B\u00fccher.de/caf\u00e9?q=\u00e4",
        "https://b\u00fccher.de/caf%c3%a9?q=%c3%a4",
        "https://XN--BCHER-KVA.DE/caf%C3%A9?q=%C3%A4",
        "https://b\u00fccher.de:443/caf\u00e9?q=%C3%A4#top",
    ],
    [
        "https://example.com/",
        "https://example.com",
        "https://example.com:443",
        "https://example.com/?utm_source=x",
        "https://example.com/#",
    ],
    [
        "https://example.com/a%20b/~me?x=a%2Fb",
        "https://example.com/a b/%7Eme?x=a%2fb",
        "https://example.com/a%20b/%7eme?x=a%2Fb",
    ],
    [
        "http://[2001:db8::1]/a",
        "http://[2001:DB8:0:0:0:0:0:1]:80/a",
    ],
]

# Pairs that must keep two ids: they can name two pages.
APART: list[tuple[str, str]] = [
    ("https://example.com/a", "http://example.com/a"),  # another scheme can serve another page
    ("https://example.com/a", "https://www.example.com/a"),
    ("https://example.com/a", "https://example.com/a/"),
    ("https://example.com/a", "https://example.com/A"),  # paths are case-sensitive
    ("https://example.com/a?id=1", "https://example.com/a?id=2"),
    ("https://example.com/a?id=1", "https://example.com/a"),
    ("https://example.com/a?p=2", "https://example.com/a"),  # page 2 of a story
    ("https://example.com/a%2Fb", "https://example.com/a/b"),  # an encoded slash is data
    ("https://example.com/a?x=a%26b", "https://example.com/a?x=a&b"),
    ("https://example.com:8443/a", "https://example.com/a"),
    ("https://example.com/a?q=1&q=2", "https://example.com/a?q=1"),
    ("https://example.com/article?id=5&cid=7", "https://example.com/article?id=5"),
]
