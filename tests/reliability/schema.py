"""The app's OpenAPI schema as test data: which paths hold tenant data, who may call them
(CONTRACT §4–§5), and a valid body for each, built by walking its request schema.

A path the schema gains is covered without anyone remembering: it must either be classified
here as carrying no tenant data, or have a contract entry and a body the walker can build (an
unknown id field or an unknown required field fails the suite with the path's name).
"""

import copy
import uuid
from dataclasses import dataclass
from typing import Any

from app.auth.context import Role
from app.main import create_app
from tests.conftest import make_settings
from tests.reliability.world import ID_FIELDS

# the schema needs no database: the app is built, never started
SCHEMA_APP = create_app(make_settings("postgresql://schema-only@127.0.0.1:1/unused"))
SCHEMA: dict[str, Any] = SCHEMA_APP.openapi()

# paths that take and return no tenant data, and why
NOT_TENANT = {
    "/health": "liveness; no credentials, no data",
    "/api/auth/login": "exchanges a password for a session; tested in tests/auth",
    "/api/internal/workers/heartbeat": "host-level: the internal key alone, no org",
    "/api/internal/workers/recover": "host-level: the internal key alone, no org",
}
SUPER_ADMIN_PREFIX = "/api/super-admin/"  # the platform operator acts across orgs by design

ALL = frozenset(Role)
SUBMITTERS = frozenset({Role.org_admin, Role.company_admin})
ADMIN = frozenset({Role.org_admin})
INTERNAL_ONLY = frozenset()

# CONTRACT §5, written down independently of app/auth/policy.py
ROLES_ALLOWED: dict[str, frozenset[Role]] = {
    "/api/auth/me": ALL,
    "/api/companies/create": ADMIN,
    "/api/companies/list": ALL,
    "/api/companies/get": ALL,
    "/api/users/create": ADMIN,
    "/api/users/list": ADMIN,
    "/api/users/get": ADMIN,
    "/api/api-tokens/create": ADMIN,
    "/api/api-tokens/list": ADMIN,
    "/api/api-tokens/revoke": ADMIN,
    "/api/blueprints/create": ADMIN,
    "/api/blueprints/list": ALL,
    "/api/blueprints/get": ALL,
    "/api/blueprints/update": ADMIN,
    "/api/v1/operations/list": ALL,
    "/api/v1/execute": ALL,
    "/api/operation-runs/list": ALL,
    "/api/operation-runs/get": ALL,
    "/api/v1/batch/submit": SUBMITTERS,
    "/api/v1/batch/submit-csv": SUBMITTERS,
    "/api/v1/batch/export": ALL,
    "/api/v1/batch/status": ALL,
    "/api/v1/batch/cancel": SUBMITTERS,
    "/api/submissions/list": ALL,
    "/api/submissions/get": ALL,
    "/api/pipeline-runs/list": ALL,
    "/api/pipeline-runs/get": ALL,
    "/api/pipeline-runs/retry": ADMIN,
    "/api/step-results/list": ALL,
    "/api/v1/entities/companies": ALL,
    "/api/v1/entities/persons": ALL,
    "/api/v1/entities/versions": ALL,
    "/api/v1/entities/timeline": ALL,
    "/api/webhooks/create": ADMIN,
    "/api/webhooks/list": ADMIN,
    "/api/webhooks/delete": ADMIN,
    "/api/webhooks/rotate-secret": ADMIN,
    "/api/webhooks/deliveries": ADMIN,
    "/api/usage/summary": ALL,
    "/api/budgets/set": ADMIN,
    "/api/budgets/get": ADMIN,
    "/api/provider-keys/set": ADMIN,
    "/api/provider-keys/list": ADMIN,
    "/api/provider-keys/delete": ADMIN,
    "/api/internal/pipeline-runs/start": INTERNAL_ONLY,
    "/api/internal/steps/execute": INTERNAL_ONLY,
    "/api/internal/pipeline-runs/finish": INTERNAL_ONLY,
    "/api/internal/pipeline-runs/fail": INTERNAL_ONLY,
}

# values for required fields that are not ids, by field name: valid for every path that has them
VALUES: dict[str, Any] = {
    "name": "Reliability object",
    "email": "reliability-new-user@example.com",
    "role": "member",
    "steps": [{"position": 1, "operation_id": "company.enrich.profile"}],
    "operation_id": "company.ads.search.linkedin",
    "entity_type": "company",
    "input": {"domain": "acme.com"},
    "entities": [{"entity_type": "company", "input": {"domain": "acme.com"}}],
    "position": 1,
    "context": {"domain": "acme.com"},
    "final_context": {"domain": "acme.com"},
    "error": "stopped by the reliability suite",
    "worker_id": "reliability-worker",
    "url": "https://hooks.example.com/reliability",
    "events": ["submission.completed", "run.failed"],
    "limit_usd": 100,
    "group_by": "provider",
    "provider": "leadmagic",
    "api_key": "reliability-provider-key-0001",
    # batch/submit-csv's multipart `file`: the CSV text
    "file": "domain\nacme.com\n",
}


class NoBodyStrategy(AssertionError):
    pass


def accepts_internal(path: str) -> bool:
    """CONTRACT §4: the internal key works on /api/internal/* and /api/v1/execute only."""
    return path.startswith("/api/internal/") or path == "/api/v1/execute"


def accepts_tenant(path: str) -> bool:
    return not path.startswith("/api/internal/")


def tenant_paths() -> list[str]:
    return sorted(p for p in SCHEMA["paths"] if p not in NOT_TENANT and not p.startswith(SUPER_ADMIN_PREFIX))


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """Follows $ref, and picks the non-null branch of an Optional."""
    while True:
        if "$ref" in schema:
            schema = SCHEMA["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        elif "anyOf" in schema:
            branches = [s for s in schema["anyOf"] if s.get("type") != "null"]
            if len(branches) != 1:
                return schema
            schema = branches[0]
        elif "allOf" in schema and len(schema["allOf"]) == 1:
            schema = schema["allOf"][0]
        else:
            return schema


@dataclass(frozen=True)
class Slot:
    """An id field of a body: where it is, what kind of object it names, and whether it only
    filters a list (naming a foreign object then yields an empty page, not a 404)."""

    where: tuple[str, ...]
    kind: str
    is_filter: bool

    @property
    def label(self) -> str:
        return ".".join(self.where)


@dataclass
class BodyPlan:
    path: str
    template: dict[str, Any]
    slots: list[Slot]

    def body(self, ids: dict[Slot, uuid.UUID]) -> dict[str, Any]:
        body = copy.deepcopy(self.template)
        for slot, value in ids.items():
            node = body
            for key in slot.where[:-1]:
                node = node[key]
            node[slot.where[-1]] = str(value)
        return body


def operation(path: str) -> dict[str, Any]:
    methods = SCHEMA["paths"][path]
    assert list(methods) == ["post"], f"{path}: CONTRACT §3 says every endpoint is POST, got {list(methods)}"
    return methods["post"]


def body_type(path: str) -> str:
    """The request body's media type: JSON everywhere but `batch/submit-csv` (multipart)."""
    request = operation(path).get("requestBody")
    return next(iter(request["content"])) if request else "application/json"


def is_multipart(path: str) -> bool:
    return body_type(path) == "multipart/form-data"


def returns_page(path: str) -> bool:
    content = operation(path)["responses"]["200"]["content"]
    if "application/json" not in content:
        return False  # batch/export answers text/csv
    schema = content["application/json"]["schema"]
    data = resolve(resolve(schema).get("properties", {}).get("data", {}))
    return "items" in data.get("properties", {})


def body_plan(path: str) -> BodyPlan:
    """A valid body naming the caller's own objects in every id field (optional ones included,
    so list filters and nested references are exercised too)."""
    request = operation(path).get("requestBody")
    if request is None:
        return BodyPlan(path, {}, [])
    schema = resolve(request["content"][body_type(path)]["schema"])
    page = returns_page(path)
    slots: list[Slot] = []

    def walk(schema: dict[str, Any], prefix: tuple[str, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        required = set(schema.get("required", []))
        for name, raw in schema.get("properties", {}).items():
            prop = resolve(raw)
            where = (*prefix, name)
            if prop.get("format") == "uuid":
                if name not in ID_FIELDS:
                    raise NoBodyStrategy(f"{path}: id field {'.'.join(where)} names an object kind the suite lacks")
                is_filter = page and not (name in required and not prefix)
                slots.append(Slot(where, ID_FIELDS[name], is_filter))
                out[name] = None  # filled per call
            elif prop.get("type") == "object" and prop.get("properties"):
                before = len(slots)
                nested = walk(prop, where)
                if len(slots) > before or name in required:
                    out[name] = nested
            elif name in required:
                if name not in VALUES:
                    raise NoBodyStrategy(f"{path}: no value for the required field {'.'.join(where)}")
                out[name] = copy.deepcopy(VALUES[name])
        return out

    return BodyPlan(path, walk(schema, ()), slots)
