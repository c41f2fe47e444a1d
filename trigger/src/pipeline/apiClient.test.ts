import { describe, expect, it } from "vitest";
import { createHttpApi, createWorkerApi, parseRetryAfter, type FetchLike } from "./apiClient.js";
import { PermanentPipelineError, TransientApiError } from "./errors.js";

const RUN_ID = "30000000-0000-4000-8000-000000000001";
const ORG = "10000000-0000-4000-8000-000000000001";
const COMPANY = "20000000-0000-4000-8000-000000000001";

interface Recorded {
  url: string;
  method: string | undefined;
  headers: Record<string, string>;
  body: unknown;
}

type Reply = Response | Error | ((init: RequestInit) => Promise<Response>);

/** A fetch that answers from a script and records every request. */
function scriptedFetch(replies: Reply[]): { fetch: FetchLike; requests: Recorded[] } {
  const requests: Recorded[] = [];
  const fetch: FetchLike = async (url, init) => {
    requests.push({
      url,
      method: init.method,
      headers: Object.fromEntries(new Headers(init.headers).entries()),
      body: JSON.parse(String(init.body)),
    });
    const reply = replies.shift();
    if (reply === undefined) throw new Error("scriptedFetch: no reply left");
    if (reply instanceof Error) throw reply;
    if (typeof reply === "function") return reply(init);
    return reply;
  };
  return { fetch, requests };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

const runState = {
  pipeline_run_id: RUN_ID,
  status: "running",
  entity_type: "person",
  input: { full_name: "Ada" },
  steps: [
    {
      position: 1,
      operation_id: "person.contact.resolve_email",
      step_config: { providers: ["icypeas"] },
      status: "queued",
      output: null,
      context_after: null,
      error_message: null,
    },
  ],
};

const stepAnswer = {
  position: 1,
  status: "succeeded",
  output: { email: "ada@example.com" },
  context_after: { full_name: "Ada", email: "ada@example.com" },
  error_message: null,
  operation_run_id: "40000000-0000-4000-8000-000000000001",
  run_status: "running",
};

function apiWith(replies: Reply[], overrides: { timeoutMs?: number; stepTimeoutMs?: number; retries?: number } = {}) {
  const { fetch, requests } = scriptedFetch(replies);
  const sleeps: number[] = [];
  const api = createHttpApi({
    baseUrl: "http://api.test/",
    internalKey: "internal-secret",
    orgId: ORG,
    companyId: COMPANY,
    fetch,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...overrides,
  });
  return { api, requests, sleeps };
}

describe("createHttpApi", () => {
  it("sends the internal key, the tenant headers and JSON to each endpoint", async () => {
    const { api, requests } = apiWith([
      json(200, { data: runState }),
      json(200, { data: stepAnswer }),
      json(200, { data: { status: "succeeded", entity_id: "e1", record_version: 1 } }),
      json(200, { data: { status: "failed" } }),
    ]);

    await api.start(RUN_ID);
    await api.executeStep(RUN_ID, 1, { full_name: "Ada" });
    await api.finish(RUN_ID, { full_name: "Ada", email: "ada@example.com" });
    await api.fail(RUN_ID, "gave up");

    expect(requests.map((r) => [r.method, r.url])).toEqual([
      ["POST", "http://api.test/api/internal/pipeline-runs/start"],
      ["POST", "http://api.test/api/internal/steps/execute"],
      ["POST", "http://api.test/api/internal/pipeline-runs/finish"],
      ["POST", "http://api.test/api/internal/pipeline-runs/fail"],
    ]);
    for (const r of requests) {
      expect(r.headers).toMatchObject({
        authorization: "Bearer internal-secret",
        "x-internal-org-id": ORG,
        "x-internal-company-id": COMPANY,
        "content-type": "application/json",
      });
    }
    expect(requests.map((r) => r.body)).toEqual([
      { pipeline_run_id: RUN_ID },
      { pipeline_run_id: RUN_ID, position: 1, context: { full_name: "Ada" } },
      { pipeline_run_id: RUN_ID, final_context: { full_name: "Ada", email: "ada@example.com" } },
      { pipeline_run_id: RUN_ID, error: "gave up" },
    ]);
  });

  it("returns the data member of the answer, parsed", async () => {
    const { api } = apiWith([json(200, { data: runState }), json(200, { data: stepAnswer })]);

    expect(await api.start(RUN_ID)).toEqual(runState);
    expect(await api.executeStep(RUN_ID, 1, {})).toEqual(stepAnswer);
  });

  it("leaves the company header out when the payload has no company", async () => {
    const { fetch, requests } = scriptedFetch([json(200, { data: runState })]);
    const api = createHttpApi({ baseUrl: "http://api.test", internalKey: "k", orgId: ORG, fetch });

    await api.start(RUN_ID);

    expect(requests[0]?.headers).not.toHaveProperty("x-internal-company-id");
  });

  it("retries a 503 and returns the answer that follows", async () => {
    const { api, requests, sleeps } = apiWith([
      json(503, { error: { code: "service_unavailable", message: "pool exhausted", details: null } }),
      json(200, { data: runState }),
    ]);

    const state = await api.start(RUN_ID);

    expect(state.status).toBe("running");
    expect(requests).toHaveLength(2);
    expect(sleeps).toEqual([375]);
  });

  it("waits as long as Retry-After says on a 429", async () => {
    const { api, sleeps } = apiWith([
      json(429, { error: { code: "rate_limited", message: "slow down", details: null } }, { "retry-after": "2" }),
      json(200, { data: stepAnswer }),
    ]);

    await api.executeStep(RUN_ID, 1, {});

    expect(sleeps).toEqual([2_000]);
  });

  it("caps a very long Retry-After so the host's own backoff takes over", async () => {
    const { api, sleeps } = apiWith([json(429, {}, { "retry-after": "3600" }), json(200, { data: runState })]);

    await api.start(RUN_ID);

    expect(sleeps).toEqual([30_000]);
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("7", now)).toBe(7_000);
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:05 GMT", now)).toBe(5_000);
    expect(parseRetryAfter("soon", now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });

  it("retries network errors with growing backoff and then throws a transient error", async () => {
    const refused = Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } });
    const { api, requests, sleeps } = apiWith([refused, refused, refused, refused]);

    const error = await api.start(RUN_ID).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TransientApiError);
    expect((error as Error).message).toContain("ECONNREFUSED");
    expect(requests).toHaveLength(4);
    expect(sleeps).toEqual([375, 750, 1_500]);
  });

  it("gives up on repeated 5xx with a transient error carrying the status", async () => {
    const { api } = apiWith([json(500, {}), json(502, {}), json(500, {}), json(500, {})]);

    const error = await api.start(RUN_ID).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TransientApiError);
    expect((error as TransientApiError).status).toBe(500);
  });

  it("turns a 4xx into a permanent error at once, with the envelope's code", async () => {
    const { api, requests } = apiWith([
      json(404, { error: { code: "pipeline_run_not_found", message: "pipeline run not found", details: null } }),
    ]);

    const error = await api.start(RUN_ID).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PermanentPipelineError);
    expect(error).toMatchObject({ status: 404, code: "pipeline_run_not_found" });
    expect(requests).toHaveLength(1);
  });

  it("turns a 409 out_of_order into a transient error at once, so the host resumes the run", async () => {
    const conflict = { error: { code: "out_of_order", message: "an earlier step has not finished", details: null } };
    const { api, requests } = apiWith([json(409, conflict), json(409, conflict)]);

    const error = await api.executeStep(RUN_ID, 2, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientApiError);
    expect(error).toMatchObject({ status: 409, code: "out_of_order" });
    await expect(api.finish(RUN_ID, {})).rejects.toBeInstanceOf(TransientApiError);
    expect(requests).toHaveLength(2);
  });

  it("keeps any other 409 permanent", async () => {
    const { api } = apiWith([json(409, { error: { code: "conflict", message: "no", details: null } })]);

    await expect(api.finish(RUN_ID, {})).rejects.toBeInstanceOf(PermanentPipelineError);
  });

  it("treats an unauthorized answer as permanent too", async () => {
    const { api } = apiWith([json(401, { error: { code: "unauthorized", message: "bad key", details: null } })]);

    await expect(api.finish(RUN_ID, {})).rejects.toMatchObject({ name: "PermanentPipelineError", status: 401 });
  });

  it("rejects an answer outside the contract as permanent", async () => {
    const { api } = apiWith([json(200, { data: { ...stepAnswer, run_status: "paused" } })]);

    await expect(api.executeStep(RUN_ID, 1, {})).rejects.toThrow(/outside the contract: run_status/);
  });

  it("times a call out after its budget and does not retry it", async () => {
    const hang = (init: RequestInit) =>
      new Promise<Response>((_resolve, reject) => {
        init.signal?.addEventListener("abort", () => reject(init.signal?.reason));
      });
    const { api, requests } = apiWith([hang, hang], { timeoutMs: 20 });

    const error = await api.start(RUN_ID).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TransientApiError);
    expect(error).toMatchObject({ code: "timeout" });
    expect((error as Error).message).toContain("within 20 ms");
    expect(requests).toHaveLength(1);
  });

  it("gives steps/execute its own, longer budget", async () => {
    const slowAnswer = () => new Promise<Response>((resolve) => setTimeout(() => resolve(json(200, { data: stepAnswer })), 40));
    const { api } = apiWith([slowAnswer], { timeoutMs: 10, stepTimeoutMs: 500 });

    await expect(api.executeStep(RUN_ID, 1, {})).resolves.toMatchObject({ status: "succeeded" });
  });

  it("stops at once when the caller aborts, without retrying", async () => {
    const controller = new AbortController();
    const hang = (init: RequestInit) =>
      new Promise<Response>((_resolve, reject) => {
        init.signal?.addEventListener("abort", () => reject(init.signal?.reason));
        setTimeout(() => controller.abort(new Error("shutting down")), 5);
      });
    const { api, requests } = apiWith([hang, hang]);

    await expect(api.start(RUN_ID, { signal: controller.signal })).rejects.toThrow("shutting down");
    expect(requests).toHaveLength(1);
  });
});

describe("createWorkerApi", () => {
  it("reports heartbeats and asks for recovery with the key only, no tenant headers", async () => {
    const { fetch, requests } = scriptedFetch([
      json(200, { data: { worker_id: "pool-abc" } }),
      json(200, { data: { unlocked_workers: ["pool-dead"] } }),
    ]);
    const api = createWorkerApi({ baseUrl: "http://api.test", internalKey: "internal-secret", fetch });

    await api.heartbeat("pool-abc");
    const recovered = await api.recover("pool-abc");

    expect(recovered.unlocked_workers).toEqual(["pool-dead"]);
    expect(requests.map((r) => [r.url, r.body])).toEqual([
      ["http://api.test/api/internal/workers/heartbeat", { worker_id: "pool-abc" }],
      ["http://api.test/api/internal/workers/recover", { worker_id: "pool-abc" }],
    ]);
    expect(requests[0]?.headers.authorization).toBe("Bearer internal-secret");
    expect(requests[0]?.headers).not.toHaveProperty("x-internal-org-id");
  });
});
