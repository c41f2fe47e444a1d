import type { JobHelpers } from "graphile-worker";
import { describe, expect, it } from "vitest";
import { createHttpApi } from "../pipeline/apiClient.js";
import { PermanentPipelineError, TransientApiError } from "../pipeline/errors.js";
import { FakeInternalApi, type Operation } from "../testing/fakeInternalApi.js";
import { createJsonLogger } from "./log.js";
import { createRunPipelineTask } from "./task.js";

const ORG = "10000000-0000-4000-8000-000000000001";
const COMPANY = "20000000-0000-4000-8000-000000000001";
const RUN_ID = "30000000-0000-4000-8000-000000000001";

const operations: Record<string, Operation> = {
  "person.contact.resolve_email": () => ({ status: "found", output: { email: "ada@example.com" } }),
};

function helpers(attempts = 1, maxAttempts = 25): JobHelpers {
  return {
    job: { id: "42", attempts, max_attempts: maxAttempts },
    abortSignal: new AbortController().signal,
  } as unknown as JobHelpers;
}

function setup(api: FakeInternalApi) {
  const lines: Record<string, unknown>[] = [];
  const log = createJsonLogger({ write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const task = createRunPipelineTask({ apiFor: () => api, log });
  const runId = api.addRun({
    input: { full_name: "Ada" },
    steps: [{ position: 1, operation_id: "person.contact.resolve_email" }],
  });
  const payload = { pipeline_run_id: runId, org_id: ORG, company_id: COMPANY };
  return { task, runId, payload, lines, events: () => lines.map((l) => l.event) };
}

describe("the graphile-worker run-pipeline task", () => {
  it("runs the pipeline and logs one JSON line at start and one at finish", async () => {
    const api = new FakeInternalApi(operations);
    const { task, runId, payload, lines, events } = setup(api);

    await task(payload, helpers());

    expect(events()).toEqual(["run.start", "run.finish"]);
    expect(lines[1]).toMatchObject({ level: "info", pipeline_run_id: runId, job_id: "42", status: "succeeded" });
    expect(api.run(runId).status).toBe("succeeded");
  });

  it("records a permanent error on the run and completes the job instead of retrying", async () => {
    const api = new FakeInternalApi(operations);
    const { task, runId, payload, events } = setup(api);
    api.executeStep = async () => {
      throw new PermanentPipelineError("steps/execute answered 400 (bad_request: context too large)", { status: 400 });
    };

    await expect(task(payload, helpers())).resolves.toBeUndefined();

    expect(api.callsOf("fail")[0]?.error).toContain("context too large");
    expect(api.run(runId).status).toBe("failed");
    expect(events()).toEqual(["run.start", "run.failure"]);
  });

  it("rethrows a transient error so graphile-worker retries with backoff", async () => {
    const api = new FakeInternalApi(operations);
    const { task, runId, payload, lines } = setup(api);
    api.executeStep = async () => {
      throw new TransientApiError("steps/execute answered 503");
    };

    await expect(task(payload, helpers(3))).rejects.toBeInstanceOf(TransientApiError);

    expect(api.callsOf("fail")).toHaveLength(0);
    expect(api.run(runId).status).toBe("running");
    expect(lines.at(-1)).toMatchObject({ event: "run.failure", level: "warn", will_retry: true, attempt: 3 });
  });

  it("records the failure on the job's last attempt rather than leaving the run running", async () => {
    const api = new FakeInternalApi(operations);
    const { task, runId, payload } = setup(api);
    api.executeStep = async () => {
      throw new TransientApiError("steps/execute answered 503");
    };

    await expect(task(payload, helpers(25, 25))).resolves.toBeUndefined();

    expect(api.callsOf("fail")[0]?.error).toMatch(/^retries exhausted: TransientApiError/);
    expect(api.run(runId).status).toBe("failed");
  });

  it("lets the job retry when the failure itself cannot be recorded", async () => {
    const api = new FakeInternalApi(operations);
    const { task, payload } = setup(api);
    api.executeStep = async () => {
      throw new PermanentPipelineError("bad request", { status: 400 });
    };
    api.fail = async () => {
      throw new TransientApiError("pipeline-runs/fail unreachable");
    };

    await expect(task(payload, helpers())).rejects.toThrow("pipeline-runs/fail unreachable");
  });

  it("completes the job for a run that does not exist, as there is nothing to fail", async () => {
    const api = new FakeInternalApi(operations);
    const { task, events } = setup(api);
    const missing = { pipeline_run_id: "30000000-0000-4000-8000-000000000009", org_id: ORG, company_id: COMPANY };

    await expect(task(missing, helpers())).resolves.toBeUndefined();

    expect(events()).toEqual(["run.start", "run.failure"]);
  });

  it("drops a payload it cannot read with an error line and no API call", async () => {
    const api = new FakeInternalApi(operations);
    const { task, lines } = setup(api);

    await task({ pipeline_run_id: "not-a-uuid" }, helpers());

    expect(api.calls).toHaveLength(0);
    expect(lines).toEqual([expect.objectContaining({ event: "run.invalid_payload", level: "error", job_id: "42" })]);
  });

  it("never writes the internal key into its log lines, even when the API refuses a call", async () => {
    const runState = {
      pipeline_run_id: RUN_ID,
      status: "running",
      entity_type: "person",
      input: {},
      steps: [{ position: 1, operation_id: "person.contact.resolve_email", status: "queued" }],
    };
    const answers = [
      { status: 200, body: { data: runState } },
      { status: 400, body: { error: { code: "bad_request", message: "context is not an object", details: null } } },
      { status: 200, body: { data: {} } },
    ];
    const fetch = async () => {
      const next = answers.shift()!;
      return new Response(JSON.stringify(next.body), { status: next.status });
    };
    const lines: string[] = [];
    const task = createRunPipelineTask({
      apiFor: (p) => createHttpApi({ baseUrl: "http://api.test", internalKey: "internal-secret", orgId: p.org_id, fetch }),
      log: createJsonLogger({ level: "debug", write: (l) => lines.push(l) }),
    });

    await task({ pipeline_run_id: RUN_ID, org_id: ORG, company_id: COMPANY }, helpers());

    expect(lines.join("\n")).toContain("context is not an object");
    expect(lines.join("\n")).not.toContain("internal-secret");
  });
});

describe("a step the API hands back for later (a provider's long Retry-After)", () => {
  it("re-enqueues the run with the same job key at now + the wait, and does not finish it", async () => {
    const api = new FakeInternalApi(operations);
    const { runId, payload } = setup(api);
    api.executeStep = async (_run, position) => ({
      position,
      status: "queued",
      output: null,
      context_after: null,
      error_message: "prospeo: HTTP 429",
      operation_run_id: null,
      run_status: "running",
      retry_after_seconds: 120,
    });
    const added: { task: string; payload: unknown; spec: Record<string, unknown> }[] = [];
    const jobHelpers = {
      ...helpers(),
      addJob: async (task: string, jobPayload: unknown, spec: Record<string, unknown>) => {
        added.push({ task, payload: jobPayload, spec });
        return {};
      },
    } as unknown as JobHelpers;
    const log = createJsonLogger({ write: () => {} });
    const task = createRunPipelineTask({ apiFor: () => api, log, now: () => 1_000_000 });

    await task(payload, jobHelpers);

    expect(added).toHaveLength(1);
    expect(added[0]?.task).toBe("run-pipeline");
    expect(added[0]?.payload).toEqual(payload);
    expect(added[0]?.spec).toMatchObject({ jobKey: runId, runAt: new Date(1_000_000 + 120_000) });
    expect(api.callsOf("finish")).toHaveLength(0);
    expect(api.callsOf("fail")).toHaveLength(0);
  });
});
