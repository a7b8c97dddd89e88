"""A page over the HTML size bound keeps its article when the bulk is script, style or comments;
every page reaches libxml2 without that inert markup."""

import time

from service.records import Article, RawArticle, Rejection
from service.stages.normalize import FurnitureMemory, NormalizeSettings, html, normalize

_SENTENCE = "The city council announced on Tuesday a new transport plan for the districts"


def _page(bulk: str) -> str:
    body = "".join(f"<p>{_SENTENCE}, part {i} of the report.</p>" for i in range(6))
    return f"<html><head>{bulk}</head><body><article>{body}</article></body></html>"


def _normalized(html: str) -> Article | Rejection:
    """``html`` through normalize with a 100,000-character bound."""
    return normalize(RawArticle(url="https://e.com/a", html=html), FurnitureMemory(),
                     NormalizeSettings(max_html_chars=100_000))


def _body(html: str) -> str:
    result = _normalized(html)
    assert isinstance(result, Article), result
    return result.text


def test_inline_script_over_the_bound_keeps_the_article() -> None:
    html = _page("<script>window.__DATA__=" + "1," * 100_000 + "0</script>")
    assert "part 5 of the report" in _body(html)


def test_comment_and_style_over_the_bound_keep_the_article() -> None:
    html = _page("<!--" + "x" * 60_000 + "--><style>" + "a{}" * 20_000 + "</style>")
    assert "part 0 of the report" in _body(html)


def test_shedding_is_linear_in_unclosed_openers_and_keeps_json_ld() -> None:
    """Each unclosed opener used to rescan the rest of the page (minutes on 600,000 of them);
    an opener left unclosed now runs to the end, as a browser reads it. JSON-LD stays for the
    metadata."""
    started = time.process_time()
    for opener in ("<!--x", "<script>x", "<svg a>"):
        page = opener * 300_000 + _page("")
        assert isinstance(_normalized(page), (Article, Rejection))
    assert time.process_time() - started < 10.0
    page = _page('<script type="application/ld+json">{"datePublished": "2024-05-01T10:00:00Z"}'
                 "</script><script>" + "1," * 60_000 + "</script>")
    result = _normalized(page)
    assert isinstance(result, Article) and result.published_at == "2024-05-01T10:00:00Z"


def test_an_attribute_of_megabytes_ahead_of_the_article_keeps_the_article() -> None:
    html = _page('<meta name="x" content="' + "y" * 150_000 + '">')
    assert "part 5 of the report" in _body(html)


def test_every_page_reaches_the_parser_without_inert_markup() -> None:
    """Scripts (not JSON-LD), styles, SVG and comments are shed before parsing, on a page far
    under the bound too: the extraction skips them, and building them cost more than the scan."""
    page = _page('<script type="application/ld+json">{"a": 1}</script><script>var a;</script>'
                 "<style>p{}</style>").replace(
        "<article>", "<article><svg><text>chart</text></svg><!-- note -->")
    root = html.parse(page, 100_000)
    assert root is not None
    assert [(e.tag, e.get("type")) for e in root.iter("script", "style", "svg", "text")] == [
        ("script", "application/ld+json")]
    assert "part 3 of the report" in _body(page) and "chart" not in _body(page)
