"""What the resolution actions share (company.resolve.*, docs/decisions/0065).

- A search provider's answer to "which company is called X" is accepted only when a result's name
  is X once legal suffixes, case and punctuation are set aside: the first result of a fuzzy search
  is often another company with a similar name, and a wrong domain poisons every later step.
- A research model's website is accepted only when its host is not a directory or social site and
  its domain resolves in DNS to a public address. Nothing is fetched over HTTP: the API never
  connects to a URL a model chose (no SSRF surface); DNS answers whether the domain is live.
"""

import asyncio
import ipaddress
import re
import socket
from collections.abc import Iterable
from typing import Any

from app.contracts.normalize import normalize_domain

LEGAL_SUFFIXES = frozenset(
    {
        "inc",
        "incorporated",
        "llc",
        "ltd",
        "limited",
        "corp",
        "corporation",
        "co",
        "company",
        "gmbh",
        "ag",
        "sa",
        "sas",
        "sarl",
        "bv",
        "nv",
        "plc",
        "pty",
        "srl",
        "spa",
        "oy",
        "ab",
        "as",
        "kg",
        "lp",
        "llp",
    }
)
_WORD = re.compile(r"[a-z0-9]+")

# Sites that describe companies rather than being one: a model answering with one of them has not
# found the company's own website.
DIRECTORY_HOSTS = frozenset(
    {
        "linkedin.com",
        "facebook.com",
        "instagram.com",
        "twitter.com",
        "x.com",
        "youtube.com",
        "wikipedia.org",
        "crunchbase.com",
        "g2.com",
        "capterra.com",
        "glassdoor.com",
        "indeed.com",
        "zoominfo.com",
        "bloomberg.com",
        "pitchbook.com",
        "dnb.com",
        "owler.com",
        "apollo.io",
        "yelp.com",
        "medium.com",
        "github.com",
    }
)
DNS_TIMEOUT_SECONDS = 5.0


def name_key(name: str | None) -> str:
    """`Acme, Inc.` → `acme`; `The Acme Corporation` → `the acme`."""
    words = _WORD.findall((name or "").casefold())
    while words and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)


def same_name(a: str | None, b: str | None) -> bool:
    key = name_key(a)
    return bool(key) and key == name_key(b)


def first_exact(name: str, candidates: Iterable[tuple[str | None, Any]]) -> Any:
    """The value of the first (candidate name, value) whose name is `name`; None when none is."""
    return next((value for candidate, value in candidates if same_name(name, candidate)), None)


def is_directory(domain: str) -> bool:
    return any(domain == host or domain.endswith("." + host) for host in DIRECTORY_HOSTS)


def website_domain(url: str, _unused: str = "") -> str | None:
    """The registrable host of a website URL the model gave, or None when it is no company website."""
    if "://" in url and not url.lower().startswith(("http://", "https://")):
        return None
    domain = normalize_domain(url)
    if domain is None or is_directory(domain):
        return None
    return domain


async def domain_resolves(domain: str) -> bool:
    """The domain has an A/AAAA record with at least one public address."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(domain, 443, type=socket.SOCK_STREAM), timeout=DNS_TIMEOUT_SECONDS
        )
    except (OSError, TimeoutError, UnicodeError):
        return False
    for info in infos:
        try:
            if ipaddress.ip_address(info[4][0]).is_global:
                return True
        except ValueError:
            continue
    return False
