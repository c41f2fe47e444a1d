"""Icypeas: async search NONE → IN_PROGRESS → DEBITED / NOT_FOUND, read limit, wire shapes."""

import asyncio
import json

from tests.sandbox import BAD, KEY, person_at, sandbox_client

START = "/icypeas/api/email-search"
READ = "/icypeas/api/bulk-single-searchs/read"
AUTH = {"Authorization": KEY}


async def _start(c, first, last, target, **extra):
    r = await c.post(
        START, headers=AUTH, json={"firstname": first, "lastname": last, "domainOrCompany": target, **extra}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True and body["item"]["status"] == "NONE"
    assert len(body["item"]["_id"]) == 24
    return body["item"]["_id"]


async def _read(c, search_id):
    r = await c.post(READ, headers=AUTH, json={"id": search_id, "user": "ignored", "mode": "single"})
    assert r.status_code == 200, r.text
    return r.json()


async def test_found_search_moves_through_statuses_to_debited():
    first, last = person_at("icypeas", found=True)
    async with sandbox_client(icypeas_delay_ms=1500) as c:
        search_id = await _start(c, first, last, "acme.com", custom={"externalId": "ext-1"})
        assert (await _read(c, search_id))["items"][0]["status"] == "NONE"
        await asyncio.sleep(0.75)  # NONE for the first third of the delay, then IN_PROGRESS
        body = await _read(c, search_id)
        assert body["items"][0]["status"] == "IN_PROGRESS"
        assert body["items"][0]["results"]["emails"] == []
        await asyncio.sleep(0.9)
        body = await _read(c, search_id)
    assert body["success"] is True and body["total"] == 1 and body["sorts"] == [[], []]
    item = body["items"][0]
    assert item["status"] == "DEBITED"
    assert item["_id"] == search_id and item["name"] == "__icypeas__individual"
    email = item["results"]["emails"][0]
    assert email["email"] == f"{first.lower()}.{last.lower()}@acme.com"
    assert email["certainty"] in ("ultra_sure", "very_sure", "sure", "probable")
    assert email["mxProvider"] and email["mxRecords"]
    assert item["results"]["fullname"] == f"{first} {last}" and item["results"]["gender"] == "UNKNOWN"
    assert item["userData"] == {"webhookUrl": "", "externalId": "ext-1"}
    assert item["system"]["createdAt"].endswith("Z") and item["system"]["modifiedAt"] >= item["system"]["createdAt"]


async def test_not_found_by_hash_rule_and_by_trigger():
    first, last = person_at("icypeas", found=False)
    async with sandbox_client() as c:
        for target in ("acme.com", "notfound-acme.com"):
            use_first, use_last = (first, last) if target == "acme.com" else ("Jane", "Doe")
            item = (await _read(c, await _start(c, use_first, use_last, target)))["items"][0]
            assert item["status"] == "NOT_FOUND"
            assert item["results"]["emails"] == []


async def test_auth_is_the_bare_key_and_bearer_is_rejected():
    async with sandbox_client() as c:
        for headers in ({"Authorization": f"Bearer {KEY}"}, {"Authorization": BAD}, {}):
            r = await c.post(
                START, headers=headers, json={"firstname": "A", "lastname": "B", "domainOrCompany": "x.com"}
            )
            assert r.status_code == 401
            assert r.json() == {"message": "Unauthorized access."}
        r = await c.post(READ, headers={"Authorization": BAD}, json={"id": "x"})
        assert r.status_code == 401


async def test_bad_bodies_are_http_200_with_validation_errors():
    async with sandbox_client() as c:
        r = await c.post(START, headers=AUTH, json={"firstname": "Jane", "lastname": "Doe"})
        assert r.status_code == 200
        assert r.json() == {"success": False, "validationErrors": [{"field": "domainOrCompany", "type": "required"}]}
        r = await c.post(START, headers=AUTH, json={"firstname": "", "lastname": "", "domainOrCompany": "acme.com"})
        assert r.json()["success"] is False
        assert r.json()["validationErrors"][0]["field"] == "firstname"


async def test_unknown_search_id_is_search_not_found_error():
    async with sandbox_client() as c:
        body = await _read(c, "0" * 24)
    assert body == {"success": False, "error": "SearchNotFoundError"}


async def test_triggers_error500_ratelimit_nocredit():
    async with sandbox_client() as c:
        r = await c.post(
            START, headers=AUTH, json={"firstname": "Jane", "lastname": "Doe", "domainOrCompany": "error500.com"}
        )
        assert r.status_code == 500 and r.json()["success"] is False
        r = await c.post(
            START, headers=AUTH, json={"firstname": "Jane", "lastname": "Doe", "domainOrCompany": "ratelimit.io"}
        )
        assert r.status_code == 429 and r.headers["Retry-After"] == "1"
        assert r.json() == {"message": "You have exceeded the max number of requests per minute."}
        search_id = await _start(c, "Jane", "Doe", "nocredit-co.com")
        item = (await _read(c, search_id))["items"][0]
        assert item["status"] == "INSUFFICIENT_FUNDS" and item["results"]["emails"] == []


async def test_read_limit_per_minute_gives_429_and_counts_as_rate_limit():
    async with sandbox_client(icypeas_reads_per_minute=3) as c:
        search_id = await _start(c, "Jane", "Doe", "found-acme.com")
        for _ in range(3):
            assert (await _read(c, search_id))["success"] is True
        r = await c.post(READ, headers=AUTH, json={"id": search_id})
        assert r.status_code == 429
        assert r.json()["message"] == "You have exceeded the max number of requests per minute."
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        stats = (await c.get("/_sandbox/stats")).json()
    read_stats = stats["providers"]["icypeas"]["endpoints"]["POST /api/bulk-single-searchs/read"]
    assert read_stats["status_429_rate_limit"] == 1 and read_stats["status_429_deliberate"] == 0
    assert read_stats["requests"] == 4 and read_stats["status_2xx"] == 3


async def test_optional_spacing_between_reads_of_one_search():
    async with sandbox_client(icypeas_min_read_interval_ms=200) as c:
        search_id = await _start(c, "Jane", "Doe", "found-acme.com")
        assert (await _read(c, search_id))["success"] is True
        r = await c.post(READ, headers=AUTH, json={"id": search_id})
        assert r.status_code == 429
        await asyncio.sleep(0.21)
        assert (await _read(c, search_id))["items"][0]["status"] == "DEBITED"


async def test_webhook_receives_the_final_item():
    received: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
        )
        received.append(await reader.readexactly(length))
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with sandbox_client(icypeas_delay_ms=50) as c:
            hook = f"http://127.0.0.1:{port}/hook"
            search_id = await _start(
                c, "Jane", "Doe", "found-acme.com", custom={"webhookUrl": hook, "externalId": "e9"}
            )
            for _ in range(100):
                if received:
                    break
                await asyncio.sleep(0.02)
    finally:
        server.close()
        await server.wait_closed()
    payload = json.loads(received[0])
    assert payload["signature"] == "sandbox" and payload["timestamp"]
    assert payload["data"]["_id"] == search_id and payload["data"]["status"] == "DEBITED"
    assert payload["data"]["userData"] == {"webhookUrl": hook, "externalId": "e9"}
    assert payload["data"]["results"]["emails"][0]["email"] == "jane.doe@found-acme.com"
