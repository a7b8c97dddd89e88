"""Benchmark messages: raw articles shaped like the seeds, varied so most are not duplicates.

A benchmark that replays the five seeds would measure a cache (four of five messages would be
one story, every line furniture after the third). Here each message keeps an outlet's page
furniture (the seed's short lines, verbatim, so the furniture memory learns them) around a body
recombined from the seeds' prose lines: every story rewrites a share of the vocabulary, names
and numbers with its own invented words, and every report of a story picks, orders and perturbs
its own lines. A few messages are exact or near copies of earlier ones, as syndication sends.
Everything is drawn from one seeded RNG, so a run is reproducible.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from random import Random

import orjson

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "service" / "samples" / "seeds.jsonl"

_TOKEN = re.compile(r"[A-Za-z]+|\d+|[^A-Za-z\d]+")
_CONSONANTS = "bcdfghjklmnprstvwz"
_VOWELS = "aeiou"
_BASE_EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z: every article inside one story window


@dataclass(frozen=True)
class CorpusSettings:
    """Shape of the text corpus; the defaults give ~4 KB messages, ~90% distinct articles."""

    reports_per_story: int = 4
    story_word_share: float = 0.35  # vocabulary a story rewrites (names and numbers always)
    report_word_share: float = 0.1  # words each report changes on top of its story
    exact_share: float = 0.03
    near_share: float = 0.05
    near_word_share: float = 0.03
    outlets: int = 40
    target_chars: int = 3800
    prose_min_words: int = 15


@dataclass(frozen=True)
class _Template:
    """One seed as an outlet's page: its lines, and which of them are article prose."""

    lines: tuple[str, ...]
    prose: tuple[bool, ...]


def load_seeds(path: Path = SEEDS) -> list[dict[str, str]]:
    with path.open("rb") as handle:
        return [orjson.loads(line) for line in handle if line.strip()]


def read_pages(path: Path) -> list[dict[str, str]]:
    """HTML pages (``id``, ``url``, ``html``) of a gzipped JSONL file such as the extraction set."""
    with gzip.open(path, "rb") as handle:
        return [orjson.loads(line) for line in handle if line.strip()]


def _is_prose(line: str, min_words: int) -> bool:
    stripped = line.strip()
    return len(stripped.split()) >= min_words and stripped[-1:] in ".!?\"'\u201d\u2019"


def _templates(seeds: list[dict[str, str]], min_words: int) -> list[_Template]:
    templates = []
    for seed in seeds:
        lines = tuple(seed["text"].split("\n"))
        templates.append(_Template(lines, tuple(_is_prose(line, min_words) for line in lines)))
    return templates


def _shared_words(seeds: list[dict[str, str]]) -> frozenset[str]:
    """Lower-case words most seeds use (function words): kept, so bodies still read as English,
    while names (never lower-case) are always rewritten."""
    seen: dict[str, int] = {}
    for seed in seeds:
        for word in {t for t in _TOKEN.findall(seed["text"]) if t.islower()}:
            seen[word] = seen.get(word, 0) + 1
    return frozenset(w for w, n in seen.items() if n * 5 >= len(seeds) * 4)


def invented_word(rng: Random, syllables: int) -> str:
    return "".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(syllables))


class _Rewriter:
    """A consistent word substitution: one story's names, numbers and part of its vocabulary."""

    def __init__(self, rng: Random, share: float, common: frozenset[str]) -> None:
        self.rng = rng
        self.share = share
        self.common = common  # words seen lower-case: capitalized only at a sentence start
        self.mapping: dict[str, str] = {}

    def word(self, token: str) -> str:
        key = token.lower()
        if key not in self.mapping:
            self.mapping[key] = self._replacement(token)
        replacement = self.mapping[key]
        if not replacement or replacement == key:
            return token
        return replacement.capitalize() if token[0].isupper() else replacement

    def _replacement(self, token: str) -> str:
        if token.isdigit():
            return str(self.rng.randint(2, 10 ** len(token)))
        if token.lower() in self.common:
            return token.lower()
        if token[0].isupper() or self.rng.random() < self.share:
            return invented_word(self.rng, max(1, min(4, len(token) // 2)))
        return token.lower()

    def line(self, text: str) -> str:
        return "".join(self.word(t) if (t[0].isalnum() and len(t) > 2) or t.isdigit()
                       else t
                       for t in _TOKEN.findall(text))


def _perturb(rng: Random, text: str, share: float) -> str:
    """``text`` with about ``share`` of its longer words replaced by invented ones."""
    return "".join(invented_word(rng, 2) if t.isalpha() and len(t) > 3 and rng.random() < share
                   else t for t in _TOKEN.findall(text))


def _outlet_domain(rng: Random) -> str:
    return f"{invented_word(rng, 3)}-news.com"


class TextCorpus:
    """Generator of seed-like raw text messages (``messages(n)`` is deterministic per seed)."""

    def __init__(self, seed: int = 7, settings: CorpusSettings | None = None,
                 seeds: list[dict[str, str]] | None = None) -> None:
        self.settings = settings if settings is not None else CorpusSettings()
        self.rng = Random(seed)
        self.seed = seed
        self.templates = _templates(seeds if seeds is not None else load_seeds(),
                                    self.settings.prose_min_words)
        self.prose = [line.strip() for t in self.templates
                      for line, prose in zip(t.lines, t.prose, strict=True) if prose]
        self.common = _shared_words(seeds if seeds is not None else load_seeds())
        self.outlets = [(_outlet_domain(self.rng), self.rng.randrange(len(self.templates)))
                        for _ in range(self.settings.outlets)]

    def messages(self, count: int) -> list[bytes]:
        return [orjson.dumps(message) for message in self.articles(count)]

    def articles(self, count: int) -> Iterator[dict[str, str]]:
        settings, rng = self.settings, self.rng
        sent: list[dict[str, str]] = []
        story: list[str] = []
        rewriter = _Rewriter(rng, settings.story_word_share, self.common)
        for index in range(count):
            roll = rng.random()
            if sent and roll < settings.exact_share:
                message = self._copy(index, rng.choice(sent), 0.0)
            elif sent and roll < settings.exact_share + settings.near_share:
                message = self._copy(index, rng.choice(sent), settings.near_word_share)
            else:
                if index % settings.reports_per_story == 0 or not story:
                    rewriter = _Rewriter(rng, settings.story_word_share, self.common)
                    story = [rewriter.line(line) for line in
                             rng.sample(self.prose, min(len(self.prose), 28))]
                message = self._report(index, story, rewriter)
            sent.append(message)
            yield message

    def _report(self, index: int, story: list[str], rewriter: _Rewriter) -> dict[str, str]:
        rng, settings = self.rng, self.settings
        domain, template_index = rng.choice(self.outlets)
        template = self.templates[template_index]
        frame = sum(len(line) + 1 for line, prose in zip(template.lines, template.prose,
                                                          strict=True) if not prose)
        budget = max(600, int(settings.target_chars * rng.uniform(0.9, 1.1)) - frame)
        body: list[str] = []
        for line in rng.sample(story, len(story)):
            if sum(len(b) + 2 for b in body) >= budget:
                break
            body.append(_perturb(rng, line, settings.report_word_share))
        title = " ".join(story[0].split()[: rng.randint(6, 11)]).rstrip(",.;:")
        return self._message(index, domain, title, self._frame(template, [title, *body]))

    @staticmethod
    def _frame(template: _Template, body: list[str]) -> str:
        """The template's furniture lines in place, its prose lines replaced by ``body``."""
        out: list[str] = []
        remaining = list(body)
        last_prose = max(i for i, prose in enumerate(template.prose) if prose)
        for position, (line, prose) in enumerate(zip(template.lines, template.prose,
                                                     strict=True)):
            if not prose:
                out.append(line)
            elif position == last_prose:
                out.append("\n\n".join(remaining))
                remaining = []
            elif remaining:
                out.append(remaining.pop(0))
        return "\n".join(out)

    def _copy(self, index: int, original: dict[str, str], share: float) -> dict[str, str]:
        domain = original["url"].split("/")[2]
        text = original["text"] if share == 0 else _perturb(self.rng, original["text"], share)
        return self._message(index, domain, original["title"], text)

    def _message(self, index: int, domain: str, title: str, text: str) -> dict[str, str]:
        stamp = _BASE_EPOCH + index * 7
        slug = "-".join(title.lower().split()[:6])
        return {"id": f"bench-{self.seed}-{index}", "url": f"https://{domain}/{index}/{slug}",
                "title": title, "text": text, "fetched_at": _iso(stamp),
                "published_at": _iso(stamp - 600)}


def _iso(epoch: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def html_messages(pages: list[dict[str, str]], count: int) -> list[bytes]:
    """``count`` raw HTML messages cycling ``pages``; each cycle gets fresh ids."""
    out = []
    for index in range(count):
        page = pages[index % len(pages)]
        round_ = index // len(pages)
        out.append(orjson.dumps({"id": f"{page['id']}-r{round_}", "url": page["url"],
                                 "html": page["html"]}))
    return out


def text_messages(count: int, seed: int = 7) -> list[bytes]:
    return TextCorpus(seed).messages(count)
