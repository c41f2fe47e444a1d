"""Two orgs, each with two client companies and one object of every kind per company, for the
isolation matrix and the fuzzer: whatever a caller may name, there is one of its own, one of
another company of its org and one of another org."""

import secrets
import uuid
from dataclasses import dataclass, field

import asyncpg

from app.auth.context import Role
from tests.factories import Tenant, create_tenant, create_token, create_user

# object kinds an id field can name, by field name
ID_FIELDS = {
    "company_id": "company",
    "user_id": "user",
    "api_token_id": "api_token",
    "blueprint_id": "blueprint",
    "submission_id": "submission",
    "pipeline_run_id": "pipeline_run",
    "run_id": "operation_run",
    "entity_id": "entity",  # the history endpoints; bodies name entity_type "company"
    "webhook_id": "webhook",
}
# a webhook secret no response may ever show (create and rotate-secret answer a new one)
WEBHOOK_SECRET = "whsec_" + "cmVsaWFiaWxpdHktd2ViaG9vay1zZWNyZXQ="
# kinds that belong to one client company (the rest belong to the org as a whole)
COMPANY_SCOPED = {"company", "user", "api_token", "submission", "pipeline_run", "operation_run", "entity"}

FINGERPRINTED = (
    "companies",
    "users",
    "api_tokens",
    "blueprints",
    "blueprint_steps",
    "submissions",
    "pipeline_runs",
    "step_results",
    "operation_runs",
    "operation_attempts",
    "company_entities",
    "person_entities",
    "entity_versions",
    "webhooks",
    "webhook_deliveries",
    "org_provider_keys",
)


@dataclass
class CompanyObjects:
    company_id: uuid.UUID
    user_id: uuid.UUID
    api_token_id: uuid.UUID
    submission_id: uuid.UUID
    pipeline_run_id: uuid.UUID
    operation_run_id: uuid.UUID
    entity_id: uuid.UUID  # the company record
    marker: str
    ids: set[str] = field(default_factory=set)


@dataclass
class OrgWorld:
    tenant: Tenant
    a: CompanyObjects
    b: CompanyObjects
    marker: str
    webhook_id: uuid.UUID

    @property
    def org_id(self) -> uuid.UUID:
        return self.tenant.org.id

    def all_strings(self) -> set[str]:
        """Every id and marker of this org: none may appear in another org's responses."""
        strings = {str(self.org_id), str(self.tenant.blueprint.id), self.marker, self.tenant.org.slug}
        strings |= {str(self.webhook_id), WEBHOOK_SECRET}
        strings |= {str(u.id) for u in self.tenant.users.values()}
        strings |= self.a.ids | self.b.ids | {self.a.marker, self.b.marker}
        return strings


async def _company_objects(conn: asyncpg.Connection, tenant: Tenant, company_id: uuid.UUID, user_id, marker: str):
    org_id = tenant.org.id
    await conn.execute("UPDATE companies SET name = $2 WHERE id = $1", company_id, f"Company {marker}")
    _, token_id = await create_token(conn, org_id, Role.member, company_id, user_id)
    submission_id = await conn.fetchval(
        "INSERT INTO submissions (org_id, company_id, blueprint_id, status, entity_count, source) "
        "VALUES ($1, $2, $3, 'running', 1, $4) RETURNING id",
        org_id,
        company_id,
        tenant.blueprint.id,
        f"source {marker}",
    )
    run_id = await conn.fetchval(
        "INSERT INTO pipeline_runs (org_id, company_id, submission_id, entity_index, entity_type, status, "
        "blueprint_snapshot, blueprint_version, input, error_message) VALUES ($1, $2, $3, 0, 'company', 'failed', "
        "'{}', 'v1', $4, 'boom') RETURNING id",
        org_id,
        company_id,
        submission_id,
        {"domain": f"{marker}.example"},
    )
    await conn.execute(
        "INSERT INTO step_results (org_id, pipeline_run_id, operation_id, position, status, input) "
        "SELECT $1, $2, slug, 1, 'failed', $3 FROM steps WHERE slug = 'company.enrich.profile'",
        org_id,
        run_id,
        {"domain": f"{marker}.example"},
    )
    operation_run_id = await conn.fetchval(
        "INSERT INTO operation_runs (org_id, company_id, auth_method, operation_id, entity_type, status, input) "
        "VALUES ($1, $2, 'api_token', 'company.search', 'company', 'not_found', $3) RETURNING id",
        org_id,
        company_id,
        {"domain": f"{marker}.example"},
    )
    await conn.execute(
        "INSERT INTO operation_attempts (org_id, run_id, position, provider, action, status, raw_response) "
        "VALUES ($1, $2, 1, 'prospeo', 'search', 'not_found', $3)",
        org_id,
        operation_run_id,
        {"marker": marker},
    )
    company_entity = await conn.fetchval(
        "INSERT INTO company_entities (org_id, company_id, name, domain, data, last_pipeline_run_id) "
        "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        org_id,
        company_id,
        f"Entity {marker}",
        f"{marker}.example",
        {"marker": marker},
        run_id,
    )
    person_entity = await conn.fetchval(
        "INSERT INTO person_entities (org_id, company_id, full_name, work_email, data, last_pipeline_run_id) "
        "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        org_id,
        company_id,
        f"Person {marker}",
        f"p@{marker}.example",
        {"marker": marker},
        run_id,
    )
    await conn.execute(
        "INSERT INTO entity_versions (org_id, entity_type, entity_id, record_version, pipeline_run_id, data) "
        "VALUES ($1, 'company', $2, 1, $3, '{}')",
        org_id,
        company_entity,
        run_id,
    )
    objects = CompanyObjects(
        company_id=company_id,
        user_id=user_id,
        api_token_id=token_id,
        submission_id=submission_id,
        pipeline_run_id=run_id,
        operation_run_id=operation_run_id,
        entity_id=company_entity,
        marker=marker,
    )
    objects.ids = {
        str(x)
        for x in (
            company_id,
            user_id,
            token_id,
            submission_id,
            run_id,
            operation_run_id,
            company_entity,
            person_entity,
        )
    }
    return objects


async def build_org(conn: asyncpg.Connection) -> OrgWorld:
    tenant = await create_tenant(conn)
    marker = "mk" + secrets.token_hex(6)
    await conn.execute("UPDATE blueprints SET name = $2 WHERE id = $1", tenant.blueprint.id, f"Blueprint {marker}")
    a = await _company_objects(conn, tenant, tenant.company_a.id, tenant.users[Role.member].id, marker + "a")
    member_b = await create_user(conn, tenant.org.id, Role.member, tenant.company_b.id, password=None)
    b = await _company_objects(conn, tenant, tenant.company_b.id, member_b.id, marker + "b")
    # an org-wide webhook with one queued delivery (webhooks belong to the org, not a company)
    webhook_id = await conn.fetchval(
        "INSERT INTO webhooks (org_id, url, events, secret) VALUES ($1, $2, '{submission.completed}', $3) RETURNING id",
        tenant.org.id,
        f"https://{marker}.example/hook",
        WEBHOOK_SECRET,
    )
    await conn.execute(
        "INSERT INTO webhook_deliveries (org_id, webhook_id, event_type, body, next_attempt_at) "
        "VALUES ($1, $2, 'submission.completed', $3, 'infinity')",
        tenant.org.id,
        webhook_id,
        f'{{"marker": "{marker}"}}',
    )
    # an own key for the provider the bodies name (tests/reliability/schema.py VALUES["provider"])
    await conn.execute(
        "INSERT INTO org_provider_keys (org_id, provider, sealed_key, last4) VALUES ($1, 'leadmagic', $2, 'rely')",
        tenant.org.id,
        f"enc1:{marker}:x:y",
    )
    return OrgWorld(tenant=tenant, a=a, b=b, marker=marker, webhook_id=webhook_id)


@dataclass
class World:
    own: OrgWorld
    other: OrgWorld

    def object_id(self, kind: str, target: str) -> uuid.UUID:
        """The id of an object of `kind`: the caller's own (company a), another company's of the
        same org (`company`), or another org's (`org`)."""
        org = self.other if target == "org" else self.own
        if kind == "blueprint":
            return org.tenant.blueprint.id
        if kind == "webhook":
            return org.webhook_id
        objects = org.b if target == "company" else org.a
        return getattr(objects, "operation_run_id" if kind == "operation_run" else f"{kind}_id")


async def build_world(conn: asyncpg.Connection) -> World:
    return World(own=await build_org(conn), other=await build_org(conn))


async def fingerprint(conn: asyncpg.Connection, org_id: uuid.UUID, company_id: uuid.UUID | None = None) -> str:
    """A digest of every row of an org (or of one of its companies, where a table says which)."""
    parts = []
    for table in FINGERPRINTED:
        has_company = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = $1 AND column_name = "
            "'company_id')",
            table,
        )
        where = "org_id = $1" + (" AND company_id = $2" if company_id and has_company else "")
        args = [org_id] + ([company_id] if company_id and has_company else [])
        parts.append(
            await conn.fetchval(
                f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t WHERE {where}",
                *args,
            )
        )
    return ",".join(parts)
