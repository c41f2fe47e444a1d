"""CONTRACT §9.3 entity history through the real app: records built by real pipeline runs (the
worker's internal callbacks, provider HTTP mocked), read back as versions (per-field from/to) and
as a timeline of the steps that built them; scoped and paginated like every entity read."""

import base64
import json
import uuid

import pytest
import respx

from app.auth.context import Role
from app.services.entities import _fields_changed_by_step
from tests.factories import create_blueprint, create_tenant
from tests.pipelines.test_worker_callbacks import (
    ADYNTEL_GOOGLE,
    GOOGLE_ADS,
    PROSPEO,
    STEPS,
    call,
    drive,
    internal,
    prospeo_company,
    submit,
)

VERSIONS = "/api/v1/entities/versions"
TIMELINE = "/api/v1/entities/timeline"
PROFILE_FIELDS = {
    "name",
    "website",
    "linkedin_url",
    "industry",
    "employee_count",
    "employee_range",
    "founded_year",
    "description",
    "hq_city",
    "hq_country",
    "profile_source",
}


@pytest.fixture
async def tenant_blueprint(conn):
    tenant = await create_tenant(conn)
    blueprint = await create_blueprint(conn, tenant.org.id, STEPS)
    await conn.execute(
        'UPDATE blueprint_steps SET step_config = \'{"providers": ["prospeo"]}\' '
        "WHERE blueprint_id = $1 AND position = 1",
        blueprint.id,
    )
    # the runs re-enrich one company with different answers: each must reach the provider
    await conn.execute(
        "UPDATE blueprint_steps SET step_config = step_config || '{\"cache\": false}' WHERE blueprint_id = $1",
        blueprint.id,
    )
    return tenant, blueprint


async def _run(pclient, settings, tenant, blueprint, response, *, before_drive=None):
    respx.post(PROSPEO).mock(return_value=response)
    batch = await submit(pclient, tenant, blueprint, ["acme.com"])
    run_id = batch["pipeline_run_ids"][0]
    if before_drive is not None:
        await before_drive(uuid.UUID(run_id))
    done = await drive(pclient, internal(settings, tenant), run_id)
    assert done["status"] == "succeeded", done
    return batch["submission_id"], run_id, done


@pytest.fixture
async def three_runs(pclient, conn, settings, tenant_blueprint):
    """One record updated by three runs: created; industry changed; name changed, with its ads
    step skipped by a condition and its profile answered from the result cache."""
    tenant, blueprint = tenant_blueprint
    with respx.mock:
        respx.post(ADYNTEL_GOOGLE).mock(return_value=GOOGLE_ADS)
        first = await _run(pclient, settings, tenant, blueprint, prospeo_company("acme.com"))
        second = await _run(pclient, settings, tenant, blueprint, prospeo_company("acme.com", industry="Fintech"))

        async def skip_ads(run_id):
            # what a false blueprint condition leaves (CONTRACT §9.1)
            await conn.execute(
                "UPDATE step_results SET status = 'skipped', skip_reason = 'condition_not_met', finished_at = now() "
                "WHERE pipeline_run_id = $1 AND position = 2",
                run_id,
            )

        third = await _run(
            pclient,
            settings,
            tenant,
            blueprint,
            prospeo_company("acme.com", name="Acme Corp", industry="Fintech"),
            before_drive=skip_ads,
        )
    entity_id = first[2]["entity_id"]
    assert second[2]["entity_id"] == third[2]["entity_id"] == entity_id
    assert third[2]["record_version"] == 3
    # the third run's profile as the result cache will record it: served from the first run's
    # operation run, without attempts of its own
    source = await conn.fetchval(
        "SELECT operation_run_id FROM step_results WHERE pipeline_run_id = $1 AND position = 1",
        uuid.UUID(first[1]),
    )
    cached = await conn.fetchval(
        "SELECT operation_run_id FROM step_results WHERE pipeline_run_id = $1 AND position = 1",
        uuid.UUID(third[1]),
    )
    await conn.execute("DELETE FROM operation_attempts WHERE run_id = $1", cached)
    await conn.execute("UPDATE operation_runs SET cached = true, cached_from_run_id = $2 WHERE id = $1", cached, source)
    return tenant, entity_id, [first, second, third]


async def _post(client, path, body, headers):
    r = await client.post(path, json=body, headers=headers)
    return r.status_code, r.json()


class TestVersions:
    async def test_each_version_shows_what_its_run_changed_newest_first_across_pages(self, pclient, three_runs):
        tenant, entity_id, runs = three_runs
        headers = tenant.headers(Role.member)
        body = {"entity_type": "company", "entity_id": entity_id, "limit": 2}
        status, page1 = await _post(pclient, VERSIONS, body, headers)
        assert status == 200, page1
        items = page1["data"]["items"]
        assert [i["record_version"] for i in items] == [3, 2]
        assert [i["pipeline_run_id"] for i in items] == [runs[2][1], runs[1][1]]
        assert items[0]["changes"] == {"name": {"from": "Acme Inc", "to": "Acme Corp"}}
        assert items[1]["changes"] == {"industry": {"from": "Software", "to": "Fintech"}}
        assert page1["data"]["next_cursor"]

        status, page2 = await _post(pclient, VERSIONS, {**body, "cursor": page1["data"]["next_cursor"]}, headers)
        assert status == 200, page2
        assert page2["data"]["next_cursor"] is None
        [first] = page2["data"]["items"]
        assert first["record_version"] == 1 and first["pipeline_run_id"] == runs[0][1]
        # the first version: every field is new
        assert all(change["from"] is None for change in first["changes"].values())
        assert first["changes"]["domain"] == {"from": None, "to": "acme.com"}
        assert first["changes"]["name"] == {"from": None, "to": "Acme Inc"}
        assert {"google_ads", "domain"} | PROFILE_FIELDS <= set(first["changes"])
        assert first["at"] <= items[1]["at"] <= items[0]["at"]

    async def test_default_page_holds_every_version(self, pclient, three_runs):
        tenant, entity_id, _ = three_runs
        status, page = await _post(
            pclient, VERSIONS, {"entity_type": "company", "entity_id": entity_id}, tenant.headers(Role.org_admin)
        )
        assert status == 200
        assert [i["record_version"] for i in page["data"]["items"]] == [3, 2, 1]
        assert page["data"]["next_cursor"] is None


class TestTimeline:
    async def test_each_step_that_built_the_record_newest_first_across_pages(self, pclient, three_runs):
        tenant, entity_id, runs = three_runs
        headers = tenant.headers(Role.company_admin)
        body = {"entity_type": "company", "entity_id": entity_id, "limit": 4}
        status, page1 = await _post(pclient, TIMELINE, body, headers)
        assert status == 200, page1
        assert page1["data"]["next_cursor"]
        status, page2 = await _post(pclient, TIMELINE, {**body, "cursor": page1["data"]["next_cursor"]}, headers)
        assert status == 200, page2
        assert page2["data"]["next_cursor"] is None
        events = page1["data"]["items"] + page2["data"]["items"]

        def view(e):
            return (e["pipeline_run_id"], e["position"], e["operation_id"], e["status"], e["skip_reason"])

        (s1, r1, _), (s2, r2, _), (s3, r3, _) = runs
        assert [view(e) for e in events] == [
            (r3, 2, "company.ads.search.google", "skipped", "condition_not_met"),
            (r3, 1, "company.enrich.profile", "succeeded", None),
            (r2, 2, "company.ads.search.google", "succeeded", None),
            (r2, 1, "company.enrich.profile", "succeeded", None),
            (r1, 2, "company.ads.search.google", "succeeded", None),
            (r1, 1, "company.enrich.profile", "succeeded", None),
        ]
        assert [e["submission_id"] for e in events] == [s3, s3, s2, s2, s1, s1]
        # the skipped step called no provider; the cached answer names the provider that gave it
        assert [e["provider"] for e in events] == [None, "prospeo", "adyntel", "prospeo", "adyntel", "prospeo"]
        assert [e["cached"] for e in events] == [False, True, False, False, False, False]
        assert [e["fields_changed"] for e in events[:5]] == [[], ["name"], [], ["industry"], ["google_ads"]]
        # the first profile wrote every field but the domain, which the submitted input already held
        assert set(events[5]["fields_changed"]) == PROFILE_FIELDS
        assert events[5]["fields_changed"] == sorted(events[5]["fields_changed"])
        assert all(e["at"] for e in events)

    async def test_a_failed_run_leaves_no_step_in_the_timeline(self, pclient, conn, settings, tenant_blueprint):
        tenant, blueprint = tenant_blueprint
        with respx.mock:
            respx.post(ADYNTEL_GOOGLE).mock(return_value=GOOGLE_ADS)
            _, run_id, done = await _run(pclient, settings, tenant, blueprint, prospeo_company("acme.com"))
            respx.post(PROSPEO).mock(return_value=prospeo_company("acme.com", name="Other"))
            respx.post(ADYNTEL_GOOGLE).mock(return_value=GOOGLE_ADS.__class__(500, json={"error": "boom"}))
            batch = await submit(pclient, tenant, blueprint, ["acme.com"])
            failed = await drive(pclient, internal(settings, tenant), batch["pipeline_run_ids"][0])
        assert failed["status"] == "failed"
        status, page = await _post(
            pclient,
            TIMELINE,
            {"entity_type": "company", "entity_id": done["entity_id"]},
            tenant.headers(Role.member),
        )
        assert status == 200
        assert {e["pipeline_run_id"] for e in page["data"]["items"]} == {run_id}


def test_fields_changed_go_to_the_last_step_that_changed_them_and_only_if_the_record_changed():
    steps = [
        {"position": 1, "input": {"domain": "a.com"}, "output": {"domain": "a.com", "name": "A"},
         "context_after": {"domain": "a.com", "name": "A"}},
        {"position": 2, "input": None, "output": {"name": "B", "industry": "X"},
         "context_after": {"domain": "a.com", "name": "B", "industry": "X"}},
        {"position": 3, "input": None, "output": None, "context_after": None},  # skipped
        {"position": 4, "input": None, "output": {"industry": "X", "employee_count": None},
         "context_after": {"domain": "a.com", "name": "B", "industry": "X"}},
    ]  # fmt: skip
    # the record already held industry X: only name changed in it
    assert _fields_changed_by_step(steps, {"name", "domain"}) == {2: ["name"]}
    assert _fields_changed_by_step(steps, {"name", "industry", "domain"}) == {2: ["industry", "name"]}
    assert _fields_changed_by_step([], {"name"}) == {}


class TestScope:
    async def _record(self, conn, tenant, company):
        return await conn.fetchval(
            "INSERT INTO company_entities (org_id, company_id, domain, data) VALUES ($1, $2, $3, '{}') RETURNING id",
            tenant.org.id,
            company.id,
            f"{uuid.uuid4().hex[:8]}.example",
        )

    @pytest.mark.parametrize("path", [VERSIONS, TIMELINE])
    async def test_another_orgs_record_is_not_found(self, client, conn, path):
        own, other = await create_tenant(conn), await create_tenant(conn)
        foreign = await self._record(conn, other, other.company_a)
        for role in Role:
            status, body = await _post(
                client, path, {"entity_type": "company", "entity_id": str(foreign)}, own.headers(role)
            )
            assert status == 404, (role, body)
            assert body["error"]["code"] == "entity_not_found"
            assert str(other.org.id) not in json.dumps(body)

    @pytest.mark.parametrize("path", [VERSIONS, TIMELINE])
    async def test_another_companys_record_is_not_found_for_a_company_scoped_caller(self, client, conn, path):
        tenant = await create_tenant(conn)
        other_company = await self._record(conn, tenant, tenant.company_b)
        body = {"entity_type": "company", "entity_id": str(other_company)}
        for role in (Role.company_admin, Role.member):
            status, answer = await _post(client, path, body, tenant.headers(role))
            assert status == 404, (role, answer)
            assert answer["error"]["code"] == "entity_not_found"
        status, answer = await _post(client, path, body, tenant.headers(Role.org_admin))
        assert status == 200 and answer["data"] == {"items": [], "next_cursor": None}

    @pytest.mark.parametrize("path", [VERSIONS, TIMELINE])
    async def test_the_entity_type_must_match_the_record(self, client, conn, path):
        tenant = await create_tenant(conn)
        record = await self._record(conn, tenant, tenant.company_a)
        status, body = await _post(
            client, path, {"entity_type": "person", "entity_id": str(record)}, tenant.headers(Role.member)
        )
        assert status == 404 and body["error"]["code"] == "entity_not_found"

    @pytest.mark.parametrize("path", [VERSIONS, TIMELINE])
    async def test_a_record_without_runs_has_an_empty_history(self, client, conn, path):
        # records built by pipelines always have version 1; one written another way (an import)
        # exists but has no history yet: an empty page, not a 404
        tenant = await create_tenant(conn)
        record = await self._record(conn, tenant, tenant.company_a)
        status, body = await _post(
            client, path, {"entity_type": "company", "entity_id": str(record)}, tenant.headers(Role.member)
        )
        assert status == 200 and body["data"] == {"items": [], "next_cursor": None}


def _cursor(raw) -> str:
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


class TestBadInput:
    @pytest.mark.parametrize("path", [VERSIONS, TIMELINE])
    @pytest.mark.parametrize(
        "change",
        [
            {"entity_type": "widget"},
            {"entity_id": "not-a-uuid"},
            {"entity_id": None},
            {"limit": 0},
            {"limit": 501},
            {"limit": "10"},
            {"unknown": 1},
        ],
    )
    async def test_schema_violations_are_422_with_the_envelope(self, client, conn, path, change):
        tenant = await create_tenant(conn)
        body = {"entity_type": "company", "entity_id": str(uuid.uuid4()), **change}
        status, answer = await _post(client, path, body, tenant.headers(Role.member))
        assert status == 422, answer
        assert set(answer["error"]) >= {"code", "message"}

    @pytest.mark.parametrize(
        ("path", "cursor"),
        [
            (VERSIONS, "!!not-base64"),
            (VERSIONS, _cursor(["h"])),
            (VERSIONS, _cursor(["h", 2**31])),
            (VERSIONS, _cursor(["h", -1])),
            (VERSIONS, _cursor(["h", True])),
            (VERSIONS, _cursor(["h", 1, 1])),
            (VERSIONS, _cursor(["2026-01-01T00:00:00+00:00", "00000000-0000-4000-8000-000000000001"])),
            (TIMELINE, _cursor(["h", 3])),
            (TIMELINE, _cursor(["h", 3, 1.5])),
            (TIMELINE, _cursor({"h": 1})),
            (TIMELINE, _cursor("h")),
        ],
    )
    async def test_a_cursor_this_api_did_not_issue_is_400(self, client, conn, path, cursor):
        tenant = await create_tenant(conn)
        body = {"entity_type": "company", "entity_id": str(uuid.uuid4()), "cursor": cursor}
        status, answer = await _post(client, path, body, tenant.headers(Role.member))
        assert status == 400, answer
        assert answer["error"]["code"] == "invalid_cursor"


async def test_a_cursor_of_one_endpoint_is_refused_by_the_other(pclient, three_runs):
    tenant, entity_id, _ = three_runs
    headers = tenant.headers(Role.member)
    body = {"entity_type": "company", "entity_id": entity_id, "limit": 1}
    _, page = await _post(pclient, VERSIONS, body, headers)
    status, answer = await _post(pclient, TIMELINE, {**body, "cursor": page["data"]["next_cursor"]}, headers)
    assert status == 400 and answer["error"]["code"] == "invalid_cursor"


async def test_every_run_a_pipeline_merges_leaves_a_version(pclient, conn, settings, tenant_blueprint):
    tenant, blueprint = tenant_blueprint
    with respx.mock:
        respx.post(ADYNTEL_GOOGLE).mock(return_value=GOOGLE_ADS)
        _, run_id, done = await _run(pclient, settings, tenant, blueprint, prospeo_company("acme.com"))
        # the same run delivered again changes nothing, history included
        await call(
            pclient,
            "pipeline-runs/finish",
            {"pipeline_run_id": run_id, "final_context": {}},
            internal(settings, tenant),
        )
    status, page = await _post(
        pclient, VERSIONS, {"entity_type": "company", "entity_id": done["entity_id"]}, tenant.headers(Role.member)
    )
    assert status == 200
    assert [(i["record_version"], i["pipeline_run_id"]) for i in page["data"]["items"]] == [(1, run_id)]
