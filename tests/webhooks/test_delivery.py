"""Delivery end to end: an event queued in a transaction reaches a real receiver on a loopback
socket, signed per Standard Webhooks, retried on the configured schedule (a clock the test moves),
and every attempt is listed by `webhooks/deliveries`."""

import asyncio
import json
from datetime import datetime, timedelta

import httpx
import pytest

from app.auth.context import Role
from app.repositories import webhooks as webhooks_repo
from app.services.webhooks import UrlGuard, enqueue_event
from tests.factories import create_tenant


async def _subscribe(client, tenant, url, events=("submission.completed",), **extra):
    r = await client.post(
        "/api/webhooks/create",
        json={"url": url, "events": list(events), **extra},
        headers=tenant.headers(Role.org_admin),
    )
    assert r.status_code == 200, r.text
    return r.json()["data"]


async def _attempts(client, tenant, webhook_id):
    r = await client.post(
        "/api/webhooks/deliveries", json={"webhook_id": webhook_id}, headers=tenant.headers(Role.org_admin)
    )
    assert r.status_code == 200, r.text
    return r.json()["data"]["items"]


async def _event(conn, tenant, event_type="submission.completed", company=None, **data):
    data = data or {"submission_id": "11111111-1111-1111-1111-111111111111", "status": "completed", "summary": {}}
    async with conn.transaction():  # the transaction of the state change
        await enqueue_event(conn, tenant.org.id, (company or tenant.company_a).id, event_type, data)


async def test_a_failing_receiver_gets_the_same_signed_event_on_the_retry_schedule(
    client, conn, receiver, clock, make_deliverer
):
    tenant = await create_tenant(conn)
    hook = await _subscribe(client, tenant, receiver.url)
    receiver.secrets = [hook["secret"]]
    receiver.answers = [(500, {}), (500, {})]
    summary = {"total": 2, "succeeded": 1, "failed": 1}
    await _event(
        conn, tenant, submission_id="22222222-2222-2222-2222-222222222222", status="completed", summary=summary
    )
    deliverer = make_deliverer()  # the default schedule: 5 s, then 30 s, ...
    started = clock()

    assert await deliverer.run_once() == 1  # attempt 1: 500
    assert await deliverer.run_once() == 0  # not due again yet
    clock.advance(4.9)
    assert await deliverer.run_once() == 0
    clock.advance(0.1)
    assert await deliverer.run_once() == 1  # attempt 2 at +5 s: 500
    clock.advance(29.9)
    assert await deliverer.run_once() == 0
    clock.advance(0.1)
    assert await deliverer.run_once() == 1  # attempt 3 at +35 s: accepted
    clock.advance(3600)
    assert await deliverer.run_once() == 0  # delivered: never again

    assert len(receiver.received) == 3
    ids = {r.headers["webhook-id"] for r in receiver.received}
    assert len(ids) == 1
    assert all(r.verified_with == [hook["secret"]] for r in receiver.received)
    assert len({r.body for r in receiver.received}) == 1
    payload = json.loads(receiver.received[0].body)
    assert payload["type"] == "submission.completed"
    assert payload["data"] == {
        "submission_id": "22222222-2222-2222-2222-222222222222",
        "status": "completed",
        "summary": summary,
    }
    assert datetime.fromisoformat(payload["timestamp"])
    stamps = [int(r.headers["webhook-timestamp"]) for r in receiver.received]
    assert [s - stamps[0] for s in stamps] == [0, 5, 35]  # each attempt signs its own time

    attempts = await _attempts(client, tenant, hook["id"])
    assert [a["attempt"] for a in attempts] == [3, 2, 1]  # newest first
    assert [a["status_code"] for a in attempts] == [204, 500, 500]
    assert [a["error"] for a in attempts] == [None, "HTTP 500", "HTTP 500"]
    assert {a["delivery_id"] for a in attempts} == ids
    assert {a["event_type"] for a in attempts} == {"submission.completed"}
    assert {a["delivery_status"] for a in attempts} == {"delivered"}
    at = {a["attempt"]: datetime.fromisoformat(a["at"]) for a in attempts}
    assert at[1] == started and at[2] == started + timedelta(seconds=5) and at[3] == started + timedelta(seconds=35)
    nxt = {a["attempt"]: a["next_attempt_at"] for a in attempts}
    assert datetime.fromisoformat(nxt[1]) == at[2] and datetime.fromisoformat(nxt[2]) == at[3] and nxt[3] is None
    assert hook["secret"] not in json.dumps(attempts)


async def test_a_delivery_gives_up_when_the_schedule_is_used_up(client, conn, receiver, clock, make_deliverer):
    tenant = await create_tenant(conn)
    hook = await _subscribe(client, tenant, receiver.url)
    receiver.answers = [(503, {})] * 10
    await _event(conn, tenant)
    deliverer = make_deliverer(webhook_retry_schedule_seconds=[1, 2])
    for wait in (0, 1, 2):
        clock.advance(wait)
        assert await deliverer.run_once() == 1
    clock.advance(10 * 24 * 3600)
    assert await deliverer.run_once() == 0
    attempts = await _attempts(client, tenant, hook["id"])
    assert [a["attempt"] for a in attempts] == [3, 2, 1]
    assert {a["delivery_status"] for a in attempts} == {"failed"}
    assert attempts[0]["next_attempt_at"] is None
    row = await conn.fetchrow("SELECT status, attempts, last_status_code FROM webhook_deliveries")
    assert dict(row) == {"status": "failed", "attempts": 3, "last_status_code": 503}


async def test_the_default_schedule_retries_for_more_than_a_day(settings):
    assert sum(settings.webhook_retry_schedule_seconds) >= 24 * 3600


async def test_redirects_are_not_followed(client, conn, receiver, make_deliverer):
    tenant = await create_tenant(conn)
    hook = await _subscribe(client, tenant, receiver.url)
    receiver.answers = [(302, {"location": receiver.url + "/elsewhere"})]
    await _event(conn, tenant)
    assert await make_deliverer().run_once() == 1
    assert [r.headers.get("webhook-id") is not None for r in receiver.received] == [True]  # one request, no hop
    (attempt,) = await _attempts(client, tenant, hook["id"])
    assert attempt["status_code"] == 302 and attempt["delivery_status"] == "pending"


async def test_a_slow_receiver_times_out_and_is_retried(client, conn, receiver, make_deliverer):
    tenant = await create_tenant(conn)
    hook = await _subscribe(client, tenant, receiver.url)
    receiver.delay = 0.6
    await _event(conn, tenant)
    assert await make_deliverer(webhook_timeout_seconds=0.2).run_once() == 1
    (attempt,) = await _attempts(client, tenant, hook["id"])
    assert attempt["status_code"] is None and attempt["error"].startswith("timeout")
    assert attempt["delivery_status"] == "pending" and attempt["next_attempt_at"] is not None


async def test_a_refused_connection_is_recorded_and_retried(client, conn, make_deliverer):
    tenant = await create_tenant(conn)
    hook = await _subscribe(client, tenant, "http://127.0.0.1:9/nothing-listens-here")
    await _event(conn, tenant)
    assert await make_deliverer().run_once() == 1
    (attempt,) = await _attempts(client, tenant, hook["id"])
    assert attempt["status_code"] is None and attempt["error"].startswith("ConnectError")
    assert attempt["delivery_status"] == "pending"


async def test_a_rotated_secret_signs_beside_the_old_one_during_the_grace_period(
    client, conn, receiver, clock, make_deliverer
):
    tenant = await create_tenant(conn)
    hook = await _subscribe(client, tenant, receiver.url)
    r = await client.post(
        "/api/webhooks/rotate-secret", json={"webhook_id": hook["id"]}, headers=tenant.headers(Role.org_admin)
    )
    assert r.status_code == 200, r.text
    new = r.json()["data"]["secret"]
    assert new != hook["secret"]
    receiver.secrets = [hook["secret"], new]
    await _event(conn, tenant)
    await _event(conn, tenant)
    deliverer = make_deliverer()
    assert await deliverer.run_once() == 2
    for received in receiver.received:
        assert received.verified_with == [hook["secret"], new]
        assert len(received.headers["webhook-signature"].split(" ")) == 2
    # after the grace period only the new secret signs
    await _event(conn, tenant)
    clock.advance(24 * 3600 + 1)
    # the receiver checks timestamps against the real time: compare signatures only
    assert await deliverer.run_once() == 1
    assert len(receiver.received[-1].headers["webhook-signature"].split(" ")) == 1


async def test_each_webhook_has_at_most_its_in_flight_limit_claimed(client, conn, receiver, make_deliverer):
    tenant = await create_tenant(conn)
    await _subscribe(client, tenant, receiver.url)
    await _subscribe(client, tenant, receiver.url + "/second")
    for _ in range(3):
        await _event(conn, tenant)
    deliverer = make_deliverer(webhook_max_in_flight_per_webhook=2)
    assert await deliverer.run_once() == 4  # two per webhook
    assert await deliverer.run_once() == 2
    assert len(receiver.received) == 6


async def test_a_claim_is_a_lease_that_a_dead_process_gives_back(conn, clock):
    tenant = await create_tenant(conn)
    await conn.execute(
        "INSERT INTO webhooks (org_id, url, events, secret) VALUES ($1, 'http://127.0.0.1:9/x', '{run.failed}', "
        "'whsec_c2VjcmV0')",
        tenant.org.id,
    )
    await _event(conn, tenant, "run.failed", pipeline_run_id="x")
    now = clock() + timedelta(seconds=1)
    lease = now + timedelta(seconds=40)
    assert len(await webhooks_repo.claim_due(conn, now, lease, 4, 100)) == 1
    # claimed (by a process that then died): invisible until the lease ends, then due again
    assert await webhooks_repo.claim_due(conn, lease - timedelta(seconds=1), lease, 4, 100) == []
    (again,) = await webhooks_repo.claim_due(conn, lease, lease + timedelta(seconds=40), 4, 100)
    assert again.attempts == 0


async def test_delivery_checks_the_address_again_at_every_attempt(client, conn, receiver, make_deliverer):
    """DNS rebinding: the name resolved to a public address when the webhook was created and
    resolves to loopback now. Nothing is sent; the attempt says why and is retried."""
    tenant = await create_tenant(conn)
    answers = {"hooks.example.com": ["93.184.216.34"]}

    async def resolver(host, port):
        return answers[host]

    client_app = client._transport.app  # type: ignore[attr-defined]
    client_app.state.webhook_guard = UrlGuard(production=True, resolver=resolver)
    try:
        hook = await _subscribe(client, tenant, "https://hooks.example.com/in")
    finally:
        client_app.state.webhook_guard = UrlGuard(production=False)
    answers["hooks.example.com"] = ["127.0.0.1"]
    await _event(conn, tenant)
    assert await make_deliverer(UrlGuard(production=True, resolver=resolver)).run_once() == 1
    (attempt,) = await _attempts(client, tenant, hook["id"])
    assert attempt["status_code"] is None
    assert attempt["error"] == "url not allowed: the host resolves to a loopback address"
    assert attempt["delivery_status"] == "pending"
    assert receiver.received == []


async def test_production_requests_go_to_the_checked_address_with_the_names_host_and_sni(
    client, conn, clock, make_deliverer
):
    tenant = await create_tenant(conn)
    hook_id = await conn.fetchval(
        "INSERT INTO webhooks (org_id, url, events, secret) VALUES ($1, 'https://hooks.example.com:8443/in?k=1', "
        "'{submission.completed}', 'whsec_c2VjcmV0') RETURNING id",
        tenant.org.id,
    )
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    async def resolver(host, port):
        assert (host, port) == ("hooks.example.com", 8443)
        return ["93.184.216.34"]

    # the one place a mock transport stands in for the network: a public address cannot be
    # reached from the tests, and what matters is where the request is addressed
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer), follow_redirects=False) as http:
        deliverer = make_deliverer(UrlGuard(production=True, resolver=resolver), http=http)
        await _event(conn, tenant)
        assert await deliverer.run_once() == 1
    (request,) = seen
    assert str(request.url) == "https://93.184.216.34:8443/in?k=1"
    assert request.headers["host"] == "hooks.example.com:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.com"
    assert await conn.fetchval("SELECT status FROM webhook_deliveries WHERE webhook_id = $1", hook_id) == "delivered"


async def test_a_backlog_of_one_webhook_is_delivered_without_waiting_out_the_poll_interval(
    client, conn, receiver, make_deliverer
):
    """The in-flight limit caps how many deliveries of one webhook are sent at once, not how many
    a second: while rounds find work the loop goes on, and it sleeps only when a round found none
    (it slept after every round of 4, so one busy webhook got at most 4 events a second)."""
    tenant = await create_tenant(conn)
    await _subscribe(client, tenant, receiver.url)
    for _ in range(10):
        await _event(conn, tenant)
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        raise asyncio.CancelledError  # the first sleep ends the loop

    deliverer = make_deliverer(webhook_max_in_flight_per_webhook=4, webhook_batch_size=100)
    deliverer.sleep = sleep
    with pytest.raises(asyncio.CancelledError):
        await deliverer.run_forever()
    assert len(receiver.received) == 10  # rounds of 4, 4, 2, then an empty one before the sleep
    assert sleeps == [deliverer.interval]
