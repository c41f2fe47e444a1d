"""The entity lists' filters and paging (`/api/v1/entities/companies|persons`): each filter narrows
to exactly the matching rows, and paging walks every row once, newest first. (Written to kill the
mutants docs/TESTING.md lists as surviving in the entity repository.)"""

from datetime import UTC, datetime, timedelta

import pytest

from app.auth.context import Role
from tests.factories import create_tenant

OLD = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
async def world(conn):
    tenant = await create_tenant(conn)
    companies, persons = {}, {}
    for i, stem in enumerate(["alpha", "bravo", "charlie"]):
        company = tenant.company_a if stem != "charlie" else tenant.company_b
        updated = OLD + timedelta(days=i)
        companies[stem] = str(
            await conn.fetchval(
                "INSERT INTO company_entities (org_id, company_id, name, domain, linkedin_url, data, record_version, "
                "updated_at) VALUES ($1, $2, $3, $4, $5, '{}', 1, $6) RETURNING id",
                tenant.org.id,
                company.id,
                f"{stem.title()} Corp",
                f"{stem}.com",
                f"https://www.linkedin.com/company/{stem}",
                updated,
            )
        )
        persons[stem] = str(
            await conn.fetchval(
                "INSERT INTO person_entities (org_id, company_id, full_name, linkedin_url, work_email, "
                "company_domain, data, record_version, updated_at) VALUES ($1, $2, $3, $4, $5, $6, '{}', 1, $7) "
                "RETURNING id",
                tenant.org.id,
                company.id,
                f"Jane {stem.title()}",
                f"https://www.linkedin.com/in/jane-{stem}",
                f"jane@{stem}.com",
                f"{stem}.com",
                updated,
            )
        )
    return tenant, companies, persons


async def _ids(client, tenant, path, body):
    r = await client.post(path, json=body, headers=tenant.headers(Role.org_admin))
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["data"]["items"]]


@pytest.mark.parametrize("kind", ["companies", "persons"])
async def test_each_filter_narrows_to_exactly_the_matching_rows(client, world, kind):
    tenant, companies, persons = world
    rows = companies if kind == "companies" else persons
    path = f"/api/v1/entities/{kind}"
    assert await _ids(client, tenant, path, {}) == [rows["charlie"], rows["bravo"], rows["alpha"]]
    assert await _ids(client, tenant, path, {"filters": {"domain": "BRAVO.com"}}) == [rows["bravo"]]
    assert await _ids(client, tenant, path, {"filters": {"name": "ALPH"}}) == [rows["alpha"]]
    linkedin = (
        "https://www.linkedin.com/company/charlie"
        if kind == "companies"
        else "https://www.linkedin.com/in/jane-charlie"
    )
    assert await _ids(client, tenant, path, {"filters": {"linkedin_url": linkedin}}) == [rows["charlie"]]
    since = (OLD + timedelta(days=1)).isoformat()
    assert await _ids(client, tenant, path, {"filters": {"updated_since": since}}) == [rows["charlie"], rows["bravo"]]
    assert await _ids(client, tenant, path, {"filters": {"company_id": str(tenant.company_b.id)}}) == [rows["charlie"]]
    if kind == "persons":
        assert await _ids(client, tenant, path, {"filters": {"email": "JANE@alpha.com"}}) == [rows["alpha"]]


@pytest.mark.parametrize("kind", ["companies", "persons"])
async def test_paging_walks_every_row_once_newest_first(client, world, kind):
    tenant, companies, persons = world
    rows = companies if kind == "companies" else persons
    path = f"/api/v1/entities/{kind}"
    seen, cursors, cursor = [], [], None
    for _ in range(3):
        body = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        r = await client.post(path, json=body, headers=tenant.headers(Role.org_admin))
        page = r.json()["data"]
        assert len(page["items"]) == 1
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        cursors.append(cursor)
    assert seen == [rows["charlie"], rows["bravo"], rows["alpha"]]
    # a next page exactly while rows remain: the last page has none
    assert [c is not None for c in cursors] == [True, True, False]
    r = await client.post(path, json={"limit": 3}, headers=tenant.headers(Role.org_admin))
    assert r.json()["data"]["next_cursor"] is None  # a page that holds everything has no next page
