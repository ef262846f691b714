"""Addresses and links in drafts: only the customer's and the shop's survive."""

from __future__ import annotations

import re
from collections.abc import Sequence

REMOVED = "[removed]"
EMAIL_RE = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
URL_RE = re.compile(
    r"(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>\"'()\[\]]+"
    # Scheme-less links with a path ("pay.example.net/refund").
    r"|\b(?:[\w-]+\.)+[a-z]{2,}/[^\s<>\"'()\[\]]*",
    re.IGNORECASE,
)


def scrub(
    text: str, *, allowed_emails: Sequence[str], link_domains: Sequence[str] = ()
) -> str:
    """``text`` with every email address not in ``allowed_emails`` and every URL
    not on one of ``link_domains`` (or a subdomain) replaced by ``[removed]``."""
    allowed = {a.strip().lower() for a in allowed_emails if a and a.strip()}
    domains = {d.strip().lower() for d in link_domains if d and d.strip()}

    def url(match: re.Match[str]) -> str:
        rest = re.sub(r"^[a-z]+://", "", match.group(), flags=re.IGNORECASE)
        authority = rest.split("/", 1)[0]
        # "https://shop.test@evil.example" is a link to evil.example.
        host = authority.rsplit("@", 1)[-1].split(":", 1)[0].lower()
        if any(host == d or host.endswith("." + d) for d in domains):
            return match.group()
        return REMOVED

    def address(match: re.Match[str]) -> str:
        return match.group() if match.group().lower() in allowed else REMOVED

    return EMAIL_RE.sub(address, URL_RE.sub(url, text))


def shop_domain(shop_email: str) -> str:
    return shop_email.rsplit("@", 1)[1].strip().lower() if "@" in shop_email else ""
