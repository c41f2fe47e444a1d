"""Adyntel (docs/providers.md §9, §13.9): LinkedIn, Meta and Google ad libraries.

Auth travels in the JSON body (`api_key` + `email`). `company_domain` must be bare: a scheme,
`www.` or a path is refused with 400 (a sandbox choice that forces adapters to normalise). Meta
answers "nothing" as 204 with an empty body; LinkedIn and Google answer an empty `ads` list. The
error bodies `{"error": "<text>"}` are assumed.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox import ADYNTEL_EMAIL, VALID_KEY, data
from sandbox.providers.base import Endpoint, Provider, empty_response, json_response, read_json, retry_after_header

META_PAGE_SIZE = 30
CREATIVE_TYPES = ("SPONSORED_STATUS_UPDATE", "SPONSORED_VIDEO", "SPONSORED_UPDATE_CAROUSEL")
GOOGLE_FORMATS = ("Text", "Image", "Video")
CTAS = ("Learn more", "Sign up", "Book a demo", "Get started", "Shop now")
DAY = 86400


class Adyntel(Provider):
    name = "adyntel"

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint("POST", "/linkedin", self.linkedin),
            Endpoint("POST", "/facebook", self.facebook),
            Endpoint("POST", "/google", self.google),
        ]

    @staticmethod
    def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
        return json_response({"error": message}, status, headers)

    def server_error(self, status: int) -> Response:
        return self.error(status, "Internal server error")

    def too_many_requests(self, retry_after: float) -> Response:
        return self.error(429, "Too many requests", retry_after_header(retry_after))

    def no_credit(self) -> Response:
        return self.error(402, "Insufficient credits")

    async def _body(self, request: Request) -> tuple[dict[str, Any], Response | None]:
        body, ok = await read_json(request)
        if not ok or not isinstance(body, dict):
            return {}, self.error(400, "The body must be a JSON object")
        if body.get("api_key") != VALID_KEY or body.get("email") != ADYNTEL_EMAIL:
            return body, self.error(401, "Invalid credentials")
        return body, None

    def _bare_domain(self, body: dict[str, Any]) -> tuple[str, Response | None]:
        raw = body.get("company_domain")
        if raw is None or raw == "":
            return "", None
        if not isinstance(raw, str):
            return "", self.error(400, "company_domain must be a string")
        text = raw.strip().lower()
        if "://" in text or text.startswith("www.") or "/" in text or not data.looks_like_domain(text):
            return "", self.error(400, "company_domain must be a bare domain such as company.com")
        return text, None

    # --- LinkedIn -------------------------------------------------------------------------------

    async def linkedin(self, request: Request) -> Response:
        body, error = await self._body(request)
        if error:
            return error
        domain, error = self._bare_domain(body)
        if error:
            return error
        page_id = body.get("linkedin_page_id")
        page_id = str(page_id).strip() if isinstance(page_id, str | int) and not isinstance(page_id, bool) else ""
        if not domain and not page_id:
            return self.error(400, "company_domain or linkedin_page_id is required")
        trigger = data.trigger_of(domain, page_id)
        if response := self.trigger_response(trigger):
            return response
        key = data.company_key(domain) if domain else f"page:{page_id}"
        if data.is_not_found(self.name, "linkedin:" + key, trigger):
            return json_response({"ads": [], "continuation_token": None, "is_last_page": True, "total_ads": 0})
        c = data.company(domain or f"{key.split(':')[-1]}.com")
        page = page_id or str(c.linkedin_id)
        count = 1 + data.digest("li-ads", key) % 12
        ads = []
        for i in range(count):
            ad_id = str(100_000_000 + data.digest("li-ad", key, i) % 899_999_999)
            ads.append(
                {
                    "ad_id": ad_id,
                    "advertiser": {"name": c.name, "logo_url": c.logo_url, "promoted": True},
                    "carousel": None,
                    "commentary": {
                        "text": f"{c.name}: {data.pick(CTAS, 'li-cta', key, i).lower()} for {c.industry.lower()}.",
                        "link": f"{c.website}/?utm_source=linkedin&utm_campaign=sandbox{i}",
                    },
                    "creative_type": data.pick(CREATIVE_TYPES, "li-type", key, i),
                    "headline": {"title": f"{c.name} for teams", "description": c.industry},
                    "image": {"url": f"{c.website}/ads/linkedin-{i}.png", "alt_text": f"{c.name} ad {i + 1}"},
                    "raw": None,
                    "type": "single_image",
                    "view_details_link": f"https://www.linkedin.com/ad-library/detail/{ad_id}",
                }
            )
        return json_response(
            {"ads": ads, "continuation_token": None, "is_last_page": True, "page_id": page, "total_ads": count}
        )

    # --- Meta -----------------------------------------------------------------------------------

    async def facebook(self, request: Request) -> Response:
        body, error = await self._body(request)
        if error:
            return error
        domain, error = self._bare_domain(body)
        if error:
            return error
        facebook_url = body.get("facebook_url") if isinstance(body.get("facebook_url"), str) else ""
        if facebook_url and not facebook_url.startswith("https://"):
            return self.error(400, "facebook_url must start with https://")
        if not domain and not facebook_url:
            return self.error(400, "company_domain or facebook_url is required")
        trigger = data.trigger_of(domain, facebook_url)
        if response := self.trigger_response(trigger):
            return response
        if domain:
            key = data.company_key(domain)
        else:
            key = facebook_url.rstrip("/").rsplit("/", 1)[-1].lower()
        if data.is_not_found(self.name, "meta:" + key, trigger):
            return empty_response(204)  # site not loading, no Facebook link, or page not public
        token = body.get("continuation_token")
        offset = _decode_token(token, key) if token else 0
        if offset is None:
            return self.error(400, "continuation_token is not valid")
        c = data.company(domain or f"{key}.com")
        total = 1 + data.digest("meta-ads", key) % 45
        active_status = body.get("active_status") or "active"
        media_type = body.get("media_type") or "all"
        country = body.get("country_code") or "ALL"
        page_id = str(100_000_000_000 + data.digest("meta-page", key) % 899_999_999_999)
        now = int(time.time() // DAY * DAY)
        ads = []
        for i in range(offset, min(total, offset + META_PAGE_SIZE)):
            start = now - (1 + data.digest("meta-start", key, i) % 120) * DAY
            active = active_status != "inactive"
            ads.append(
                {
                    "adArchiveID": str(1_000_000_000_000 + data.digest("meta-ad", key, i) % 8_999_999_999_999),
                    "pageID": page_id,
                    "pageName": c.name,
                    "isActive": active,
                    "publisherPlatform": ["FACEBOOK", "INSTAGRAM"] if i % 2 == 0 else ["FACEBOOK"],
                    "startDate": start,
                    "endDate": start + 30 * DAY if not active else now + DAY,
                    "snapshot": {
                        "body": {"text": f"{c.name}: the {c.industry.lower()} platform your team will like."},
                        "cta_text": data.pick(CTAS, "meta-cta", key, i),
                        "cta_type": "LEARN_MORE",
                        "link_url": f"{c.website}/?utm_source=facebook&utm_campaign=sandbox{i}",
                        "page_profile_uri": f"https://www.facebook.com/{c.key}",
                        "cards": [],
                    },
                }
            )
        following = offset + len(ads)
        # the vendor groups near-identical ads: `results` is an array of arrays
        groups = [ads[i : i + 3] for i in range(0, len(ads), 3)]
        return json_response(
            {
                "active_status": active_status,
                "continuation_token": _encode_token(following, key) if following < total else None,
                "country_code": country,
                "is_result_complete": following >= total,
                "media_types": media_type,
                # the total the search matched, on every page (the vendor's fixture answers 669
                # with a page of ads and a continuation token: Adyntel/adyntel-n8n-node test.md)
                "number_of_ads": total,
                "page_id": page_id,
                "platform": ["facebook", "instagram"],
                "results": groups,
            }
        )

    # --- Google ---------------------------------------------------------------------------------

    async def google(self, request: Request) -> Response:
        body, error = await self._body(request)
        if error:
            return error
        domain, error = self._bare_domain(body)
        if error:
            return error
        if not domain:
            return self.error(400, "company_domain is required")
        trigger = data.trigger_of(domain)
        if response := self.trigger_response(trigger):
            return response
        key = data.company_key(domain)
        empty = {"ads": [], "continuation_token": None, "country_code": "anywhere"}
        if data.is_not_found(self.name, "google:" + key, trigger):
            return json_response(empty)
        media_type = str(body.get("media_type") or "").lower()
        wanted = {"text": "Text", "image": "Image", "video": "Video"}.get(media_type)
        c = data.company(domain)
        advertiser = f"AR{data.digest('g-adv', key) % 10**20:020d}"
        count = 1 + data.digest("g-ads", key) % 10
        ads = []
        for i in range(count):
            fmt = wanted or data.pick(GOOGLE_FORMATS, "g-format", key, i)
            start_day = time.gmtime(time.time() - (10 + data.digest("g-start", key, i) % 300) * DAY)
            last_day = time.gmtime(time.time() - (data.digest("g-last", key, i) % 9) * DAY)
            creative = f"CR{data.digest('g-cr', key, i) % 10**20:020d}"
            if fmt == "Video":
                variant = {"content": f"https://{c.domain}/ads/video-{i}.mp4", "height": None, "width": None}
            elif fmt == "Image":
                variant = {"content": f'<img src="https://{c.domain}/ads/google-{i}.png">', "height": 250, "width": 300}
            else:
                variant = {"content": f"{c.name} | {c.industry} | {c.website}", "height": 120, "width": 380}
            ads.append(
                {
                    "advertiser_id": advertiser,
                    "advertiser_name": c.name,
                    "creative_id": creative,
                    "format": fmt,
                    "last_seen": time.strftime("%Y-%m-%d", last_day),
                    "start": time.strftime("%Y-%m-%d", start_day),
                    "original_url": f"https://adstransparency.google.com/advertiser/{advertiser}/creative/{creative}",
                    "variants": [variant],
                }
            )
        return json_response({**empty, "ads": ads})


def _encode_token(offset: int, key: str) -> str:
    return f"ct{offset}x{data.digest('ct', key) % 0xFFFFFF:06x}"


def _decode_token(token: Any, key: str) -> int | None:
    if not isinstance(token, str) or not token.startswith("ct") or "x" not in token:
        return None
    offset, _, check = token[2:].partition("x")
    if not offset.isdigit() or check != f"{data.digest('ct', key) % 0xFFFFFF:06x}":
        return None
    return int(offset)
