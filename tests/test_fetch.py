"""The fetcher against scripted loopback servers, and its pure helpers."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import ipaddress
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpcore
import pytest

from service.config import FetchConfig
from service.edges.fetch import (
    FetchedPage,
    Fetcher,
    decode_html,
    parse_content_type,
    retry_after,
)
from service.edges.netguard import IPAddress, is_public_address
from service.metrics import Metrics
from service.records import Reason, Rejection
from tests.fetch_server import LoopbackServer, Reply, html_page, redirect, serving

FAST = FetchConfig(allow_private_networks=True, connect_timeout_s=0.5, read_timeout_s=0.3,
                   total_timeout_s=3.0, max_bytes=10_000, max_redirects=3, retries=2,
                   backoff_base_s=0.01, backoff_max_s=0.05, retry_after_cap_s=2.0)
GUARDED = dataclasses.replace(FAST, allow_private_networks=False)
PAGE = "<html><head><title>Hello</title></head><body><p>Body text.</p></body></html>"


def run(coroutine: Coroutine[Any, Any, Any], limit: float = 15.0) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coroutine, limit)
    return asyncio.run(bounded())


def fetch(url: str, config: FetchConfig = FAST, metrics: Metrics | None = None,
          **kwargs: Any) -> FetchedPage | Rejection:
    async def go() -> FetchedPage | Rejection:
        async with Fetcher(config, metrics or Metrics(), **kwargs) as fetcher:
            return await fetcher.fetch(url)
    result: FetchedPage | Rejection = run(go())
    return result


def rejected(result: FetchedPage | Rejection, reason: Reason) -> Rejection:
    assert isinstance(result, Rejection), result
    assert result.reason is reason, result
    assert result.stage == "fetch" and "\n" not in result.detail
    return result


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with serving() as running:
        yield running


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every TCP connection the fetcher opens, recorded before it is made."""
    made: list[tuple[str, int]] = []
    original = httpcore.AnyIOBackend.connect_tcp

    async def spy(self: httpcore.AnyIOBackend, host: str, port: int,
                  *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        made.append((host, port))
        return await original(self, host, port, *args, **kwargs)

    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", spy)
    return made


# --- fetching --------------------------------------------------------------------------------

def test_page_after_a_redirect_reports_the_final_url(server: LoopbackServer) -> None:
    server.route("/article", html_page(PAGE))
    start = server.route("/short", redirect("/article", 301))
    metrics = Metrics()
    page = fetch(start, metrics=metrics)
    assert page == FetchedPage(server.url("/article"), PAGE)
    assert server.seen == ["/short", "/article"]
    assert metrics.fetches.labels("ok")._value.get() == 1
    assert metrics.fetch_seconds._sum.get() > 0


def test_the_configured_user_agent_is_sent(server: LoopbackServer) -> None:
    url = server.route("/", html_page(PAGE))
    assert isinstance(fetch(url, dataclasses.replace(FAST, user_agent="probe/9")), FetchedPage)
    assert [headers["user-agent"] for headers in server.headers] == ["probe/9"]


def test_slow_headers_time_out_and_are_retried(server: LoopbackServer) -> None:
    url = server.route("/slow", Reply(body=PAGE.encode(), delay=2.0))
    config = dataclasses.replace(FAST, retries=1)
    started = time.monotonic()
    result = rejected(fetch(url, config), Reason.FETCH_FAILED)
    assert "ReadTimeout" in result.detail
    assert server.seen == ["/slow", "/slow"]
    assert time.monotonic() - started < 1.5


def test_a_trickling_body_hits_the_total_timeout(server: LoopbackServer) -> None:
    url = server.route("/trickle", Reply(body=PAGE.encode(), trickle=20, trickle_gap=0.1))
    config = dataclasses.replace(FAST, total_timeout_s=0.5)
    started = time.monotonic()
    result = rejected(fetch(url, config), Reason.FETCH_FAILED)
    assert "0.5s in total" in result.detail
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize("trickle", [1, 4], ids=["content-length", "streamed"])
def test_a_body_over_the_limit_is_too_large(server: LoopbackServer, trickle: int) -> None:
    body = ("<html><body>" + "x" * 20_000 + "</body></html>").encode()
    url = server.route("/big", Reply(body=body, trickle=trickle))
    metrics = Metrics()
    result = rejected(fetch(url, metrics=metrics), Reason.TOO_LARGE)
    assert "10000" in result.detail
    assert metrics.fetches.labels("too_large")._value.get() == 1


def test_a_redirect_chain_over_the_limit_fails(server: LoopbackServer) -> None:
    for hop in range(5):
        server.route(f"/hop{hop}", redirect(f"/hop{hop + 1}"))
    result = rejected(fetch(server.url("/hop0")), Reason.FETCH_FAILED)
    assert "more than 3 redirects" in result.detail
    assert server.seen == ["/hop0", "/hop1", "/hop2", "/hop3"]


def test_a_503_succeeds_on_retry(server: LoopbackServer) -> None:
    url = server.route("/flaky", html_page("busy", 503), html_page(PAGE))
    assert fetch(url) == FetchedPage(url, PAGE)
    assert server.seen == ["/flaky", "/flaky"]


def test_persistent_5xx_fails_after_the_retries_with_the_status(server: LoopbackServer) -> None:
    url = server.route("/down", html_page("down", 502))
    result = rejected(fetch(url), Reason.FETCH_FAILED)
    assert "HTTP 502" in result.detail and "2 retries" in result.detail
    assert len(server.seen) == 3


def test_429_waits_for_retry_after(server: LoopbackServer) -> None:
    limited = Reply(429, b"slow down", (("Retry-After", "1"),))
    url = server.route("/limited", limited, html_page(PAGE))
    started = time.monotonic()
    assert fetch(url) == FetchedPage(url, PAGE)
    assert time.monotonic() - started >= 0.95
    assert server.seen == ["/limited", "/limited"]


def test_429_with_retry_after_over_the_cap_fails_at_once(server: LoopbackServer) -> None:
    url = server.route("/limited", Reply(429, b"", (("Retry-After", "120"),)), html_page(PAGE))
    result = rejected(fetch(url), Reason.FETCH_FAILED)
    assert "429" in result.detail and "Retry-After" in result.detail
    assert server.seen == ["/limited"]


def test_retries_stop_when_the_total_time_would_run_out(server: LoopbackServer) -> None:
    url = server.route("/busy", Reply(503, b"", (("Retry-After", "1"),)), html_page(PAGE))
    started = time.monotonic()
    result = rejected(fetch(url, dataclasses.replace(FAST, total_timeout_s=0.5)),
                      Reason.FETCH_FAILED)
    assert "HTTP 503" in result.detail and "no time left" in result.detail
    assert server.seen == ["/busy"] and time.monotonic() - started < 0.9


def test_a_timeout_in_total_names_the_last_error(server: LoopbackServer) -> None:
    url = server.route("/busy", Reply(503, b"busy", delay=0.07))
    config = dataclasses.replace(FAST, total_timeout_s=0.3, retries=1000, backoff_base_s=0.0)
    result = rejected(fetch(url, config), Reason.FETCH_FAILED)
    assert "0.3s in total" in result.detail and "HTTP 503" in result.detail


def test_404_fails_at_once(server: LoopbackServer) -> None:
    result = rejected(fetch(server.url("/missing")), Reason.FETCH_FAILED)
    assert "HTTP 404" in result.detail
    assert server.seen == ["/missing"]


def test_a_pdf_is_not_parsed(server: LoopbackServer) -> None:
    url = server.route("/doc", Reply(body=b"%PDF-1.4", headers=(("Content-Type",
                                                                 "application/pdf"),)))
    assert "application/pdf" in rejected(fetch(url), Reason.FETCH_FAILED).detail


def test_windows_1251_without_a_charset_header_round_trips(server: LoopbackServer) -> None:
    text = ("Правительство объявило о новых мерах поддержки экономики. "  # noqa: RUF001
            "Министр финансов сообщил, что бюджет будет пересмотрен в следующем месяце.")
    body = f"<html><head><title>Новости</title></head><body><p>{text}</p></body></html>"
    url = server.route("/ru", Reply(body=body.encode("cp1251"),
                                    headers=(("Content-Type", "text/html"),)))
    page = fetch(url)
    assert isinstance(page, FetchedPage) and text in page.html


def test_xhtml_is_fetched_and_an_untyped_body_only_when_it_looks_like_html(
        server: LoopbackServer) -> None:
    xhtml = server.route("/x", Reply(body=PAGE.encode(), headers=(
        ("Content-Type", "application/xhtml+xml; charset=utf-8"),)))
    untyped = server.route("/u", Reply(body=PAGE.encode(), headers=()))
    binary = server.route("/b", Reply(body=b"\x00\x01 not markup", headers=()))
    assert fetch(xhtml) == FetchedPage(xhtml, PAGE)
    assert fetch(untyped) == FetchedPage(untyped, PAGE)
    rejected(fetch(binary), Reason.FETCH_FAILED)


def test_an_unknown_host_fails_without_a_connection(connects: list[tuple[str, int]]) -> None:
    result = rejected(fetch("http://no-such-host.invalid/", GUARDED), Reason.FETCH_FAILED)
    assert "no-such-host.invalid" in result.detail
    assert connects == []


def test_a_connection_refused_is_retried_then_fails() -> None:
    with serving() as gone:
        url = gone.url("/")
    result = rejected(fetch(url), Reason.FETCH_FAILED)
    assert "ConnectError" in result.detail


def test_limits_bound_concurrency_per_host_and_overall(server: LoopbackServer) -> None:
    slow = Reply(body=PAGE.encode(), delay=0.2)
    config = dataclasses.replace(FAST, concurrency=3, per_host=2)

    async def go(urls: list[str]) -> list[FetchedPage | Rejection]:
        async with Fetcher(config, Metrics()) as fetcher:
            return await asyncio.gather(*(fetcher.fetch(url) for url in urls))

    urls = [server.route(f"/p{i}", slow) for i in range(4)]
    assert all(isinstance(page, FetchedPage) for page in run(go(urls)))
    assert server.peak_in_flight == 2
    # Two host names for the same server: the global limit (3) is what binds now.
    urls += [server.url(f"/p{i}", host="localhost") for i in range(4)]
    assert all(isinstance(page, FetchedPage) for page in run(go(urls)))
    assert server.peak_in_flight == 3


def test_the_wait_for_a_host_slot_counts_in_the_total_timeout(server: LoopbackServer) -> None:
    """Six fetches to a host that drips its body, one slot: each is done by the one deadline,
    so all six end after about total_timeout_s (not six times it)."""
    drip = Reply(body=PAGE.encode(), trickle=len(PAGE), trickle_gap=0.2)
    config = dataclasses.replace(FAST, per_host=1, read_timeout_s=2.0, total_timeout_s=0.8)

    async def go(urls: list[str]) -> list[FetchedPage | Rejection]:
        async with Fetcher(config, Metrics()) as fetcher:
            return await asyncio.gather(*(fetcher.fetch(url) for url in urls))

    started = time.monotonic()
    results = run(go([server.route(f"/drip{i}", drip) for i in range(6)]))
    assert time.monotonic() - started < 2.5
    details = [rejected(result, Reason.FETCH_FAILED).detail for result in results]
    assert all("in total" in detail for detail in details)
    # Five wait for the slot until the deadline; on a loaded machine a fetch that started a
    # little later may get the slot first freed and time out reading instead.
    assert sum("waiting for a connection slot" in detail for detail in details) >= 4


def test_per_host_slots_are_dropped_when_no_fetch_needs_them(server: LoopbackServer) -> None:
    async def go() -> int:
        async with Fetcher(FAST, Metrics()) as fetcher:
            urls = [server.route(f"/p{i}", html_page(PAGE)) for i in range(3)]
            urls += [server.url("/p0", host="localhost"), "http://127.0.0.3:9/"]
            await asyncio.gather(*(fetcher.fetch(url) for url in urls))
            return len(fetcher._hosts)
    assert run(go()) == 0


def test_fetch_never_raises_on_garbage_or_outside_its_context() -> None:
    rejected(fetch("http://exa mple.com:99999/"), Reason.FETCH_FAILED)

    async def unopened() -> FetchedPage | Rejection:
        return await Fetcher(FAST, Metrics()).fetch("http://127.0.0.1:9/")
    assert "async with" in rejected(run(unopened()), Reason.FETCH_FAILED).detail


# --- the SSRF guard --------------------------------------------------------------------------

def test_loopback_literal_is_blocked_without_a_request(server: LoopbackServer,
                                                       connects: list[tuple[str, int]]) -> None:
    server.route("/", html_page(PAGE))
    metrics = Metrics()
    rejected(fetch(server.url("/"), GUARDED, metrics), Reason.FETCH_BLOCKED)
    assert server.seen == [] and connects == []
    assert metrics.fetches.labels("blocked")._value.get() == 1


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://2130706433/", "http://0x7f.1/",
    "http://017700000001/", "http://127.1/",
    "http://10.0.0.1/", "http://0.0.0.0/", "http://224.0.0.1/",
    "file:///etc/passwd", "ftp://example.com/", "gopher://example.com/", "javascript:alert(1)",
])
def test_private_addresses_and_other_schemes_are_blocked(url: str,
                                                         connects: list[tuple[str, int]]) -> None:
    rejected(fetch(url, GUARDED), Reason.FETCH_BLOCKED)
    assert connects == []


def test_a_dotted_octal_address_is_refused_without_a_connection(
        connects: list[tuple[str, int]]) -> None:
    # httpx itself rejects this form as an invalid URL, so it fails before any lookup.
    rejected(fetch("http://0177.0.0.1/", GUARDED), Reason.FETCH_FAILED)
    assert connects == []


def test_a_name_resolving_to_loopback_is_blocked(server: LoopbackServer,
                                                 connects: list[tuple[str, int]]) -> None:
    url = server.route("/", html_page(PAGE)).replace("127.0.0.1", "localhost")
    assert "localhost" in rejected(fetch(url, GUARDED), Reason.FETCH_BLOCKED).detail
    assert server.seen == [] and connects == []


def test_other_schemes_stay_blocked_with_private_networks_allowed() -> None:
    rejected(fetch("file:///etc/passwd", FAST), Reason.FETCH_BLOCKED)


def _treat_127_0_0_2_as_public(address: IPAddress) -> bool:
    return address == ipaddress.ip_address("127.0.0.2") or is_public_address(address)


def test_a_redirect_to_a_private_address_is_blocked(server: LoopbackServer,
                                                    connects: list[tuple[str, int]]) -> None:
    private = server.route("/secret", html_page("internal"))
    with serving("127.0.0.2") as public:
        allowed = public.route("/article", html_page(PAGE))
        assert fetch(allowed, GUARDED, address_policy=_treat_127_0_0_2_as_public) == \
            FetchedPage(allowed, PAGE)
        start = public.route("/go", redirect(private))
        result = fetch(start, GUARDED, address_policy=_treat_127_0_0_2_as_public)
        rejected(result, Reason.FETCH_BLOCKED)
        assert public.seen == ["/article", "/go"]
    assert server.seen == []
    assert {host for host, _ in connects} == {"127.0.0.2"}


def test_the_connection_goes_to_the_address_that_was_checked(
        monkeypatch: pytest.MonkeyPatch, connects: list[tuple[str, int]]) -> None:
    """DNS rebinding: a second lookup would answer 127.0.0.1, but there is no second lookup."""
    answers = ["127.0.0.2", "127.0.0.1"]
    lookups: list[str] = []

    async def rebinding(self: asyncio.AbstractEventLoop, host: str, port: int,
                        **kwargs: Any) -> list[Any]:
        lookups.append(host)
        address = answers[min(len(lookups), len(answers)) - 1]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", rebinding)
    with serving("127.0.0.2") as public:
        public.route("/", html_page(PAGE))
        url = public.url("/", host="news.example")
        assert fetch(url, GUARDED, address_policy=_treat_127_0_0_2_as_public) == \
            FetchedPage(url, PAGE)
        assert public.headers[0]["host"] == f"news.example:{public.port}"
    assert lookups == ["news.example"] and connects == [("127.0.0.2", public.port)]


@pytest.fixture
def certificate(tmp_path: Path) -> Path:
    """A self-signed certificate (and key) for news.example, in one PEM file."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    pem = tmp_path / "news.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                    "/CN=news.example", "-addext", "subjectAltName=DNS:news.example",
                    "-keyout", str(pem), "-out", str(tmp_path / "cert.pem")],
                   check=True, capture_output=True, timeout=30)
    pem.write_text(pem.read_text() + (tmp_path / "cert.pem").read_text())
    return pem


def test_https_to_the_checked_address_keeps_sni_and_verifies_the_name(
        monkeypatch: pytest.MonkeyPatch, connects: list[tuple[str, int]],
        certificate: Path) -> None:
    names: list[str | None] = []
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(certificate)

    def record(_socket: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
        names.append(name)

    server_side.sni_callback = record

    async def resolve(self: asyncio.AbstractEventLoop, host: str, port: int,
                      **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", port))]

    monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", resolve)
    with serving("127.0.0.2", tls=server_side) as public:
        public.route("/", html_page(PAGE))
        url = public.url("/", host="news.example")
        trusted = ssl.create_default_context(cafile=str(certificate))
        page = fetch(url, GUARDED, address_policy=_treat_127_0_0_2_as_public,
                     ssl_context=trusted)
        assert page == FetchedPage(url, PAGE)
        untrusted = fetch(url, GUARDED, address_policy=_treat_127_0_0_2_as_public)
        assert "CERTIFICATE_VERIFY_FAILED" in rejected(untrusted, Reason.FETCH_FAILED).detail
        assert public.seen == ["/"]
    assert names == ["news.example", "news.example"]
    # One connection per fetch: a certificate failure is final, not retried.
    assert connects == [("127.0.0.2", public.port)] * 2


def test_a_redirect_to_another_scheme_is_blocked(server: LoopbackServer) -> None:
    url = server.route("/go", redirect("file:///etc/passwd"))
    assert "file" in rejected(fetch(url), Reason.FETCH_BLOCKED).detail


@pytest.mark.parametrize(("address", "public"), [
    ("93.184.216.34", True), ("2606:2800:220:1:248:1893:25c8:1946", True),
    ("127.0.0.1", False), ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.1.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False),
    ("224.0.0.251", False), ("240.0.0.1", False), ("255.255.255.255", False), ("::1", False),
    ("::", False), ("fe80::1", False), ("fc00::1", False), ("ff02::1", False),
    ("::ffff:10.0.0.1", False), ("2002:7f00:1::", False), ("2002:5db8:d822::", True),
])
def test_address_policy(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


# --- pure helpers ----------------------------------------------------------------------------

def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after("7") == 7.0
    assert retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30.0
    assert retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0.0
    assert retry_after("soon") is None and retry_after(None) is None


def test_content_type_parsing() -> None:
    assert parse_content_type('Text/HTML; Charset="UTF-8"') == ("text/html", "UTF-8")
    assert parse_content_type("application/xhtml+xml") == ("application/xhtml+xml", None)
    assert parse_content_type("") == ("", None)


@pytest.mark.parametrize(("body", "header", "expected"), [
    ("<meta charset='windows-1251'><p>Привет</p>".encode("cp1251"), None, "Привет"),
    ('<meta http-equiv="Content-Type" content="text/html; charset=koi8-r"><p>Привет</p>'
     .encode("koi8_r"), None, "Привет"),
    ("<p>Привет</p>".encode("cp1251"), "windows-1251", "Привет"),
    ("<p>It\u2019s café</p>".encode("cp1252"), "iso-8859-1", "It\u2019s café"),
    ("<p>It\u2019s</p>".encode("cp1252"), "us-ascii", "It\u2019s"),
    ("<meta charset=utf-16><p>naïve</p>".encode(), None, "naïve"),
    ("<p>Привет</p>".encode("utf-16-le"), "utf-16le", "Привет"),
    ("<meta charset=cp1251><p>Привет</p>".encode("cp1251"), "no-such-charset", "Привет"),
    ("<meta charset=cp1251><p>Привет</p>".encode("cp1251"), "base64", "Привет"),
    (b"\xef\xbb\xbf<p>caf\xc3\xa9</p>", "windows-1252", "café"),
    ("<p>naïve — ok</p>".encode(), None, "naïve — ok"),
])
def test_decode_html(body: bytes, header: str | None, expected: str) -> None:
    assert expected in decode_html(body, header)


# --- decompression bombs ---------------------------------------------------------------------

_BOMB_PROBE = """
import asyncio, json, resource, sys
from service.config import FetchConfig
from service.edges.fetch import Fetcher, FetchedPage
from service.metrics import Metrics

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

async def main(warm, bombs):
    config = FetchConfig(allow_private_networks=True, concurrency=32, total_timeout_s=60)
    async with Fetcher(config, Metrics()) as fetcher:
        assert isinstance(await fetcher.fetch(warm), FetchedPage)
        baseline = peak_mb()
        results = await asyncio.gather(*(fetcher.fetch(url) for url in bombs))
    print(json.dumps({"baseline_mb": baseline, "peak_mb": peak_mb(),
                      "reasons": [str(getattr(r, "reason", "ok")) for r in results],
                      "details": [getattr(r, "detail", "") for r in results]}))

asyncio.run(main(sys.argv[1], sys.argv[2:]))
"""


def test_decompression_bombs_end_as_too_large_within_100_mb_of_resident_memory(
        server: LoopbackServer) -> None:
    """Bombs of 256 MiB of zeros, gzipped once, twice, three times, five times and as deflate,
    fetched at once by a fresh process with the default fetch.max_bytes: each ends as
    too_large and the process's peak resident memory stays within 100 MB of its baseline."""
    import json
    import sys
    import zlib

    from tests.conftest import REPO
    from tests.fetch_server import gzip_bomb

    inner = gzip_bomb(256 << 20)
    bodies = {"gzip": inner, "gzip, gzip": gzip.compress(inner),
              "gzip, gzip, gzip": gzip.compress(gzip.compress(inner)),
              "gzip, gzip, gzip, gzip, gzip": gzip.compress(gzip.compress(gzip.compress(
                  gzip.compress(inner)))),
              "deflate": zlib.compress(bytes(64 << 20), 9)}
    html = (("Content-Type", "text/html"),)
    bombs = [server.route(f"/bomb{index}", Reply(body=body, headers=(
        *html, ("Content-Encoding", coding)))) for index, (coding, body) in enumerate(
            bodies.items())]
    warm = server.route("/warm", Reply(body=gzip.compress(PAGE.encode()),
                                       headers=(*html, ("Content-Encoding", "gzip"))))
    done = subprocess.run([sys.executable, "-c", _BOMB_PROBE, warm, *bombs], cwd=REPO,
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    report = json.loads(done.stdout)
    assert report["reasons"] == ["too_large"] * len(bombs), report["details"]
    print(f"bombs: peak RSS +{report['peak_mb'] - report['baseline_mb']:.1f} MB over baseline")
    assert report["peak_mb"] - report["baseline_mb"] <= 100, report


def test_an_unknown_content_encoding_fails_without_decoding(server: LoopbackServer) -> None:
    url = server.route("/zstd", Reply(body=b"\x28\xb5\x2f\xfd" + bytes(100), headers=(
        ("Content-Type", "text/html"), ("Content-Encoding", "zstd"))))
    assert "unsupported Content-Encoding 'zstd'" in rejected(fetch(url),
                                                            Reason.FETCH_FAILED).detail


def test_a_gzipped_page_is_decoded_and_accept_encoding_names_only_what_is_decoded(
        server: LoopbackServer) -> None:
    url = server.route("/gz", Reply(body=gzip.compress(gzip.compress(PAGE.encode())), headers=(
        ("Content-Type", "text/html"), ("Content-Encoding", "gzip, gzip"))))
    page = fetch(url)
    assert isinstance(page, FetchedPage) and page.html == PAGE
    assert server.headers[-1]["accept-encoding"] == "gzip, deflate"
