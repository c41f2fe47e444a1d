"""Tenant isolation, generated from the OpenAPI schema: every tenant path × every caller (each
role by API token and by session JWT, the internal key org-wide and company-scoped, the internal
key naming another org's company, the super-admin key) × bodies naming the caller's own objects,
another company's and another org's, one id field at a time (list filters and nested references
included). Zero leaks: no foreign id or marker in any response, nothing foreign changed, 404 for
what the caller may not see, 403 where its role stops it, 401 where its credential is not
accepted."""

from dataclasses import dataclass
from typing import Any

import pytest

from app.auth.context import Role
from tests.conftest import TEST_SECRETS
from tests.factories import bearer, jwt_for
from tests.reliability.conftest import record, size
from tests.reliability.schema import (
    INTERNAL_ONLY,
    NOT_TENANT,
    ROLES_ALLOWED,
    SCHEMA,
    SUPER_ADMIN_PREFIX,
    BodyPlan,
    Slot,
    accepts_internal,
    accepts_tenant,
    body_plan,
    is_multipart,
    tenant_paths,
)
from tests.reliability.world import COMPANY_SCOPED, World, build_world, fingerprint


@dataclass(frozen=True)
class Caller:
    name: str
    auth: str  # api_token | jwt | internal | internal_cross | super_admin
    role: Role | None = None
    company_scoped: bool = False

    def headers(self, world: World) -> dict[str, str]:
        tenant = world.own.tenant
        if self.auth == "api_token":
            return bearer(tenant.tokens[self.role])
        if self.auth == "jwt":
            return bearer(jwt_for(tenant.users[self.role], TEST_SECRETS["jwt_secret"]))
        if self.auth == "super_admin":
            return bearer(TEST_SECRETS["super_admin_api_key"])
        headers = {**bearer(TEST_SECRETS["internal_api_key"]), "x-internal-org-id": str(world.own.org_id)}
        if self.auth == "internal_cross":
            headers["x-internal-company-id"] = str(world.other.a.company_id)
        elif self.company_scoped:
            headers["x-internal-company-id"] = str(world.own.a.company_id)
        return headers


TENANT_CALLERS = [
    Caller(f"{method}/{role.value}", method, role, role is not Role.org_admin)
    for method in ("api_token", "jwt")
    for role in Role
]
INTERNAL_CALLERS = [
    Caller("internal/org", "internal"),
    Caller("internal/company", "internal", company_scoped=True),
    Caller("internal/other-orgs-company", "internal_cross", company_scoped=True),
]
CALLERS = TENANT_CALLERS + INTERNAL_CALLERS + [Caller("super_admin", "super_admin")]
# make test: every role by API token, the other paths for one role each
FAST_CALLERS = [c for c in CALLERS if c.auth != "jwt" or c.role is Role.company_admin]


def variants(plan: BodyPlan) -> list[tuple[str, dict[Slot, str]]]:
    """All own; then each id field alone pointing at another org's object, and at another
    company's object where the kind belongs to a company."""
    out = [("own", {})]
    for slot in plan.slots:
        out.append((f"{slot.label}=other-org", {slot: "org"}))
        if slot.kind in COMPANY_SCOPED:
            out.append((f"{slot.label}=other-company", {slot: "company"}))
    return out


def expectation(path: str, caller: Caller, targets: dict[Slot, str]) -> Any:
    """What CONTRACT §3–§5 promise: a status, or `ok` (200), `visible` (the caller may see the
    object: 200 or a semantic 400/409, never 403/404), `filtered` (200 or 404, no foreign data)."""
    if caller.auth == "super_admin":
        return 401
    if caller.auth.startswith("internal") and not accepts_internal(path):
        return 401
    if caller.auth in ("api_token", "jwt"):
        if not accepts_tenant(path):
            return 401
        if caller.role not in ROLES_ALLOWED[path]:
            return 403
    if caller.auth == "internal_cross":
        return 404
    hidden = {"org"} | ({"company"} if caller.company_scoped else set())
    if any(t in hidden and not s.is_filter for s, t in targets.items()):
        return 404
    if any(t in hidden for t in targets.values()):
        return "filtered"
    if targets:
        return "visible"
    return "ok"


def _holds(expected: Any, status: int, body: dict[str, Any]) -> bool:
    if isinstance(expected, int):
        return status == expected
    if expected == "ok":
        return status == 200
    if expected == "filtered":
        return status in (200, 404)
    code = (body.get("error") or {}).get("code", "")
    return status == 200 or (status in (400, 409) and not code.endswith("_not_found"))


def forbidden_strings(world: World, caller: Caller) -> set[str]:
    strings = world.other.all_strings()
    if caller.company_scoped:
        strings |= world.own.b.ids | {world.own.b.marker}
    return strings


async def run_matrix(client, conn, path: str, callers: list[Caller]) -> dict[str, int]:
    world = await build_world(conn)
    plan = body_plan(path)
    baseline_other = await fingerprint(conn, world.other.org_id)
    baseline_company_b = await fingerprint(conn, world.own.org_id, world.own.b.company_id)
    failures: list[str] = []
    cells = foreign_cells = 0
    for caller in callers:
        headers = caller.headers(world)
        forbidden = forbidden_strings(world, caller)
        for label, targets in variants(plan):
            ids = {s: world.object_id(s.kind, targets.get(s, "own")) for s in plan.slots}
            body = plan.body(ids)
            expected = expectation(path, caller, targets)
            savepoint = conn.transaction()
            await savepoint.start()
            try:
                if is_multipart(path):
                    form = {k: v for k, v in body.items() if k != "file" and v is not None}
                    r = await client.post(path, data=form, files={"file": ("t.csv", body["file"])}, headers=headers)
                else:
                    r = await client.post(path, json=body, headers=headers)
                where = f"{path} [{caller.name}] {label}: expected {expected}, got {r.status_code}"
                payload = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
                if not _holds(expected, r.status_code, payload):
                    failures.append(f"{where} {r.text[:300]}")
                leaked = sorted(s for s in forbidden if s in r.text)
                if leaked:
                    failures.append(f"{where}: leaked {leaked} in {r.text[:300]}")
                if expected in (401, 403, 404, "filtered"):
                    if await fingerprint(conn, world.other.org_id) != baseline_other:
                        failures.append(f"{where}: another org's rows changed")
                    if caller.company_scoped and (
                        await fingerprint(conn, world.own.org_id, world.own.b.company_id) != baseline_company_b
                    ):
                        failures.append(f"{where}: another company's rows changed")
            finally:
                await savepoint.rollback()
            cells += 1
            foreign_cells += bool(targets) or caller.auth == "internal_cross"
    assert not failures, "\n".join(failures)
    return {"cells": cells, "foreign_cells": foreign_cells, "variants": len(variants(plan)), "callers": len(callers)}


@pytest.mark.parametrize("path", tenant_paths())
async def test_no_caller_reaches_what_it_may_not_see(client, conn, path):
    callers = size(FAST_CALLERS, CALLERS)
    figures = await run_matrix(client, conn, path, callers)
    record(f"isolation-{path.strip('/').replace('/', '_')}", path=path, **figures)


def test_every_path_of_the_schema_is_classified_and_has_a_body_strategy():
    """A new endpoint fails here until it is placed: tenant paths need a contract entry (who may
    call it) and a body the walker can build; anything else needs a stated reason."""
    unplaced = []
    for path in SCHEMA["paths"]:
        if path in NOT_TENANT or path.startswith(SUPER_ADMIN_PREFIX):
            continue
        if path not in ROLES_ALLOWED:
            unplaced.append(f"{path}: no CONTRACT §5 entry in tests/reliability/schema.py")
            continue
        body_plan(path)  # raises NoBodyStrategy naming the field it cannot fill
    assert not unplaced, unplaced
    assert set(ROLES_ALLOWED) == set(tenant_paths()), "a contract entry names a path the schema no longer has"
    internal = {p for p, roles in ROLES_ALLOWED.items() if roles is INTERNAL_ONLY}
    assert internal == {p for p in tenant_paths() if not accepts_tenant(p)}
    slots = sum(len(body_plan(p).slots) for p in tenant_paths())
    record(
        "isolation-schema",
        schema_paths=len(SCHEMA["paths"]),
        tenant_paths=len(tenant_paths()),
        id_fields=slots,
        callers=len(CALLERS),
        roles=len(Role),
    )
