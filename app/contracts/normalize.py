"""Normalisation of natural keys, shared by adapters, the engine and entity identity."""

import re
from urllib.parse import urlsplit

_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def normalize_domain(value: str | None) -> str | None:
    """`https://www.Acme.com/pricing` → `acme.com`; None when it is not a plausible domain."""
    if not value:
        return None
    text = value.strip().lower()
    if "://" not in text:
        text = "//" + text
    host = (urlsplit(text).hostname or "").strip(".")
    if host.startswith("www."):
        host = host[4:]
    return host if _DOMAIN_RE.match(host) else None


def normalize_linkedin_url(value: str | None) -> str | None:
    """Canonical `https://www.linkedin.com/<in|company|school>/<slug>`; None when not a LinkedIn
    profile URL. A bare slug is not accepted here: adapters that receive slugs build the URL."""
    if not value:
        return None
    text = value.strip()
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    if not (host == "linkedin.com" or host.endswith(".linkedin.com")):
        return None
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) < 2 or segments[0].lower() not in ("in", "company", "school", "showcase"):
        return None
    return f"https://www.linkedin.com/{segments[0].lower()}/{segments[1].lower()}"


def split_full_name(full_name: str | None) -> tuple[str | None, str | None]:
    if not full_name or not full_name.strip():
        return None, None
    parts = full_name.strip().split()
    if len(parts) == 1:
        return parts[0], None
    return " ".join(parts[:-1]), parts[-1]


def normalize_email(value: str | None) -> str | None:
    if not value:
        return None
    text = value.strip().lower()
    return text if re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", text) else None
