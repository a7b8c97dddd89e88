"""Main-content extraction from HTML: lxml parsing plus our own block scoring.

The page is cut into text blocks (one per block-level element). Each block is judged on
general signals — length, sentence punctuation, link density, the class/id vocabulary of its
ancestors — and the article is the DOM subtree that holds the most body-like text for the least
furniture. Inside that subtree, blocks that are mostly links, share bars, captions, forms or
similar are dropped; prose paragraphs just beside it are the article's too. No rule is keyed to
a site.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from lxml import etree

from service.stages.normalize.lines import (
    is_call_to_action,
    is_truncated,
    looks_like_sentence,
    word_count,
)

# Elements that never carry article prose. (``noframes`` is what a browser without frames
# shows; libxml2 keeps its content as raw text, markup and all.)
_SKIP = frozenset({
    "script", "style", "noscript", "noframes", "template", "svg", "math", "iframe", "object",
    "embed", "canvas", "video", "audio", "select", "option", "button", "input", "textarea",
    "label", "figcaption", "head", "title", "meta", "link", "dialog", "map", "picture", "source",
    # AMP's media, ad and chrome components: their text is a loading placeholder, a fallback
    # for when the media fails, or the page's menu (AMP's embeds of posts stay: quoted content).
    "amp-img", "amp-anim", "amp-video", "amp-audio", "amp-iframe", "amp-ad", "amp-embed",
    "amp-sticky-ad", "amp-analytics", "amp-pixel", "amp-social-share", "amp-sidebar",
    "amp-consent", "amp-user-notification",
})
# Landmarks that hold navigation and furniture around the article.
_LANDMARKS = frozenset({"nav", "aside", "footer", "menu"})
# Elements whose content is never page text, even when it is most of the page's characters.
_RAW_TEXT = frozenset({"script", "style", "template", "noscript", "noframes", "svg", "math",
                       "textarea", "head", "title"})
_OPAQUE = _RAW_TEXT | {"iframe", "object", "embed", "option", "select", "meta", "link"}
_BLOCKS = frozenset({
    "p", "div", "li", "ul", "ol", "dl", "dd", "dt", "h1", "h2", "h3", "h4", "h5", "h6", "td",
    "th", "tr", "table", "tbody", "thead", "tfoot", "caption", "blockquote", "pre", "section",
    "article", "main", "header", "footer", "figure", "form", "fieldset", "address", "center",
    "body", "html", "details", "summary", "hr",
})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})

# Class/id vocabulary used across the web for furniture, matched at the start of a token.
# These name and style patterns are matched against the lowered string: a case-sensitive
# alternation is scanned about 4x faster than an IGNORECASE one (2.4 against 0.63 µs a class
# string, lowering included, over the 9,855 distinct ones of the 90 Zyte pages), and a page's
# names outnumber the verdict caches.
_NEGATIVE = re.compile(
    r"(?:^|[-_\s])(?:comment|disqus|share|sharing|social|sidebar|widget|promo|newsletter|"
    r"subscri|signup|sign-up|advert|ads?(?:$|[-_\s])|sponsor|banner|breadcrumb|byline|author|"
    r"caption|credit|tags?(?:$|\s)|toolbar|popup|modal|cookie|consent|paywall|related|"
    r"recommend|more-|read-?more|nav|menu|masthead|skip|footer|foot(?:$|[-_\s])|rating|"
    r"outbrain|taboola|teaser|trending|popular|most-|signin|login|print|meta(?:$|[-_\s])|"
    r"dateline|timestamp|publish|hidden|jump|follow|donat|support-|breaking|alert|overlay|"
    r"header|topbar|utility|photo|gallery)",
)
# Furniture words distinctive enough to count anywhere in a name ("imageEmbedCaption").
_ANYWHERE_NEGATIVE = re.compile(r"caption|credit|byline|newsletter|paywall")
# Furniture names unambiguous enough to veto a whole subtree in the search for the article
# container (comment threads, related-story rails, sidebars), when a class name or id starts
# with them: layout classes such as "content-with-sidebar" merely mention them.
_STRONG_NEGATIVE = re.compile(
    r"(?:^|\s)(?:comment|disqus|related|recommend|sidebar|outbrain|taboola|newsletter|"
    r"promo|trending|popular|most-read|footer|share|social|ad-|advert|modal|popup|cookie|"
    r"consent|dialog|overlay)",
)
_PROSE_TAGS = frozenset({"p", "li", "blockquote", "h2", "h3", "h4", "h5", "h6", "td", "pre"})
# Tuned values. Each was chosen, and is checked, with site-grouped 5-fold cross-validation
# over both HTML dev sets (Zyte 90 pages, WCXB 709): `python bench/eval_extraction.py --cv 5`.
# With every value as below: CV mean 0.9511, worst fold 0.9451 (Zyte 0.9873, WCXB 0.9465).
# Each comment gives the CV mean/worst with that one value changed (noise is about 0.0005);
# unless it says otherwise, measured when the baseline was 0.9440/0.9358 (before comment,
# related and sidebar names always counted inside the article).

# A subtree the walk would skip (landmark, hidden, button...) holding this share of the page's
# text is walked after all: a body misnested by an unclosed tag or sent hidden for a script to
# reveal (19 WCXB pages had been lost as no_content). 0.3 -> 0.9370/0.9303 (walks into real
# menus: Zyte 0.9733 -> 0.9671), 0.5 -> 0.9391/0.9337, 0.7 -> 0.9399/0.9338 (those three
# measured before UNSURE_*), never -> 13 more WCXB pages lost.
SKIPPED_BULK_SHARE = 0.7
# Prose: a block of at least PROSE_MIN_CHARS, or SENTENCE_MIN_CHARS when it reads as a
# sentence, with at most PROSE_MAX_LINK_DENSITY of its characters in links.
# PROSE_MIN_CHARS 60 -> 0.9444/0.9360, 100 -> 0.9442/0.9354; SENTENCE_MIN_CHARS 30 ->
# 0.9440/0.9358, 50 -> 0.9438/0.9357; PROSE_MAX_LINK_DENSITY 0.3 -> 0.9440/0.9358, 0.5 ->
# 0.9441/0.9358: flat, kept.
PROSE_MIN_CHARS = 80
SENTENCE_MIN_CHARS = 40
PROSE_MAX_LINK_DENSITY = 0.4
# In the container search each prose character scores +1 and every other character of a block
# -OTHER_CHAR_COST, its link characters a further -LINK_CHAR_COST. OTHER_CHAR_COST 0.25 ->
# 0.9438/0.9358 (Zyte 0.9822), 0.5 -> 0.9437/0.9358; LINK_CHAR_COST 0.25 -> 0.9438/0.9358
# (Zyte 0.9822), 1.0 -> 0.9430/0.9349.
OTHER_CHAR_COST = 0.35
LINK_CHAR_COST = 0.5
# A furniture name vetoes a subtree in the container search unless the subtree holds over
# VETO_EXEMPT_SHARE of the page's largest prose count, or the element lists more than
# VETO_MAX_CLASSES classes (a CMS's tags and categories). VETO_EXEMPT_SHARE 0.3 -> 0.9433/0.9358
# (Zyte 0.9787), 0.7 -> 0.9418/0.9358 (one more page lost); VETO_MAX_CLASSES 2 -> 0.9438/0.9358
# (Zyte 0.9827), 8 -> 0.9440/0.9358.
VETO_EXEMPT_SHARE = 0.5
VETO_MAX_CLASSES = 4
# Descend from the best-scoring element to a child holding this share of its score (a rail of
# teasers beside the article is left out). 0.6 -> 0.9417/0.9347, 0.8 -> 0.9434/0.9351 (Zyte
# 0.9768).
NARROW_SHARE = 0.7
# The container is unsure when it holds under UNSURE_PROSE_CHARS of prose or its parent holds
# UNSURE_PARENT_RATIO times as much; its parent is the second opinion then. Never -> 0.9408/
# 0.9338, always -> 0.9436/0.9343; the pair was the best of a 6 x 5 grid, and choosing it
# inside the folds (nested CV) gives 0.9433/0.9350. UNSURE_PARENT_RATIO 1.1 -> 0.9443/0.9357,
# 1.5 -> 0.9438/0.9351; UNSURE_PROSE_CHARS 500 -> 0.9437/0.9358, 2000 -> 0.9440/0.9353.
UNSURE_PROSE_CHARS = 1000
UNSURE_PARENT_RATIO = 1.2
# Inside the container, an element named like furniture holding over NAMED_EXEMPT_SHARE of the
# container's prose is the article itself. 0.2 -> 0.9441/0.9358, 0.5 -> 0.9443/0.9358.
NAMED_EXEMPT_SHARE = 0.3
# Weak furniture names inside the article (strong ones, _STRONG_NEGATIVE, always count) are
# trusted only while at least this share of its prose stays (page builders name every section
# "widget"). Measured before UNSURE_* and before strong names always counted: 0 (always
# trusted) -> 0.9240/0.9028 (13 pages lost), 0.5 -> 0.9395/0.9338, 0.8 -> 0.9408/0.9338, 0.9 ->
# 0.9413/0.9345 (Zyte 0.9733 -> 0.9721), never trusted -> 0.9409/0.9358 (Zyte 0.9702).
NAMED_FURNITURE_MIN_LEFT = 0.8
# Inside the container, a block under LINKED_MAX_CHARS with over LINKED_MAX_DENSITY of its
# characters in links is a link block (a list of links is dropped item by item: a list-level
# rule also dropped checklists and "name: link" lists the article holds, -0.0010 CV mean).
# LINKED_MAX_DENSITY 0.6 -> 0.9502/0.9441, 0.7 -> 0.9507/0.9447, 0.9 -> 0.9509/0.9445 (Zyte
# 0.9873 -> 0.9859); LINKED_MAX_CHARS 200 -> 0.9441/0.9358, 800 -> 0.9440/0.9358 (at 0.6).
LINKED_MAX_DENSITY = 0.8
LINKED_MAX_CHARS = 400
# Longest text taken for an image caption. 150 and 400 -> 0.9440/0.9358 (no dev page moves).
CAPTION_MAX_CHARS = 250
# An id of this many or more words ("2-heading-how-popular-is-it") is a slug of the element's
# heading, not a name in the furniture vocabulary. 4 -> 0.9512/0.9451, 6 -> 0.9511/0.9450, never ->
# 0.9509/0.9446.
SLUG_ID_MIN_WORDS = 5
# Non-prose blocks under this many words are trimmed from the end (share buttons, labels).
# 3 -> 0.9440/0.9356, 10 -> 0.9437/0.9357.
TAIL_LABEL_WORDS = 6
# Blocks above the article searched for a dateline (metadata; extraction does not use it).
PREAMBLE_BLOCKS = 40
# libxml2 stops reading a page where its elements nest deeper than this (its default limit), and
# a page whose paragraphs each leave a <font>, <span> or <div> open gets there: the rest of its
# article was lost. Such a page is read again without the limit (libxml2 then allows 2,048) and
# what lies deeper than this is attached at this depth in document order, as a browser's parser
# does past its own limit (512 in Chromium): the text is kept, and the per-block work, which
# climbs each block's ancestors, stays what it is on any other page. (Not tuned: no development
# page nests deeper than 200.)
MAX_DEPTH = 256
_HIDDEN_NAMES = re.compile(
    r"tooltip|popover|hovercard|rollover|flyout|sr-only|visually-?hidden|screen-?reader|"
    r"offscreen")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden")
# A start tag of more than 8,000 characters ([^<>] keeps the scan linear; the look-ahead, which
# every match passes anyway, rejects ordinary tags before the name can backtrack).
_TAG_LIMIT = 8000
_OVERLONG_TAG = re.compile(
    rf"<(?=[^<>]{{{_TAG_LIMIT + 1}}})([A-Za-z][\w:-]{{0,30}})[^<>]{{{_TAG_LIMIT},}}>")
_ID_WORDS = re.compile(r"[-_]")
# What a browser never shows as text: comments, scripts (JSON-LD kept, metadata reads it),
# styles and inline SVG. ``parse`` sheds them first. Openers are found by one pattern and each
# closer by a search from its opener, so the pass is linear (a lazy ``.*?`` to a closer rescans
# the rest of the page for every unclosed opener: minutes on 600,000 of them).
_INERT_OPENER = re.compile(r"<!--|<(script|style|svg)\b[^>]*>", re.I)
_INERT_CLOSERS = {name: re.compile(rf"</{name}\s*>", re.I) for name in ("script", "style", "svg")}
_COMMENT_CLOSER = re.compile(r"-->")


# Verdicts on class and id strings are memoized: a page repeats its few names thousands of times.
NAME_CACHE_SIZE = 4096
# A line break in a page's text is a space, as a browser shows it, except inside ``<pre>``;
# ``<br>`` and a preformatted newline are a line break, written as ``_BREAK`` during the walk (a
# NUL: ``parse`` drops every NUL, so the page's own text holds none). Other space is what
# ``str.split`` splits on, and the Unicode line and paragraph separators break lines, as
# ``repair`` reads them in text.
_BREAK = "\0"
_LINE_SEPARATORS = ("\u0085", "\u2028", "\u2029")


@dataclass(slots=True, eq=False)
class Block:
    """A run of text owned by one block-level element (compared by identity)."""

    owner: etree._Element
    text: str
    link_chars: int
    heading: bool

    @property
    def link_density(self) -> float:
        return self.link_chars / max(1, len(self.text))


@dataclass(slots=True)
class _Builder:
    """Accumulates inline text between block boundaries during the walk."""

    blocks: list[Block] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    link_chars: int = 0

    def add(self, text: str | None, in_link: bool, preformatted: bool = False) -> None:
        if text:
            self.parts.append(text.replace("\n", _BREAK) if preformatted else text)
            if in_link:
                self.link_chars += len(text.strip())

    def flush(self, owner: etree._Element) -> None:
        """Close the block ``owner`` holds so far."""
        if not self.parts:
            return
        joined = "".join(self.parts)
        self.parts.clear()
        link_chars, self.link_chars = self.link_chars, 0
        if joined.isspace():  # indentation between tags: most flushes
            return
        text = _collapsed(joined)
        if not text:
            return
        self.blocks.append(Block(
            owner=owner, text=text, link_chars=min(link_chars, len(text)),
            heading=_tag(owner) in _HEADINGS,
        ))


def _collapsed(text: str) -> str:
    """Each run of space one space and each line trimmed, empty lines dropped (``str.split``
    and ``join``: a third of the CPU of a regex substitution)."""
    if not text.isascii():
        for separator in _LINE_SEPARATORS:
            if separator in text:
                text = text.replace(separator, _BREAK)
    lines = [" ".join(line.split()) for line in text.split(_BREAK)]
    return "\n".join(line for line in lines if line)


def _tag(element: etree._Element) -> str:
    """The element's name ("" for comments and the like); libxml2's HTML parser has already
    lowercased it."""
    tag = element.tag
    return tag if isinstance(tag, str) else ""


def _is_hidden(element: etree._Element) -> bool:
    """Not shown on the page: hidden attributes or styles, and the vocabulary of content shown
    only on hover or to screen readers (tooltips, pop-over cards, "sr-only" labels)."""
    if element.get("hidden") is not None or element.get("aria-hidden") == "true":
        return True
    style = element.get("style")
    if style and _HIDDEN_STYLE.search(style.lower()):
        return True
    names = element.get("class")
    return bool(names) and _hidden_names(names)


@lru_cache(maxsize=NAME_CACHE_SIZE)
def _hidden_names(names: str) -> bool:
    return bool(_HIDDEN_NAMES.search(names.lower()))


def parse(html: str, max_chars: int | None = None) -> etree._Element | None:
    """The parsed document, or None when nothing parseable is there. Plain ``etree`` elements,
    not ``lxml.html``'s: its element classes cost a Python lookup for every node the walk
    touches.

    The page is handed to libxml2 as UTF-8 bytes with the encoding named: the text is already
    decoded, so a charset the page declares must not count, and libxml2 refuses a ``str`` that
    opens with an XML declaration naming one (XHTML pages). Bytes also spare it converting
    the text to UTF-8 itself: 1.33 against 1.44 ms a page over the 90 Zyte pages, 1.71 against
    1.91 over the 709 WCXB pages (the trees are the same).

    Tags longer than any real one are cut to their name first: libxml2 checks attributes for
    duplicates pairwise, so one tag with 100,000 attributes would cost seconds.

    What holds no text (comments, scripts, styles, SVG) is shed first: the extraction skips it,
    and libxml2 building it cost more than the scan that drops it (over the 90 Zyte pages, 37%
    of the bytes are kept, and HTML CPU per article falls 6%). A page still over ``max_chars``
    is then cut to it; one carrying megabytes of inline script or attributes before its article
    no longer loses the article to the cut."""
    html = _without_inert(html)
    if max_chars is not None and len(html) > max_chars:
        data = _cut_overlong_tags(html)[:max_chars].encode("utf-8", "replace")
    else:
        data = html.encode("utf-8", "replace")
        if _may_hold_overlong_tag(data):
            data = _cut_overlong_tags(html).encode("utf-8", "replace")
    if b"\0" in data:
        # No page's text holds a NUL (browsers drop it; libxml2 would print U+FFFD, and a
        # crawler that read UTF-16 as a single-byte charset leaves one after every ASCII
        # character, tags included).
        data = data.replace(b"\0", b"")
    parser = _parser(deep=False)
    try:
        root = etree.fromstring(data, parser=parser)
        if _stopped_too_deep(parser):
            root = etree.fromstring(data, parser=_parser(deep=True))
            _flatten_deeper_than(root, MAX_DEPTH)
        return root
    except (etree.ParserError, ValueError):
        return None


def _without_inert(html: str) -> str:
    """``html`` less its comments, scripts other than JSON-LD, styles and SVG. An element left
    unclosed runs to the end of the page, as a browser reads it, and is kept."""
    kept: list[str] = []
    at = 0
    while (opener := _INERT_OPENER.search(html, at)) is not None:
        name = opener.group(1)
        closer = (_COMMENT_CLOSER if name is None else _INERT_CLOSERS[name.lower()]).search(
            html, opener.end())
        if closer is None:
            break
        if name is not None and "ld+json" in opener.group(0).lower():
            kept.append(html[at:closer.end()])
        else:
            kept.append(html[at:opener.start()])
        at = closer.end()
    kept.append(html[at:])
    return "".join(kept)


def _parser(deep: bool) -> etree.HTMLParser:
    """``deep``: without libxml2's nesting limit (``MAX_DEPTH``)."""
    return etree.HTMLParser(remove_comments=True, remove_pis=True, no_network=True,
                            default_doctype=False, encoding="utf-8", huge_tree=deep)


def _stopped_too_deep(parser: etree.HTMLParser) -> bool:
    """Whether libxml2 gave up on the page at its nesting limit (a fatal error: its last)."""
    error = parser.error_log.last_error
    return error is not None and error.type == etree.ErrorTypes.ERR_RESOURCE_LIMIT


def _flatten_deeper_than(root: etree._Element, limit: int) -> None:
    """Attach every element nested deeper than ``limit`` to its ancestor at that depth."""
    anchors: list[etree._Element] = []
    depth = -1
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, element in walker:
        if event == "end":
            depth -= 1
            continue
        depth += 1
        if depth == limit:
            if len(element):
                anchors.append(element)
            walker.skip_subtree()
    for anchor in anchors:
        _flatten(anchor)


def _flatten(anchor: etree._Element) -> None:
    """Make every descendant of ``anchor`` its child, in document order, the text in the same
    order: an element's tail follows the last element that started inside it."""
    order: list[etree._Element] = []
    tails: dict[etree._Element, str] = {}
    for event, element in etree.iterwalk(anchor, events=("start", "end")):
        if element is anchor:
            continue
        if event == "start":
            order.append(element)
        elif element.tail:
            tails[order[-1]] = tails.get(order[-1], "") + element.tail
    for element in order:
        element.tail = tails.get(element)
        anchor.append(element)


def _cut_overlong_tags(html: str) -> str:
    """``html`` with every tag longer than any real one cut to its name (one linear scan)."""
    return _OVERLONG_TAG.sub(lambda m: f"<{m.group(1)}>", html)


def _may_hold_overlong_tag(data: bytes) -> bool:
    """Whether some ``<`` is followed by more than a tag's limit before the next angle bracket,
    counted in the page's UTF-8 bytes (at least one per character, so a page this clears cannot
    match ``_OVERLONG_TAG``). Over the 709 WCXB development pages this pass took 259 µs a page
    against the scan's 936, and cleared 657 (33 of the other 52 hold such a tag)."""
    codes = np.frombuffer(data, dtype=np.uint8)
    angles = np.flatnonzero((codes | 2) == ord(">"))  # "<" (60) and ">" (62) only
    ends = np.append(angles[1:], len(codes))
    opens = codes[angles] == ord("<")
    return bool(((ends - angles)[opens] > _TAG_LIMIT + 1).any())


def text_of(element: etree._Element) -> str:
    """All the text inside ``element``, as XPath's ``string()`` reads it (libxml2 serializes
    it: a third of the CPU of joining it node by node)."""
    text: str = etree.tostring(element, method="text", encoding=str, with_tail=False)
    return text


def _text_chars(element: etree._Element, total: int | None = None) -> int:
    """Characters of text in ``element`` outside scripts and styles (``total``: of all its
    text, when known)."""
    total = len(text_of(element)) if total is None else total
    return total - sum(len(node.text or "") for node in element.iter(*_RAW_TEXT))


def _holds_the_page(element: etree._Element, page_chars: Callable[[], int]) -> bool:
    """Whether a subtree the walk would skip holds most of the page's text. Then it is not
    furniture: an unclosed tag nested the rest of the page inside a menu, a button or an
    aside, or the body was sent hidden for a script to reveal (streamed rendering)."""
    if _tag(element) in _OPAQUE:
        return False
    bulk = SKIPPED_BULK_SHARE * page_chars()
    total = len(text_of(element))  # a bound: most skipped subtrees fall short of it already
    return total >= bulk and _text_chars(element, total) >= bulk


def blocks_of(root: etree._Element) -> list[Block]:
    """Text blocks in document order, with invisible and non-prose elements left out."""
    builder = _Builder()
    owners: list[etree._Element] = [root]
    link_depth = 0
    preformatted = 0  # open <pre> elements
    walker = etree.iterwalk(root, events=("start", "end"))
    # the tag of each open element, None for one whose subtree is skipped: its end event needs
    # no second read of the tag (lxml builds a new string at every read)
    open_tags: list[str | None] = []
    page: list[int] = []

    def page_chars() -> int:
        if not page:
            page.append(_text_chars(root))
        return page[0]

    for event, element in walker:
        if event == "start":
            tag = _tag(element)
            if (not tag or tag in _SKIP or tag in _LANDMARKS or _is_hidden(element)) and not (
                    tag and _holds_the_page(element, page_chars)):
                open_tags.append(None)
                walker.skip_subtree()
                continue
            open_tags.append(tag)
            if tag in _BLOCKS:
                builder.flush(owners[-1])
                owners.append(element)
                preformatted += tag == "pre"
            elif tag == "br":
                builder.add(_BREAK, False)
            elif tag == "a":
                link_depth += 1
            builder.add(element.text, link_depth > 0, preformatted > 0)
            continue
        closed = open_tags.pop()  # (None, for a skipped element: only its tail is read)
        if closed in _BLOCKS:
            builder.flush(element)
            owners.pop()
            preformatted -= closed == "pre"
        elif closed == "a":
            link_depth -= 1
        builder.add(element.tail, link_depth > 0, preformatted > 0)
    builder.flush(owners[-1])
    return builder.blocks


def _is_embed(element: etree._Element) -> bool:
    """An embedded post or video ("social-media-embed"): quoted content, whatever else its
    name says."""
    return _names_embed(element.get("class") or "", element.get("id") or "")


def _names_embed(classes: str, ident: str) -> bool:
    return "embed" in f"{classes} {ident}".lower()


def _role_id(ident: str) -> str:
    """The id, unless it is a slug made from the text (heading anchors): then its words are
    the article's, not a name for the element's role."""
    return "" if len(_ID_WORDS.split(ident)) >= SLUG_ID_MIN_WORDS else ident


def _named_furniture(element: etree._Element) -> bool:
    """Class or id in the web's furniture vocabulary; embeds (quoted posts) are content."""
    if _tag(element) in ("html", "body"):
        return False
    return _furniture_names(element.get("class") or "", element.get("id") or "")


@lru_cache(maxsize=NAME_CACHE_SIZE)
def _furniture_names(classes: str, ident: str) -> bool:
    names = f"{classes} {_role_id(ident)}"
    if not names.strip():
        return False
    lowered = names.lower()
    if _ANYWHERE_NEGATIVE.search(lowered):
        return True
    return not _names_embed(classes, ident) and bool(_NEGATIVE.search(lowered))


def _flagged_on_path(start: etree._Element | None, stop: etree._Element | None,
                     flagged: Callable[[etree._Element], bool],
                     cache: dict[etree._Element, bool]) -> bool:
    """Whether ``flagged`` holds for ``start`` or an ancestor below ``stop``, memoized along
    the path so sibling blocks share the walk."""
    path: list[etree._Element] = []
    node = start
    verdict = False
    while node is not None and node is not stop:
        if node in cache:
            verdict = cache[node]
            break
        path.append(node)
        if flagged(node):
            verdict = True
            break
        node = node.getparent()
    for item in path:
        cache[item] = verdict
    return verdict


def _strongly_named(node: etree._Element) -> bool:
    """Named as comments, related links, a sidebar... (a long class list is a CMS's tags)."""
    return _strong_names(node.get("class") or "", node.get("id") or "")


@lru_cache(maxsize=NAME_CACHE_SIZE)
def _strong_names(classes: str, ident: str) -> bool:
    listed = classes.split()
    names = f"{' '.join(listed) if len(listed) <= VETO_MAX_CLASSES else ''} {_role_id(ident)}"
    return bool(names.strip() and _STRONG_NEGATIVE.search(names.lower()))


def _vetoed(element: etree._Element, prose: dict[etree._Element, int], limit: float,
            cache: dict[etree._Element, bool]) -> bool:
    """Whether ``element`` or an ancestor is named as comments, related links, sidebar, ...

    Long class lists are ignored (CMSs list an article's tags and categories there), and so is
    an element holding most of the page's prose: that is the article, however it is named."""

    return _flagged_on_path(
        element, None, lambda node: _strongly_named(node) and prose.get(node, 0) <= limit, cache)


def _is_body_like(block: Block) -> bool:
    """Prose: long enough, few links, reads like a sentence."""
    if block.heading or block.link_density > PROSE_MAX_LINK_DENSITY or is_truncated(block.text):
        return False
    return len(block.text) >= PROSE_MIN_CHARS or (
        len(block.text) >= SENTENCE_MIN_CHARS and looks_like_sentence(block.text))


def _prose(blocks: list[Block], chains: list[list[etree._Element]]
           ) -> tuple[list[bool], dict[etree._Element, int]]:
    """Which blocks read as prose, and the prose characters under every element."""
    flags = [_is_body_like(block) for block in blocks]
    prose: dict[etree._Element, int] = {}
    for block, flag, chain in zip(blocks, flags, chains, strict=True):
        if flag:
            for node in chain:
                prose[node] = prose.get(node, 0) + len(block.text)
    return flags, prose


def _chains(blocks: list[Block]) -> list[list[etree._Element]]:
    """Per block, its owner and the owner's ancestors, innermost first. Every score climbs
    them, so they are listed once per page, each element's from its parent's (blocks share
    their ancestors), rather than asked of lxml again at each step."""
    known: dict[etree._Element, list[etree._Element]] = {}
    chains: list[list[etree._Element]] = []
    for block in blocks:
        path: list[etree._Element] = []
        node: etree._Element | None = block.owner
        while node is not None and node not in known:
            path.append(node)
            node = node.getparent()
        chain = [] if node is None else known[node]
        for element in path[::-1]:
            chain = [element, *chain]
            known[element] = chain
        chains.append(chain)
    return chains


@dataclass(frozen=True, slots=True)
class _Choice:
    """The article's container (None: no article), and per element its prose characters and
    its score (prose for, furniture against)."""

    container: etree._Element | None
    prose: dict[etree._Element, int]
    scores: dict[etree._Element, float]


def _container(blocks: list[Block], chains: list[list[etree._Element]]) -> _Choice:
    """The subtree with the most prose for the least furniture (``chains``: ``_chains``)."""
    flags, prose = _prose(blocks, chains)
    limit = VETO_EXEMPT_SHARE * max(prose.values(), default=0)
    vetoes: dict[etree._Element, bool] = {}
    scores: dict[etree._Element, float] = {}
    counts: dict[etree._Element, int] = {}
    for block, flag, chain in zip(blocks, flags, chains, strict=True):
        if flag and not _vetoed(block.owner, prose, limit, vetoes):
            value = float(len(block.text))
        elif is_truncated(block.text) and block.link_density < PROSE_MAX_LINK_DENSITY:
            value = 0.0  # a teaser, or the last paragraph before a paywall: no evidence
        else:
            value = -OTHER_CHAR_COST * len(block.text) - LINK_CHAR_COST * block.link_chars
        for node in chain:
            scores[node] = scores.get(node, 0.0) + value
            counts[node] = counts.get(node, 0) + 1
    if not scores:
        return _Choice(None, prose, scores)
    best, score = max(scores.items(), key=lambda item: item[1])
    if score <= 0:
        return _Choice(None, prose, scores)
    parent = best.getparent()
    while parent is not None and scores.get(parent, 0.0) >= score:
        best, parent = parent, parent.getparent()  # on a tie, the wider element
    return _Choice(_second_opinion(_narrow(best, score, scores, counts), prose), prose, scores)


def _second_opinion(container: etree._Element, prose: dict[etree._Element, int]) -> etree._Element:
    """The container, or its parent when the extraction is unsure of it: it holds little prose,
    or its parent holds clearly more (a list article whose items are split into sections, a
    lead paragraph or a table outside the main text column). The parent's extra blocks still
    pass every furniture filter."""
    parent = container.getparent()
    if parent is None:
        return container
    held = prose.get(container, 0)
    if held < UNSURE_PROSE_CHARS or prose.get(parent, 0) >= UNSURE_PARENT_RATIO * held:
        return parent
    return container


def _paragraphs_beside(choice: _Choice) -> set[etree._Element]:
    """Paragraphs beside the container that read as prose, in the first element around it that
    holds more prose (wrappers holding the same are passed through): a lead or closing
    paragraph the page put outside the body's element. Only paragraphs: a section or list
    beside the article is as often a rail of teasers."""
    container = choice.container
    if container is None:
        return set()
    held = choice.prose.get(container, 0)
    node, parent = container, container.getparent()
    while parent is not None and choice.prose.get(parent, 0) == held:
        node, parent = parent, parent.getparent()
    if parent is None:
        return set()
    return {sibling for sibling in parent if sibling is not node and _tag(sibling) == "p"
            and choice.scores.get(sibling, 0.0) > 0 and not _named_furniture(sibling)}


def _narrow(node: etree._Element, score: float, scores: dict[etree._Element, float],
            counts: dict[etree._Element, int]) -> etree._Element:
    """Step down to a child that carries most of the score: what the parent adds besides it
    is a rail of teasers or cards, each a little prose, not more of the article. A single
    block is never the article, so the walk stops above it."""
    while True:
        child = max(node, key=lambda c: scores.get(c, 0.0), default=None)
        if (child is None or scores.get(child, 0.0) < NARROW_SHARE * score
                or counts.get(child, 0) < 2):
            return node
        node, score = child, scores[child]


def _under_furniture(block: Block, container: etree._Element, prose: dict[etree._Element, int],
                     cache: dict[etree._Element, bool]) -> bool:
    """Whether an element between the block and the container is named like furniture.

    An element holding a large share of the container's prose is the article itself, however
    it is named (CMSs put tag and category names in the article's class list)."""
    limit = NAMED_EXEMPT_SHARE * prose.get(container, 0)
    return _flagged_on_path(
        block.owner, container,
        lambda node: _named_furniture(node) and prose.get(node, 0) <= limit, cache)


def _without_named_furniture(blocks: list[Block], container: etree._Element,
                             prose: dict[etree._Element, int]) -> list[Block]:
    """``blocks`` less those under elements named like furniture. Comment threads, related
    links and sidebars always go (they can hold more prose than the article); weaker names
    only while they leave most of the article's prose, else they are the page builder's
    layout vocabulary ("elementor-widget", "status-publish"), not furniture."""
    limit = NAMED_EXEMPT_SHARE * prose.get(container, 0)
    strong: dict[etree._Element, bool] = {}
    blocks = [b for b in blocks if not _flagged_on_path(
        b.owner, container, lambda node: _strongly_named(node) and not _is_embed(node)
        and prose.get(node, 0) <= limit, strong)]
    cache: dict[etree._Element, bool] = {}
    kept = [b for b in blocks if not _under_furniture(b, container, prose, cache)]
    total = sum(len(b.text) for b in blocks if _is_body_like(b))
    left = sum(len(b.text) for b in kept if _is_body_like(b))
    return kept if left >= NAMED_FURNITURE_MIN_LEFT * total else blocks


def _keep(block: Block, titles: bool, amid: bool) -> bool:
    """Inside the article container: drop link blocks, calls to action and stray labels.

    ``titles``: the block is a heading over a paragraph (a list article's linked item title);
    ``amid``: more of the article's own prose follows it (a paragraph that asks the reader to
    click or sign up in the middle of the text is the article's; at its end it is the site's)."""
    if titles:
        return True  # linked, imperative ("Install a filter") or an h1: still the article's
    if block.link_density > LINKED_MAX_DENSITY and len(block.text) < LINKED_MAX_CHARS:
        return False
    if (is_call_to_action(block.text) and not (amid and _is_body_like(block))) or \
            _is_caption(block):
        return False
    return _tag(block.owner) != "h1"


def _is_caption(block: Block) -> bool:
    """Short text alone with an image in a non-paragraph element: the image's caption. (An
    element that also holds other blocks is a section of the article with a picture in it.)"""
    if len(block.text) > CAPTION_MAX_CHARS or _tag(block.owner) in _PROSE_TAGS:
        return False
    image = False
    for node in block.owner.iterdescendants():
        tag = _tag(node)
        if tag in _BLOCKS:
            return False
        image = image or tag in ("img", "picture")
    return image


def _trim_edges(kept: list[Block]) -> list[Block]:
    """Drop short non-sentence blocks (bylines, dates, kickers) before the first paragraph."""
    start = 0
    while start < len(kept) and not _is_body_like(kept[start]):
        start += 1
    if start == len(kept):
        return kept
    end = len(kept)
    while (end > start and not _is_body_like(kept[end - 1])
           and word_count(kept[end - 1].text) < TAIL_LABEL_WORDS):
        end -= 1
    return kept[start:end]


@dataclass(frozen=True, slots=True)
class Extraction:
    """The article's paragraphs, and the lines just above it (where datelines sit)."""

    paragraphs: list[str]
    preamble: list[str]


def _prose_follows(blocks: list[Block]) -> list[bool]:
    """Per block: whether a later block is prose that is not a call to action."""
    follows: list[bool] = []
    seen = False
    for block in reversed(blocks):
        follows.append(seen)
        seen = seen or (_is_body_like(block) and not is_call_to_action(block.text))
    return follows[::-1]


def _in_form(block: Block, container: etree._Element,
             cache: dict[etree._Element, bool]) -> bool:
    """Whether the block sits in a form inside the article (a sign-up or search box)."""
    return _flagged_on_path(block.owner, container, lambda node: _tag(node) == "form", cache)


def extract(root: etree._Element) -> Extraction:
    """Body paragraphs of the article in ``root`` (none when no article is found)."""
    blocks = blocks_of(root)
    chains = _chains(blocks)
    choice = _container(blocks, chains)
    container = choice.container
    if container is None:
        return Extraction([], [b.text for b in blocks[:PREAMBLE_BLOCKS]])
    inside = [b for b, chain in zip(blocks, chains, strict=True) if container in chain]
    follows = _prose_follows(inside)
    forms: dict[etree._Element, bool] = {}
    kept = [b for i, b in enumerate(inside)
            if _keep(b, b.heading and i + 1 < len(inside) and _is_body_like(inside[i + 1]),
                     follows[i]) and not _in_form(b, container, forms)]
    kept = _without_named_furniture(kept, container, choice.prose)
    beside = _paragraphs_beside(choice)
    if beside:
        chosen = {id(b) for b in kept}
        chosen.update(id(b) for b, chain in zip(blocks, chains, strict=True)
                      if not beside.isdisjoint(chain) and _keep(b, False, False))
        kept = [b for b in blocks if id(b) in chosen]
    kept = _trim_edges(kept)
    first = next((i for i, b in enumerate(blocks) if b is kept[0]), 0) if kept else len(blocks)
    paragraphs = [line for b in kept for line in b.text.split("\n")]
    return Extraction(paragraphs, [b.text for b in blocks[max(0, first - PREAMBLE_BLOCKS):first]])
