"""Downloads the pages of URL-only messages: bounded, polite, retried, and guarded against SSRF.

One shared ``httpx.AsyncClient`` (pooled, HTTP/2 where offered) whose transport connects only to
addresses the SSRF guard checked (``netguard``). Redirects are followed by hand so every hop's
scheme is checked too. ``fetch`` never raises: every failure becomes a ``Rejection``.
"""

from __future__ import annotations

import asyncio
import codecs
import email.utils
import random
import re
import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

import charset_normalizer
import httpcore
import httpx

from service.config import FetchConfig
from service.edges.decompress import (
    ACCEPTED,
    BoundedDecoder,
    CorruptEncoding,
    EncodingRefused,
    OverLimit,
)
from service.edges.netguard import (
    AddressPolicy,
    Blocked,
    Guard,
    GuardedBackend,
    ResolveError,
    check_scheme,
    is_public_address,
)
from service.metrics import Metrics
from service.records import Reason, Rejection

STAGE = "fetch"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
META_SCAN_BYTES = 4096
DETECT_BYTES = 65536
_META_CHARSET = re.compile(rb"<meta[^>]*?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.IGNORECASE)
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b",
                         re.IGNORECASE | re.DOTALL)
# WHATWG Encoding: on the web these labels mean windows-1252 (Python's names for them).
_MEANS_WINDOWS_1252 = frozenset({"iso8859-1", "ascii"})


@dataclass(frozen=True)
class FetchedPage:
    final_url: str
    html: str


class _Failed(Exception):
    """A final, non-retryable failure; the message is the dead letter's detail."""


class _TooLarge(Exception):
    """The body is over ``max_bytes``: a distinct dead-letter reason, never retried."""


class _Retryable(Exception):
    """A failure worth another try; ``wait`` is the server's Retry-After when it sent one."""

    def __init__(self, detail: str, wait: float | None = None) -> None:
        super().__init__(detail)
        self.wait = wait


class _HostSlots:
    """Per-host semaphores; an entry lives only while a fetch holds or awaits it, so the dict
    never grows beyond the number of fetches in flight."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._slots: dict[str, tuple[asyncio.Semaphore, int]] = {}

    def __len__(self) -> int:
        return len(self._slots)

    @asynccontextmanager
    async def hold(self, host: str) -> AsyncIterator[None]:
        semaphore, users = self._slots.get(host, (asyncio.Semaphore(self._limit), 0))
        self._slots[host] = (semaphore, users + 1)
        try:
            async with semaphore:
                yield
        finally:
            semaphore, users = self._slots[host]
            if users == 1:
                del self._slots[host]
            else:
                self._slots[host] = (semaphore, users - 1)


class Fetcher:
    """Fetches pages for the pipeline; use as ``async with fetcher: await fetcher.fetch(url)``.

    ``address_policy`` decides which resolved addresses count as public (tests inject one);
    ``allow_private_networks`` in the config switches the address check off entirely.
    ``ssl_context`` replaces the default trust store (certifi), e.g. for an internal CA.
    """

    def __init__(self, config: FetchConfig, metrics: Metrics,
                 address_policy: AddressPolicy = is_public_address,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self._config = config
        self._ssl_context = ssl_context
        self._metrics = metrics
        self._guard = Guard(config.allow_private_networks, address_policy)
        self._global = asyncio.Semaphore(config.concurrency)
        self._hosts = _HostSlots(config.per_host)
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Fetcher:
        config = self._config
        limits = httpx.Limits(max_connections=config.concurrency,
                              max_keepalive_connections=config.concurrency)
        transport = httpx.AsyncHTTPTransport(http2=True, limits=limits, trust_env=False)
        # The stock pool resolves names itself; swap in one whose backend goes through the guard.
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=self._ssl_context or httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            http1=True, http2=True, network_backend=GuardedBackend(self._guard))
        self._client = httpx.AsyncClient(
            transport=transport, follow_redirects=False, trust_env=False,
            headers={"User-Agent": config.user_agent, "Accept-Encoding": ACCEPTED,
                     "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"},
            timeout=httpx.Timeout(connect=config.connect_timeout_s, read=config.read_timeout_s,
                                  write=config.read_timeout_s, pool=config.total_timeout_s))
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def fetch(self, url: str) -> FetchedPage | Rejection:
        """The page at ``url`` (after redirects) or why not; never raises."""
        started = time.monotonic()
        result = await self._fetch_or_reject(url)
        self._metrics.fetch_seconds.observe(time.monotonic() - started)
        self._metrics.fetches.labels(_outcome(result)).inc()
        return result

    async def _fetch_or_reject(self, url: str) -> FetchedPage | Rejection:
        budget = _Budget(self._config.retries)
        try:
            target = httpx.URL(url)
            check_scheme(target)
            # One deadline for everything: waiting for a slot, connecting, reading, retrying.
            async with asyncio.timeout(self._config.total_timeout_s) as scope:
                budget.deadline = scope.when() or 0.0
                budget.last = f"waiting for a connection slot for {target.host}"
                async with self._hosts.hold(target.host), self._global:
                    budget.last = ""
                    return await self._follow(target, budget)
        except Blocked as exc:
            return Rejection(Reason.FETCH_BLOCKED, _one_line(str(exc)), STAGE)
        except _TooLarge as exc:
            return Rejection(Reason.TOO_LARGE, _one_line(str(exc)), STAGE)
        except _Failed as exc:
            return Rejection(Reason.FETCH_FAILED, _one_line(str(exc)), STAGE)
        except TimeoutError:
            last = f" (last: {budget.last})" if budget.last else ""
            detail = f"timed out after {self._config.total_timeout_s:g}s in total{last}"
            return Rejection(Reason.FETCH_FAILED, _one_line(detail), STAGE)
        except Exception as exc:  # anything else is a failed fetch, never a crash
            return Rejection(Reason.FETCH_FAILED, _one_line(f"{type(exc).__name__}: {exc}"), STAGE)

    async def _follow(self, url: httpx.URL, budget: _Budget) -> FetchedPage:
        """Follows redirects by hand, checking each hop's scheme (its addresses are checked on
        connect); all hops share one retry budget."""
        hops = 0
        while True:
            outcome = await self._with_retries(url, budget)
            if isinstance(outcome, FetchedPage):
                return outcome
            hops += 1
            if hops > self._config.max_redirects:
                raise _Failed(f"more than {self._config.max_redirects} redirects (last {url})")
            check_scheme(outcome)
            url = outcome

    async def _with_retries(self, url: httpx.URL, budget: _Budget) -> FetchedPage | httpx.URL:
        while True:
            try:
                return await self._once(url)
            except _Retryable as exc:
                budget.last = str(exc)
                if budget.left <= 0:
                    raise _Failed(f"{exc} (after {budget.used} retries)") from exc
                delay = self._delay(exc, budget.used)
                if asyncio.get_running_loop().time() + delay >= budget.deadline:
                    raise _Failed(f"{exc}; no time left to retry") from exc
                await asyncio.sleep(delay)
                budget.left -= 1
                budget.used += 1

    def _delay(self, error: _Retryable, attempt: int) -> float:
        """Exponential backoff with full jitter, or the server's Retry-After when it sent one."""
        config = self._config
        if error.wait is not None:
            if error.wait > config.retry_after_cap_s:
                raise _Failed(f"{error}; Retry-After {error.wait:g}s exceeds the "
                              f"{config.retry_after_cap_s:g}s cap")
            return error.wait
        return random.uniform(0, min(config.backoff_max_s, config.backoff_base_s * 2 ** attempt))

    async def _once(self, url: httpx.URL) -> FetchedPage | httpx.URL:
        """One request: the page, the next hop's URL, or an exception saying what went wrong."""
        if self._client is None:
            raise _Failed("fetcher used outside 'async with'")
        try:
            async with self._client.stream("GET", url) as response:
                return await self._read(response)
        except ResolveError as exc:
            if exc.transient:
                raise _Retryable(str(exc)) from exc
            raise _Failed(str(exc)) from exc
        except httpx.TimeoutException as exc:
            raise _Retryable(f"{type(exc).__name__} fetching {url}") from exc
        except httpx.TransportError as exc:
            if _caused_by(exc, ssl.SSLCertVerificationError):
                raise _Failed(f"{type(exc).__name__}: {exc}") from exc
            raise _Retryable(f"{type(exc).__name__}: {exc}") from exc

    async def _read(self, response: httpx.Response) -> FetchedPage | httpx.URL:
        status = response.status_code
        if status in REDIRECT_STATUSES:
            location = response.headers.get("location")
            if not location:
                raise _Failed(f"HTTP {status} redirect without Location")
            return response.url.join(location)
        if status == 429 or status >= 500:
            raise _Retryable(f"HTTP {status} from {response.url}",
                             retry_after(response.headers.get("retry-after")))
        if not 200 <= status < 300:
            raise _Failed(f"HTTP {status} from {response.url}")
        content_type = response.headers.get("content-type", "")
        mime, charset = parse_content_type(content_type)
        if mime and mime not in HTML_TYPES:
            raise _Failed(f"unsupported content type {mime}")
        body = await self._body(response)
        if not mime and not _HTML_START.match(body[:META_SCAN_BYTES]):
            raise _Failed("no content type and the body does not look like HTML")
        return FetchedPage(str(response.url), decode_html(body, charset))

    async def _body(self, response: httpx.Response) -> bytes:
        """The decoded body, refused as soon as what was received, or any decoding layer's
        output, passes ``max_bytes`` (the raw stream is decoded here, not by httpx, which
        bounds no layer: see ``decompress``)."""
        limit = self._config.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _TooLarge(f"Content-Length {declared} exceeds {limit} bytes")
        try:
            decoder = BoundedDecoder(response.headers.get("content-encoding", ""), limit)
            pieces: list[bytes] = []
            received = 0
            async for chunk in response.aiter_raw():
                received += len(chunk)
                if received > limit:
                    raise OverLimit(f"body exceeds {limit} bytes")
                pieces.extend(decoder.feed(chunk))
        except (EncodingRefused, CorruptEncoding) as exc:
            raise _Failed(str(exc)) from exc
        except OverLimit as exc:
            raise _TooLarge(str(exc)) from exc
        return b"".join(pieces)


@dataclass
class _Budget:
    """One fetch's retries, the loop time by which it must be done, and its last error."""

    left: int
    deadline: float = 0.0
    used: int = 0
    last: str = ""


def _outcome(result: FetchedPage | Rejection) -> str:
    if isinstance(result, FetchedPage):
        return "ok"
    return {Reason.FETCH_BLOCKED: "blocked", Reason.TOO_LARGE: "too_large"}.get(result.reason,
                                                                                "failed")


def _caused_by(error: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``kind`` is in the chain of causes (httpx wraps httpcore wraps the original)."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, kind):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _one_line(text: str) -> str:
    return " ".join(text.split())[:500]


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or HTTP-date); None if unusable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def parse_content_type(header: str) -> tuple[str, str | None]:
    """``("text/html", "utf-8")`` from ``text/html; charset="UTF-8"``; ("", None) when absent."""
    mime, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip("\"'"):
            charset = value.strip().strip("\"'")
    return mime.strip().lower(), charset


def _codec(label: str | None, in_meta: bool = False) -> str | None:
    """Python's codec for a web charset label, or None when Python does not know it.

    A <meta> tag was read as ASCII bytes, so it cannot truly declare UTF-16 (WHATWG: UTF-8).
    """
    if not label:
        return None
    try:
        name = codecs.lookup(label).name
        "a".encode(name)  # refuses codecs that are not text encodings (base64, rot13, ...)
    except (LookupError, UnicodeError):
        return None
    if name in _MEANS_WINDOWS_1252:
        return "cp1252"
    return "utf-8" if in_meta and name.startswith("utf-16") else name


def decode_html(body: bytes, header_charset: str | None = None) -> str:
    """Text of an HTML body: BOM, then the header charset, then a <meta> charset, then detection."""
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                      (codecs.BOM_UTF16_BE, "utf-16")):
        if body.startswith(bom):
            return body.decode(name, errors="replace")
    declared = _codec(header_charset)
    if declared is None:
        match = _META_CHARSET.search(body[:META_SCAN_BYTES])
        declared = _codec(match.group(1).decode("ascii"), in_meta=True) if match else None
    if declared is not None:
        return body.decode(declared, errors="replace")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(body[:DETECT_BYTES]).best()
    return body.decode(best.encoding if best else "utf-8", errors="replace")
