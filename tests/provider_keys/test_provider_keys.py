"""An org's own provider keys (CONTRACT §9.5) through the real app: set/list/delete, the org's
calls made with its key (a respx provider sees it) and other orgs' with the deployment's,
BYO_KEYS_ONLY, and the key absent from answers, logs and a full dump of the database."""

import logging
import uuid

import httpx
import pytest
import respx

from app.auth.context import Role
from app.encryption import Keyring, SealedValueError
from app.main import create_app
from app.services import provider_keys as provider_keys_service
from tests.conftest import TEST_SECRETS, SavepointDb, make_settings, provider_settings
from tests.db_dump import dump_text
from tests.factories import create_tenant
from tests.pipelines.test_worker_callbacks import PROSPEO, call, internal, prospeo_company, setup, submit  # noqa: F401
from tests.providers.conftest import TEST_KEY, base_url

MV = base_url("millionverifier") + "/api/v3/"
REOON = base_url("reoon") + "/api/v1/verify"
# shaped like a real key, with no run of 8 characters in common with anything else the tests store
ORG_KEY = "mvOrgKey_" + uuid.uuid4().hex + "Zq"
VERIFY = {
    "operation_id": "person.contact.verify_email",
    "entity_type": "person",
    "input": {"work_email": "jane@acme.com"},
}


def mv_echoing(result: str = "ok"):
    """MillionVerifier's answer, carrying the URL it was called with (the key is a query parameter):
    a provider that echoes the request is how a key reaches a stored raw response."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={"email": "jane@acme.com", "result": result, "resultcode": 1, "error": str(request.url), "credits": 9},
        )

    return answer


@pytest.fixture
async def tenant(conn):
    return await create_tenant(conn)


async def set_key(client, tenant, provider="millionverifier", api_key=ORG_KEY):
    return await client.post(
        "/api/provider-keys/set",
        json={"provider": provider, "api_key": api_key},
        headers=tenant.headers(Role.org_admin),
    )


async def verify(client, tenant):
    r = await client.post(
        "/api/v1/execute", json={**VERIFY, "options": {"cache": False}}, headers=tenant.headers(Role.member)
    )
    assert r.status_code == 200, r.text
    return r.json()["data"]


def eight_char_runs(secret: str) -> set[str]:
    return {secret[i : i + 8] for i in range(len(secret) - 7)}


async def test_set_list_replace_and_delete_show_only_the_last_four(pclient, tenant):
    admin = tenant.headers(Role.org_admin)
    r = await set_key(pclient, tenant)
    assert r.status_code == 200, r.text
    assert r.json()["data"] == {
        "provider": "millionverifier",
        "last4": ORG_KEY[-4:],
        "created_at": r.json()["data"]["created_at"],
        "last_used_at": None,
    }
    replacement = "mvSecondKey_" + uuid.uuid4().hex
    assert (await set_key(pclient, tenant, api_key=replacement)).status_code == 200
    listed = await pclient.post("/api/provider-keys/list", json={}, headers=admin)
    assert [(i["provider"], i["last4"]) for i in listed.json()["data"]["items"]] == [
        ("millionverifier", replacement[-4:])
    ]
    deleted = await pclient.post("/api/provider-keys/delete", json={"provider": "millionverifier"}, headers=admin)
    assert deleted.status_code == 200 and deleted.json()["data"] == {"provider": "millionverifier", "deleted": True}
    again = await pclient.post("/api/provider-keys/delete", json={"provider": "millionverifier"}, headers=admin)
    assert again.status_code == 404 and again.json()["error"]["code"] == "provider_key_not_found"
    for answer in (r, listed, deleted, again):
        assert not eight_char_runs(ORG_KEY) & eight_char_runs(answer.text)
        assert replacement[:-4] not in answer.text


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({"provider": "nosuchprovider", "api_key": "abcdefgh12345678"}, 400, "unknown_provider"),
        ({"provider": "leadmagic", "api_key": "Zq7xK2p"}, 422, "validation_error"),
        ({"provider": "leadmagic", "api_key": "has a space inside it"}, 422, "validation_error"),
        ({"provider": "leadmagic"}, 422, "validation_error"),
    ],
)
async def test_bad_input_is_refused_without_echoing_the_key_and_stores_nothing(
    pclient, conn, tenant, body, status, code
):
    r = await pclient.post("/api/provider-keys/set", json=body, headers=tenant.headers(Role.org_admin))
    assert r.status_code == status and r.json()["error"]["code"] == code, r.text
    if "api_key" in body:
        assert body["api_key"] not in r.text
    assert await conn.fetchval("SELECT count(*) FROM org_provider_keys WHERE org_id = $1", tenant.org.id) == 0


@respx.mock
async def test_the_orgs_calls_use_its_key_and_another_orgs_the_deployment_key(pclient, conn, tenant):
    other = await create_tenant(conn)
    route = respx.get(MV).mock(side_effect=mv_echoing())
    assert (await set_key(pclient, tenant)).status_code == 200

    mine = await verify(pclient, tenant)
    assert route.calls.last.request.url.params["api"] == ORG_KEY
    theirs = await verify(pclient, other)
    assert route.calls.last.request.url.params["api"] == TEST_KEY
    assert mine["status"] == theirs["status"] == "verified"
    assert ORG_KEY not in str(mine) and ORG_KEY[:8] not in str(mine)
    # the stored raw response had the URL (and the key) in it: redacted like the deployment's key
    raw = await conn.fetchval(
        "SELECT raw_response::text FROM operation_attempts WHERE run_id = $1", uuid.UUID(mine["run_id"])
    )
    assert "[REDACTED]" in raw and ORG_KEY not in raw

    # the org's key noted as used; deleting it sends the org back to the deployment's key
    listed = await pclient.post("/api/provider-keys/list", json={}, headers=tenant.headers(Role.org_admin))
    assert listed.json()["data"]["items"][0]["last_used_at"] is not None
    await pclient.post(
        "/api/provider-keys/delete", json={"provider": "millionverifier"}, headers=tenant.headers(Role.org_admin)
    )
    await verify(pclient, tenant)
    assert route.calls.last.request.url.params["api"] == TEST_KEY


@respx.mock
async def test_a_pipeline_step_uses_the_orgs_key(pclient, conn, settings, setup):  # noqa: F811
    tenant, blueprint = setup
    route = respx.post(PROSPEO).mock(return_value=prospeo_company("acme.com"))
    prospeo_key = "prospeoOrgKey_" + uuid.uuid4().hex
    assert (await set_key(pclient, tenant, provider="prospeo", api_key=prospeo_key)).status_code == 200
    run_id = (await submit(pclient, tenant, blueprint, ["acme.com"]))["pipeline_run_ids"][0]
    headers = internal(settings, tenant)
    run = await call(pclient, "pipeline-runs/start", {"pipeline_run_id": run_id}, headers)
    step = await call(
        pclient, "steps/execute", {"pipeline_run_id": run_id, "position": 1, "context": run["input"]}, headers
    )
    assert step["status"] == "succeeded"
    assert route.calls.last.request.headers["x-key"] == prospeo_key


@respx.mock
async def test_byo_keys_only_makes_a_provider_without_an_org_key_not_configured(database_dsn, conn, tenant):
    mv_route = respx.get(MV).mock(side_effect=mv_echoing("catch_all"))  # inconclusive: Reoon would be next
    reoon_route = respx.get(REOON).mock(return_value=httpx.Response(500))
    application = create_app(make_settings(database_dsn, **provider_settings(), byo_keys_only=True))
    from app.db import get_conn, get_db

    async def test_conn():
        async with conn.transaction():
            yield conn

    application.dependency_overrides[get_conn] = test_conn
    application.dependency_overrides[get_db] = lambda: SavepointDb(conn)
    async with application.router.lifespan_context(application):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://t") as client:
            # no key of its own at all: nothing is called, every provider is not_configured
            bare = await verify(client, tenant)
            assert bare["status"] == "failed"
            assert {a["skip_reason"] for a in bare["provider_attempts"]} == {"not_configured"}
            assert mv_route.call_count == 0
            assert (await set_key(client, tenant)).status_code == 200
            result = await verify(client, tenant)
    attempts = {a["provider"]: a for a in result["provider_attempts"]}
    assert attempts["millionverifier"]["status"] == "verified"
    assert mv_route.calls.last.request.url.params["api"] == ORG_KEY
    assert attempts["reoon"]["status"] == "skipped" and attempts["reoon"]["skip_reason"] == "not_configured"
    assert reoon_route.call_count == 0


@respx.mock
async def test_the_key_is_in_no_log_line_no_answer_and_no_stored_row(pclient, conn, tenant, caplog):
    caplog.set_level(logging.DEBUG)
    respx.get(MV).mock(side_effect=mv_echoing())
    respx.get(REOON).mock(return_value=httpx.Response(500))
    answers = [await set_key(pclient, tenant)]
    answers.append(await pclient.post("/api/provider-keys/list", json={}, headers=tenant.headers(Role.org_admin)))
    result = await verify(pclient, tenant)
    assert result["provider_attempts"][0]["provider"] == "millionverifier"  # the key was sent
    # a failing call too: the key must not surface in an error either
    respx.get(MV).mock(return_value=httpx.Response(401, json={"error": f"bad key {ORG_KEY}"}))
    failed = await verify(pclient, tenant)
    assert failed["provider_attempts"][0]["http_status"] == 401

    runs = eight_char_runs(ORG_KEY)
    logs = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "HTTP Request" in logs  # httpx logged the calls, their URLs included
    assert not {s for s in runs if s in logs}
    for answer in answers:
        assert not {s for s in runs if s in answer.text}
    assert not {s for s in runs if s in str(result) + str(failed)}
    dump = await dump_text(conn)
    assert "millionverifier" in dump["org_provider_keys"]  # the dump sees the key's row
    leaks = {table: sorted(s for s in runs if s in text) for table, text in dump.items()}
    assert not {t: s for t, s in leaks.items() if s}


@respx.mock
async def test_a_sealed_key_copied_to_another_org_does_not_open_and_nothing_is_called(pclient, conn, tenant, caplog):
    other = await create_tenant(conn)
    route = respx.get(MV).mock(side_effect=mv_echoing())
    respx.get(REOON).mock(return_value=httpx.Response(500))
    assert (await set_key(pclient, tenant)).status_code == 200
    await conn.execute(
        "INSERT INTO org_provider_keys (org_id, provider, sealed_key, last4) "
        "SELECT $2, provider, sealed_key, last4 FROM org_provider_keys WHERE org_id = $1",
        tenant.org.id,
        other.org.id,
    )
    result = await verify(pclient, other)
    attempt = next(a for a in result["provider_attempts"] if a["provider"] == "millionverifier")
    assert attempt["status"] == "skipped" and attempt["skip_reason"] == "org_key_unreadable"
    assert all(c.request.url.params["api"] != ORG_KEY for c in route.calls)
    assert "cannot be used" in caplog.text and ORG_KEY not in caplog.text
    # the same value opens for the org it was sealed for
    keyring = Keyring.parse(TEST_SECRETS["encryption_key"])
    sealed = await conn.fetchval("SELECT sealed_key FROM org_provider_keys WHERE org_id = $1", other.org.id)
    assert keyring.open(sealed, binding=provider_keys_service.binding(tenant.org.id, "millionverifier")) == ORG_KEY
    with pytest.raises(SealedValueError):
        keyring.open(sealed, binding=provider_keys_service.binding(other.org.id, "millionverifier"))


def test_last_used_is_written_at_most_once_a_minute_per_org_and_provider():
    now = [1000.0]
    touches = provider_keys_service.UsageTouches(clock=lambda: now[0])
    org, other = uuid.uuid4(), uuid.uuid4()
    assert touches.due(org, ["reoon", "prospeo"]) == ["reoon", "prospeo"]
    now[0] += 59
    assert touches.due(org, ["reoon"]) == []
    assert touches.due(other, ["reoon"]) == ["reoon"]
    now[0] += 1
    assert touches.due(org, ["reoon", "prospeo"]) == ["reoon", "prospeo"]
