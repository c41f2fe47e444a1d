"""webhooks/{create,list,delete,rotate-secret,deliveries} and enqueue_event (CONTRACT §9.6)."""

import base64
import json
import uuid

import pytest

from app.auth.context import Role
from app.services.webhooks import UrlGuard, enqueue_event
from tests.factories import create_tenant


def _admin(tenant):
    return tenant.headers(Role.org_admin)


async def _create(client, tenant, **body):
    body = {"url": "https://hooks.example.com/in", "events": ["submission.completed"], **body}
    return await client.post("/api/webhooks/create", json=body, headers=_admin(tenant))


async def test_the_secret_is_shown_once_and_never_listed(client, conn):
    tenant = await create_tenant(conn)
    r = await _create(client, tenant, events=["run.failed", "submission.completed", "run.failed"])
    assert r.status_code == 200, r.text
    hook = r.json()["data"]
    assert hook["events"] == ["run.failed", "submission.completed"]  # repeats dropped
    assert hook["company_id"] is None and hook["url"] == "https://hooks.example.com/in"
    assert hook["secret"].startswith("whsec_")
    assert len(base64.b64decode(hook["secret"].removeprefix("whsec_"))) == 32
    listed = await client.post("/api/webhooks/list", json={}, headers=_admin(tenant))
    assert listed.status_code == 200
    (item,) = listed.json()["data"]["items"]
    assert item["id"] == hook["id"] and "secret" not in item
    assert hook["secret"].removeprefix("whsec_") not in listed.text
    rotated = await client.post("/api/webhooks/rotate-secret", json={"webhook_id": hook["id"]}, headers=_admin(tenant))
    assert rotated.status_code == 200
    data = rotated.json()["data"]
    assert data["webhook_id"] == hook["id"] and data["secret"] not in (hook["secret"], None)
    assert data["previous_secret_expires_at"] is not None
    listed = await client.post("/api/webhooks/list", json={}, headers=_admin(tenant))
    assert data["secret"].removeprefix("whsec_") not in listed.text
    assert listed.json()["data"]["items"][0]["previous_secret_expires_at"] == data["previous_secret_expires_at"]


async def test_a_company_webhook_needs_a_company_of_the_org(client, conn):
    tenant = await create_tenant(conn)
    other = await create_tenant(conn)
    r = await _create(client, tenant, company_id=str(other.company_a.id))
    assert r.status_code == 404 and r.json()["error"]["code"] == "company_not_found"
    r = await _create(client, tenant, company_id=str(uuid.uuid4()))
    assert r.status_code == 404
    r = await _create(client, tenant, company_id=str(tenant.company_b.id))
    assert r.status_code == 200 and r.json()["data"]["company_id"] == str(tenant.company_b.id)
    assert await conn.fetchval("SELECT count(*) FROM webhooks WHERE org_id = $1", other.org.id) == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"events": ["submission.started"]}, 422),
        ({"events": []}, 422),
        ({"url": ""}, 422),
        ({"url": "https://x.example/" + "a" * 2048}, 422),
        ({"url": "ftp://hooks.example.com/in"}, 400),
        ({"url": "https://user:secret@hooks.example.com/in"}, 400),
        ({"url": "not a url"}, 400),
    ],
)
async def test_bad_input_is_refused_and_nothing_stored(client, conn, body, status):
    tenant = await create_tenant(conn)
    r = await _create(client, tenant, **body)
    assert r.status_code == status, r.text
    if status == 400:
        assert r.json()["error"]["code"] == "webhook_url_not_allowed"
        assert r.json()["error"]["details"] == {"field": "url"}
        assert "secret" not in r.json()["error"]["message"]
    assert await conn.fetchval("SELECT count(*) FROM webhooks WHERE org_id = $1", tenant.org.id) == 0


async def test_production_refuses_a_url_resolving_to_a_private_address(client, conn, app):
    tenant = await create_tenant(conn)

    async def resolver(host, port):
        return {"internal.example.com": ["10.0.0.7"], "hooks.example.com": ["93.184.216.34"]}[host]

    app.state.webhook_guard = UrlGuard(production=True, resolver=resolver)
    try:
        r = await _create(client, tenant, url="https://internal.example.com/in")
        assert r.status_code == 400
        assert r.json()["error"]["message"] == "url: the host resolves to a private address"
        assert (await _create(client, tenant, url="http://hooks.example.com/in")).status_code == 400
        assert (await _create(client, tenant, url="https://hooks.example.com/in")).status_code == 200
    finally:
        app.state.webhook_guard = UrlGuard(production=False)


async def test_another_orgs_webhook_is_not_found(client, conn):
    tenant = await create_tenant(conn)
    other = await create_tenant(conn)
    foreign = (await _create(client, other)).json()["data"]
    stored = await conn.fetchval("SELECT secret FROM webhooks WHERE id = $1", uuid.UUID(foreign["id"]))
    for path in ("/api/webhooks/delete", "/api/webhooks/rotate-secret", "/api/webhooks/deliveries"):
        r = await client.post(path, json={"webhook_id": foreign["id"]}, headers=_admin(tenant))
        assert r.status_code == 404 and r.json()["error"]["code"] == "webhook_not_found", path
    # neither deleted nor given a new secret
    assert await conn.fetchval("SELECT secret FROM webhooks WHERE id = $1", uuid.UUID(foreign["id"])) == stored
    listed = await client.post("/api/webhooks/list", json={}, headers=_admin(tenant))
    assert listed.json()["data"]["items"] == []


@pytest.mark.parametrize("role", [Role.company_admin, Role.member])
async def test_only_org_admins_manage_webhooks(client, conn, role):
    tenant = await create_tenant(conn)
    r = await client.post(
        "/api/webhooks/create",
        json={"url": "https://hooks.example.com/in", "events": ["run.failed"], "company_id": str(tenant.company_a.id)},
        headers=tenant.headers(role),
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden_role"


async def test_delete_drops_the_pending_deliveries(client, conn):
    tenant = await create_tenant(conn)
    hook = (await _create(client, tenant)).json()["data"]
    await enqueue_event(conn, tenant.org.id, tenant.company_a.id, "submission.completed", {"submission_id": "s"})
    assert await conn.fetchval("SELECT count(*) FROM webhook_deliveries WHERE org_id = $1", tenant.org.id) == 1
    r = await client.post("/api/webhooks/delete", json={"webhook_id": hook["id"]}, headers=_admin(tenant))
    assert r.status_code == 200 and r.json()["data"] == {"webhook_id": hook["id"], "deleted": True}
    assert await conn.fetchval("SELECT count(*) FROM webhook_deliveries WHERE org_id = $1", tenant.org.id) == 0
    r = await client.post("/api/webhooks/delete", json={"webhook_id": hook["id"]}, headers=_admin(tenant))
    assert r.status_code == 404


async def test_an_event_goes_to_the_orgs_and_its_companys_subscribers_only(client, conn):
    tenant = await create_tenant(conn)
    other = await create_tenant(conn)
    org_wide = (await _create(client, tenant, events=["run.failed", "run.succeeded"])).json()["data"]
    company_a = (await _create(client, tenant, events=["run.failed"], company_id=str(tenant.company_a.id))).json()
    await _create(client, tenant, events=["run.failed"], company_id=str(tenant.company_b.id))
    await _create(client, tenant, events=["submission.failed"])  # another event type
    await _create(client, other, events=["run.failed"])  # another org
    data = {
        "submission_id": uuid.UUID(int=1),
        "pipeline_run_id": uuid.UUID(int=2),
        "entity_index": 0,
        "status": "failed",
        "error_message": "boom",
    }
    async with conn.transaction():
        await enqueue_event(conn, tenant.org.id, tenant.company_a.id, "run.failed", data)
    rows = await conn.fetch("SELECT webhook_id, event_type, body, status, attempts FROM webhook_deliveries")
    assert {str(r["webhook_id"]) for r in rows} == {org_wide["id"], company_a["data"]["id"]}
    for row in rows:
        assert row["event_type"] == "run.failed" and row["status"] == "pending" and row["attempts"] == 0
        body = json.loads(row["body"])
        assert list(body) == ["type", "timestamp", "data"]
        assert body["type"] == "run.failed" and body["timestamp"].endswith("Z")
        assert body["data"] == {
            "submission_id": str(uuid.UUID(int=1)),
            "pipeline_run_id": str(uuid.UUID(int=2)),
            "entity_index": 0,
            "status": "failed",
            "error_message": "boom",
        }
    # an org-level event (no company) reaches only org-wide subscribers
    await conn.execute("DELETE FROM webhook_deliveries")
    await enqueue_event(conn, tenant.org.id, None, "run.succeeded", {})
    assert [str(r["webhook_id"]) for r in await conn.fetch("SELECT webhook_id FROM webhook_deliveries")] == [
        org_wide["id"]
    ]


async def test_an_event_rolled_back_with_its_change_is_never_delivered(conn):
    tenant = await create_tenant(conn)
    await conn.execute(
        "INSERT INTO webhooks (org_id, url, events, secret) VALUES ($1, 'https://h.example/x', '{run.failed}', 'x')",
        tenant.org.id,
    )
    with pytest.raises(RuntimeError):
        async with conn.transaction():
            await enqueue_event(conn, tenant.org.id, None, "run.failed", {})
            raise RuntimeError("the state change failed")
    assert await conn.fetchval("SELECT count(*) FROM webhook_deliveries") == 0


async def test_an_unknown_event_type_is_a_programming_error(conn):
    with pytest.raises(ValueError):
        await enqueue_event(conn, uuid.uuid4(), None, "submission.exploded", {})


async def test_deliveries_pages_with_a_cursor(client, conn):
    tenant = await create_tenant(conn)
    hook = (await _create(client, tenant)).json()["data"]
    await enqueue_event(conn, tenant.org.id, None, "submission.completed", {})
    delivery = await conn.fetchrow("SELECT id, org_id, webhook_id FROM webhook_deliveries")
    for n in (1, 2, 3):
        await conn.execute(
            "INSERT INTO webhook_delivery_attempts (org_id, webhook_id, delivery_id, attempt, status_code, "
            "duration_ms, at) VALUES ($1, $2, $3, $4, 500, 12, now() + make_interval(secs => $4::int))",
            delivery["org_id"],
            delivery["webhook_id"],
            delivery["id"],
            n,
        )
    seen, cursor = [], None
    while True:
        body = {"webhook_id": hook["id"], "limit": 2, **({"cursor": cursor} if cursor else {})}
        r = await client.post("/api/webhooks/deliveries", json=body, headers=_admin(tenant))
        assert r.status_code == 200, r.text
        seen += [a["attempt"] for a in r.json()["data"]["items"]]
        cursor = r.json()["data"]["next_cursor"]
        if cursor is None:
            break
    assert seen == [3, 2, 1]
