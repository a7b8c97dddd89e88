"""URLs: canonical form, registered domain and the stable id derived from them.

The public-suffix snapshot ships inside ``publicsuffixlist``; nothing is fetched at run time.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

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

_PSL: PublicSuffixList | None = None


def _psl() -> PublicSuffixList:
    """Loaded on first use: parsing the bundled snapshot takes ~50 ms."""
    global _PSL
    if _PSL is None:
        _PSL = PublicSuffixList()
    return _PSL


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_NAMES or lowered.startswith(_TRACKING_PREFIXES)


def clean_url(url: str) -> str:
    """The URL without tracking parameters and fragment, scheme and host lower-cased."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not _is_tracking(k)]
    netloc = parts.netloc.lower()
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", urlencode(query), ""))


def absolute_http_url(candidate: str, base: str) -> str | None:
    """``candidate`` resolved against ``base`` if it is an http(s) URL with a host, else None."""
    try:
        joined = urljoin(base, candidate.strip())
        parts = urlsplit(joined)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return joined


def canonical_url(url: str, declared: str | None) -> str:
    """The page's declared canonical (absolute http/https) else ``url``, both cleaned."""
    if declared:
        resolved = absolute_http_url(declared, url)
        if resolved is not None:
            return clean_url(resolved)
    return clean_url(url)


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
