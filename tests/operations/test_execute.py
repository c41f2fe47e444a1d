"""/api/v1/execute through the real app: the waterfall, skips, overrides, verification
chaining, history rows, tenancy of the history, and secrets kept out of it."""

import json

import httpx
import pytest
import respx

from app.auth.context import Role
from tests.factories import bearer, create_tenant
from tests.providers.conftest import TEST_KEY, base_url

MV = base_url("millionverifier") + "/api/v3/"
REOON = base_url("reoon") + "/api/v1/verify"
ICY_START = base_url("icypeas") + "/api/email-search"
ICY_READ = base_url("icypeas") + "/api/bulk-single-searchs/read"
LEADMAGIC_EMAIL = base_url("leadmagic") + "/v1/people/email-finder"
ADYNTEL_LINKEDIN = base_url("adyntel") + "/linkedin"

PERSON = {"first_name": "Jane", "last_name": "Doe", "company_domain": "acme.com"}


def mv(result: str) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "email": "x",
            "result": result,
            "resultcode": 1,
            "error": "",
            "credits": 9,
            "quality": "good",
            "subresult": "",
            "free": False,
            "role": False,
            "didyoumean": "",
            "executiontime": 1,
            "livemode": True,
        },
    )


def reoon(status: str) -> httpx.Response:
    return httpx.Response(200, json={"email": "x", "status": status, "overall_score": 50, "verification_mode": "power"})


def icypeas_found(email: str) -> list[httpx.Response]:
    return [
        httpx.Response(
            200,
            json={
                "success": True,
                "items": [
                    {"_id": "s1", "status": "DEBITED", "results": {"emails": [{"email": email, "certainty": "sure"}]}}
                ],
            },
        )
    ]


@pytest.fixture
async def tenant(conn):
    return await create_tenant(conn)


async def execute(client, headers, operation_id, entity_type, data, options=None):
    body = {"operation_id": operation_id, "entity_type": entity_type, "input": data}
    if options is not None:
        body["options"] = options
    return await client.post("/api/v1/execute", json=body, headers=headers)


class TestVerifyEmail:
    @respx.mock
    async def test_a_conclusive_millionverifier_verdict_stops_the_waterfall(self, pclient, tenant):
        respx.get(MV).mock(return_value=mv("ok"))
        reoon_route = respx.get(REOON).mock(return_value=reoon("safe"))
        r = await execute(
            pclient,
            tenant.headers(Role.member),
            "person.contact.verify_email",
            "person",
            {"work_email": "jane@acme.com"},
        )
        assert r.status_code == 200, r.text
        data = r.json()["data"]
        assert data["status"] == "verified"
        assert data["output"] == {
            "email_verdict": "deliverable",
            "email_verification_status": "ok",
            "email_verified_by": "millionverifier",
        }
        assert [a["provider"] for a in data["provider_attempts"]] == ["millionverifier"]
        assert reoon_route.call_count == 0

    @pytest.mark.parametrize("inconclusive", ["catch_all", "unknown"])
    @respx.mock
    async def test_reoon_only_when_millionverifier_is_inconclusive(self, pclient, tenant, inconclusive):
        respx.get(MV).mock(return_value=mv(inconclusive))
        respx.get(REOON).mock(return_value=reoon("invalid"))
        r = await execute(
            pclient,
            tenant.headers(Role.member),
            "person.contact.verify_email",
            "person",
            {"work_email": "jane@acme.com"},
        )
        data = r.json()["data"]
        assert [a["provider"] for a in data["provider_attempts"]] == ["millionverifier", "reoon"]
        assert data["status"] == "verified"
        assert data["output"]["email_verdict"] == "undeliverable"
        assert data["output"]["email_verified_by"] == "reoon"

    @respx.mock
    async def test_an_inconclusive_verdict_stands_when_reoon_fails(self, pclient, tenant):
        respx.get(MV).mock(return_value=mv("catch_all"))
        respx.get(REOON).mock(return_value=httpx.Response(500))
        r = await execute(
            pclient,
            tenant.headers(Role.member),
            "person.contact.verify_email",
            "person",
            {"work_email": "jane@acme.com"},
        )
        data = r.json()["data"]
        assert data["status"] == "verified"
        assert data["output"]["email_verdict"] == "risky"
        assert [(a["provider"], a["status"]) for a in data["provider_attempts"]] == [
            ("millionverifier", "verified"),
            ("reoon", "failed"),
        ]
        assert data["provider_attempts"][1]["http_status"] == 500

    @respx.mock
    async def test_reoon_is_tried_when_millionverifier_fails(self, pclient, tenant):
        respx.get(MV).mock(return_value=httpx.Response(200, json={"result": "error", "error": "Insufficient credits"}))
        respx.get(REOON).mock(return_value=reoon("safe"))
        r = await execute(
            pclient, tenant.headers(Role.member), "person.contact.verify_email", "person", {"email": "jane@acme.com"}
        )
        data = r.json()["data"]
        assert data["status"] == "verified" and data["output"]["email_verified_by"] == "reoon"
        assert data["provider_attempts"][0]["provider_status"] == "insufficient_credits"

    async def test_missing_minimum_inputs_fail_with_the_list(self, pclient, tenant):
        r = await execute(
            pclient, tenant.headers(Role.member), "person.contact.verify_email", "person", {"first_name": "Jane"}
        )
        assert r.status_code == 200
        data = r.json()["data"]
        assert data["status"] == "failed" and data["missing_inputs"] == ["work_email|email"]
        assert data["provider_attempts"] == []


class TestResolveEmail:
    @respx.mock
    async def test_a_found_email_is_verified_and_the_verdict_returned(self, pclient, tenant):
        respx.post(ICY_START).mock(return_value=httpx.Response(200, json={"success": True, "item": {"_id": "s1"}}))
        respx.post(ICY_READ).mock(side_effect=icypeas_found("jane@acme.com"))
        mv_route = respx.get(MV).mock(return_value=mv("ok"))
        r = await execute(pclient, tenant.headers(Role.company_admin), "person.contact.resolve_email", "person", PERSON)
        data = r.json()["data"]
        assert data["status"] == "verified"
        assert data["output"] == {
            "work_email": "jane@acme.com",
            "email_confidence": "sure",
            "email_verdict": "deliverable",
            "email_source": "icypeas",
        }
        assert [(a["provider"], a["action"]) for a in data["provider_attempts"]] == [
            ("icypeas", "resolve_email"),
            ("millionverifier", "verify_email"),
        ]
        assert mv_route.calls.last.request.url.params["email"] == "jane@acme.com"

    @respx.mock
    async def test_an_undeliverable_email_lets_the_next_finder_try(self, pclient, tenant):
        respx.post(ICY_START).mock(return_value=httpx.Response(200, json={"success": True, "item": {"_id": "s1"}}))
        respx.post(ICY_READ).mock(side_effect=icypeas_found("wrong@acme.com"))
        respx.post(LEADMAGIC_EMAIL).mock(
            return_value=httpx.Response(
                200,
                json={
                    "email": "jane.doe@acme.com",
                    "status": "valid",
                    "credits_consumed": 1,
                    "message": "Valid email found.",
                },
            )
        )
        respx.get(MV).mock(side_effect=lambda request: mv("invalid" if "wrong" in str(request.url) else "ok"))
        r = await execute(pclient, tenant.headers(Role.org_admin), "person.contact.resolve_email", "person", PERSON)
        data = r.json()["data"]
        assert data["status"] == "verified"
        assert data["output"]["work_email"] == "jane.doe@acme.com" and data["output"]["email_source"] == "leadmagic"
        assert [a["provider"] for a in data["provider_attempts"]] == [
            "icypeas",
            "millionverifier",
            "leadmagic",
            "millionverifier",
        ]

    @respx.mock
    async def test_per_call_order_is_honoured(self, pclient, tenant):
        lm = respx.post(LEADMAGIC_EMAIL).mock(
            return_value=httpx.Response(
                200, json={"email": None, "status": "not_found", "credits_consumed": 0, "message": "No email found."}
            )
        )
        icy = respx.post(ICY_START).mock(return_value=httpx.Response(200, json={"success": True, "item": {"_id": "s"}}))
        r = await execute(
            pclient,
            tenant.headers(Role.member),
            "person.contact.resolve_email",
            "person",
            PERSON,
            {"providers": ["leadmagic"]},
        )
        data = r.json()["data"]
        assert data["status"] == "not_found"
        assert [a["provider"] for a in data["provider_attempts"]] == ["leadmagic"]
        assert lm.call_count == 1 and icy.call_count == 0

    @pytest.mark.parametrize("providers", [[], ["icypeas", "icypeas"], ["prospeo"], ["nobody"]])
    async def test_an_invalid_override_is_400_and_nothing_recorded(self, pclient, conn, tenant, providers):
        before = await conn.fetchval("SELECT count(*) FROM operation_runs")
        r = await execute(
            pclient,
            tenant.headers(Role.member),
            "person.contact.resolve_email",
            "person",
            PERSON,
            {"providers": providers},
        )
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_providers"
        assert r.json()["error"]["details"]["allowed"] == ["icypeas", "leadmagic", "parallel"]
        assert await conn.fetchval("SELECT count(*) FROM operation_runs") == before

    async def test_missing_name_and_company_are_named(self, pclient, tenant):
        r = await execute(
            pclient,
            tenant.headers(Role.member),
            "person.contact.resolve_email",
            "person",
            {"linkedin_url": "https://linkedin.com/in/jane"},
        )
        data = r.json()["data"]
        assert data["status"] == "failed"
        assert data["missing_inputs"] == ["first_name|last_name|full_name", "company_domain|company_name"]


class TestSkipsAndFailures:
    async def test_unconfigured_providers_are_skipped_with_a_reason(self, client, tenant):
        # the default test app has no provider keys at all
        r = await execute(
            client, tenant.headers(Role.member), "company.enrich.profile", "company", {"domain": "acme.com"}
        )
        data = r.json()["data"]
        assert data["status"] == "failed"
        assert [(a["provider"], a["status"], a["skip_reason"]) for a in data["provider_attempts"]] == [
            ("prospeo", "skipped", "not_configured"),
            ("blitzapi", "skipped", "not_configured"),
            ("companyenrich", "skipped", "not_configured"),
            ("leadmagic", "skipped", "not_configured"),
        ]

    @respx.mock
    async def test_a_provider_down_is_a_failed_attempt_not_a_500(self, pclient, tenant):
        respx.post(ADYNTEL_LINKEDIN).mock(side_effect=httpx.ConnectError("refused"))
        r = await execute(
            pclient, tenant.headers(Role.member), "company.ads.search.linkedin", "company", {"domain": "acme.com"}
        )
        assert r.status_code == 200
        data = r.json()["data"]
        assert data["status"] == "failed"
        assert data["provider_attempts"][0]["status"] == "failed"
        assert data["provider_attempts"][0]["provider_status"] == "connection_error"


class TestRequestValidation:
    @pytest.mark.parametrize(
        ("body", "code"),
        [
            ({"operation_id": "nope.nope", "entity_type": "person", "input": {}}, "unknown_operation"),
            (
                {"operation_id": "person.contact.verify_email", "entity_type": "company", "input": {}},
                "entity_type_mismatch",
            ),
            (
                {"operation_id": "person.contact.verify_email", "entity_type": "person", "input": {"email": ["x"]}},
                "invalid_input",
            ),
        ],
    )
    async def test_bad_requests_are_400(self, client, tenant, body, code):
        r = await client.post("/api/v1/execute", json=body, headers=tenant.headers(Role.member))
        assert r.status_code == 400 and r.json()["error"]["code"] == code

    async def test_an_unknown_entity_type_is_422(self, client, tenant):
        r = await client.post(
            "/api/v1/execute",
            json={"operation_id": "company.search", "entity_type": "robot", "input": {}},
            headers=tenant.headers(Role.member),
        )
        assert r.status_code == 422


class TestHistory:
    @respx.mock
    async def test_every_call_is_recorded_with_attempts_and_no_secret(self, pclient, conn, tenant, settings):
        respx.get(MV).mock(
            return_value=httpx.Response(
                200, json={"result": "error", "error": f"Apikey not found: {TEST_KEY}", "api": TEST_KEY}
            )
        )
        respx.get(REOON).mock(return_value=reoon("safe"))
        r = await execute(
            pclient,
            tenant.headers(Role.member),
            "person.contact.verify_email",
            "person",
            {"work_email": "jane@acme.com"},
        )
        run_id = r.json()["data"]["run_id"]
        got = await pclient.post(
            "/api/operation-runs/get", json={"run_id": run_id}, headers=tenant.headers(Role.member)
        )
        assert got.status_code == 200
        run = got.json()["data"]
        assert run["status"] == "verified" and run["auth_method"] == "api_token"
        assert run["company_id"] == str(tenant.company_a.id)
        assert run["input"] == {"work_email": "jane@acme.com"}
        assert [(a["position"], a["provider"], a["status"]) for a in run["provider_attempts"]] == [
            (1, "millionverifier", "failed"),
            (2, "reoon", "verified"),
        ]
        assert run["provider_attempts"][1]["raw_response"]["status"] == "safe"
        stored = json.dumps(
            [
                dict(r)
                for r in await conn.fetch(
                    "SELECT raw_response::text, input::text FROM operation_attempts a"
                    " JOIN operation_runs r ON r.id = a.run_id WHERE r.id = $1",
                    run_id,
                )
            ]
        )
        assert TEST_KEY not in stored and "[REDACTED]" in stored
        # another org, and another company of the same org, do not see it
        other = await create_tenant(conn)
        r = await pclient.post(
            "/api/operation-runs/get", json={"run_id": run_id}, headers=other.headers(Role.org_admin)
        )
        assert r.status_code == 404
        await conn.execute("UPDATE operation_runs SET company_id = $2 WHERE id = $1", run_id, tenant.company_b.id)
        r = await pclient.post("/api/operation-runs/get", json={"run_id": run_id}, headers=tenant.headers(Role.member))
        assert r.status_code == 404

    @respx.mock
    async def test_the_internal_key_executes_for_the_named_org_and_company(self, pclient, conn, tenant, settings):
        respx.get(MV).mock(return_value=mv("invalid"))
        headers = {
            **bearer(settings.secret("internal_api_key")),
            "x-internal-org-id": str(tenant.org.id),
            "x-internal-company-id": str(tenant.company_b.id),
        }
        r = await execute(pclient, headers, "person.contact.verify_email", "person", {"email": "a@acme.com"})
        assert r.status_code == 200
        row = await conn.fetchrow(
            "SELECT org_id, company_id, auth_method FROM operation_runs WHERE id = $1",
            __import__("uuid").UUID(r.json()["data"]["run_id"]),
        )
        assert (row["org_id"], row["company_id"], row["auth_method"]) == (
            tenant.org.id,
            tenant.company_b.id,
            "internal",
        )
        other = await create_tenant(conn)
        headers["x-internal-company-id"] = str(other.company_a.id)
        r = await execute(pclient, headers, "person.contact.verify_email", "person", {"email": "a@acme.com"})
        assert r.status_code == 404 and r.json()["error"]["code"] == "company_not_found"

    async def test_a_jwt_session_can_execute(self, client, tenant, settings):
        from tests.factories import jwt_for

        token = jwt_for(tenant.users[Role.member], settings.secret("jwt_secret"))
        r = await execute(client, bearer(token), "company.ads.search.google", "company", {"domain": "acme.com"})
        assert r.status_code == 200 and r.json()["data"]["status"] == "failed"
