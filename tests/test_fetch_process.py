"""``article-ingest process`` on URL-only messages: the sample pages served from loopback."""

from __future__ import annotations

import html
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.conftest import REPO, SEEDS
from tests.fetch_server import LoopbackServer, html_page, redirect, serving

# The first sentence of each sample story's body, in seeds.jsonl order.
FIRST_SENTENCES = [
    "Russian Foreign Minister Sergei Lavrov met North Korean leader Kim Jong Un in Pyongyang on "
    "Thursday, the Russian foreign ministry said, and invited him to visit Russia.",
    "North Korean leader Kim Jong-un has been invited to Moscow by Russia\u2019s foreign minister.",
    "Russian Foreign Minister Sergei Lavrov has invited North Korean leader Kim Jong-un to visit "
    "Russia.",
    "Russian Foreign Minister Sergei Lavrov in Pyongyang on Thursday invited North Korean leader "
    "Kim Jong Un to visit Russia, Moscow said, during the first meeting between the head of the "
    "reclusive state and a Russian official.",
    "Lavrov invited North Korean leader Kim Jong Un to Russia as Moscow seeks to reassert its "
    "influence in the region.",
]


def as_html(url: str, text: str) -> str:
    """A plain page: the URL's last segment as <title>, one <p> per non-empty line."""
    title = url.rstrip("/").rsplit("/", 1)[-1]
    paragraphs = "".join(f"<p>{html.escape(line.strip())}</p>\n"
                         for line in text.splitlines() if line.strip())
    return (f"<!DOCTYPE html>\n<html><head><title>{html.escape(title)}</title></head>\n"
            f"<body>\n{paragraphs}</body></html>\n")


def sample_pages() -> list[str]:
    stories = [orjson.loads(line) for line in SEEDS.read_bytes().splitlines() if line.strip()]
    assert len(stories) == len(FIRST_SENTENCES)
    return [as_html(story["url"], story["text"]) for story in stories]


@pytest.fixture
def site() -> Iterator[tuple[LoopbackServer, list[str]]]:
    """The sample pages on loopback; the first is reached through a redirect."""
    with serving() as server:
        urls = [server.route(f"/story/{index}", html_page(page))
                for index, page in enumerate(sample_pages())]
        urls[0] = server.route("/go/0", redirect("/story/0"))
        yield server, urls


def process(messages: list[dict[str, str]], out: Path,
            **env: str) -> dict[str, list[dict[str, object]]]:
    data = b"".join(orjson.dumps(message) + b"\n" for message in messages)
    done = subprocess.run([sys.executable, "-m", "service", "process", "-", "--out", str(out)],
                          input=data, env={"PATH": "/usr/bin:/bin", **env}, cwd=REPO,
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return {name: [orjson.loads(line) for line in (out / f"{name}.jsonl").read_bytes().splitlines()]
            for name in ("clean", "dlq")}


def test_url_only_messages_become_clean_records(
        site: tuple[LoopbackServer, list[str]], tmp_path: Path) -> None:
    server, urls = site
    fetched = process([{"url": url} for url in urls], tmp_path / "fetched",
                      INGEST_FETCH__ALLOW_PRIVATE_NETWORKS="true")
    assert fetched["dlq"] == []
    assert [record["url"] for record in fetched["clean"]] == [
        server.url(f"/story/{index}") for index in range(len(urls))]
    for record, sentence in zip(fetched["clean"], FIRST_SENTENCES, strict=True):
        assert sentence in str(record["text"])
    # The fetched page goes through the same pipeline as the same HTML sent inline.
    inline = process([{"url": server.url(f"/story/{index}"), "html": page}
                      for index, page in enumerate(sample_pages())], tmp_path / "inline",
                     INGEST_FETCH__ENABLED="false")
    assert [r["text"] for r in fetched["clean"]] == [r["text"] for r in inline["clean"]]


def test_without_the_override_every_url_is_blocked(
        site: tuple[LoopbackServer, list[str]], tmp_path: Path) -> None:
    server, urls = site
    urls += ["http://169.254.169.254/latest/meta-data", "file:///etc/passwd"]
    result = process([{"url": url} for url in urls], tmp_path)
    assert result["clean"] == []
    # a file:// URL is no http(s) URL: refused when decoded, before any fetch
    assert [(letter["reason"], letter["stage"]) for letter in result["dlq"]] == (
        [("fetch_blocked", "fetch")] * (len(urls) - 1) + [("invalid_field", "decode")])
    assert server.seen == []
