"""Batch submit, status and cancel through the real app (local orchestrator: jobs in
graphile-worker's queue in the same database)."""

import json
import uuid

import pytest

from app.auth.context import Role
from tests.factories import create_blueprint, create_tenant

COMPANY_BP = ("company.enrich.profile", "company.ads.search.meta")
COUNTED = ("submissions", "pipeline_runs", "step_results")


async def _counts(conn):
    counts = {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in COUNTED}
    counts["jobs"] = await conn.fetchval("SELECT count(*) FROM graphile_worker.jobs")
    return counts


def _entities(n, entity_type="company"):
    return [{"entity_type": entity_type, "input": {"domain": f"acme{i}.com", "name": f"Acme {i}"}} for i in range(n)]


@pytest.fixture
async def tenant(conn):
    return await create_tenant(conn)


async def submit(client, tenant, role=Role.org_admin, **body):
    payload = {
        "blueprint_id": str(tenant.blueprint.id),
        "entities": _entities(3),
        "company_id": str(tenant.company_a.id),
        **body,
    }
    return await client.post("/api/v1/batch/submit", json=payload, headers=tenant.headers(role))


class TestSubmit:
    async def test_one_submission_one_run_per_entity_one_step_per_enabled_step_all_enqueued(self, client, conn, tenant):
        await conn.execute(
            "UPDATE blueprint_steps SET is_enabled = false WHERE blueprint_id = $1 AND position = 2",
            tenant.blueprint.id,
        )
        before = await _counts(conn)
        r = await submit(client, tenant, source="crm-export", metadata={"list": "q4"})
        assert r.status_code == 200, r.text
        data = r.json()["data"]
        assert len(data["pipeline_run_ids"]) == 3
        after = await _counts(conn)
        assert after["submissions"] - before["submissions"] == 1
        assert after["pipeline_runs"] - before["pipeline_runs"] == 3
        assert after["step_results"] - before["step_results"] == 3  # one enabled step each
        assert after["jobs"] - before["jobs"] == 3
        jobs = await conn.fetch(
            "SELECT key, task_identifier FROM graphile_worker.jobs WHERE key = ANY($1::text[])",
            data["pipeline_run_ids"],
        )
        assert {j["key"] for j in jobs} == set(data["pipeline_run_ids"])
        runs = await conn.fetch(
            "SELECT entity_index, status, blueprint_version, blueprint_snapshot, input, company_id"
            " FROM pipeline_runs WHERE submission_id = $1 ORDER BY entity_index",
            uuid.UUID(data["submission_id"]),
        )
        assert [r["entity_index"] for r in runs] == [0, 1, 2]
        assert {r["status"] for r in runs} == {"queued"}
        assert runs[1]["input"] == {"domain": "acme1.com", "name": "Acme 1"}
        assert runs[0]["company_id"] == tenant.company_a.id
        assert len({r["blueprint_version"] for r in runs}) == 1
        assert runs[0]["blueprint_snapshot"]["steps"][0]["operation_id"] == "company.enrich.profile"
        submission = await conn.fetchrow(
            "SELECT status, source, metadata, entity_count FROM submissions WHERE id = $1",
            uuid.UUID(data["submission_id"]),
        )
        assert dict(submission) == {
            "status": "queued",
            "source": "crm-export",
            "metadata": {"list": "q4"},
            "entity_count": 3,
        }

    async def test_the_blueprint_version_is_deterministic_and_follows_its_steps(self, client, conn, tenant):
        first = (await submit(client, tenant)).json()["data"]["pipeline_run_ids"][0]
        second = (await submit(client, tenant)).json()["data"]["pipeline_run_ids"][0]
        versions = [
            await conn.fetchval("SELECT blueprint_version FROM pipeline_runs WHERE id = $1", uuid.UUID(i))
            for i in (first, second)
        ]
        assert versions[0] == versions[1]
        await client.post(
            "/api/blueprints/update",
            json={
                "blueprint_id": str(tenant.blueprint.id),
                "steps": [{"position": 1, "operation_id": "company.search"}],
            },
            headers=tenant.headers(Role.org_admin),
        )
        third = (await submit(client, tenant)).json()["data"]["pipeline_run_ids"][0]
        assert (
            await conn.fetchval("SELECT blueprint_version FROM pipeline_runs WHERE id = $1", uuid.UUID(third))
            != versions[0]
        )

    async def test_a_company_admin_submits_for_its_own_company(self, client, conn, tenant):
        r = await client.post(
            "/api/v1/batch/submit",
            json={"blueprint_id": str(tenant.blueprint.id), "entities": _entities(1)},
            headers=tenant.headers(Role.company_admin),
        )
        assert r.status_code == 200
        sid = uuid.UUID(r.json()["data"]["submission_id"])
        assert await conn.fetchval("SELECT company_id FROM submissions WHERE id = $1", sid) == tenant.company_a.id

    async def test_ten_thousand_entities_is_a_normal_batch(self, client, conn, tenant):
        r = await client.post(
            "/api/v1/batch/submit",
            json={
                "blueprint_id": str(tenant.blueprint.id),
                "company_id": str(tenant.company_a.id),
                "entities": _entities(10_000),
            },
            headers=tenant.headers(Role.org_admin),
        )
        assert r.status_code == 200
        sid = uuid.UUID(r.json()["data"]["submission_id"])
        assert await conn.fetchval("SELECT count(*) FROM pipeline_runs WHERE submission_id = $1", sid) == 10_000
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM step_results s JOIN pipeline_runs r ON r.id = s.pipeline_run_id"
                " WHERE r.submission_id = $1",
                sid,
            )
            == 20_000
        )

    async def test_what_every_run_shares_is_encoded_once_per_submission(self, client, conn, tenant, monkeypatch):
        """The blueprint snapshot is the same for every run of a submission and each step's config
        for every run's step: encoded once (app.db.EncodedJson), not once a row (10,000 runs were
        40,000 encodings); the rows read back whole, and every step still gets its own id."""
        await conn.execute(
            "UPDATE blueprint_steps SET step_config = $2 WHERE blueprint_id = $1 AND position = 2",
            tenant.blueprint.id,
            {"providers": ["adyntel"]},
        )
        snapshots = []
        dumps = json.dumps

        def counting(value, *args, **kwargs):
            if isinstance(value, dict) and {"blueprint_id", "steps"} <= value.keys():
                snapshots.append(value)
            return dumps(value, *args, **kwargs)

        monkeypatch.setattr(json, "dumps", counting)
        r = await submit(client, tenant, entities=_entities(12))
        monkeypatch.undo()
        assert r.status_code == 200, r.text
        assert len(snapshots) == 1
        runs = await conn.fetch(
            "SELECT id, blueprint_snapshot FROM pipeline_runs WHERE submission_id = $1",
            uuid.UUID(r.json()["data"]["submission_id"]),
        )
        assert len(runs) == 12 and all(run["blueprint_snapshot"] == snapshots[0] for run in runs)
        steps = await conn.fetch(
            "SELECT id, position, step_config FROM step_results WHERE pipeline_run_id = ANY($1::uuid[])",
            [run["id"] for run in runs],
        )
        assert len({s["id"] for s in steps}) == 24
        assert {s["position"]: s["step_config"] for s in steps} == {1: {}, 2: {"providers": ["adyntel"]}}


class TestSubmitRejects:
    @pytest.mark.parametrize(
        ("mutate", "status", "code"),
        [
            (lambda t, o: {"blueprint_id": str(uuid.uuid4())}, 404, "blueprint_not_found"),
            (lambda t, o: {"blueprint_id": str(o.blueprint.id)}, 404, "blueprint_not_found"),
            (lambda t, o: {"company_id": str(o.company_a.id)}, 404, "company_not_found"),
            (lambda t, o: {"company_id": None}, 400, "company_required"),
            (lambda t, o: {"entities": []}, 422, None),
            (lambda t, o: {"entities": _entities(10_001)}, 400, "too_many_entities"),
            (lambda t, o: {"entities": _entities(2) + _entities(1, "person")}, 400, "entity_type_mismatch"),
            (lambda t, o: {"entities": [{"entity_type": "robot", "input": {}}]}, 422, None),
            (lambda t, o: {"entities": [{"entity_type": "company", "input": "acme.com"}]}, 422, None),
        ],
    )
    async def test_bad_input_is_rejected_and_nothing_written(self, client, conn, tenant, mutate, status, code):
        other = await create_tenant(conn)
        before = await _counts(conn)
        body = {
            "blueprint_id": str(tenant.blueprint.id),
            "entities": _entities(2),
            "company_id": str(tenant.company_a.id),
        }
        body.update(mutate(tenant, other))
        r = await client.post("/api/v1/batch/submit", json=body, headers=tenant.headers(Role.org_admin))
        assert r.status_code == status, r.text
        if code:
            assert r.json()["error"]["code"] == code
        assert await _counts(conn) == before

    @pytest.mark.parametrize("text", ["a\u0000b", "a\ud800b"])
    async def test_unstorable_text_deep_in_an_entity_is_refused_with_its_place(self, client, conn, tenant, text):
        """The body's one walk (RequestSchema) reaches into every entity's input; the entities
        themselves do not walk again (EntitySpec is a RequestPart)."""
        before = await _counts(conn)
        entities = _entities(3)
        entities[1]["input"]["tags"] = [{"label": text}]
        body = {"blueprint_id": str(tenant.blueprint.id), "entities": entities, "company_id": str(tenant.company_a.id)}
        headers = {**tenant.headers(Role.org_admin), "content-type": "application/json"}
        # serialised here: httpx's encoder refuses lone surrogates, which JSON spells as \\u escapes
        r = await client.post("/api/v1/batch/submit", content=json.dumps(body), headers=headers)
        assert r.status_code == 422, r.text
        assert "entities.1.input.tags.0.label" in r.text
        assert await _counts(conn) == before

    async def test_a_member_may_not_submit(self, client, conn, tenant):
        before = await _counts(conn)
        r = await submit(client, tenant, role=Role.member)
        assert r.status_code == 403
        assert await _counts(conn) == before

    async def test_a_company_admin_cannot_submit_for_another_company(self, client, conn, tenant):
        r = await submit(client, tenant, role=Role.company_admin, company_id=str(tenant.company_b.id))
        assert r.status_code == 404


class TestStatusAndCancel:
    async def test_status_counts_and_pages_runs(self, client, conn, tenant):
        sid = (await submit(client, tenant, entities=_entities(5))).json()["data"]["submission_id"]
        headers = tenant.headers(Role.member)
        r = await client.post("/api/v1/batch/status", json={"submission_id": sid, "limit": 2}, headers=headers)
        assert r.status_code == 200
        data = r.json()["data"]
        assert data["submission"]["status"] == "queued"
        assert data["summary"] == {
            "total": 5,
            "queued": 5,
            "running": 0,
            "succeeded": 0,
            "failed": 0,
            "canceled": 0,
            "children": 0,
        }
        assert [i["entity_index"] for i in data["runs"]["items"]] == [0, 1]
        assert data["runs"]["items"][0]["steps"] == [
            {
                "position": 1,
                "operation_id": "company.enrich.profile",
                "status": "queued",
                "skip_reason": None,
                "fan_out": None,
            },
            {
                "position": 2,
                "operation_id": "company.ads.search.meta",
                "status": "queued",
                "skip_reason": None,
                "fan_out": None,
            },
        ]
        seen, cursor = [], None
        while True:
            page = (
                await client.post(
                    "/api/v1/batch/status", json={"submission_id": sid, "limit": 2, "cursor": cursor}, headers=headers
                )
            ).json()
            seen += [i["entity_index"] for i in page["data"]["runs"]["items"]]
            cursor = page["data"]["runs"]["next_cursor"]
            if cursor is None:
                break
        assert seen == [0, 1, 2, 3, 4]

    async def test_status_filters_runs_by_status_and_pages_within_the_filter(self, client, conn, tenant):
        # the console's "failed only" view of a 10,000-run submission: the filter is applied by the
        # query, so a page holds only matching runs and the summary still counts every run
        sid = (await submit(client, tenant, entities=_entities(6))).json()["data"]["submission_id"]
        await conn.execute(
            "UPDATE pipeline_runs SET status = 'failed', error_message = 'boom' "
            "WHERE submission_id = $1 AND entity_index IN (1, 3, 4)",
            uuid.UUID(sid),
        )
        headers = tenant.headers(Role.member)
        seen, cursor = [], None
        while True:
            body = {"submission_id": sid, "status": "failed", "limit": 2, "cursor": cursor}
            r = await client.post("/api/v1/batch/status", json=body, headers=headers)
            assert r.status_code == 200, r.text
            data = r.json()["data"]
            assert data["summary"]["total"] == 6 and data["summary"]["failed"] == 3
            assert {i["status"] for i in data["runs"]["items"]} == {"failed"}
            seen += [i["entity_index"] for i in data["runs"]["items"]]
            cursor = data["runs"]["next_cursor"]
            if cursor is None:
                break
        assert seen == [1, 3, 4]
        r = await client.post(
            "/api/v1/batch/status", json={"submission_id": sid, "status": "succeeded"}, headers=headers
        )
        assert r.json()["data"]["runs"] == {"items": [], "next_cursor": None}
        r = await client.post(
            "/api/v1/batch/status", json={"submission_id": sid, "status": "exploded"}, headers=headers
        )
        assert r.status_code == 422

    async def test_status_is_tenant_scoped(self, client, conn, tenant):
        sid = (await submit(client, tenant)).json()["data"]["submission_id"]
        other = await create_tenant(conn)
        r = await client.post(
            "/api/v1/batch/status", json={"submission_id": sid}, headers=other.headers(Role.org_admin)
        )
        assert r.status_code == 404
        r = await client.post(
            "/api/submissions/get", json={"submission_id": sid}, headers=other.headers(Role.org_admin)
        )
        assert r.status_code == 404
        # another company of the same org
        bp_b = await create_blueprint(conn, tenant.org.id, COMPANY_BP)
        sid_b = (
            await client.post(
                "/api/v1/batch/submit",
                json={"blueprint_id": str(bp_b.id), "company_id": str(tenant.company_b.id), "entities": _entities(1)},
                headers=tenant.headers(Role.org_admin),
            )
        ).json()["data"]["submission_id"]
        r = await client.post(
            "/api/v1/batch/status", json={"submission_id": sid_b}, headers=tenant.headers(Role.member)
        )
        assert r.status_code == 404
        r = await client.post("/api/submissions/list", json={}, headers=tenant.headers(Role.member))
        assert [s["id"] for s in r.json()["data"]["items"]] == [sid]

    async def test_cancel_marks_open_runs_and_skips_their_steps(self, client, conn, tenant):
        sid = (await submit(client, tenant)).json()["data"]["submission_id"]
        r = await client.post(
            "/api/v1/batch/cancel", json={"submission_id": sid}, headers=tenant.headers(Role.company_admin)
        )
        assert r.status_code == 200 and r.json()["data"]["status"] == "canceled"
        status = (
            await client.post("/api/v1/batch/status", json={"submission_id": sid}, headers=tenant.headers(Role.member))
        ).json()["data"]
        assert status["summary"]["canceled"] == 3
        assert {s["status"] for run in status["runs"]["items"] for s in run["steps"]} == {"skipped"}
        r = await client.post(
            "/api/v1/batch/cancel", json={"submission_id": sid}, headers=tenant.headers(Role.org_admin)
        )
        assert r.status_code == 200 and r.json()["data"]["status"] == "canceled"
        r = await client.post("/api/v1/batch/cancel", json={"submission_id": sid}, headers=tenant.headers(Role.member))
        assert r.status_code == 403
