"""Never pay twice (CONTRACT §9.2): the org's result cache and single flight, through the real
app on the real database, counting provider calls with respx."""

import asyncio
import uuid
from typing import NamedTuple

import httpx
import pytest
import respx

from app.auth.context import AuthContext, AuthMethod, Role
from app.contracts.entities import EntityType
from app.db import get_db
from app.operations.registry import REGISTRY
from app.operations.result_cache import cache_key
from app.repositories import operation_runs as operation_runs_repo
from app.services import execute as execute_service
from tests.conftest import SavepointDb
from tests.factories import create_blueprint, create_tenant
from tests.operations.test_execute import ADYNTEL_LINKEDIN, MV, REOON, execute, mv, reoon

VERIFY = "person.contact.verify_email"
PHONE = "person.contact.resolve_mobile_phone"
LEADMAGIC_PHONE = "https://leadmagic.provider.test/v1/people/mobile-finder"


def linkedin_ads() -> httpx.Response:
    return httpx.Response(200, json={"ads": [], "paging": {"total": 0}})


class HeldVerifier(NamedTuple):
    """MillionVerifier's route, holding every request until `release` is set; `entered` is set
    by the first request to arrive."""

    route: respx.Route
    entered: asyncio.Event
    release: asyncio.Event


def hold_verifier(*answers: httpx.Response) -> HeldVerifier:
    """Answers `answers` in turn once released; "ok" to every request when none are given. Call it
    inside `respx.mock`."""
    entered, release = asyncio.Event(), asyncio.Event()
    replies = iter(answers)

    async def verdict(request):
        entered.set()
        await release.wait()
        return next(replies) if answers else mv("ok")

    return HeldVerifier(respx.get(MV).mock(side_effect=verdict), entered, release)


@pytest.fixture
async def tenant(conn):
    return await create_tenant(conn)


@pytest.fixture
def shared_db(provider_app, pclient, conn):
    """One Db for every request of the test, so concurrent requests take turns on the test's
    connection (the default override makes one per request)."""
    db = SavepointDb(conn)
    provider_app.dependency_overrides[get_db] = lambda: db
    return db


async def _verify(client, tenant, email, options=None, role=Role.member):
    r = await execute(client, tenant.headers(role), VERIFY, "person", {"work_email": email}, options)
    assert r.status_code == 200, r.text
    return r.json()["data"]


async def _attempt_count(conn, run_id) -> int:
    return await conn.fetchval("SELECT count(*) FROM operation_attempts WHERE run_id = $1", uuid.UUID(run_id))


class TestCache:
    @respx.mock
    async def test_the_same_lookup_again_is_answered_from_the_first_run_without_a_provider(self, pclient, conn, tenant):
        route = respx.get(MV).mock(return_value=mv("ok"))
        first = await _verify(pclient, tenant, "jane@acme.com")
        second = await _verify(pclient, tenant, "jane@acme.com")
        assert route.call_count == 1
        assert first["cached"] is False and first["cached_from_run_id"] is None
        assert second["cached"] is True and second["cached_from_run_id"] == first["run_id"]
        assert second["status"] == first["status"] == "verified"
        assert second["output"] == first["output"]
        assert second["provider_attempts"] == []
        # the cached run is recorded, and bills nothing: no attempt rows
        assert await _attempt_count(conn, second["run_id"]) == 0
        assert await _attempt_count(conn, first["run_id"]) == 1
        run = await pclient.post(
            "/api/operation-runs/get", json={"run_id": second["run_id"]}, headers=tenant.headers(Role.member)
        )
        got = run.json()["data"]
        assert got["cached"] is True and got["cached_from_run_id"] == first["run_id"]
        assert got["provider_attempts"] == []

    @respx.mock
    async def test_case_whitespace_and_the_rest_of_the_context_do_not_defeat_the_cache(self, pclient, tenant):
        route = respx.get(MV).mock(return_value=mv("ok"))
        first = await _verify(pclient, tenant, "Jane@Acme.com")
        headers = tenant.headers(Role.member)
        # same address, other case and spacing, other person around it, keys in another order
        r = await execute(
            pclient, headers, VERIFY, "person", {"last_name": "Smith", "work_email": "  JANE@acme.COM ", "x": 1}
        )
        assert r.json()["data"]["cached_from_run_id"] == first["run_id"]
        assert route.call_count == 1

    @respx.mock
    async def test_a_domain_in_another_form_is_the_same_company(self, pclient, tenant):
        route = respx.post(ADYNTEL_LINKEDIN).mock(return_value=linkedin_ads())
        headers = tenant.headers(Role.member)
        first = (
            await execute(pclient, headers, "company.ads.search.linkedin", "company", {"domain": "acme.com"})
        ).json()["data"]
        assert first["status"] in ("found", "not_found"), first
        again = (
            await execute(
                pclient,
                headers,
                "company.ads.search.linkedin",
                "company",
                {"website": "https://www.ACME.com/pricing", "name": None},
            )
        ).json()["data"]
        assert again["cached_from_run_id"] == first["run_id"]
        assert route.call_count == 1

    @respx.mock
    async def test_linkedin_url_forms_and_name_case_are_one_person(self, pclient, tenant):
        route = respx.post(LEADMAGIC_PHONE).mock(
            return_value=httpx.Response(
                200, json={"mobile_number": None, "message": "not found", "credits_consumed": 0}
            )
        )
        respx.post(url__startswith="https://blitzapi.provider.test").mock(
            return_value=httpx.Response(200, json={"found": False})
        )
        headers = tenant.headers(Role.member)
        options = {"providers": ["leadmagic"]}
        first = (
            await execute(
                pclient,
                headers,
                PHONE,
                "person",
                {"linkedin_url": "https://www.linkedin.com/in/jane-doe", "first_name": "Jane"},
                options,
            )
        ).json()["data"]
        assert first["status"] != "failed", first
        again = (
            await execute(
                pclient,
                headers,
                PHONE,
                "person",
                {"first_name": "JANE ", "linkedin_url": "linkedin.com/in/Jane-Doe/?utm=x"},
                options,
            )
        ).json()["data"]
        assert again["cached_from_run_id"] == first["run_id"]
        assert route.call_count == 1

    @respx.mock
    async def test_another_provider_order_is_another_lookup(self, pclient, tenant):
        respx.get(MV).mock(return_value=mv("ok"))
        reoon_route = respx.get(REOON).mock(return_value=reoon("safe"))
        await _verify(pclient, tenant, "jane@acme.com")
        other = await _verify(pclient, tenant, "jane@acme.com", {"providers": ["reoon"]})
        assert other["cached"] is False and reoon_route.call_count == 1

    @respx.mock
    async def test_cache_false_calls_the_provider_and_becomes_the_newest_answer(self, pclient, conn, tenant):
        route = respx.get(MV).mock(return_value=mv("ok"))
        first = await _verify(pclient, tenant, "jane@acme.com")
        # the test's one transaction gives every row the same now(): make the first one older
        await conn.execute(
            "UPDATE operation_runs SET created_at = created_at - interval '1 minute' WHERE id = $1",
            uuid.UUID(first["run_id"]),
        )
        forced = await _verify(pclient, tenant, "jane@acme.com", {"cache": False})
        assert forced["cached"] is False and route.call_count == 2
        third = await _verify(pclient, tenant, "jane@acme.com")
        assert third["cached_from_run_id"] == forced["run_id"] and route.call_count == 2

    @respx.mock
    async def test_cache_must_be_a_boolean(self, pclient, tenant):
        r = await execute(
            pclient, tenant.headers(Role.member), VERIFY, "person", {"work_email": "a@b.co"}, {"cache": "no"}
        )
        assert r.status_code == 422
        assert r.json()["error"]["code"] == "validation_error"

    @respx.mock
    async def test_a_failure_is_never_served_again(self, pclient, tenant):
        route = respx.get(MV).mock(side_effect=[httpx.Response(500), mv("ok")])
        failed = await _verify(pclient, tenant, "jane@acme.com", {"providers": ["millionverifier"]})
        assert failed["status"] == "failed"
        again = await _verify(pclient, tenant, "jane@acme.com", {"providers": ["millionverifier"]})
        assert again["cached"] is False and again["status"] == "verified" and route.call_count == 2

    @respx.mock
    async def test_an_answer_older_than_the_ttl_is_not_served(self, pclient, conn, tenant):
        route = respx.get(MV).mock(return_value=mv("ok"))
        first = await _verify(pclient, tenant, "jane@acme.com")
        # default TTL: 168 hours
        await conn.execute(
            "UPDATE operation_runs SET created_at = created_at - interval '167 hours' WHERE id = $1",
            uuid.UUID(first["run_id"]),
        )
        assert (await _verify(pclient, tenant, "jane@acme.com"))["cached_from_run_id"] == first["run_id"]
        await conn.execute(
            "UPDATE operation_runs SET created_at = created_at - interval '2 hours' WHERE id = $1",
            uuid.UUID(first["run_id"]),
        )
        fresh = await _verify(pclient, tenant, "jane@acme.com")
        assert fresh["cached"] is False and route.call_count == 2

    @respx.mock
    async def test_a_served_run_never_extends_the_age_of_the_answer(self, pclient, conn, tenant):
        route = respx.get(MV).mock(return_value=mv("ok"))
        first = await _verify(pclient, tenant, "jane@acme.com")
        await _verify(pclient, tenant, "jane@acme.com")  # cached, recorded now
        await conn.execute(
            "UPDATE operation_runs SET created_at = created_at - interval '169 hours' WHERE id = $1",
            uuid.UUID(first["run_id"]),
        )
        assert (await _verify(pclient, tenant, "jane@acme.com"))["cached"] is False
        assert route.call_count == 2

    @respx.mock
    async def test_another_org_never_hits_the_cache(self, pclient, conn, tenant):
        route = respx.get(MV).mock(return_value=mv("ok"))
        await _verify(pclient, tenant, "jane@acme.com")
        other = await create_tenant(conn)
        theirs = await _verify(pclient, other, "jane@acme.com")
        assert theirs["cached"] is False and route.call_count == 2

    @respx.mock
    async def test_the_cache_is_per_org_across_its_companies(self, pclient, conn, tenant):
        # decision 0049: the org pays for every company's calls, so a lookup is paid once per org
        route = respx.get(MV).mock(return_value=mv("ok"))
        first = await _verify(pclient, tenant, "jane@acme.com", role=Role.org_admin)
        member = await _verify(pclient, tenant, "jane@acme.com", role=Role.member)
        assert member["cached_from_run_id"] == first["run_id"] and route.call_count == 1


class TestSingleFlight:
    @respx.mock
    async def test_five_concurrent_identical_lookups_make_one_provider_call(
        self, pclient, tenant, shared_db, monkeypatch
    ):
        arrived = _CountingFlights()
        monkeypatch.setattr(execute_service, "_flights", arrived)
        route, entered, release = hold_verifier()
        calls = asyncio.gather(*(_verify(pclient, tenant, "jane@acme.com") for _ in range(5)))
        await asyncio.wait_for(entered.wait(), 10)
        # every other lookup has found the one in flight before the provider answers
        await asyncio.wait_for(arrived.waiters(4), 10)
        release.set()
        answers = await asyncio.wait_for(calls, 10)
        assert route.call_count == 1
        leaders = [a for a in answers if not a["cached"]]
        assert len(leaders) == 1
        assert {a["cached_from_run_id"] for a in answers if a["cached"]} == {leaders[0]["run_id"]}
        assert all(a["status"] == "verified" for a in answers)

    @respx.mock
    async def test_when_the_leader_fails_one_waiter_calls_again_for_all(self, pclient, tenant, shared_db, monkeypatch):
        arrived = _CountingFlights()
        monkeypatch.setattr(execute_service, "_flights", arrived)
        route, entered, release = hold_verifier(httpx.Response(500), mv("ok"))
        options = {"providers": ["millionverifier"]}
        calls = asyncio.gather(*(_verify(pclient, tenant, "jane@acme.com", options) for _ in range(3)))
        await asyncio.wait_for(entered.wait(), 10)
        await asyncio.wait_for(arrived.waiters(2), 10)
        release.set()
        answers = await asyncio.wait_for(calls, 10)
        assert route.call_count == 2
        assert sorted(a["status"] for a in answers) == ["failed", "verified", "verified"]
        second = next(a for a in answers if a["status"] == "verified" and not a["cached"])
        assert [a["cached_from_run_id"] for a in answers if a["cached"]] == [second["run_id"]]

    @respx.mock
    async def test_a_waiter_never_names_the_leaders_run_before_it_is_recorded(
        self, provider_app, pclient, tenant, shared_db, monkeypatch
    ):
        # found by the many-machines e2e test: a step executed twice at once (its worker's call
        # timed out and was retried) joined its own earlier call's flight, recorded first and
        # named a run that did not exist yet: a foreign-key violation, a 500, and again on retry
        monkeypatch.setattr(execute_service, "CLAIM_POLL_SECONDS", 0.01)
        arrived = _CountingFlights()
        monkeypatch.setattr(execute_service, "_flights", arrived)
        route, entered, release = hold_verifier()
        engine = provider_app.state.engine
        auth = AuthContext(
            org_id=tenant.org.id, company_id=None, user_id=None, role=None, auth_method=AuthMethod.internal
        )

        def lookup():
            return execute_service.obtain(
                shared_db, engine, auth, VERIFY, EntityType.person, {"work_email": "jane@acme.com"}
            )

        leading = asyncio.create_task(lookup())
        await asyncio.wait_for(entered.wait(), 10)
        waiting = asyncio.create_task(lookup())
        await asyncio.wait_for(arrived.waiters(1), 10)
        release.set()
        leader = await asyncio.wait_for(leading, 10)
        for _ in range(20):  # the waiter's chance to answer before the leader's run is written
            await asyncio.sleep(0.01)
        if waiting.done():
            async with shared_db.transaction() as c:
                await execute_service.record(c, engine, auth, waiting.result())
        async with shared_db.transaction() as c:
            await execute_service.record(c, engine, auth, leader)
        waiter = await asyncio.wait_for(waiting, 10)
        async with shared_db.transaction() as c:
            await execute_service.record(c, engine, auth, waiter)
        assert waiter.cached_from_run_id == leader.run_id and route.call_count == 1

    @respx.mock
    async def test_another_process_in_flight_is_waited_for_not_called_again(
        self, pclient, conn, tenant, shared_db, monkeypatch
    ):
        monkeypatch.setattr(execute_service, "CLAIM_POLL_SECONDS", 0.01)
        route = respx.get(MV).mock(return_value=mv("ok"))
        key = _verify_key("jane@acme.com")
        async with shared_db.transaction() as c:
            await c.execute(
                "INSERT INTO operation_cache_claims (org_id, cache_key, expires_at) "
                "VALUES ($1, $2, now() + interval '1 hour')",
                tenant.org.id,
                key,
            )
        waiting = asyncio.create_task(_verify(pclient, tenant, "jane@acme.com"))
        await asyncio.sleep(0.1)
        assert not waiting.done() and route.call_count == 0
        # the other process records its answer and lets go of its claim
        async with shared_db.transaction() as c:
            theirs = await c.fetchval(
                "INSERT INTO operation_runs (org_id, auth_method, operation_id, entity_type, status, input, output, "
                "cache_key) VALUES ($1, 'internal', $2, 'person', 'verified', '{}', $3, $4) RETURNING id",
                tenant.org.id,
                VERIFY,
                {"email_verdict": "deliverable", "email_verification_status": "ok", "email_verified_by": "x"},
                key,
            )
            await c.execute("DELETE FROM operation_cache_claims WHERE cache_key = $1", key)
        answer = await asyncio.wait_for(waiting, 10)
        assert answer["cached_from_run_id"] == str(theirs) and route.call_count == 0

    @respx.mock
    async def test_a_run_committed_between_the_cache_read_and_the_claim_is_served(
        self, pclient, tenant, shared_db, monkeypatch
    ):
        # found by the many-machines e2e test (two API processes, one verification paid twice):
        # the other process recorded its run and released its claim just after this lookup read
        # the cache and just before it claimed, so the claim succeeded and it called again
        route = respx.get(MV).mock(return_value=mv("ok"))
        key = _verify_key("jane@acme.com")
        theirs: list[uuid.UUID] = []
        real_claim = operation_runs_repo.claim

        async def claim_after_the_other_process_committed(c, org_id, cache_key_, seconds):
            if not theirs:
                theirs.append(
                    await c.fetchval(
                        "INSERT INTO operation_runs (org_id, auth_method, operation_id, entity_type, status, input,"
                        " output, cache_key) VALUES ($1, 'internal', $2, 'person', 'verified', '{}', $3, $4)"
                        " RETURNING id",
                        tenant.org.id,
                        VERIFY,
                        {"email_verdict": "deliverable", "email_verification_status": "ok", "email_verified_by": "x"},
                        key,
                    )
                )
            return await real_claim(c, org_id, cache_key_, seconds)

        monkeypatch.setattr(operation_runs_repo, "claim", claim_after_the_other_process_committed)
        answer = await asyncio.wait_for(_verify(pclient, tenant, "jane@acme.com"), 10)
        assert answer["cached_from_run_id"] == str(theirs[0]) and route.call_count == 0
        async with shared_db.transaction() as c:
            assert await c.fetchval("SELECT count(*) FROM operation_cache_claims WHERE cache_key = $1", key) == 0

    @respx.mock
    async def test_a_lapsed_claim_of_a_dead_process_is_taken_over(self, pclient, tenant, shared_db):
        route = respx.get(MV).mock(return_value=mv("ok"))
        key = _verify_key("jane@acme.com")
        async with shared_db.transaction() as c:
            await c.execute(
                "INSERT INTO operation_cache_claims (org_id, cache_key, expires_at) "
                "VALUES ($1, $2, now() - interval '1 second')",
                tenant.org.id,
                key,
            )
            # the claim is another org's key space too: theirs never blocks ours
        answer = await asyncio.wait_for(_verify(pclient, tenant, "jane@acme.com"), 10)
        assert answer["cached"] is False and route.call_count == 1
        async with shared_db.transaction() as c:
            assert await c.fetchval("SELECT count(*) FROM operation_cache_claims WHERE cache_key = $1", key) == 0


class TestPipelineSteps:
    @respx.mock
    async def test_five_runs_verifying_one_email_concurrently_pay_once(
        self, pclient, conn, settings, tenant, shared_db, monkeypatch
    ):
        from tests.pipelines.test_worker_callbacks import call, internal

        arrived = _CountingFlights()
        monkeypatch.setattr(execute_service, "_flights", arrived)
        route, entered, release = hold_verifier()
        blueprint = await create_blueprint(conn, tenant.org.id, (VERIFY,))
        people = [
            {"entity_type": "person", "input": {"full_name": f"P{i}", "work_email": "Jane@Acme.com"}} for i in range(5)
        ]
        r = await pclient.post(
            "/api/v1/batch/submit",
            json={"blueprint_id": str(blueprint.id), "company_id": str(tenant.company_a.id), "entities": people},
            headers=tenant.headers(Role.org_admin),
        )
        assert r.status_code == 200, r.text
        run_ids = r.json()["data"]["pipeline_run_ids"]
        headers = internal(settings, tenant)
        for run_id in run_ids:
            await call(pclient, "pipeline-runs/start", {"pipeline_run_id": run_id}, headers)
        steps = asyncio.gather(
            *(call(pclient, "steps/execute", {"pipeline_run_id": rid, "position": 1}, headers) for rid in run_ids)
        )
        await asyncio.wait_for(entered.wait(), 10)
        await asyncio.wait_for(arrived.waiters(4), 10)
        release.set()
        results = await asyncio.wait_for(steps, 10)
        assert route.call_count == 1
        assert all(s["status"] == "succeeded" for s in results)
        assert {s["output"]["email_verdict"] for s in results} == {"deliverable"}
        cached = await conn.fetch(
            "SELECT cached, cached_from_run_id, step_position FROM operation_runs WHERE pipeline_run_id = ANY($1)",
            [uuid.UUID(x) for x in run_ids],
        )
        assert sorted(r["cached"] for r in cached) == [False, True, True, True, True]

    @respx.mock
    async def test_step_config_cache_false_calls_the_provider(self, pclient, conn, settings, tenant):
        from tests.pipelines.test_worker_callbacks import drive, internal

        route = respx.get(MV).mock(return_value=mv("ok"))
        await _verify(pclient, tenant, "jane@acme.com")
        blueprint = await create_blueprint(conn, tenant.org.id, (VERIFY,))
        await conn.execute(
            "UPDATE blueprint_steps SET step_config = '{\"cache\": false}' WHERE blueprint_id = $1", blueprint.id
        )
        uncached = await _submit_one(pclient, tenant, blueprint)
        await drive(pclient, internal(settings, tenant), uncached)
        assert route.call_count == 2
        cached_bp = await create_blueprint(conn, tenant.org.id, (VERIFY,))
        await drive(pclient, internal(settings, tenant), await _submit_one(pclient, tenant, cached_bp))
        assert route.call_count == 2


async def _submit_one(client, tenant, blueprint) -> str:
    r = await client.post(
        "/api/v1/batch/submit",
        json={
            "blueprint_id": str(blueprint.id),
            "company_id": str(tenant.company_a.id),
            "entities": [{"entity_type": "person", "input": {"work_email": "jane@acme.com"}}],
        },
        headers=tenant.headers(Role.org_admin),
    )
    assert r.status_code == 200, r.text
    return r.json()["data"]["pipeline_run_ids"][0]


def _verify_key(email: str) -> str:
    operation = REGISTRY[VERIFY]
    data = operation.spec.input_model.model_validate({"work_email": email})
    return cache_key(operation, data, list(operation.spec.default_providers), None)


class _CountingFlights(dict):
    """The flight map, counting the lookups that found one in flight (they wait for it)."""

    def __init__(self) -> None:
        super().__init__()
        self.found = 0

    def get(self, key, default=None):
        value = super().get(key, default)
        if value is not None:
            self.found += 1
        return value

    async def waiters(self, n: int) -> None:
        while self.found < n:
            await asyncio.sleep(0.01)
