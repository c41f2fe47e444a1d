"""Operations no provider answers (Strategy.local, docs/decisions/0064) through /api/v1/execute:
company.resolve.domain_from_email and the detect_changes pair, with their tenancy."""

import uuid

import pytest

from app.auth.context import Role
from app.repositories import entities as entities_repo
from tests.factories import bearer, create_tenant, create_token
from tests.operations.test_execute import execute


@pytest.fixture
async def tenant(conn):
    return await create_tenant(conn)


async def store_person(conn, org_id, company_id, **data):
    await entities_repo.insert_person(
        conn,
        org_id,
        company_id,
        full_name=data.get("full_name"),
        linkedin_url=data.get("linkedin_url"),
        work_email=data.get("work_email"),
        company_domain=data.get("company_domain"),
        data=data,
        run_id=uuid.uuid4(),
    )


JANE = {
    "full_name": "Jane Doe",
    "linkedin_url": "https://www.linkedin.com/in/janedoe",
    "title": "VP Sales",
    "company_name": "Acme",
    "company_domain": "acme.com",
}


class TestDomainFromEmail:
    async def test_a_work_email_gives_its_domain(self, pclient, tenant):
        r = await execute(
            pclient,
            bearer(tenant.tokens[Role.member]),
            "company.resolve.domain_from_email",
            "company",
            {"email": "Jane.Doe@Sub.Acme.COM"},
        )
        assert r.status_code == 200, r.text
        body = r.json()["data"]
        assert body["status"] == "found"
        assert body["output"] == {"domain": "sub.acme.com", "domain_source": "email"}
        [attempt] = body["provider_attempts"]
        assert (attempt["provider"], attempt["action"], attempt["status"]) == ("local", "domain_from_email", "found")

    @pytest.mark.parametrize(
        ("email", "kind"),
        [("jane@gmail.com", "free_mail"), ("jane@mailinator.com", "disposable"), ("x@proton.me", "free_mail")],
    )
    async def test_free_and_disposable_mail_is_no_answer(self, pclient, tenant, email, kind):
        r = await execute(
            pclient,
            bearer(tenant.tokens[Role.member]),
            "company.resolve.domain_from_email",
            "company",
            {"email": email},
        )
        body = r.json()["data"]
        assert body["status"] == "not_found" and body["output"] is None
        assert body["provider_attempts"][0]["provider_status"] == kind

    async def test_without_an_email_the_input_is_missing(self, pclient, tenant):
        r = await execute(
            pclient,
            bearer(tenant.tokens[Role.member]),
            "company.resolve.domain_from_email",
            "company",
            {"name": "Acme"},
        )
        body = r.json()["data"]
        assert body["status"] == "failed" and body["missing_inputs"] == ["work_email|email"]
        assert body["provider_attempts"] == []

    async def test_a_local_operation_takes_no_provider_order(self, pclient, tenant):
        r = await execute(
            pclient,
            bearer(tenant.tokens[Role.member]),
            "company.resolve.domain_from_email",
            "company",
            {"email": "a@acme.com"},
            {"providers": ["prospeo"]},
        )
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_providers"


class TestDetectChanges:
    async def test_no_record_yet_means_no_changes(self, pclient, tenant):
        r = await execute(
            pclient, bearer(tenant.tokens[Role.member]), "person.derive.detect_changes", "person", {**JANE}
        )
        body = r.json()["data"]
        assert body["status"] == "found"
        assert body["output"] == {"changed": [], "compared_to_version": None, "job_changed": False}
        assert body["provider_attempts"][0]["provider_status"] == "no_record"

    async def test_a_new_title_is_a_job_change(self, pclient, conn, tenant):
        await store_person(conn, tenant.org.id, tenant.company_a.id, **JANE)
        new = {**JANE, "title": "Chief Revenue Officer", "company_name": "ACME ", "location": "Austin"}
        r = await execute(pclient, bearer(tenant.tokens[Role.member]), "person.derive.detect_changes", "person", new)
        output = r.json()["data"]["output"]
        # the employer's name differs only in case and spaces; a location the record lacks is no change
        assert output == {
            "changed": [{"field": "title", "from": "VP Sales", "to": "Chief Revenue Officer"}],
            "compared_to_version": 1,
            "job_changed": True,
        }

    async def test_the_same_values_are_no_change_and_never_cached(self, pclient, conn, tenant):
        await store_person(conn, tenant.org.id, tenant.company_a.id, **JANE)
        headers = bearer(tenant.tokens[Role.member])
        for _ in range(2):
            r = await execute(
                pclient, headers, "person.derive.detect_changes", "person", {**JANE, "title": "vp  sales"}
            )
            body = r.json()["data"]
            assert body["cached"] is False
            assert body["output"]["changed"] == [] and body["output"]["job_changed"] is False

    async def test_another_company_of_the_org_does_not_see_the_record(self, pclient, conn, tenant):
        await store_person(conn, tenant.org.id, tenant.company_a.id, **JANE)
        token_b, _ = await create_token(conn, tenant.org.id, Role.member, tenant.company_b.id)
        r = await execute(pclient, bearer(token_b), "person.derive.detect_changes", "person", {**JANE, "title": "CEO"})
        assert r.json()["data"]["output"]["compared_to_version"] is None

    async def test_an_org_wide_caller_compares_with_the_orgs_record(self, pclient, conn, tenant):
        await store_person(conn, tenant.org.id, tenant.company_a.id, **JANE)
        r = await execute(
            pclient,
            bearer(tenant.tokens[Role.org_admin]),
            "person.derive.detect_changes",
            "person",
            {**JANE, "title": "CEO"},
        )
        assert r.json()["data"]["output"]["job_changed"] is True

    async def test_another_org_does_not_see_the_record(self, pclient, conn, tenant):
        await store_person(conn, tenant.org.id, tenant.company_a.id, **JANE)
        other = await create_tenant(conn)
        r = await execute(
            pclient,
            bearer(other.tokens[Role.org_admin]),
            "person.derive.detect_changes",
            "person",
            {**JANE, "title": "CEO"},
        )
        assert r.json()["data"]["output"]["compared_to_version"] is None

    async def test_company_changes(self, pclient, conn, tenant):
        await entities_repo.insert_company(
            conn,
            tenant.org.id,
            tenant.company_a.id,
            name="Acme",
            domain="acme.com",
            linkedin_url=None,
            data={"name": "Acme", "domain": "acme.com", "employee_count": 120, "industry": "Software"},
            run_id=uuid.uuid4(),
        )
        r = await execute(
            pclient,
            bearer(tenant.tokens[Role.member]),
            "company.derive.detect_changes",
            "company",
            {"domain": "https://www.acme.com", "name": "Acme", "employee_count": 180},
        )
        assert r.json()["data"]["output"] == {
            "changed": [{"field": "employee_count", "from": 120, "to": 180}],
            "compared_to_version": 1,
        }

    async def test_without_a_natural_key_the_input_is_missing(self, pclient, tenant):
        r = await execute(
            pclient, bearer(tenant.tokens[Role.member]), "person.derive.detect_changes", "person", {"title": "CEO"}
        )
        assert r.json()["data"]["missing_inputs"] == ["linkedin_url|work_email|email"]
