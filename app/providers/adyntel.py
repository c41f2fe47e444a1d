"""Adyntel: the ads a company runs on LinkedIn, Meta and Google, by domain (docs/providers.md §9).

`POST /linkedin`, `POST /facebook` and `POST /google`, each with the auth in the JSON body
(`api_key` and the account `email`) and the bare `company_domain` [§9]. Only the first page is
read. Meta answers 204 with no body when it has nothing [§9.2]; for the rest the error and
"no ads" conventions are UNCONFIRMED and follow the adapter rule of §9.4.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, SecretStr

from app.contracts.entities import CompanyInput
from app.providers._fields import as_dict as _dict
from app.providers.base import (
    UNKNOWN_PRICE,
    Action,
    ActionContext,
    ActionResult,
    AttemptStatus,
    ProviderOptions,
    failed,
    found,
    not_found,
)

NAME = "adyntel"
BASE_URL = "https://api.adyntel.com"
# no latency is published; Meta first scrapes the company's site for its Facebook page [§9.2]
TIMEOUT_SECONDS = 45.0


class AdyntelOptions(ProviderOptions):
    """DATA_ENGINE_ADYNTEL_<FIELD>."""

    email: SecretStr | None = None
    """The account email: half of the credentials, sent beside the key [§9]."""


OPTIONS = AdyntelOptions
Context = ActionContext[AdyntelOptions]


def _str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _lower(value: Any) -> str | None:
    text = _str(value)
    return text.lower() if text else None


def _unix_date(value: Any) -> str | None:
    """`YYYY-MM-DD` (UTC) from Meta's unix seconds; 0 or absent means no date [§9.2]."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, UTC).date().isoformat()
    return None


def _linkedin_ad(ad: dict[str, Any]) -> dict[str, Any]:
    # §9.1 [A2]: `type` is the media type ("image"), `creative_type` LinkedIn's format code
    # (SPONSORED_VIDEO…); `view_details_link` is the ad's page in LinkedIn's ad library
    return {
        "ad_id": _str(ad.get("ad_id")),
        "platform": "linkedin",
        "format": _lower(ad.get("type")) or _lower(ad.get("creative_type")),
        "headline": _str(_dict(ad.get("headline")).get("title")),
        "text": _str(_dict(ad.get("commentary")).get("text")),
        # UNCONFIRMED: that the commentary's optional link is the ad's landing page
        "landing_url": _str(_dict(ad.get("commentary")).get("link")),
        "preview_url": _str(ad.get("view_details_link")),
    }


def _meta_ad(ad: dict[str, Any]) -> dict[str, Any]:
    snapshot = _dict(ad.get("snapshot"))
    body = _dict(snapshot.get("body"))
    # §9.2: the ad text is `snapshot.body.text` in the vendor's own fixture (A7); the docs page
    # shows `snapshot.body` only as `{"markup": {"__html": …}}` (A1), read when there is no text.
    # `display_format` is likewise shown by example only ("dco")
    return {
        "ad_id": _str(ad.get("adArchiveID")),
        "platform": "meta",
        "format": _lower(snapshot.get("display_format")),
        "text": _str(body.get("text")) or _str(_dict(body.get("markup")).get("__html")),
        "landing_url": _str(snapshot.get("link_url")),
        "first_seen": _unix_date(ad.get("startDate")),
        "last_seen": _unix_date(ad.get("endDate")),
        "is_active": ad.get("isActive") if isinstance(ad.get("isActive"), bool) else None,
    }


def _google_ad(ad: dict[str, Any]) -> dict[str, Any]:
    # §9.3 [A3]: `original_url` is the creative's page in the Google Ads Transparency Center (not
    # the advertiser's landing page); `start` and `last_seen` are already YYYY-MM-DD
    return {
        "ad_id": _str(ad.get("creative_id")),
        "platform": "google",
        "format": _lower(ad.get("format")),
        "preview_url": _str(ad.get("original_url")),
        "first_seen": _str(ad.get("start")),
        "last_seen": _str(ad.get("last_seen")),
    }


def _meta_items(body: dict[str, Any]) -> Any:
    """§9.2: `results` is an array of arrays of ads; flattened (a bare ad is taken as is)."""
    results = body.get("results")
    if not isinstance(results, list):
        return results
    flat: list[Any] = []
    for group in results:
        flat.extend(group if isinstance(group, list) else [group])
    return flat


def _linkedin_page(body: dict[str, Any], ads: list[dict[str, Any]]) -> dict[str, Any]:
    # the LinkedIn request documents no page field (UNCONFIRMED, §9.1): the token is reported, not used
    token = None if body.get("is_last_page") is True else _str(body.get("continuation_token"))
    return {"linkedin_ads": {"ads": ads, "total_ads": _int(body.get("total_ads")), "next_cursor": token}}


def _meta_page(body: dict[str, Any], ads: list[dict[str, Any]]) -> dict[str, Any]:
    # `number_of_ads` is the total the search matched, not this page's count: the vendor's fixture
    # (A7) answers 669 with a continuation token and `is_result_complete: false` [§9.2]
    return {
        "meta_ads": {
            "ads": ads,
            "total_ads": _int(body.get("number_of_ads")),
            "next_cursor": _str(body.get("continuation_token")),
        }
    }


def _google_page(body: dict[str, Any], ads: list[dict[str, Any]]) -> dict[str, Any]:
    # Google reports no total [§9.3]
    return {"google_ads": {"ads": ads, "total_ads": None, "next_cursor": _str(body.get("continuation_token"))}}


def _error_code(message: str) -> str:
    """Error bodies are undocumented (§9.4, UNCONFIRMED): classify by their words, keep the text."""
    text = message.lower()
    if "credit" in text:
        return "insufficient_credits"
    if "credential" in text or "api key" in text or "api_key" in text or "unauthori" in text:
        return "auth_error"
    return "error"


async def _search(
    path: str,
    data: BaseModel,
    ctx: Context,
    *,
    items: Callable[[dict[str, Any]], Any],
    to_ad: Callable[[dict[str, Any]], dict[str, Any]],
    page: Callable[[dict[str, Any], list[dict[str, Any]]], dict[str, Any]],
) -> ActionResult:
    email = ctx.options.email.get_secret_value() if ctx.options.email is not None else ""
    if not email:
        # the account email is half of the credentials [§9]
        return ActionResult(status=AttemptStatus.skipped, skip_reason="not_configured:adyntel_email")
    assert isinstance(data, CompanyInput)
    # best_domain is bare (no scheme, no www, no path), as Adyntel requires [§9]
    body = {"api_key": ctx.client.api_key, "email": email, "company_domain": data.best_domain}
    response = await ctx.request("POST", path, json_body=body)
    status = response.status_code
    if status == 204:
        # §9.2: the site did not load, has no Facebook link, or the page is not public; not charged
        answer = not_found(http_status=status, provider_status=None, raw=None)
        answer.cost_credits = Decimal(0)
        return answer
    payload: Any = response.json(NAME)
    if payload is None:
        return not_found(http_status=status, provider_status=None, raw=payload)
    if not isinstance(payload, dict):
        return failed("unexpected response shape", http_status=status, provider_status=None, raw=payload)
    raw_items = items(payload)
    if not raw_items:
        # §9.4 adapter rule: an error or message with no ads is a failure; an empty answer
        # (including `{}`, seen by a third party for Meta) is not_found
        message = payload.get("error") or payload.get("message")
        if message:
            return failed(str(message), http_status=status, provider_status=_error_code(str(message)), raw=payload)
        return not_found(http_status=status, provider_status=None, raw=payload)
    if not isinstance(raw_items, list) or not all(isinstance(i, dict) for i in raw_items):
        return failed("unexpected ads shape", http_status=status, provider_status=None, raw=payload)
    ads = [to_ad(item) for item in raw_items]
    return found(page(payload, ads), http_status=status, provider_status=None, raw=payload)


async def search_linkedin_ads(data: BaseModel, ctx: Context) -> ActionResult:
    return await _search("/linkedin", data, ctx, items=lambda b: b.get("ads"), to_ad=_linkedin_ad, page=_linkedin_page)


async def search_meta_ads(data: BaseModel, ctx: Context) -> ActionResult:
    return await _search("/facebook", data, ctx, items=_meta_items, to_ad=_meta_ad, page=_meta_page)


async def search_google_ads(data: BaseModel, ctx: Context) -> ActionResult:
    return await _search("/google", data, ctx, items=lambda b: b.get("ads"), to_ad=_google_ad, page=_google_page)


# Only "204 is not charged" is documented by the vendor [§9.2, A1]; 1 credit per page is a third
# party's word [§9.4, A4]: otherwise unknown. `_search` records the free 204.
PRICES = {
    "company.ads.search.linkedin": UNKNOWN_PRICE,
    "company.ads.search.meta": UNKNOWN_PRICE,
    "company.ads.search.google": UNKNOWN_PRICE,
}


ACTIONS = {
    "company.ads.search.linkedin": Action(provider=NAME, name="search_linkedin_ads", run=search_linkedin_ads),
    "company.ads.search.meta": Action(provider=NAME, name="search_meta_ads", run=search_meta_ads),
    "company.ads.search.google": Action(provider=NAME, name="search_google_ads", run=search_google_ads),
}
