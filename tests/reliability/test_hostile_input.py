"""Hand-made hostile input on every endpoint that takes a body: huge bodies, deep nesting, huge
strings, NUL characters, invalid UTF-8, SQL and header injection. Every answer is a 4xx with the
error envelope (or a 200 where the input is merely odd), never a 5xx, and nothing is written that
should not be."""

import json

import httpx
import pytest

from app.auth.context import Role
from app.middleware import ANONYMOUS_BODY_PATHS
from tests.conftest import TEST_SECRETS
from tests.factories import bearer
from tests.reliability.conftest import record, size
from tests.reliability.schema import SCHEMA, body_plan, body_type, is_multipart, resolve, tenant_paths
from tests.reliability.world import build_world

SQL = [
    "'; DROP TABLE orgs; --",
    "' OR '1'='1",
    '" OR ""="',
    "1; SELECT pg_sleep(5)--",
    "$1",
    "\\'; COMMIT; DROP TABLE users; --",
    "' UNION SELECT token_hash FROM api_tokens --",
]
JSON = {"content-type": "application/json"}
COUNTED = (
    "orgs",
    "companies",
    "users",
    "api_tokens",
    "blueprints",
    "blueprint_steps",
    "submissions",
    "pipeline_runs",
    "step_results",
    "operation_runs",
    "company_entities",
    "person_entities",
    "entity_versions",
)


def post_paths() -> list[str]:
    return sorted(p for p, methods in SCHEMA["paths"].items() if "post" in methods)


def takes(path: str, field: str) -> bool:
    request = SCHEMA["paths"][path]["post"].get("requestBody")
    if request is None:
        return False
    return field in resolve(request["content"][body_type(path)]["schema"]).get("properties", {})


def headers_for(path: str, world) -> dict[str, str]:
    if path.startswith("/api/super-admin/"):
        return bearer(TEST_SECRETS["super_admin_api_key"])
    if path.startswith("/api/internal/"):
        return {**bearer(TEST_SECRETS["internal_api_key"]), "x-internal-org-id": str(world.own.org_id)}
    return bearer(world.own.tenant.tokens[Role.org_admin])


async def counts(conn) -> dict[str, int]:
    return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in COUNTED}


def assert_envelope(r: httpx.Response, statuses: tuple[int, ...], what: str) -> None:
    assert r.status_code in statuses, (what, r.status_code, r.text[:500])
    if r.status_code >= 400:
        error = r.json()["error"]
        assert set(error) == {"code", "message", "details"}, (what, error)


def nested(depth: int) -> dict:
    value: object = "leaf"
    for _ in range(depth):
        value = {"n": value}
    return value  # type: ignore[return-value]


async def test_raw_hostile_bodies_on_every_endpoint_are_rejected_with_4xx(client, conn, settings):
    world = await build_world(conn)
    before = await counts(conn)
    bodies = {
        "nul byte": (b'{"name": "a\x00b"}', (400,)),
        "invalid utf-8": (b'{"name": "\xff\xfe\xfa"}', (400,)),
        "truncated": (b'{"name": ', (400,)),
        "not json at all": (b"\x00\x01\x02\x03", (400,)),
        "nesting past the parser's limit": (b"[" * 100_000 + b"]" * 100_000, (400,)),
        "a json scalar": (b'"just a string"', (422,)),
        "NaN": (b'{"limit": NaN}', (400, 422)),
        "huge number": (b'{"limit": 1' + b"0" * 5000 + b"}", (400, 422)),
    }
    sent = 0
    for path in post_paths():
        multipart = is_multipart(path)
        content_type = "multipart/form-data; boundary=dex" if multipart else "application/json"
        headers = {**headers_for(path, world), "content-type": content_type}
        takes_body = "requestBody" in SCHEMA["paths"][path]["post"]
        for what, (raw, statuses) in bodies.items():
            r = await client.post(path, content=raw, headers=headers)
            # an endpoint that declares no body never reads one (auth/me, operations/list); a
            # form that does not parse, or parses without its fields, is refused as such
            statuses = ((400, 422) if multipart else statuses) if takes_body else (200,)
            if path in ANONYMOUS_BODY_PATHS and len(raw) > settings.login_max_body_bytes:
                statuses = (413,)  # login, the one anonymous body, has a small limit of its own
            assert_envelope(r, statuses, f"{path}: {what}")
            sent += 1
        r = await client.post(path, content=b"name=x", headers={**headers, "content-type": "text/plain"})
        assert_envelope(r, (415,) if takes_body else (200,), f"{path}: text/plain")
        sent += 1
    assert await counts(conn) == before
    record("hostile-raw", requests=sent, endpoints=len(post_paths()), kinds=len(bodies) + 1)


async def test_bodies_over_the_limit_get_413_declared_or_streamed(client, conn, app):
    world = await build_world(conn)
    limit = app.state.settings.max_body_bytes
    headers = headers_for("/api/v1/batch/submit", world)
    huge = json.dumps({"blueprint_id": str(world.own.tenant.blueprint.id), "entities": [], "pad": "x" * limit})
    r = await client.post("/api/v1/batch/submit", content=huge, headers={**headers, "content-type": "application/json"})
    assert_envelope(r, (413,), "declared")
    assert r.json()["error"]["code"] == "payload_too_large"

    async def chunks():
        for _ in range(limit // (1 << 20) + 2):
            yield b"x" * (1 << 20)

    r = await client.post(
        "/api/v1/batch/submit", content=chunks(), headers={**headers, "content-type": "application/json"}
    )
    assert_envelope(r, (413,), "streamed")


@pytest.mark.parametrize("path", tenant_paths())
async def test_hostile_strings_in_every_field_are_refused_or_stored_verbatim(client, conn, path):
    """Each string field of a valid body (and each free-form object) gets NUL characters, lone
    surrogates, a huge string, deep nesting and SQL injection; never a 5xx, never a stray write."""
    world = await build_world(conn)
    plan = body_plan(path)
    valid = plan.body({s: world.object_id(s.kind, "own") for s in plan.slots})
    headers = headers_for(path, world)
    payloads = {
        "nul": ("a\u0000b", (422,)),
        "lone surrogate": ("a\ud800b", (422,)),
        "huge string": ("x" * size(200_000, 2_000_000), (200, 400, 404, 409, 422)),
        **{f"sql {i}": (s, (200, 400, 404, 409, 422)) for i, s in enumerate(SQL)},
    }
    variants = []
    for key, value in valid.items():
        if isinstance(value, str) and not key.endswith("_id"):
            variants += [(f"{key}={n}", {**valid, key: v}, st) for n, (v, st) in payloads.items()]
        if isinstance(value, dict):
            variants += [(f"{key}.{{{n}}}", {**valid, key: {**value, "k": v}}, st) for n, (v, st) in payloads.items()]
            variants.append((f"{key}=nested", {**valid, key: nested(size(200, 900))}, (200, 400, 404, 409, 422)))
            variants.append((f"{key} key nul", {**valid, key: {"a\u0000": "x"}}, (422,)))
    if takes(path, "filters"):
        variants += [(f"filters.name={n}", {"filters": {"name": v}}, st) for n, (v, st) in payloads.items()]
    for key in ("cursor", "status"):
        if takes(path, key):
            variants += [(f"{key}=sql", {**valid, key: s}, (200, 400, 404, 422)) for s in SQL]
    if takes(path, "cursor"):
        odd = ["9" * 12, "\u00b2", "-1", "0" * 600, "=" * 10, "eyJ4IjogMX0"]
        variants += [(f"cursor={c!r}", {**valid, "cursor": c}, (400, 422)) for c in odd]
    before = await counts(conn)
    refused = 0
    for what, body, statuses in variants:
        savepoint = conn.transaction()
        await savepoint.start()
        try:
            if is_multipart(path):
                # batch/submit-csv: the hostile text is the CSV itself (a lone surrogate arrives as
                # the bytes that spell it, which are not UTF-8); NUL and non-UTF-8 files are a 400
                statuses = tuple(sorted({*statuses, 400}))
                form = {k: v for k, v in body.items() if k != "file" and isinstance(v, str)}
                upload = body["file"].encode("utf-8", "surrogatepass")
                r = await client.post(path, data=form, files={"file": ("h.csv", upload)}, headers=headers)
            else:
                # serialised here: httpx's encoder refuses lone surrogates, which JSON spells as \\u escapes
                r = await client.post(path, content=json.dumps(body), headers={**headers, **JSON})
            assert_envelope(r, statuses, f"{path}: {what}")
            if r.status_code >= 400:
                # counted before the savepoint is rolled back: a refused request that wrote part of
                # its work (a short transaction committed before the failure) shows here
                assert await counts(conn) == before, f"{path}: {what} was refused but wrote rows"
                refused += 1
        finally:
            await savepoint.rollback()
    # every variant that must be refused was, so the count above ran for each of them
    assert refused >= sum(1 for _, _, statuses in variants if 200 not in statuses), path
    # an injection attempt that was accepted is stored as the plain text it is
    if path == "/api/companies/create":
        r = await client.post(path, json={"name": SQL[0]}, headers=headers)
        assert r.status_code == 200 and r.json()["data"]["name"] == SQL[0]
        assert await conn.fetchval("SELECT count(*) FROM orgs") == before["orgs"]
    record(f"hostile-fields-{path.strip('/').replace('/', '_')}", path=path, requests=len(variants))


async def test_header_injection_never_reaches_a_response_header_or_a_query(app, conn, client):
    world = await build_world(conn)
    token = world.own.tenant.tokens[Role.org_admin]

    async def raw_call(path: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Straight to ASGI, since httpx itself refuses CR/LF in header values."""
        body = b"{}"
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"), *headers],
            "client": ("127.0.0.1", 1),
            "server": ("testserver", 80),
        }
        sent = False
        messages = []

        async def receive():
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message):
            messages.append(message)

        await app(scope, receive, send)
        start = next(m for m in messages if m["type"] == "http.response.start")
        content = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        return start["status"], start["headers"], content

    injected = b"abc\r\nSet-Cookie: pwned=1"
    status, headers, _ = await raw_call(
        "/api/companies/list", [(b"authorization", b"Bearer " + token.encode()), (b"x-request-id", injected)]
    )
    assert status == 200
    request_ids = [v for k, v in headers if k.lower() == b"x-request-id"]
    assert len(request_ids) == 1 and b"\r" not in request_ids[0] and b"pwned" not in request_ids[0]
    assert not any(k.lower() == b"set-cookie" for k, _ in headers)
    internal = [(b"authorization", b"Bearer " + TEST_SECRETS["internal_api_key"].encode())]
    for value in (injected, b"' OR 1=1 --", b"00000000-0000-0000-0000-000000000000'; DROP TABLE orgs; --"):
        for name in (b"x-internal-org-id", b"x-internal-company-id"):
            extra = [] if name == b"x-internal-org-id" else [(b"x-internal-org-id", str(world.own.org_id).encode())]
            status, _, content = await raw_call("/api/internal/pipeline-runs/start", [*internal, *extra, (name, value)])
            assert status == 400 and json.loads(content)["error"]["code"] == "invalid_internal_header", content
    for value in (b"Bearer " + injected, b"Bearer ' OR '1'='1", b"Bearer dex_' OR 1=1 --", b"Basic YWRtaW46YWRtaW4="):
        status, _, content = await raw_call("/api/companies/list", [(b"authorization", value)])
        assert status == 401 and json.loads(content)["error"]["code"] in ("invalid_credentials", "missing_credentials")
    assert await conn.fetchval("SELECT count(*) FROM orgs WHERE id = $1", world.own.org_id) == 1
    record("hostile-headers", requests=12)
