"""Gemini generateContent and OpenAI Responses: structured answers for the research operations."""

import json

from tests.sandbox import BAD, KEY, company_stem, sandbox_client

GEMINI = "/gemini/v1beta/models/gemini-2.5-flash:generateContent"
SCHEMA = {
    "type": "OBJECT",
    "properties": {
        "url": {"type": "STRING", "nullable": True},
        "confidence": {"type": "STRING", "enum": ["high", "medium", "low"]},
    },
    "required": ["url", "confidence"],
}


def _gemini_body(prompt, grounded=True, schema_key="responseSchema"):
    body = {
        "systemInstruction": {"parts": [{"text": "You answer with JSON only."}]},
        "contents": [{"role": "user", "parts": [{"text": prompt}]}],
        "generationConfig": {"responseMimeType": "application/json", schema_key: SCHEMA, "temperature": 0},
    }
    if grounded:
        body["tools"] = [{"google_search": {}}]
    return body


def _gemini_answer(r):
    candidate = r.json()["candidates"][0]
    assert candidate["finishReason"] == "STOP" and candidate["content"]["role"] == "model"
    return json.loads("".join(p["text"] for p in candidate["content"]["parts"])), candidate


async def test_gemini_g2_and_pricing_urls_from_the_domain():
    stem = company_stem("gemini", found=True, start="initech")
    async with sandbox_client() as c:
        g2 = await c.post(
            GEMINI,
            headers={"x-goog-api-key": KEY},
            json=_gemini_body(f"Company: X, domain {stem}.com. Find its G2 reviews page."),
        )
        pricing = await c.post(
            f"{GEMINI}?key={KEY}", json=_gemini_body(f"Find the pricing page of https://www.{stem}.com", grounded=False)
        )
    assert g2.status_code == 200
    answer, candidate = _gemini_answer(g2)
    assert answer == {"url": f"https://www.g2.com/products/{stem}/reviews", "confidence": "high"}
    chunks = candidate["groundingMetadata"]["groundingChunks"]
    assert chunks[0]["web"]["uri"] == answer["url"] and candidate["groundingMetadata"]["webSearchQueries"]
    assert g2.json()["usageMetadata"]["totalTokenCount"] > 0
    answer, candidate = _gemini_answer(pricing)
    assert answer == {"url": f"https://{stem}.com/pricing", "confidence": "high"}
    assert "groundingMetadata" not in candidate


async def test_gemini_not_found_snake_case_and_errors():
    missing = company_stem("gemini", found=False, start="initech")
    async with sandbox_client() as c:
        nf = await c.post(GEMINI, headers={"x-goog-api-key": KEY}, json=_gemini_body(f"G2 page of {missing}.com"))
        trig = await c.post(
            GEMINI,
            headers={"x-goog-api-key": KEY},
            json=_gemini_body("pricing of notfound-co.com", schema_key="response_schema"),
        )
        bad = await c.post(GEMINI, headers={"x-goog-api-key": BAD}, json=_gemini_body("G2 of acme.com"))
        limited = await c.post(GEMINI, headers={"x-goog-api-key": KEY}, json=_gemini_body("G2 of ratelimit.com"))
        quota = await c.post(GEMINI, headers={"x-goog-api-key": KEY}, json=_gemini_body("G2 of nocredit.com"))
        server = await c.post(GEMINI, headers={"x-goog-api-key": KEY}, json=_gemini_body("G2 of error500.com"))
    assert _gemini_answer(nf)[0] == {"url": None, "confidence": "low"}
    assert _gemini_answer(trig)[0] == {"url": None, "confidence": "low"}
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert error["code"] == 400 and error["status"] == "INVALID_ARGUMENT"
    assert error["message"] == "API key not valid. Please pass a valid API key."
    assert error["details"][0]["reason"] == "API_KEY_INVALID"
    assert error["details"][0]["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    assert limited.status_code == 429 and limited.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert limited.headers["Retry-After"] == "1"
    assert quota.status_code == 429 and "quota" in quota.json()["error"]["message"]
    assert server.status_code == 500 and server.json()["error"]["status"] == "INTERNAL"


OPENAI = "/openai/v1/responses"
FORMAT = {
    "format": {
        "type": "json_schema",
        "name": "g2_url",
        "strict": True,
        "schema": {
            "type": "object",
            "additionalProperties": False,
            "required": ["url", "confidence"],
            "properties": {
                "url": {"type": ["string", "null"]},
                "confidence": {"type": "string", "enum": ["high", "medium", "low"]},
            },
        },
    }
}


def _openai_body(prompt, tools=True):
    body = {"model": "gpt-4.1-mini", "instructions": "Answer in JSON.", "input": prompt, "text": FORMAT}
    if tools:
        body["tools"] = [{"type": "web_search", "filters": {"allowed_domains": ["g2.com"]}}]
    return body


async def test_openai_responses_found_with_web_search_call():
    stem = company_stem("openai", found=True, start="globex")
    async with sandbox_client() as c:
        r = await c.post(
            OPENAI, headers={"Authorization": f"Bearer {KEY}"}, json=_openai_body(f"G2 page for {stem}.com")
        )
        plain = await c.post(
            OPENAI,
            headers={"Authorization": f"Bearer {KEY}"},
            json=_openai_body(
                [{"role": "user", "content": [{"type": "input_text", "text": f"pricing of {stem}.com"}]}], False
            ),
        )
    body = r.json()
    assert r.status_code == 200
    assert body["object"] == "response" and body["status"] == "completed" and body["id"].startswith("resp_")
    assert [item["type"] for item in body["output"]] == ["web_search_call", "message"]
    message = body["output"][-1]
    part = message["content"][0]
    assert message["role"] == "assistant" and part["type"] == "output_text"
    assert json.loads(part["text"]) == {"url": f"https://www.g2.com/products/{stem}/reviews", "confidence": "high"}
    assert part["annotations"][0]["type"] == "url_citation"
    assert [item["type"] for item in plain.json()["output"]] == ["message"]
    assert json.loads(plain.json()["output"][0]["content"][0]["text"])["url"] == f"https://{stem}.com/pricing"


async def test_openai_errors_and_not_found():
    async with sandbox_client() as c:
        headers = {"Authorization": f"Bearer {KEY}"}
        nf = await c.post(OPENAI, headers=headers, json=_openai_body("G2 page for notfound-globex.com"))
        bad = await c.post(OPENAI, headers={"Authorization": f"Bearer {BAD}"}, json=_openai_body("G2 of acme.com"))
        quota = await c.post(OPENAI, headers=headers, json=_openai_body("G2 of nocredit.com"))
        rate = await c.post(OPENAI, headers=headers, json=_openai_body("G2 of ratelimit.com"))
        server = await c.post(OPENAI, headers=headers, json=_openai_body("G2 of error500.com"))
    assert json.loads(nf.json()["output"][-1]["content"][0]["text"]) == {"url": None, "confidence": "low"}
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "invalid_api_key" and bad.json()["error"]["type"] == "invalid_request_error"
    assert bad.json()["error"]["message"].startswith("Incorrect API key provided")
    assert quota.status_code == 429 and quota.json()["error"]["code"] == "insufficient_quota"
    assert rate.status_code == 429 and rate.json()["error"]["code"] == "rate_limit_exceeded"
    assert rate.headers["x-ratelimit-remaining-requests"] == "0" and rate.headers["Retry-After"] == "1"
    assert server.status_code == 500 and server.json()["error"]["type"] == "server_error"
