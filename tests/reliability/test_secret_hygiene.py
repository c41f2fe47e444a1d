"""Secret hygiene after everything the suite put the real processes through (faults, load): the
captured logs of the API, the worker and the sandbox, and every stored row (raw provider
responses, inputs, contexts, the job queue) hold none of the configured secrets, no API token
plaintext, no password, no session JWT. Tokens are stored only as their SHA-256."""

import hashlib

import httpx

from tests.conftest import TEST_SECRETS
from tests.reliability.conftest import record
from tests.reliability.e2e import configured_secrets, data, fetch_sync, secret_findings


def test_no_secret_or_token_in_any_log_or_stored_row(rstack):
    api = rstack.stack.api_url
    # the paths where a careless product leaks: a login, a wrong login, rejected credentials,
    # provider calls that fail, a worker callback with a bad key
    session = data(httpx.post(f"{api}/api/auth/login", json={"email": rstack.email, "password": rstack.password}))
    jwt = session["access_token"]
    assert (
        httpx.post(f"{api}/api/auth/login", json={"email": rstack.email, "password": rstack.password + "x"}).status_code
        == 401
    )
    assert httpx.post(f"{api}/api/auth/me", headers={"Authorization": f"Bearer {rstack.token}x"}).status_code == 401
    assert httpx.post(f"{api}/api/auth/me", headers={"Authorization": f"Bearer {jwt}"}).status_code == 200
    leaked_key = TEST_SECRETS["internal_api_key"] + "-wrong"
    assert (
        httpx.post(
            f"{api}/api/internal/workers/heartbeat",
            json={"worker_id": "x"},
            headers={"Authorization": f"Bearer {leaked_key}"},
        ).status_code
        == 401
    )
    execute = {
        "operation_id": "company.enrich.profile",
        "entity_type": "company",
        "input": {"domain": "found-hygiene.com"},
    }
    assert rstack.client.post("/api/v1/execute", json=execute).status_code == 200
    # the error paths, whichever worker's stack this is: providers failing, throttling and answering
    # garbage, under a pipeline and a direct call
    rstack.sandbox.configure(None, error_rate=0.3, http429_rate=0.2, malformed_rate=0.2)
    try:
        blueprint = rstack.blueprint(["company.enrich.profile", "company.ads.search.google"])
        submission = rstack.submit(blueprint, [f"found-hygiene-{i}.com" for i in range(2)])
        for i in range(2):
            faulty = {**execute, "input": {"domain": f"found-hygiene-direct{i}.com"}}
            assert rstack.client.post("/api/v1/execute", json=faulty).status_code == 200
        rstack.wait_done(submission)
    finally:
        rstack.sandbox.reset()
    outcomes = fetch_sync(
        rstack.pg.dsn,
        "SELECT count(*) FROM operation_attempts WHERE raw_response ? 'error' OR http_status >= 400",
    )[0][0]
    assert outcomes > 0  # the provider failures were recorded, raw responses included
    created = data(rstack.client.post("/api/api-tokens/create", json={"name": "hygiene", "role": "org_admin"}))
    rstack.tokens.append(created["token"])

    secrets = {**configured_secrets(rstack), "session jwt": jwt, "wrong internal key": leaked_key}
    found, sources = secret_findings(rstack, secrets)
    assert len(sources["api.log"]) > 0 and len(sources["worker.log"]) > 0
    assert sources['"public"."operation_attempts"'], "the run stored no provider response to scan"
    # the scan sees what it should: this test's own input and token prefix are there to be found
    assert "found-hygiene.com" in sources['"public"."operation_runs"']
    assert created["token_prefix"] in sources['"public"."api_tokens"']
    assert not found, found
    # tokens are stored as their hash, and the hash is what authenticates
    hashes = {r["token_hash"] for r in fetch_sync(rstack.pg.dsn, "SELECT token_hash FROM api_tokens")}
    assert all(hashlib.sha256(t.encode()).hexdigest() in hashes for t in rstack.tokens)
    record(
        "hygiene",
        secrets_checked=len(secrets),
        tokens_checked=len(rstack.tokens),
        sources_scanned=len(sources),
        bytes_scanned=sum(len(t) for t in sources.values()),
        logs_scanned=sorted(k for k in sources if k.endswith(".log")),
        found=0,
    )
