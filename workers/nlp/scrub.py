"""The one scrubber of drafts: only the customer's and the shop's addresses and
links survive (online and offline drafts, and their translations, alike).

A draft must never send the customer somewhere an injected instruction chose. So
every token that a mail client could turn into a link or an address is judged:

- a token with a scheme (``https://``, ``//``, ``www.``) is parsed as browsers do
  (WHATWG URL, by ada-url): ``https://evil.example\\@shop.test/refund`` is a link
  to ``evil.example`` (a backslash ends the host), ``https://shop.test@evil.example``
  one to ``evil.example`` (the part before ``@`` is userinfo);
- a bare token is a host when its last labels are a public suffix (the public
  suffix list shipped by the ``publicsuffixlist`` package; never fetched) or an
  RFC 6761 special-use name (``.test``, ``.example``, ...), or when it is a dotted
  IPv4 address or a bracketed IPv6 one: ``refunds-portal.com``,
  ``secure-refunds.ru/claim``, ``203.0.113.9/pay``. A dotted host followed by a
  path counts whatever its suffix;
- ``javascript:``, ``data:``, ``vbscript:`` and ``file:`` tokens are removed;
- an address (``local@domain``) survives only when it is one of ``allowed_emails``.

A link survives only when its host is one of ``link_domains`` or a subdomain of
one and it carries no userinfo. Everything else becomes the marker.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

REMOVED = "[removed]"
# Tokens a mail client might linkify: runs without spaces or quoting characters.
_TOKEN = re.compile(
    r"(?:[a-z][a-z0-9+.-]*://)?\[[0-9a-f:.]+\][^\s<>\"'()\[\]{}]*"
    r"|[^\s<>\"'()\[\]{}]+",
    re.IGNORECASE,
)
# Left outside the judged token (sentence punctuation after a link).
_TRAILING = ".,;:!?*"
_SCHEME = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//|^www\.", re.IGNORECASE)
_DANGEROUS = re.compile(r"^(?:javascript|data|vbscript|file):", re.IGNORECASE)
EMAIL_RE = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?(?:[/?#\\].*)?$")
_IPV6 = re.compile(r"^\[[0-9a-f:.]+\](?::\d+)?(?:[/?#\\].*)?$", re.IGNORECASE)
_DOTTED = re.compile(
    r"^(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,}(?::\d+)?", re.UNICODE
)
# RFC 6761/2606 special-use names: not on the public suffix list, still hosts.
SPECIAL_USE = frozenset({"test", "example", "invalid", "localhost", "local", "onion"})


@functools.cache
def _psl() -> object:
    from publicsuffixlist import PublicSuffixList

    # The list bundled with the package: accept_unknown=False, so "file.txt" is
    # not a host; nothing is downloaded.
    return PublicSuffixList(accept_unknown=False)


def _host_of(link: str) -> tuple[str, bool] | None:
    """(host, has userinfo) of ``link`` parsed as a browser would; None when it is
    not a URL at all."""
    from ada_url import URL

    candidate = (
        link
        if re.match(r"^[a-z][a-z0-9+.-]*://", link, re.I)
        else ("http:" + link if link.startswith("//") else "http://" + link)
    )
    try:
        url = URL(candidate)
    except ValueError:
        return None
    return url.hostname.lower().rstrip("."), bool(url.username or url.password)


def _normal_host(domain: str) -> str:
    found = _host_of(domain.strip())
    return found[0] if found else domain.strip().lower()


def is_host(name: str) -> bool:
    """Whether ``name`` (a hostname, ASCII or IDN) ends in a known suffix."""
    name = name.lower().rstrip(".")
    if name.rsplit(".", 1)[-1] in SPECIAL_USE:
        return True
    return "." in name and _psl().publicsuffix(name) is not None  # type: ignore[attr-defined]


def _is_link(token: str) -> bool:
    if _SCHEME.match(token) or _IPV4.match(token) or _IPV6.match(token):
        return True
    dotted = _DOTTED.match(token)
    if not dotted:
        return False
    rest = token[dotted.end() :]
    if rest[:1] in ("/", "\\", "?", "#", "@"):
        return True
    if rest:
        return False
    found = _host_of(token)
    return found is not None and is_host(found[0])


def scrub(
    text: str,
    *,
    allowed_emails: Sequence[str],
    link_domains: Sequence[str] = (),
    removed_address: str = REMOVED,
    removed_link: str = REMOVED,
) -> str:
    """``text`` with every address not in ``allowed_emails`` and every link whose
    host is not one of ``link_domains`` (or a subdomain) replaced by a marker."""
    allowed = {a.strip().lower() for a in allowed_emails if a and a.strip()}
    domains = {_normal_host(d) for d in link_domains if d and d.strip()}

    def address(match: re.Match[str]) -> str:
        return match.group() if match.group().lower() in allowed else removed_address

    def link(token: str) -> str:
        found = _host_of(token)
        if found is None:
            return removed_link
        host, userinfo = found
        if not userinfo and any(host == d or host.endswith("." + d) for d in domains):
            return token
        return removed_link

    def judge(token: str) -> str:
        if _DANGEROUS.match(token):
            return removed_link
        if _SCHEME.match(token):
            return link(token)
        if "@" in token and EMAIL_RE.search(token):
            return EMAIL_RE.sub(address, token)
        return link(token) if _is_link(token) else token

    def replace(match: re.Match[str]) -> str:
        token = match.group()
        core = token.rstrip(_TRAILING)
        if not core:
            return token
        return judge(core) + token[len(core) :]

    return _TOKEN.sub(replace, text)


def has_address_or_link(text: str) -> bool:
    """Whether ``text`` holds any address or link at all."""
    return scrub(text, allowed_emails=()) != text


def shop_domain(shop_email: str) -> str:
    return shop_email.rsplit("@", 1)[1].strip().lower() if "@" in shop_email else ""
