"""CONTRACT §5 as data: which roles may do what. Routers name a permission; nothing else
decides roles."""

from enum import StrEnum

from app.auth.context import Role


class Permission(StrEnum):
    read_tenant_data = "read_tenant_data"
    execute = "execute"
    batch_submit = "batch_submit"
    blueprints_read = "blueprints_read"
    blueprints_write = "blueprints_write"
    manage_org = "manage_org"
    webhooks_manage = "webhooks_manage"
    budgets_manage = "budgets_manage"
    provider_keys_manage = "provider_keys_manage"


_ALL = frozenset(Role)

POLICY: dict[Permission, frozenset[Role]] = {
    Permission.read_tenant_data: _ALL,
    Permission.execute: _ALL,
    # batch/submit, batch/submit-csv, batch/cancel (batch/export reads: read_tenant_data)
    Permission.batch_submit: frozenset({Role.org_admin, Role.company_admin}),
    Permission.blueprints_read: _ALL,
    Permission.blueprints_write: frozenset({Role.org_admin}),
    # companies create; users and API tokens create/list/revoke
    Permission.manage_org: frozenset({Role.org_admin}),
    # webhooks create/list/delete/rotate-secret/deliveries (CONTRACT §9.6)
    Permission.webhooks_manage: frozenset({Role.org_admin}),
    # budgets set/get (CONTRACT §9.4); the usage summary is a read of tenant data
    Permission.budgets_manage: frozenset({Role.org_admin}),
    # an org's own provider keys set/list/delete (CONTRACT §9.5)
    Permission.provider_keys_manage: frozenset({Role.org_admin}),
}


def allows(role: Role, permission: Permission) -> bool:
    return role in POLICY[permission]
