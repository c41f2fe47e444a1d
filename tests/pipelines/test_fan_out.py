"""Fan-out (CONTRACT §9.1) through the real app and the worker's internal endpoints, provider HTTP
mocked: a company run's person.search step turns its results into child runs of a person
blueprint in the same submission, once, within max_children, the submission's run cap and the
depth limit; batch status shows the tree; cancel reaches children; the submission ends only
when every child has; a person child's record is linked to its parent's company record."""

import asyncio
import json
import uuid

import asyncpg
import httpx
import pytest
import respx

from app.auth.context import Role, org_scope
from app.db import init_connection
from app.models.blueprints import BlueprintCreateRequest, BlueprintStepInput
from app.repositories import submissions as submissions_repo
from app.services import blueprints as blueprints_service
from tests import pg
from tests.factories import create_tenant
from tests.pipelines.test_worker_callbacks import call, drive, internal, prospeo_company
from tests.providers.conftest import base_url

ENRICH = base_url("prospeo") + "/enrich-company"
SEARCH_PERSON = base_url("prospeo") + "/search-person"
MOBILE = base_url("leadmagic") + "/v1/people/mobile-finder"


def people(*slugs: str, company: str = "Acme") -> httpx.Response:
    results = [
        {
            "person": {
                "person_id": slug,
                "full_name": f"{slug.title()} Doe",
                "current_job_title": "Director of Sales",
                "linkedin_url": f"https://linkedin.com/in/{slug}/",
            },
            "company": {"name": company, "domain": "www.acme.com"},
        }
        for slug in slugs
    ]
    pagination = {"current_page": 1, "per_page": 25, "total_page": 1, "total_count": len(results)}
    return httpx.Response(200, json={"error": False, "results": results, "pagination": pagination})


def mobile(number: str | None = "12077523358") -> httpx.Response:
    body = {
        "profile_url": None,
        "email": None,
        "mobile_number": number,
        "credits_consumed": 5 if number else 0,
        "message": "Mobile number found." if number else "No mobile number found for this contact.",
    }
    return httpx.Response(200, json=body)


async def blueprint(conn, org_id, steps):
    body = BlueprintCreateRequest(name=f"bp {uuid.uuid4().hex[:6]}", steps=[BlueprintStepInput(**s) for s in steps])
    return await blueprints_service.create(conn, org_scope(org_id), body)


async def company_to_people(conn, org_id, **fan_out):
    person_bp = await blueprint(
        conn,
        org_id,
        [
            {
                "position": 1,
                "operation_id": "person.contact.resolve_mobile_phone",
                "step_config": {"providers": ["leadmagic"]},
            }
        ],
    )
    company_bp = await blueprint(
        conn,
        org_id,
        [
            {"position": 1, "operation_id": "company.enrich.profile", "step_config": {"providers": ["prospeo"]}},
            {
                "position": 2,
                "operation_id": "person.search",
                "step_config": {"providers": ["prospeo"]},
                "fan_out": {"blueprint_id": person_bp.id, **fan_out},
            },
        ],
    )
    return company_bp, person_bp


@pytest.fixture
async def world(conn, pclient, settings):
    tenant = await create_tenant(conn)
    company_bp, person_bp = await company_to_people(conn, tenant.org.id)
    return tenant, company_bp, person_bp, internal(settings, tenant)


async def submit(client, tenant, bp, domains):
    r = await client.post(
        "/api/v1/batch/submit",
        json={
            "blueprint_id": str(bp.id),
            "company_id": str(tenant.company_a.id),
            "entities": [{"entity_type": "company", "input": {"domain": d}} for d in domains],
        },
        headers=tenant.headers(Role.org_admin),
    )
    assert r.status_code == 200, r.text
    return r.json()["data"]


async def run_fan_out_step(client, headers, run_id):
    """Start the run and execute its enrich and search steps; the search step's answer."""
    await call(client, "pipeline-runs/start", {"pipeline_run_id": run_id}, headers)
    first = await call(client, "steps/execute", {"pipeline_run_id": run_id, "position": 1}, headers)
    assert first["status"] == "succeeded", first
    return await call(client, "steps/execute", {"pipeline_run_id": run_id, "position": 2}, headers)


async def children(conn, parent_id):
    rows = await conn.fetch(
        "SELECT id, input, depth, entity_index, entity_type, status, child_key, submission_id FROM pipeline_runs "
        "WHERE parent_pipeline_run_id = $1 ORDER BY entity_index",
        uuid.UUID(parent_id),
    )
    return [dict(r) for r in rows]


async def status(client, tenant, submission_id):
    r = await client.post(
        "/api/v1/batch/status", json={"submission_id": submission_id}, headers=tenant.headers(Role.member)
    )
    assert r.status_code == 200, r.text
    return r.json()["data"]


class TestChildren:
    @respx.mock
    async def test_each_result_becomes_a_child_with_its_fields_and_the_company_carried(self, pclient, conn, world):
        tenant, _, person_bp, headers = world
        respx.post(ENRICH).mock(return_value=prospeo_company("acme.com"))
        search = respx.post(SEARCH_PERSON).mock(return_value=people("ann", "bob", "cy"))
        batch = await submit(pclient, tenant, world[1], ["acme.com"])
        parent = batch["pipeline_run_ids"][0]

        answer = await run_fan_out_step(pclient, headers, parent)

        # the company run's search looked for that company's people
        sent = json.loads(search.calls.last.request.content)
        assert sent["filters"]["company"]["websites"]["include"] == ["acme.com"]
        # the search was the run's last step: the company run finished in its transaction
        assert answer["status"] == "succeeded" and answer["run_status"] == "succeeded"
        assert answer["finished"]["status"] == "succeeded"
        assert answer["fan_out"] == {
            "blueprint_id": str(person_bp.id),
            "results": 3,
            "children": 3,
            "duplicates": 0,
            "beyond_max_children": 0,
            "children_truncated": False,
            "depth_limited": False,
            "error": None,
        }
        kids = await children(conn, parent)
        assert [k["entity_index"] for k in kids] == [1, 2, 3]
        assert {k["depth"] for k in kids} == {1} and {k["entity_type"] for k in kids} == {"person"}
        assert {k["status"] for k in kids} == {"queued"}
        assert {str(k["submission_id"]) for k in kids} == {batch["submission_id"]}
        assert kids[0]["input"] == {
            "full_name": "Ann Doe",
            "title": "Director of Sales",
            "linkedin_url": "https://www.linkedin.com/in/ann",
            "company_name": "Acme",
            "company_domain": "acme.com",
            "company_linkedin_url": "https://www.linkedin.com/company/acme",
        }
        # each child has its step rows and its orchestrator job, committed with the parent's result
        steps = await conn.fetchval(
            "SELECT count(*) FROM step_results WHERE pipeline_run_id = ANY($1::uuid[])", [k["id"] for k in kids]
        )
        assert steps == 3
        jobs = await conn.fetchval(
            "SELECT count(*) FROM graphile_worker.jobs WHERE key = ANY($1::text[])", [str(k["id"]) for k in kids]
        )
        assert jobs == 3

    @respx.mock
    async def test_an_explicit_carry_copies_those_fields(self, pclient, conn, world):
        tenant, _, person_bp, headers = world
        company_bp = await blueprint(
            conn,
            tenant.org.id,
            [
                {"position": 1, "operation_id": "company.enrich.profile", "step_config": {"providers": ["prospeo"]}},
                {
                    "position": 2,
                    "operation_id": "person.search",
                    "step_config": {"providers": ["prospeo"]},
                    "fan_out": {"blueprint_id": person_bp.id, "carry": ["industry", "domain"]},
                },
            ],
        )
        respx.post(ENRICH).mock(return_value=prospeo_company("acme.com"))
        respx.post(SEARCH_PERSON).mock(return_value=people("ann"))
        parent = (await submit(pclient, tenant, company_bp, ["acme.com"]))["pipeline_run_ids"][0]
        await run_fan_out_step(pclient, headers, parent)
        (kid,) = await children(conn, parent)
        assert kid["input"]["industry"] == "Software" and kid["input"]["company_domain"] == "acme.com"
        assert "company_linkedin_url" not in kid["input"]

    @respx.mock
    async def test_children_are_deduplicated_by_natural_key_within_the_submission(self, pclient, conn, world):
        tenant, company_bp, _, headers = world
        respx.post(ENRICH).mock(return_value=prospeo_company("acme.com"))
        # the same people under both companies (the search itself merges repeats within one answer)
        respx.post(SEARCH_PERSON).mock(return_value=people("ann", "bob"))
        first, second = (await submit(pclient, tenant, company_bp, ["acme.com", "acme.io"]))["pipeline_run_ids"]
        one = await run_fan_out_step(pclient, headers, first)
        two = await run_fan_out_step(pclient, headers, second)
        assert (one["fan_out"]["children"], one["fan_out"]["duplicates"]) == (2, 0)
        assert (two["fan_out"]["children"], two["fan_out"]["duplicates"]) == (0, 2)
        assert len(await children(conn, first)) == 2 and await children(conn, second) == []

    @respx.mock
    async def test_max_children_bounds_the_children_of_one_step(self, pclient, conn, world):
        tenant, _, person_bp, headers = world
        company_bp, _ = await company_to_people(conn, tenant.org.id, max_children=2)
        respx.post(ENRICH).mock(return_value=prospeo_company("acme.com"))
        respx.post(SEARCH_PERSON).mock(return_value=people("ann", "bob", "cy"))
        parent = (await submit(pclient, tenant, company_bp, ["acme.com"]))["pipeline_run_ids"][0]
        answer = await run_fan_out_step(pclient, headers, parent)
        # the search asks for no more results than the step may turn into children
        assert answer["fan_out"]["results"] == 2 and answer["fan_out"]["children"] == 2
        assert len(answer["output"]["people"]) == 2
        assert [k["input"]["full_name"] for k in await children(conn, parent)] == ["Ann Doe", "Bob Doe"]

    @respx.mock
    async def test_past_the_submission_run_cap_no_more_children_and_the_step_says_truncated(
        self, pclient, conn, world, provider_app, monkeypatch
    ):
        tenant, company_bp, _, headers = world
        monkeypatch.setattr(provider_app.state.settings, "max_runs_per_submission", 4)
        respx.post(ENRICH).mock(return_value=prospeo_company("acme.com"))
        respx.post(SEARCH_PERSON).mock(return_value=people("ann", "bob", "cy", "dee"))
        batch = await submit(pclient, tenant, company_bp, ["acme.com", "acme.io"])
        first, second = batch["pipeline_run_ids"]
        one = await run_fan_out_step(pclient, headers, first)
        assert one["fan_out"]["children"] == 2 and one["fan_out"]["children_truncated"] is True
        respx.post(SEARCH_PERSON).mock(return_value=people("eve"))
        two = await run_fan_out_step(pclient, headers, second)
        assert two["fan_out"]["children"] == 0 and two["fan_out"]["children_truncated"] is True
        assert two["status"] == "succeeded"  # the parent's own status does not depend on children
        total = await conn.fetchval(
            "SELECT count(*) FROM pipeline_runs WHERE submission_id = $1", uuid.UUID(batch["submission_id"])
        )
        assert total == 4

    @respx.mock
    async def test_a_run_at_the_depth_limit_creates_no_children(self, pclient, conn, world):
        tenant, company_bp, _, headers = world
        respx.post(ENRICH).mock(return_value=prospeo_company("acme.com"))
        respx.post(SEARCH_PERSON).mock(return_value=people("ann"))
        top, deep = (await submit(pclient, tenant, company_bp, ["acme.com", "acme.io"]))["pipeline_run_ids"]
        # as if `deep` were a child three levels down
        await conn.execute(
            "UPDATE pipeline_runs SET parent_pipeline_run_id = $2, depth = 3, child_key = 'x' WHERE id = $1",
            uuid.UUID(deep),
            uuid.UUID(top),
        )
        answer = await run_fan_out_step(pclient, headers, deep)
        assert answer["status"] == "succeeded" and answer["fan_out"]["depth_limited"] is True
        assert await children(conn, deep) == []

    @respx.mock
    async def test_a_repeated_step_answer_creates_no_second_set(self, pclient, conn, world):
        tenant, company_bp, _, headers = world
        respx.post(ENRICH).mock(return_value=prospeo_company("acme.com"))
        search = respx.post(SEARCH_PERSON).mock(return_value=people("ann", "bob"))
        parent = (await submit(pclient, tenant, company_bp, ["acme.com"]))["pipeline_run_ids"][0]
        first = await run_fan_out_step(pclient, headers, parent)
        again = await call(pclient, "steps/execute", {"pipeline_run_id": parent, "position": 2}, headers)
        assert again == first and search.call_count == 1
        assert len(await children(conn, parent)) == 2

    @respx.mock
    async def test_the_database_refuses_a_second_child_with_the_same_key(self, pclient, conn, world):
        tenant, company_bp, _, headers = world
        respx.post(ENRICH).mock(return_value=prospeo_company("acme.com"))
        respx.post(SEARCH_PERSON).mock(return_value=people("ann"))
        parent = (await submit(pclient, tenant, company_bp, ["acme.com"]))["pipeline_run_ids"][0]
        await run_fan_out_step(pclient, headers, parent)
        (kid,) = await children(conn, parent)
        with pytest.raises(asyncpg.UniqueViolationError):
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO pipeline_runs (org_id, company_id, submission_id, entity_index, entity_type, "
                    "blueprint_snapshot, blueprint_version, input, parent_pipeline_run_id, depth, child_key) "
                    "SELECT org_id, company_id, submission_id, 99, entity_type, blueprint_snapshot, "
                    "blueprint_version, input, parent_pipeline_run_id, depth, child_key FROM pipeline_runs "
                    "WHERE id = $1",
                    kid["id"],
                )


class TestTree:
    @respx.mock
    async def test_status_shows_the_tree_and_the_submission_ends_only_with_its_children(self, pclient, conn, world):
        tenant, company_bp, _, headers = world
        respx.post(ENRICH).mock(return_value=prospeo_company("acme.com"))
        respx.post(SEARCH_PERSON).mock(return_value=people("ann", "bob"))
        respx.post(MOBILE).mock(return_value=mobile())
        batch = await submit(pclient, tenant, company_bp, ["acme.com"])
        parent = batch["pipeline_run_ids"][0]
        await run_fan_out_step(pclient, headers, parent)
        early, late = [str(k["id"]) for k in await children(conn, parent)]
        # one child ends before its parent, one after: both are linked to the company record
        assert (await drive(pclient, headers, early))["status"] == "succeeded"
        done = await call(pclient, "pipeline-runs/finish", {"pipeline_run_id": parent}, headers)
        assert done["status"] == "succeeded"

        data = await status(pclient, tenant, batch["submission_id"])
        assert data["submission"]["status"] == "running"  # a child is still queued
        assert data["summary"] == {
            "total": 3,
            "queued": 1,
            "running": 0,
            "succeeded": 2,
            "failed": 0,
            "canceled": 0,
            "children": 2,
        }
        items = {i["pipeline_run_id"]: i for i in data["runs"]["items"]}
        assert (items[parent]["parent_pipeline_run_id"], items[parent]["depth"]) == (None, 0)
        assert (items[late]["parent_pipeline_run_id"], items[late]["depth"]) == (parent, 1)
        assert items[parent]["steps"][1]["fan_out"]["children"] == 2
        assert items[late]["steps"][0]["skip_reason"] is None

        assert (await drive(pclient, headers, late))["status"] == "succeeded"
        assert (await status(pclient, tenant, batch["submission_id"]))["submission"]["status"] == "completed"
        linked = await conn.fetch(
            "SELECT p.company_entity_id FROM person_entities p JOIN entity_versions v ON v.entity_id = p.id "
            "WHERE v.pipeline_run_id = ANY($1::uuid[])",
            [uuid.UUID(early), uuid.UUID(late)],
        )
        assert [r[0] for r in linked] == [uuid.UUID(done["entity_id"])] * 2

    @respx.mock
    async def test_cancel_reaches_children(self, pclient, conn, world):
        tenant, company_bp, _, headers = world
        respx.post(ENRICH).mock(return_value=prospeo_company("acme.com"))
        respx.post(SEARCH_PERSON).mock(return_value=people("ann", "bob"))
        batch = await submit(pclient, tenant, company_bp, ["acme.com"])
        parent = batch["pipeline_run_ids"][0]
        await run_fan_out_step(pclient, headers, parent)
        r = await pclient.post(
            "/api/v1/batch/cancel",
            json={"submission_id": batch["submission_id"]},
            headers=tenant.headers(Role.org_admin),
        )
        assert r.status_code == 200, r.text
        kids = await children(conn, parent)
        assert {k["status"] for k in kids} == {"canceled"}
        skipped = await conn.fetch(
            "SELECT status, skip_reason FROM step_results WHERE pipeline_run_id = ANY($1::uuid[])",
            [k["id"] for k in kids],
        )
        assert {(s["status"], s["skip_reason"]) for s in skipped} == {("skipped", "canceled")}

    @respx.mock
    async def test_a_failed_child_is_retried_like_any_run(self, pclient, conn, world):
        tenant, company_bp, _, headers = world
        respx.post(ENRICH).mock(return_value=prospeo_company("acme.com"))
        respx.post(SEARCH_PERSON).mock(return_value=people("ann"))
        batch = await submit(pclient, tenant, company_bp, ["acme.com"])
        parent = batch["pipeline_run_ids"][0]
        await run_fan_out_step(pclient, headers, parent)
        await call(pclient, "pipeline-runs/finish", {"pipeline_run_id": parent}, headers)
        (kid,) = await children(conn, parent)
        kid_id = str(kid["id"])
        await call(pclient, "pipeline-runs/fail", {"pipeline_run_id": kid_id, "error": "worker gave up"}, headers)
        assert (await status(pclient, tenant, batch["submission_id"]))["submission"]["status"] == "completed"
        r = await pclient.post(
            "/api/pipeline-runs/retry", json={"pipeline_run_id": kid_id}, headers=tenant.headers(Role.org_admin)
        )
        assert r.status_code == 200, r.text
        assert r.json()["data"]["parent_pipeline_run_id"] == parent and r.json()["data"]["depth"] == 1
        respx.post(MOBILE).mock(return_value=mobile())
        assert (await drive(pclient, headers, kid_id))["status"] == "succeeded"
        assert len(await children(conn, parent)) == 1


class TestBlueprintValidation:
    async def test_a_fan_out_is_stored_and_frozen_into_runs(self, client, conn, world):
        tenant, company_bp, person_bp, _ = world
        r = await client.post(
            "/api/blueprints/get", json={"blueprint_id": str(company_bp.id)}, headers=tenant.headers(Role.member)
        )
        assert r.json()["data"]["steps"][1]["fan_out"] == {
            "blueprint_id": str(person_bp.id),
            "max_children": 100,
            "carry": None,
        }

    async def test_another_orgs_blueprint_is_not_found_and_names_the_field(self, client, conn, world):
        tenant, _, _, _ = world
        other = await create_tenant(conn)
        steps = [{"position": 1, "operation_id": "company.enrich.profile"}]
        steps.append(
            {"position": 2, "operation_id": "person.search", "fan_out": {"blueprint_id": str(other.blueprint.id)}}
        )
        r = await client.post(
            "/api/blueprints/create", json={"name": "bp", "steps": steps}, headers=tenant.headers(Role.org_admin)
        )
        assert r.status_code == 404 and r.json()["error"]["details"] == {"field": "steps[1].fan_out.blueprint_id"}

    async def test_the_child_blueprint_must_act_on_what_the_search_finds(self, client, conn, world):
        tenant, company_bp, _, _ = world
        steps = [{"position": 1, "operation_id": "person.search", "fan_out": {"blueprint_id": str(company_bp.id)}}]
        r = await client.post(
            "/api/blueprints/create", json={"name": "bp", "steps": steps}, headers=tenant.headers(Role.org_admin)
        )
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_fan_out"
        assert r.json()["error"]["details"]["field"] == "steps[0].fan_out.blueprint_id"

    async def test_a_chain_deeper_than_three_or_a_loop_is_refused(self, client, conn, world):
        tenant, _, person_bp, _ = world
        headers = tenant.headers(Role.org_admin)
        chain = [person_bp.id]
        for _ in range(3):
            steps = [{"position": 1, "operation_id": "person.search", "fan_out": {"blueprint_id": str(chain[-1])}}]
            r = await client.post("/api/blueprints/create", json={"name": "bp", "steps": steps}, headers=headers)
            assert r.status_code == 200, r.text
            assert r.json()["data"]["entity_type"] == "person"
            chain.append(uuid.UUID(r.json()["data"]["id"]))
        steps = [{"position": 1, "operation_id": "person.search", "fan_out": {"blueprint_id": str(chain[-1])}}]
        r = await client.post("/api/blueprints/create", json={"name": "bp", "steps": steps}, headers=headers)
        assert r.status_code == 400 and r.json()["error"]["code"] == "fan_out_too_deep"
        # the bottom blueprint fanning out to the top one would loop
        r = await client.post(
            "/api/blueprints/update",
            json={"blueprint_id": str(chain[0]), "steps": steps},
            headers=headers,
        )
        assert r.status_code == 400 and r.json()["error"]["code"] == "fan_out_too_deep"


# --- two parents fanning out at once, on a database of its own where every transaction commits ---


@pytest.fixture
async def committed_dsn(admin_dsn, worker_id_str):
    name = f"dex_fanout_{worker_id_str}_{uuid.uuid4().hex[:8]}"
    dsn = await pg.recreate_database(admin_dsn, name, template=pg.TEMPLATE_DB)
    try:
        yield dsn
    finally:
        await pg.drop_database(admin_dsn, name)


async def _connect(dsn):
    conn = await asyncpg.connect(dsn)
    await init_connection(conn)
    return conn


async def test_a_parent_waiting_for_anothers_children_numbers_its_own_after_them(committed_dsn):
    """Two parents of one submission fan out at once: the second waits on the submission's lock
    while the first writes its children, then must number its own after them. It read the
    highest entity index in the statement that waited, whose snapshot predates the first's
    commit, so both took the same indexes: a unique violation, a 500 to the worker (the bench's
    fan-out scenario hit it on most runs)."""
    setup, first, second = [await _connect(committed_dsn) for _ in range(3)]
    try:
        async with setup.transaction():
            tenant = await create_tenant(setup)
            submission_id = uuid.uuid4()
            await submissions_repo.insert_submission(
                setup,
                submission_id,
                tenant.org.id,
                company_id=tenant.company_a.id,
                blueprint_id=tenant.blueprint.id,
                source=None,
                metadata={},
                entity_count=1,
            )

        def run(index):
            # RUN_COPY_COLUMNS; a root-shaped run is enough for the numbering
            return (uuid.uuid4(), tenant.org.id, tenant.company_a.id, submission_id, index, "company", "queued", {},
                    "v", {"domain": f"c{index}.com"}, None, 0, None)  # fmt: skip

        async with first.transaction():
            _, first_index = await submissions_repo.lock_for_children(first, submission_id)
            waiting = asyncio.create_task(_locked_then_next_index(second, submission_id))
            while not await setup.fetchval(
                "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock')",
                second.get_server_pid(),
            ):
                await asyncio.sleep(0.01)
            await submissions_repo.copy_runs(first, [run(first_index), run(first_index + 1)])
        second_index = await waiting
        assert (first_index, second_index) == (0, 2)
    finally:
        for c in (setup, first, second):
            await c.close()


async def _locked_then_next_index(conn, submission_id):
    async with conn.transaction():
        _, index = await submissions_repo.lock_for_children(conn, submission_id)
        return index
