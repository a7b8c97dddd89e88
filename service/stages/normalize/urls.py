"""URLs: canonical form, registered domain and the stable id derived from them.

The public-suffix snapshot ships inside ``publicsuffixlist``; nothing is fetched at run time.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import string
from functools import lru_cache
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

import idna
from publicsuffixlist import PublicSuffixList

# Parameters that identify a campaign or a click, never the document: dropping them makes the
# same article shared from two places land on one canonical URL (and so one id). Ambiguous
# names that some sites use for the document itself (cid, id, p) are kept.
_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hsa_", "_hs", "vero_", "oly_")
_TRACKING_NAMES = frozenset({
    "fbclid", "gclid", "dclid", "gclsrc", "msclkid", "yclid", "twclid", "igshid", "mkt_tok",
    "_ga", "_gl", "ocid", "cmpid", "ncid", "icid", "spm", "scid", "s_cid", "wt.mc_id",
    "ref_src", "ref_url", "ito", "at_medium", "at_campaign", "smid", "sr_share",
})

_URL_WORD_BREAKS = re.compile(r"[\W_]+")
_ESCAPE = re.compile(r"(%[0-9A-Fa-f]{2})")
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_ASCII_HOST = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters left as written, by component (RFC 3986): reserved ones change meaning when encoded
# or decoded (``/`` against ``%2F``), so only their encoding's case is normalized.
_PATH_SAFE = "/:@!$&'()*+,;="
_QUERY_SAFE = "/?:@!$'()*+,;="  # a query part is split on & and its first =

_PSL: PublicSuffixList | None = None


def _psl() -> PublicSuffixList:
    """Loaded on first use: parsing the bundled snapshot takes ~50 ms."""
    global _PSL
    if _PSL is None:
        _PSL = PublicSuffixList()
    return _PSL


def _is_tracking(name: str) -> bool:
    lowered = unquote(name).lower()
    return lowered in _TRACKING_NAMES or lowered.startswith(_TRACKING_PREFIXES)


@lru_cache(maxsize=256)
def canonicalize(url: str) -> str | None:
    """One spelling per address: scheme and host lower-cased, the host in IDNA (punycode), no
    default port, user info or fragment, dot segments resolved, percent-encoding normalized
    (unreserved characters decoded, other escapes upper-cased, anything else UTF-8 encoded),
    tracking parameters dropped and the query sorted. None when ``url`` is not an absolute
    http(s) URL with a host.

    Memoized for the few articles in flight: decode checks an article's URL with it, and
    normalize reads the same URL's canonical form three times more."""
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        port = parts.port
        host = _ascii_host(parts.hostname or "")
    except ValueError:  # a port out of range, a bad IPv6 literal, a label IDNA refuses
        return None
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = _without_dot_segments(_normalize_escapes(parts.path or "/", _PATH_SAFE))
    return urlunsplit((scheme, netloc, path, _canonical_query(parts.query), ""))


@lru_cache(maxsize=4096)
def _ascii_host(host: str) -> str:
    """The host as DNS sends it: IDNA 2008 with UTS 46 mapping (``Bücher.de`` ->
    ``xn--bcher-kva.de``); IP literals as written (IPv6 in brackets). ValueError when a label
    cannot be encoded."""
    host = host.rstrip(".")
    if not host:
        return ""
    if ":" in host:
        return f"[{ipaddress.IPv6Address(host).compressed}]"
    if host.isascii() and not _ASCII_HOST.fullmatch(host):
        raise ValueError(f"not a host name: {host!r}")
    try:
        if host.isascii():
            if "xn--" in host.lower():
                idna.decode(host)  # a punycode label must decode
            return host.lower()
        return idna.encode(host, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as error:
        raise ValueError(str(error)) from error


def _without_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4: ``/a/./b/../c`` -> ``/a/c``."""
    if "." not in path:
        return path
    kept: list[str] = []
    segments = path.split("/")
    for segment in segments[1:]:
        if segment == "..":
            if kept:
                kept.pop()
        elif segment != ".":
            kept.append(segment)
    last = segments[-1]
    return "/" + "/".join(kept) + ("/" if last in (".", "..") and kept else "")


def _normalize_escapes(part: str, safe: str) -> str:
    pieces = []
    for piece in _ESCAPE.split(part):
        if _ESCAPE.fullmatch(piece):
            char = chr(int(piece[1:], 16))
            pieces.append(char if char in _UNRESERVED else piece.upper())
        elif piece:
            pieces.append(quote(piece, safe=safe))
    return "".join(pieces)


def _canonical_query(query: str) -> str:
    """Parameters sorted (a stable sort by name, then value), tracking ones and empty pieces
    dropped, each name and value with its encoding normalized but never decoded to ``&``/``=``."""
    params = []
    for piece in query.split("&"):
        if not piece:
            continue
        name, equals, value = piece.partition("=")
        if _is_tracking(name):
            continue
        params.append(_normalize_escapes(name, _QUERY_SAFE) + equals
                      + _normalize_escapes(value, _QUERY_SAFE + "="))
    return "&".join(sorted(params))


def canonical_url(url: str, declared: str | None) -> str:
    """The page's declared canonical (``<link rel=canonical>`` or ``og:url``: absolute, or
    resolved against ``url`` when it starts with ``/``) when it is on the same registered domain,
    else ``url``; canonicalized. ``url`` must
    be an absolute http(s) URL (decode refuses others)."""
    own = canonicalize(url) or url
    declared = (declared or "").strip()
    if declared.startswith("/") or "://" in declared:  # a bare word or phrase is a page's slip
        resolved = canonicalize(urljoin(own, declared))
        if resolved is not None and registered_domain(resolved) == registered_domain(own):
            return resolved
    return own


def registered_domain(url: str) -> str:
    """``www.bbc.co.uk`` -> ``bbc.co.uk``; IP literals and unknown hosts come back as the host."""
    try:
        host = (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return ""
    return _host_domain(host) if host else ""


@lru_cache(maxsize=4096)
def _host_domain(host: str) -> str:
    """``registered_domain`` of a host, memoized by host (each article has its own URL, but an
    outlet's articles share the host)."""
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    domain = _psl().privatesuffix(host)
    return domain if isinstance(domain, str) else host


def derived_id(canonical: str) -> str:
    """A stable 20-hex-character id: the same canonical URL always gives the same id."""
    return hashlib.blake2b(canonical.encode("utf-8"), digest_size=10).hexdigest()


def url_words(url: str) -> str:
    """The words of the URL path ("/2018/05/lavrov-meets-kim" -> "2018 05 lavrov meets kim"):
    most news URLs carry the headline, a topic anchor when the text has no title."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return ""
    return " ".join(part for part in _URL_WORD_BREAKS.split(path) if part)
