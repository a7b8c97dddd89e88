"""Normalize stage: interface, metadata, repair, furniture memory, hostile input."""

from __future__ import annotations

import importlib
import random
import re
import time
from collections.abc import Callable

import orjson
import pytest
from lxml import etree

from service.records import Article, RawArticle, Reason, Rejection
from service.stages.normalize import FurnitureMemory, normalize
from service.stages.normalize import html as html_stage
from service.stages.normalize import text as text_stage
from service.stages.normalize.lines import is_call_to_action
from service.stages.normalize.repair import repair
from service.stages.normalize.text import split_lines
from service.stages.normalize.urls import canonical_url, registered_domain
from service.stages.tokens import single_spaced

PARAGRAPHS = [
    "The city council voted on Tuesday to approve a new budget for the coming year, "
    "after months of debate over spending on roads, schools and public transport.",
    "Council members said the plan would raise property taxes slightly but protect "
    "services that residents had asked them to keep, including libraries and parks.",
    "The mayor is expected to sign the budget later this week, officials said, and the "
    "new spending rules will take effect at the start of next month.",
]

PAGE = f"""<html lang="en"><head><title>Council approves budget | Daily Example</title>
<link rel="canonical" href="/news/council-budget">
<meta property="article:published_time" content="2024-03-05T10:00:00+01:00">
</head><body>
<nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>
<article class="story-body"><h1>Council approves budget</h1>
<p>{PARAGRAPHS[0]}</p><figure><img src="x.jpg"><figcaption>The council chamber.</figcaption>
</figure><p>{PARAGRAPHS[1]}</p><div class="share-tools"><a href="#">Share on Facebook</a></div>
<p>{PARAGRAPHS[2]}</p></article>
<aside class="related"><p>Another story entirely about a football match that ended in a
draw after extra time and penalties were not needed.</p></aside>
<footer>Copyright 2024 Daily Example. All rights reserved.</footer></body></html>"""


def _clean(raw: RawArticle, memory: FurnitureMemory | None = None) -> Article:
    result = normalize(raw, FurnitureMemory() if memory is None else memory)
    assert isinstance(result, Article), result
    return result


def test_html_body_keeps_story_and_drops_furniture() -> None:
    article = _clean(RawArticle(url="https://www.example.co.uk/news/x?utm_source=tw", html=PAGE))
    assert article.text.split("\n\n") == PARAGRAPHS
    assert article.title == "Council approves budget"
    assert article.canonical_url == "https://www.example.co.uk/news/council-budget"
    assert article.source == "example.co.uk"
    assert article.published_at == "2024-03-05T09:00:00Z"
    assert article.lang == "en"
    assert article.word_count == len(article.text.split())
    assert len(article.id) >= 16 and article.id == _clean(
        RawArticle(url="https://www.example.co.uk/news/x", html=PAGE)).id


def _body(inner: str) -> str:
    return f"<html><head><title>Council approves budget</title></head><body>{inner}</body></html>"


def test_a_line_break_in_the_page_source_is_a_space_as_a_browser_shows_it() -> None:
    """Hard-wrapped source (a newline inside a <p>) is one paragraph; <br> and a newline inside
    <pre> stay line breaks."""
    wrapped = "".join("<p>" + p.replace(" to ", "\n  to ") + "</p>" for p in PARAGRAPHS)
    page = _body(f"<article>{wrapped}<p>First line of a verse<br>and its second line</p>"
                 "<pre>two lines\nof a <b>listing\n</b>here</pre></article>")
    text = _clean(RawArticle(url="https://example.com/a", html=page)).text
    assert text.split("\n\n") == [*PARAGRAPHS, "First line of a verse", "and its second line",
                                    "two lines", "of a listing", "here"]


def test_amp_placeholders_fallbacks_and_menus_are_not_the_article() -> None:
    amp = (f"<p>{PARAGRAPHS[0]}</p><amp-img src=a.jpg width=4 height=3><div fallback>The image"
           " could not be loaded for this story today.</div></amp-img><amp-ad type=x><div "
           "placeholder>An advertisement is loading, please wait a moment here.</div></amp-ad>"
           f"<p>{PARAGRAPHS[1]}</p><amp-social-share type=email>Share this story by email with"
           f" your friends and family</amp-social-share><p>{PARAGRAPHS[2]}</p>")
    page = _body(f"<amp-sidebar id=menu layout=nodisplay><p>Every section of the site, from"
                 f" news to sport and weather today.</p></amp-sidebar><article>{amp}</article>")
    article = _clean(RawArticle(url="https://example.com/a", html=page))
    assert article.text.split("\n\n") == PARAGRAPHS


def _rendered_by_script(json_ld: str, visible: str = "") -> str:
    """A page whose body a script renders: the visible page holds none of it."""
    return (f'<html><head><script type="application/ld+json">{json_ld}</script></head><body>'
            f'<div id="root">{visible}</div><script>render()</script></body></html>')


@pytest.mark.parametrize("declare", [
    lambda body: orjson.dumps({"@type": "NewsArticle", "articleBody": body}).decode(),
    lambda body: orjson.dumps({"@context": "https://schema.org", "@graph": [
        {"@type": "WebPage"}, {"@type": "Article", "articleBody": body}]}).decode(),
    lambda body: orjson.dumps([{"@type": "BreadcrumbList"},
                               {"@type": "ReportageNewsArticle", "articleBody": body}]).decode(),
    lambda body: orjson.dumps({"@type": "NewsArticle", "articleBody": "".join(
        f"<p>{p}</p>" for p in body.split("\n"))}).decode(),
    lambda body: orjson.dumps({"@type": "NewsArticle", "articleBody": "".join(
        f"&lt;p&gt;{p}&lt;/p&gt;" for p in body.split("\n"))}).decode(),
    lambda body: orjson.dumps({"@type": "BlogPosting", "articleBody": body.replace(
        "budget", '<a href="/budget">budget</a>').replace("taxes", "<em>taxes</em>")}).decode(),
    lambda body: orjson.dumps({"@type": "NewsArticle", "articleBody": body.replace(
        "the start", "&lt;strong&gt;the start&lt;/strong&gt;")}).decode(),
    lambda body: orjson.dumps({"@type": "NewsArticle", "articleBody": body.replace(
        "\n", "\n\n", 1).replace("\n", "<br>", 1)}).decode(),
], ids=["object", "graph", "list", "markup", "escaped markup", "inline markup",
        "escaped inline markup", "breaks and newlines"])
def test_a_body_only_in_json_ld_is_the_article(declare: Callable[[str], str]) -> None:
    page = _rendered_by_script(declare("\n".join(PARAGRAPHS)), visible="Loading...")
    article = _clean(RawArticle(url="https://example.com/a", html=page))
    assert article.text.split("\n\n") == PARAGRAPHS


def test_json_ld_never_replaces_a_visible_body_and_invalid_json_ld_is_passed_over() -> None:
    declared = orjson.dumps({"@type": "NewsArticle", "articleBody": "Another text. " * 40})
    page = PAGE.replace("</head>", f'<script type="application/ld+json">{declared.decode()}'
                                   "</script></head>")
    assert _clean(RawArticle(url="https://example.com/a", html=page)).text.split(
        "\n\n") == PARAGRAPHS
    broken = _rendered_by_script('{"@type": "NewsArticle", "articleBody": "cut off')
    result = normalize(RawArticle(url="https://example.com/a", html=broken), FurnitureMemory())
    assert isinstance(result, Rejection) and result.reason is Reason.NO_CONTENT
    valid = orjson.dumps({"@type": "NewsArticle", "articleBody": "\n".join(PARAGRAPHS)})
    then_valid = broken.replace("</head>", f'<script type="application/ld+json">{valid.decode()}'
                                           "</script></head>")
    assert _clean(RawArticle(url="https://example.com/a", html=then_valid)).text.split(
        "\n\n") == PARAGRAPHS


def test_the_messages_own_text_comes_before_the_json_ld_body() -> None:
    """The JSON-LD body is the last resort: a usable ``text`` field wins over it; a ``text``
    field as empty as the page (a crawler's copy of its shell) does not."""
    declared = orjson.dumps({"@type": "NewsArticle", "articleBody": "Another text. " * 40})
    page = _rendered_by_script(declared.decode(), visible="Loading...")
    text = _clean(RawArticle(url="https://example.com/a", html=page,
                             text="\n\n".join(PARAGRAPHS))).text
    assert text.split("\n\n") == PARAGRAPHS
    shell = _clean(RawArticle(url="https://example.com/a", html=page, text="Loading...")).text
    assert shell == ("Another text. " * 40).strip()


def test_an_escaped_tag_inside_json_ld_markup_is_text() -> None:
    """Markup's entities are the parser's to read: decoded before it, "&lt;b&gt;" became a tag
    and took the text after it."""
    quoted = "Readers wrote <b> and a<c in the comments, the editors said."
    body = "".join(f"<p>{p}</p>" for p in [*PARAGRAPHS, quoted.replace("<", "&lt;").replace(
        ">", "&gt;")])
    page = _rendered_by_script(orjson.dumps({"@type": "NewsArticle", "articleBody": body})
                               .decode(), visible="Loading...")
    text = _clean(RawArticle(url="https://example.com/a", html=page)).text
    assert text.split("\n\n") == [*PARAGRAPHS, quoted]


def test_unicode_line_separators_break_lines_and_other_spaces_collapse() -> None:
    """U+2028, U+2029 and NEL break a line as <br> does; Ogham, ideographic and no-break spaces
    and tabs collapse into one space."""
    spaced = PARAGRAPHS[0].replace(" ", " \u1680\u3000\u00a0\t ")
    page = _body(f"<article><p>{spaced}</p>{''.join(f'<p>{p}</p>' for p in PARAGRAPHS[1:])}"
                 "<p>First line of a verse\u2028and its second\u2029line\u0085here</p></article>")
    text = _clean(RawArticle(url="https://example.com/a", html=page)).text
    assert text.split("\n\n") == [*PARAGRAPHS, "First line of a verse", "and its second",
                                    "line", "here"]


@pytest.mark.parametrize(("paragraph", "expected"), [
    ("One space between words.", "One space between words."),
    ("Two  spaces", "Two spaces"),
    (" outer space ", "outer space"),
    ("tab\tand\u00a0no-break\u2003em", "tab and no-break em"),
    ("line\nbreak", "line break"),
])
def test_a_paragraph_of_the_clean_text_is_single_spaced(paragraph: str, expected: str) -> None:
    assert single_spaced(paragraph) == expected


def test_noframes_fallback_text_is_not_the_article() -> None:
    """What a browser without frames would show comes out of libxml2 as raw markup: skipped,
    never printed as the article's text."""
    fallback = "<noframes><p>This page uses frames, your browser cannot show.</p></noframes>"
    article = _clean(RawArticle(url="https://example.com/a",
                                html=PAGE.replace("<nav>", fallback + "<nav>")))
    assert article.text.split("\n\n") == PARAGRAPHS
    only_frames = ("<html><frameset><frame src=a></frameset><noframes><body>"
                   + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</body></noframes></html>")
    result = normalize(RawArticle(url="https://example.com/a", html=only_frames),
                       FurnitureMemory())
    assert isinstance(result, Rejection) and result.reason is Reason.NO_CONTENT


def test_a_body_nested_in_a_menu_or_sent_hidden_is_still_the_article() -> None:
    """An unclosed tag can nest the rest of the page in a <nav> or <button>, and streamed
    rendering sends the body hidden for a script to reveal: most of the page's text is there,
    so it is walked; a small hidden or landmark subtree stays furniture."""
    story = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    for wrapper in (f"<nav><a href='/'>Home</a><main>{story}</main></nav>",
                    f"<header><button>Menu<main>{story}</main></button></header>",
                    f"<div hidden id='S:0'><article>{story}</article></div>"):
        assert _clean(RawArticle(url="https://example.com/a", html=_body(wrapper))
                      ).text.split("\n\n") == PARAGRAPHS, wrapper
    aside = "<aside><p>Another story entirely about a football match that ended in a draw " \
            "after extra time and penalties were not needed.</p></aside>"
    text = _clean(RawArticle(url="https://example.com/a", html=_body(story + aside))).text
    assert "football" not in text


def test_furniture_names_that_would_take_most_of_the_article_are_layout() -> None:
    """Page builders wrap every paragraph in a "widget": names that would strip most of the
    article's prose are its layout, and the article is kept; a comment thread (a fifth of the
    prose) and a share box among plain paragraphs are still dropped."""
    widgets = "".join(f"<div class='builder-widget-container'><p>{p}</p></div>"
                      for p in PARAGRAPHS * 2)
    assert _clean(RawArticle(url="https://example.com/a", html=_body(
        f"<article>{widgets}</article>"))).text.split("\n\n") == PARAGRAPHS * 2
    comment = ("<p>I read this and I think the council is wrong about the roads, they have "
               "been bad for years.</p>")
    thread = f"<article>{''.join(f'<p>{p}</p>' for p in PARAGRAPHS * 2)}</article>" \
             f"<section class='comments'>{comment * 3}</section>"
    assert _clean(RawArticle(url="https://example.com/a", html=_body(
        f"<div>{thread}</div>"))).text.split("\n\n") == PARAGRAPHS * 2
    share = ("<div class='share-box'><p>Tell your friends about this story and share it with "
             "everyone you know today.</p></div>")
    plain = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    assert _clean(RawArticle(url="https://example.com/a", html=_body(
        f"<article>{plain}{share}</article>"))).text.split("\n\n") == PARAGRAPHS


def _paragraphs(html: str) -> list[str]:
    return _clean(RawArticle(url="https://example.com/a", html=_body(html))).text.split("\n\n")


def test_a_list_article_keeps_its_linked_item_titles_and_drops_a_trailing_link_list() -> None:
    """In a list article each item's title links to the thing reviewed: a heading over a
    paragraph is the article's, however linked; a list of links after the text is not."""
    items = "".join(f"<h3><a href='/item{i}'>{i + 1}. Item number {i + 1}</a></h3><p>{p}</p>"
                    for i, p in enumerate(PARAGRAPHS))
    related = "<ul>" + "".join(f"<li><a href='/s{i}'>Another story about the city number {i}"
                               "</a></li>" for i in range(4)) + "</ul>"
    lead = f"<p>{PARAGRAPHS[0]}</p>"  # (a heading above the first paragraph is a kicker)
    assert _paragraphs(f"<article>{lead}{items}{related}</article>") == [PARAGRAPHS[0]] + [
        line for i, p in enumerate(PARAGRAPHS) for line in (f"{i + 1}. Item number {i + 1}", p)]


@pytest.mark.parametrize(("text", "expected"), [
    ("Sign up for our newsletter. Share this story with your friends.", True),
    ("You can sign up for our newsletter. The council met on Tuesday.", True),  # half
    ("Sign up here. The council met on Tuesday. It approved the budget.", False),  # a third
    ("Share prices fell sharply on Tuesday after the report came out.", False),  # long, no "you"
    ("\u200b", False),  # no words, no sentences
    ("", False),
])
def test_a_call_to_action_is_a_text_whose_sentences_mostly_call_on_the_reader(
        text: str, expected: bool) -> None:
    assert is_call_to_action(text) is expected


def test_a_call_to_action_amid_the_text_is_kept_and_one_at_its_end_dropped() -> None:
    """A paragraph asking the reader to click, in the middle of the text, is the article's
    (a tutorial's "click here for the full steps"); after the last paragraph it is the site's."""
    call = ("Sign up for our free newsletter and get the best stories from the city delivered "
            "every morning.")
    plain = [f"<p>{p}</p>" for p in PARAGRAPHS]
    assert _paragraphs(f"<article>{plain[0]}<p>{call}</p>{''.join(plain[1:])}</article>") == [
        PARAGRAPHS[0], call, *PARAGRAPHS[1:]]
    assert _paragraphs(f"<article>{''.join(plain)}<p>{call}</p></article>") == PARAGRAPHS


def test_a_form_inside_the_article_is_dropped() -> None:
    signup = ("<form action='/subscribe'><p>The morning briefing has the news from the council, "
              "the schools and the roads of the city.</p><input name='email'></form>")
    plain = [f"<p>{p}</p>" for p in PARAGRAPHS]
    assert _paragraphs(f"<article>{plain[0]}{signup}{''.join(plain[1:])}</article>") == \
        PARAGRAPHS


def test_a_lead_paragraph_beside_the_body_element_is_kept() -> None:
    """Pages put the lead paragraph next to the element holding the rest of the body."""
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS[1:] * 4)
    assert _paragraphs(f"<article><p>{PARAGRAPHS[0]}</p><div class='body'>{body}</div>"
                       "</article>") == [PARAGRAPHS[0], *PARAGRAPHS[1:] * 4]


def test_an_id_slugged_from_a_heading_is_not_a_furniture_name() -> None:
    """"2-heading-how-popular-is-the-budget" holds the words of its heading, not a role."""
    plain = "".join(f"<p>{p}</p>" for p in PARAGRAPHS * 2)
    section = f"<div id='2-heading-how-popular-is-the-new-budget'><p>{PARAGRAPHS[0]}</p></div>"
    assert _paragraphs(f"<article>{plain}{section}</article>") == [*PARAGRAPHS * 2,
                                                                     PARAGRAPHS[0]]


def test_hints_win_over_page_metadata() -> None:
    raw = RawArticle(url="https://example.com/a", id="given-id", title="Hinted title",
                     lang="de-DE", published_at="2020-01-01T00:00:00Z", html=PAGE)
    article = _clean(raw)
    assert (article.id, article.title, article.lang, article.published_at) == (
        "given-id", "Hinted title", "de", "2020-01-01T00:00:00Z")


def test_text_input_drops_furniture_lines_and_repeated_caption() -> None:
    caption = "The mayor, left, speaks to reporters outside city hall on Tuesday afternoon."
    text = "\n".join([
        "Skip to content", "Home", "News", "Sport", "Council approves budget", "",
        "Published March 5, 2024", caption, caption, *PARAGRAPHS,
        "Sign up for our newsletter", "Share this with your friends", "Read more",
    ])
    article = _clean(RawArticle(url="https://example.com/news/council-approves-budget",
                                text=text))
    for paragraph in PARAGRAPHS:
        assert paragraph in article.text
    for furniture in ("Skip to content", "Sign up", "Share this", "Read more"):
        assert furniture not in article.text
    assert article.text.count(caption) <= 1
    assert article.published_at == "2024-03-05T00:00:00Z"


def test_window_shares_of_flags_are_the_window_means_bit_for_bit() -> None:
    rng = random.Random(5)
    for _ in range(300):
        flags = [float(rng.random() < 0.4) for _ in range(rng.randrange(0, 40))]
        for radius in (1, 2, 6):
            assert (text_stage._window_shares(flags, radius)
                    == text_stage._window_means(flags, radius)), (flags, radius)


def test_glued_sentences_are_split() -> None:
    assert split_lines("It makes all the difference.North Korean leaders met.") == [
        "It makes all the difference.", "North Korean leaders met."]
    assert split_lines("The U.S. economy grew.") == ["The U.S. economy grew."]


def test_bullets_are_dropped_and_only_lines_that_can_open_with_one_are_matched() -> None:
    assert split_lines("\u2022 Aid arrived\n  12) Roads reopened\n- Schools shut\n3 killed") == [
        "Aid arrived", "Roads reopened", "Schools shut", "3 killed"]
    # the cheap test split_lines runs first must pass every line the pattern would strip
    for code in (*range(0xD800), *range(0xE000, 0x10000)):
        for line in (f"{chr(code)} x", f" {chr(code)} x", f"{chr(code)}1) x"):
            if text_stage._BULLET.match(line):
                assert text_stage._may_open_with_bullet(line), hex(code)


def test_repair_fixes_mojibake_entities_controls_and_spaces() -> None:
    assert repair("It\u00e2\u20ac\u2122s caf\u00c3\u00a9") == "It\u2019s caf\u00e9"
    assert repair("Fish &amp; chips\u00a0today\u200b\x07") == "Fish & chips today"
    assert repair("cafe\u0301") == "caf\u00e9"


def test_mojibake_is_found_in_the_utf8_bytes_where_the_text_pattern_finds_it() -> None:
    # the module, not the package's ``repair`` function of the same name
    repair_module = importlib.import_module("service.stages.normalize.repair")
    pattern = re.compile(f"[\u00c2-\u00f4]{repair_module._CONTINUATIONS.pattern}")
    rng = random.Random(2)
    alphabet = ("a \u00c1\u00c2\u00c3\u00e9\u00f4\u00f5\u0080\u00a9\u00bf\u00c0\u0152\u2019"
                "\u2122\u20ac\u2026\u2025\ud800\U0001f600")
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(12)))
        assert repair_module._has_mojibake(text) == bool(pattern.search(text)), repr(text)


def test_urls() -> None:
    assert canonical_url("https://example.com/a", "javascript:alert(1)") == \
        "https://example.com/a"
    assert canonical_url("https://example.com/a", "//cdn.example.com/b") == \
        "https://cdn.example.com/b"
    assert registered_domain("https://news.bbc.co.uk/x") == "bbc.co.uk"
    assert registered_domain("http://10.0.0.1/x") == "10.0.0.1"


def test_memory_learns_recurring_lines_per_source_and_ignores_redelivery() -> None:
    memory = FurnitureMemory(min_articles=3)
    lines = ["Support our journalism today", "A unique story line number one"]
    for index in range(2):
        memory.learn("example.com", f"id-{index}", lines)
    memory.learn("example.com", "id-1", lines)  # redelivered: not counted again
    assert memory.furniture("example.com", lines) == set()
    memory.learn("example.com", "id-2", lines)
    assert memory.furniture("example.com", lines) == {0, 1}
    assert memory.furniture("other.org", lines) == set()


def test_memory_is_bounded() -> None:
    memory = FurnitureMemory(max_sources=3, max_lines=10)
    for source in range(5):
        for article in range(4):
            memory.learn(f"s{source}.com", f"a{article}",
                         [f"line {source} {article} {n} words" for n in range(8)])
    assert memory.source_count == 3
    assert all(memory.line_count(f"s{source}.com") <= 10 for source in range(5))
    assert memory.line_count("s4.com") > 0 and memory.line_count("s0.com") == 0


def test_empty_and_hostile_input_become_rejections() -> None:
    memory = FurnitureMemory()
    cases = [
        RawArticle(url="https://example.com/a"),
        RawArticle(url="https://example.com/a", html="<html><body><nav>Home</nav></body></html>"),
        RawArticle(url="https://example.com/a", html="<div>" * 200_000 + "deep" + "</div>" * 10),
        RawArticle(url="https://example.com/a", html="\x00\xff\xfe" * 100_000),
        RawArticle(url="https://example.com/a", text="\u0000" * 10_000),
        RawArticle(url="https://example.com/a",
                   html="<p " + " ".join(f'a{i}="x"' for i in range(100_000)) + ">x</p>"),
    ]
    for raw in cases:
        started = time.perf_counter()
        result = normalize(raw, memory)
        assert time.perf_counter() - started < 2.0
        assert isinstance(result, Rejection)
        assert result.reason is Reason.NO_CONTENT and result.stage == "normalize"
        assert result.detail


def _story(index: int) -> list[str]:
    topics = ["harbour", "railway", "library", "stadium", "airport", "hospital"]
    topic = topics[index]
    return [
        f"Officials announced on Monday that the {topic} expansion will begin in spring, "
        f"after the regional assembly approved funding for the {topic} project.",
        f"The {topic} plan had been debated for three years, with residents divided over "
        f"its cost and the disruption that construction of the {topic} would bring.",
        f"Work on the {topic} is expected to take two years, the officials said, and the "
        f"{topic} should open to the public before the end of the decade.",
    ]


BOILERPLATE = ("The Example Gazette is an independent newspaper founded in 1901 and owned by a "
               "charitable trust that reinvests all of its profits in journalism.")


def test_memory_removes_furniture_recurring_in_a_source_and_keeps_redeliveries_whole() -> None:
    memory = FurnitureMemory(min_articles=3)
    outputs = []
    for index in range(5):
        text = "\n".join([*_story(index), BOILERPLATE])
        raw = RawArticle(url=f"https://gazette.example.com/news/{index}", text=text)
        outputs.append(_clean(raw, memory).text)
    assert BOILERPLATE in outputs[0]
    assert BOILERPLATE not in outputs[4]
    assert all(p in outputs[4] for p in _story(4))
    again = _clean(RawArticle(url="https://gazette.example.com/news/0",
                              text="\n".join([*_story(0), BOILERPLATE])), memory)
    assert all(p in again.text for p in _story(0))
    copy = _clean(RawArticle(url="https://gazette.example.com/news/copy",
                             text="\n".join(_story(0))), memory)
    assert all(p in copy.text for p in _story(0))


def test_clean_report_text_passes_through_whole() -> None:
    """Reports that are already clean (one paragraph per line, or one long line) keep every word,
    even when the last sentence trails off."""
    trailing = " ".join(PARAGRAPHS) + " The vote, however, was closer than expected \u2026"
    for text in ("\n".join(PARAGRAPHS), trailing):
        article = _clean(RawArticle(url="https://outlet.example/news/1", text=text))
        assert article.text.split() == text.replace("\n", " ").split()


def test_text_is_used_when_the_html_has_no_article() -> None:
    raw = RawArticle(url="https://example.com/a", html="<html><body><nav>Home</nav></body></html>",
                     text="\n".join(PARAGRAPHS))
    assert _clean(raw).text.split("\n\n") == PARAGRAPHS


def test_a_message_whose_title_is_a_report_of_its_own_is_a_brief() -> None:
    flash = ("An Australian climber who spent two nights stuck on a glacier was rescued by a "
             "helicopter crew on Sunday, police in the mountain town said.")
    article = _clean(RawArticle(url="https://example.com/flash", title=flash, text=""))
    assert article.text == article.title == flash and article.word_count == 25
    short = normalize(RawArticle(url="https://example.com/flash", title="Climber rescued",
                                 text=""), FurnitureMemory())
    assert isinstance(short, Rejection) and short.reason is Reason.NO_CONTENT


@pytest.mark.parametrize("declaration", [
    '<?xml version="1.0" encoding="UTF-8"?>',
    "<?xml version='1.0' encoding='iso-8859-1'?>",
    '<?xml version="1.0"?>',
])
def test_xhtml_pages_with_an_xml_declaration_are_read_as_the_decoded_text(
        declaration: str) -> None:
    """XHTML pages open with an XML declaration, often naming a charset; the text arrives
    decoded, so the body is extracted (not dead-lettered as unparseable) and no declared
    charset re-reads its characters."""
    extra = " Caf\u00e9 \u2019 \u65e5\u672c."
    page = f"{declaration}\n" + PAGE.replace(PARAGRAPHS[1], PARAGRAPHS[1] + extra)
    article = _clean(RawArticle(url="https://www.example.co.uk/news/x", html=page))
    assert article.text.split("\n\n") == [PARAGRAPHS[0], PARAGRAPHS[1] + extra, PARAGRAPHS[2]]


@pytest.mark.parametrize("left_open", ["font", "span", "div"])
def test_a_page_nested_past_the_parsers_limit_keeps_its_text(left_open: str) -> None:
    """Paragraphs that each leave a tag open nest the page deeper than libxml2 reads by
    default (256); it used to stop there, and the article ended at its third paragraph."""
    line = "The council voted on Tuesday to approve the new budget for the city, number {}."
    page = ("<html><body><article>"
            + "".join(f"<p><{left_open}>{line.format(i)}" for i in range(400))
            + "</article></body></html>")
    paragraphs = _clean(RawArticle(url="https://example.com/news/a", html=page)).text.split(
        "\n\n")
    assert paragraphs[-1] == line.format(399)
    assert len(paragraphs) > 100


def test_flattening_a_deep_page_keeps_its_text_in_order_within_the_depth() -> None:
    page = ("<html><body>" + "".join(f"<div>a{i}<span>b{i}</span>c{i}" for i in range(600))
            + "</body></html>").encode()
    root = etree.fromstring(page, parser=html_stage._parser(deep=True))
    text = etree.tostring(root, method="text", encoding=str)
    assert max(len(list(node.iterancestors())) for node in root.iter()) > 600
    html_stage._flatten_deeper_than(root, 50)
    assert etree.tostring(root, method="text", encoding=str) == text
    assert max(len(list(node.iterancestors())) for node in root.iter()) == 51


def test_a_hostile_deep_page_is_read_within_bounds() -> None:
    """300,000 nested elements: libxml2 keeps 2,048 levels without its limit, the walk
    flattens them to ``MAX_DEPTH``; an outcome comes back in well under the message deadline."""
    page = "<html><body>" + "<div>x <b>y</b> z" * 300_000 + "</body></html>"
    started = time.process_time()
    result = normalize(RawArticle(url="https://example.com/news/a", html=page), FurnitureMemory())
    assert isinstance(result, (Article, Rejection))
    assert time.process_time() - started < 5.0


def test_nul_characters_are_dropped_from_a_page_as_from_a_text() -> None:
    """A NUL is no character of a page: the HTML path drops it as the text path does (it
    printed U+FFFD), and a UTF-16 page a crawler decoded byte by byte reads as itself."""
    damaged = PARAGRAPHS[0].replace(" ", "\0 ", 3)
    from_text = _clean(RawArticle(url="https://example.com/a", text=damaged)).text
    page = f"<html><body><article><p>{damaged}</p></article></body></html>"
    assert _clean(RawArticle(url="https://example.com/a", html=page)).text == from_text
    assert from_text == PARAGRAPHS[0]
    wide = PAGE.encode("utf-16-le").decode("latin-1")
    assert _clean(RawArticle(url="https://www.example.co.uk/news/x", html=wide)).text.split(
        "\n\n") == PARAGRAPHS


_LIMIT = 8000
_TAG_CASES = {
    "at the limit": f'<p><img alt="{"a" * (_LIMIT - 12)}"> kept</p>',
    "past the limit": f'<p><img alt="{"a" * (_LIMIT + 2)}"> kept</p>',
    "past it in characters, not bytes": f'<p><img alt="{"é" * (_LIMIT - 50)}"><b>x</b></p>',
    "many attributes": "<p><span " + " ".join(f"a{i}=1" for i in range(20_000)) + ">x</span></p>",
    "a last tag left open": "<p>text</p><div " + "b" * (_LIMIT + 5),
    "long text after a tag": "<pre>" + "var x = 1;" * 2000 + "</pre><p>body</p>",
    "long text after a < that opens no tag": "<p>1 < 2" + " and more" * 2000 + "</p>",
}


@pytest.mark.parametrize("name", list(_TAG_CASES))
def test_overlong_tags_are_cut_exactly_as_the_full_scan_cuts_them(name: str) -> None:
    """The byte pass that lets most pages skip the overlong-tag scan never changes a parse:
    the tree is the one the scan of every tag gives, whether a tag is just under the limit,
    over it (in characters or only in bytes), left open at the end, or a page has long runs
    that are no tag."""
    page = _TAG_CASES[name]
    scanned = html_stage._OVERLONG_TAG.sub(lambda m: f"<{m.group(1)}>", page)
    expected = etree.fromstring(scanned, parser=etree.HTMLParser(
        remove_comments=True, remove_pis=True, no_network=True, default_doctype=False))
    tree = html_stage.parse(page)
    assert tree is not None and etree.tostring(tree) == etree.tostring(expected)
    assert (scanned != page) == (name in {"past the limit", "many attributes"}), name
