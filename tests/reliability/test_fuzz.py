"""Schemathesis against the app's own OpenAPI schema, in process (ASGI) on the real app and a real
database: every operation, schema-valid and schema-violating bodies and headers, sent with a
working credential of the kind the path accepts (id fields often replaced by real objects of the
caller, so the handlers run past their lookups). Every answer: no 5xx, a documented status, the
documented content type and a body matching the documented schema; invalid data rejected with 4xx.

Hypothesis generates the cases up front (a synchronous `@given` that only collects them), then the
test sends them on the session's event loop, each in a savepoint rolled back after it.

Under `make test` generation is derandomized: the same cases every run, so a submission turns red
only for what it changed, never for a new random finding. `make reliability` (DEX_RELIABILITY=full)
draws many more cases from a fresh seed each run; the seed is in the failure message and in the
figures, and DEX_FUZZ_SEED=<seed> replays that run. A finding becomes a regression test of its own
(e.g. tests/routers/test_string_limits.py). docs/TESTING.md describes both runs.
"""

import os
import random
import secrets
import zlib

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.auth.context import Role
from tests.conftest import TEST_SECRETS
from tests.factories import bearer, jwt_for
from tests.reliability.conftest import FULL, record, size
from tests.reliability.schema import SCHEMA
from tests.reliability.world import ID_FIELDS, World, build_world

FUZZ_SCHEMA = schemathesis.openapi.from_dict(SCHEMA)
OPERATIONS = sorted((op.ok() for op in FUZZ_SCHEMA.get_all_operations()), key=lambda op: op.label)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
EXAMPLES = size(5, 100)  # per operation and generation mode
CHUNKS = 8
# fast (make test): derandomized, the same cases every run; full (make reliability): a fresh seed
# per run unless DEX_FUZZ_SEED replays one
SEED: int | None = int(os.environ.get("DEX_FUZZ_SEED") or secrets.randbelow(2**32)) if FULL else None


def generate(operation, mode: GenerationMode, count: int) -> list:
    cases = []

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        derandomize=SEED is None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy(generation_mode=mode))
    def collect(case):
        cases.append(case)

    if SEED is not None:
        collect = seed(SEED + zlib.crc32(f"{operation.label} {mode.value}".encode()))(collect)

    try:
        collect()
    except Unsatisfiable:
        # nothing in the schema can be violated (GET /health takes no input): no negative cases
        assert mode is GenerationMode.NEGATIVE, operation.label
    return cases


def credential(path: str, world: World, rng: random.Random) -> dict[str, str]:
    """A working credential of the kind the path accepts (CONTRACT §4)."""
    tenant = world.own.tenant
    if path.startswith("/api/super-admin/"):
        return bearer(TEST_SECRETS["super_admin_api_key"])
    if path.startswith("/api/internal/") or (path == "/api/v1/execute" and rng.random() < 0.3):
        headers = {**bearer(TEST_SECRETS["internal_api_key"]), "x-internal-org-id": str(world.own.org_id)}
        if rng.random() < 0.5:
            headers["x-internal-company-id"] = str(world.own.a.company_id)
        return headers
    if path in ("/health", "/api/auth/login"):
        return {}
    role = rng.choice(list(Role))
    if rng.random() < 0.3:
        return bearer(jwt_for(tenant.users[role], TEST_SECRETS["jwt_secret"]))
    return bearer(tenant.tokens[role])


def with_real_ids(body, world: World, rng: random.Random):
    """Half the time an id field names a real object of the caller, so the handler gets past its lookup."""
    if isinstance(body, dict):
        out = {}
        for key, value in body.items():
            if key in ID_FIELDS and isinstance(value, str) and rng.random() < 0.5:
                out[key] = str(world.object_id(ID_FIELDS[key], "own"))
            elif key == "org_id" and isinstance(value, str) and rng.random() < 0.5:
                out[key] = str(world.own.org_id)
            else:
                out[key] = with_real_ids(value, world, rng)
        return out
    if isinstance(body, list):
        return [with_real_ids(v, world, rng) for v in body]
    return body


def _sendable(headers: dict[str, str]) -> dict[str, str]:
    """Generated headers httpx itself refuses to put on the wire are dropped (a client cannot send them)."""
    out = {}
    for name, value in headers.items():
        try:
            httpx.Headers({name: value}).raw  # noqa: B018 - encodes, raising on what HTTP cannot carry
        except (UnicodeEncodeError, ValueError):
            continue
        out[name] = value
    return out


async def send(client: httpx.AsyncClient, case, headers: dict[str, str], body) -> httpx.Response:
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    generated = kwargs.get("headers", {})
    merged = {k: v for k, v in generated.items() if not headers or k.lower() != "authorization"}
    merged = {**_sendable(merged), **headers}
    request = {"headers": merged, "params": kwargs.get("params") or None}
    if "json" in kwargs:
        request["json"] = body
    elif "data" in kwargs:
        request["content"] = kwargs["data"] if isinstance(kwargs["data"], bytes | str) else str(kwargs["data"])
    return await client.request(kwargs["method"], kwargs["url"], **request)


def _negates_headers(case) -> bool:
    location = getattr(getattr(case.meta.phase, "data", None), "parameter_location", None)
    return "Authorization" not in (case.headers or {}) or str(getattr(location, "name", "")).lower() == "header"


def _checks(case) -> list:
    """A case schemathesis could not make invalid (an optional body left out) is a valid one."""
    if getattr(case.meta.phase.data, "description", "") == "Positive test case":
        return [c for c in CHECKS if c is not negative_data_rejection]
    return CHECKS


def _chunk(index: int) -> list:
    return [op for i, op in enumerate(OPERATIONS) if i % CHUNKS == index]


@pytest.mark.parametrize("chunk", range(CHUNKS))
async def test_generated_requests_get_documented_answers_and_never_a_5xx(client, conn, chunk):
    world = await build_world(conn)
    failures: list[str] = []
    sent = statuses = 0
    by_status: dict[int, int] = {}
    for operation in _chunk(chunk):
        rng = random.Random(zlib.crc32(operation.label.encode()))
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for case in generate(operation, mode, EXAMPLES):
                headers = credential(operation.path, world, rng)
                if mode is GenerationMode.NEGATIVE and _negates_headers(case):
                    headers = {}  # the negation is the credential itself: sent as generated, 401 expected
                body = with_real_ids(case.body, world, rng) if mode is GenerationMode.POSITIVE else case.body
                if mode is GenerationMode.POSITIVE:
                    case.body = body
                savepoint = conn.transaction()
                await savepoint.start()
                try:
                    response = await send(client, case, headers, body)
                finally:
                    await savepoint.rollback()
                sent += 1
                by_status[response.status_code] = by_status.get(response.status_code, 0) + 1
                try:
                    case.validate_response(response, checks=_checks(case), headers=headers)
                except (FailureGroup, AssertionError) as e:
                    failures.append(f"{operation.label} ({mode.value}): {str(e)[:1500]}")
    statuses = len(by_status)
    record(
        f"fuzz-{chunk}",
        operations=len(_chunk(chunk)),
        cases=sent,
        statuses={str(k): v for k, v in sorted(by_status.items())},
        failures=len(failures),
        schemathesis_version=schemathesis.__version__,
        seed=SEED if SEED is not None else "derandomized",
    )
    replay = f" (replay: DEX_FUZZ_SEED={SEED} make reliability)" if SEED is not None else ""
    assert not failures, f"{len(failures)} of {sent} cases failed{replay}:\n\n" + "\n\n".join(failures[:15])
    assert statuses >= 2, by_status  # the cases reach more than one outcome: they are not all rejected
