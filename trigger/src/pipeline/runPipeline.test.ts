import { describe, expect, it } from "vitest";
import { FakeInternalApi, type Operation } from "../testing/fakeInternalApi.js";
import { PermanentPipelineError, TransientApiError } from "./errors.js";
import { runPipeline } from "./runPipeline.js";
import type { PipelineContext, PipelinePayload } from "./types.js";

const ORG = "10000000-0000-4000-8000-000000000001";
const COMPANY = "20000000-0000-4000-8000-000000000001";

function payloadFor(runId: string): PipelinePayload {
  return { pipeline_run_id: runId, org_id: ORG, company_id: COMPANY };
}

const found = (output: Record<string, unknown>): Operation => () => ({ status: "found", output });

const operations: Record<string, Operation> = {
  "person.contact.resolve_email": found({ email: "ada@example.com", email_status: "valid" }),
  "person.contact.resolve_mobile_phone": found({ mobile_phone: "+15550100", email_status: null }),
  "person.contact.verify_email": found({ email_verified: true }),
  "company.enrich.profile": () => ({ status: "not_found", output: {} }),
  "always.fails": () => ({ status: "failed", error: "every provider failed" }),
};

function threeStepRun(api: FakeInternalApi, extra: { id?: string } = {}): string {
  return api.addRun({
    ...extra,
    input: { full_name: "Ada Lovelace", company_domain: "example.com" },
    steps: [
      { position: 1, operation_id: "person.contact.resolve_email" },
      { position: 2, operation_id: "person.contact.resolve_mobile_phone" },
      { position: 3, operation_id: "person.contact.verify_email" },
    ],
  });
}

describe("runPipeline", () => {
  it("goes on past a step the API skipped (a false condition), with the context the API answered", async () => {
    const api = new FakeInternalApi(operations);
    const runId = threeStepRun(api);
    const executeStep = api.executeStep.bind(api);
    const contexts: PipelineContext[] = [];
    api.executeStep = async (id: string, position: number, context: PipelineContext) => {
      contexts.push(context);
      const result = await executeStep(id, position, context);
      if (position !== 2) return result;
      return {
        position,
        status: "skipped",
        output: null,
        context_after: { kept_by_skip: true },
        error_message: null,
        operation_run_id: null,
        run_status: "running",
        skip_reason: "condition_not_met",
      };
    };

    const outcome = await runPipeline(payloadFor(runId), api);

    expect(contexts[2]).toEqual({ kept_by_skip: true });
    expect(api.calls.map((c) => c.method)).toEqual(["start", "executeStep", "executeStep", "executeStep", "finish"]);
    expect(outcome.executed_positions).toEqual([1, 2, 3]);
  });

  it("executes every step in position order and finishes the run with the final context", async () => {
    const api = new FakeInternalApi(operations);
    const runId = threeStepRun(api);

    const outcome = await runPipeline(payloadFor(runId), api);

    expect(api.executions.map((e) => e.position)).toEqual([1, 2, 3]);
    expect(api.calls.map((c) => c.method)).toEqual(["start", "executeStep", "executeStep", "executeStep", "finish"]);
    expect(outcome).toMatchObject({ status: "succeeded", executed_positions: [1, 2, 3], resumed_positions: [] });
    expect(outcome).toMatchObject({ entity_id: `entity-${runId}`, record_version: 1 });
  });

  it("takes the run as finished when the API finished it with its last step, without calling finish", async () => {
    const api = new FakeInternalApi(operations);
    api.hooks.finishOnLastStep = true;
    const runId = threeStepRun(api);
    const events: string[] = [];

    const outcome = await runPipeline(payloadFor(runId), api, { log: (event) => events.push(event) });

    expect(api.calls.map((c) => c.method)).toEqual(["start", "executeStep", "executeStep", "executeStep"]);
    expect(outcome).toMatchObject({ status: "succeeded", executed_positions: [1, 2, 3], failed_position: null });
    expect(outcome).toMatchObject({ entity_id: `entity-${runId}`, record_version: 1 });
    expect(events.at(-1)).toBe("run.finished");
    // a second delivery finds the run terminal
    expect(await runPipeline(payloadFor(runId), api)).toMatchObject({ status: "succeeded", already_terminal: true });
    expect(api.executions).toHaveLength(3);
  });

  // The merge itself (non-null output over the context) is the API's: tests/pipelines/test_step_semantics.py.
  it("gives each step exactly the context_after the API answered for the step before, and finishes with the last", async () => {
    const api = new FakeInternalApi(operations);
    const runId = threeStepRun(api);
    const executeStep = api.executeStep.bind(api);
    // mark every answer, so a context the pipeline merged or kept on its own would show
    api.executeStep = async (id: string, position: number, context: PipelineContext) => {
      const result = await executeStep(id, position, context);
      return { ...result, context_after: { answered_by_step: position } };
    };

    await runPipeline(payloadFor(runId), api);

    const input = { full_name: "Ada Lovelace", company_domain: "example.com" };
    // what the worker sent (the API judges the context from its own records; the worker must
    // still hand on exactly what it was answered, never a merge of its own)
    expect(api.callsOf("executeStep").map((c) => c.context)).toEqual([
      input,
      { answered_by_step: 1 },
      { answered_by_step: 2 },
    ]);
    expect(api.callsOf("finish")[0]?.context).toEqual({ answered_by_step: 3 });
  });

  it("executes steps by position even when the API lists them out of order", async () => {
    const api = new FakeInternalApi(operations);
    api.hooks.reverseStepOrder = true;
    const runId = threeStepRun(api);

    await runPipeline(payloadFor(runId), api);

    expect(api.executions.map((e) => e.position)).toEqual([1, 2, 3]);
  });

  it("runs only the steps the API returns, so a disabled step is never executed", async () => {
    const api = new FakeInternalApi(operations);
    const runId = api.addRun({
      input: { full_name: "Ada" },
      steps: [
        { position: 1, operation_id: "person.contact.resolve_email" },
        { position: 2, operation_id: "always.fails", enabled: false },
        { position: 3, operation_id: "person.contact.verify_email" },
      ],
    });

    const outcome = await runPipeline(payloadFor(runId), api);

    expect(api.executions.map((e) => e.position)).toEqual([1, 3]);
    expect(outcome.status).toBe("succeeded");
  });

  it("stops at a failed step: no later step is executed and the run is not finished", async () => {
    const api = new FakeInternalApi(operations);
    const runId = api.addRun({
      input: { full_name: "Ada" },
      steps: [
        { position: 1, operation_id: "person.contact.resolve_email" },
        { position: 2, operation_id: "always.fails" },
        { position: 3, operation_id: "person.contact.verify_email" },
      ],
    });

    const outcome = await runPipeline(payloadFor(runId), api);

    expect(api.executions.map((e) => e.position)).toEqual([1, 2]);
    expect(api.callsOf("finish")).toHaveLength(0);
    // which steps the API then marks skipped is the API's: tests/pipelines/test_step_semantics.py
    expect(outcome).toMatchObject({ status: "failed", failed_position: 2, error_message: "every provider failed" });
  });

  it("treats a not_found step as succeeded and carries on with the context unchanged", async () => {
    const api = new FakeInternalApi(operations);
    const runId = api.addRun({
      entity_type: "company",
      input: { company_domain: "example.com" },
      steps: [
        { position: 1, operation_id: "company.enrich.profile" },
        { position: 2, operation_id: "person.contact.verify_email" },
      ],
    });

    const outcome = await runPipeline(payloadFor(runId), api);

    expect(outcome.status).toBe("succeeded");
    expect(api.executions[1]?.context).toEqual({ company_domain: "example.com" });
  });

  it("observes a cancel made during a step before the next step runs", async () => {
    const api = new FakeInternalApi(operations);
    const runId = threeStepRun(api);
    api.hooks.beforeOperation = (id, position) => {
      if (position === 1) api.cancel(id);
    };

    const outcome = await runPipeline(payloadFor(runId), api);

    expect(api.executions.map((e) => e.position)).toEqual([1]);
    expect(api.callsOf("executeStep")).toHaveLength(1);
    expect(api.callsOf("finish")).toHaveLength(0);
    expect(outcome.status).toBe("canceled");
  });

  it("observes a cancel made between steps when the next step is refused", async () => {
    const api = new FakeInternalApi(operations);
    const runId = threeStepRun(api);
    api.hooks.afterRecord = (id, position) => {
      if (position === 2) api.cancel(id);
    };

    const outcome = await runPipeline(payloadFor(runId), api);

    expect(api.executions.map((e) => e.position)).toEqual([1, 2]);
    expect(api.callsOf("finish")).toHaveLength(0);
    expect(outcome.status).toBe("canceled");
  });

  it("resumes after a crash without executing succeeded steps again, from their stored context", async () => {
    const api = new FakeInternalApi(operations);
    const runId = threeStepRun(api);
    let crash = true;
    api.hooks.afterRecord = (_id, position) => {
      if (position === 2 && crash) {
        crash = false;
        throw new TransientApiError("connection reset after the step was recorded");
      }
    };

    await expect(runPipeline(payloadFor(runId), api)).rejects.toBeInstanceOf(TransientApiError);
    expect(api.run(runId).status).toBe("running");

    const outcome = await runPipeline(payloadFor(runId), api);

    expect(api.executions.map((e) => e.position)).toEqual([1, 2, 3]);
    expect(outcome).toMatchObject({ status: "succeeded", resumed_positions: [1, 2], executed_positions: [3] });
    expect(api.executions[2]?.context).toEqual({
      full_name: "Ada Lovelace",
      company_domain: "example.com",
      email: "ada@example.com",
      email_status: "valid",
      mobile_phone: "+15550100",
    });
    expect(api.callsOf("finish")).toHaveLength(1);
  });

  it("executes a step again when the crash left it running with no result", async () => {
    const api = new FakeInternalApi(operations);
    const runId = threeStepRun(api);
    let crash = true;
    api.hooks.beforeOperation = (_id, position) => {
      if (position === 2 && crash) {
        crash = false;
        throw new TransientApiError("worker lost the API mid-step");
      }
    };

    await expect(runPipeline(payloadFor(runId), api)).rejects.toThrow("worker lost the API mid-step");
    expect(api.run(runId).steps.map((s) => s.status)).toEqual(["succeeded", "running", "queued"]);

    const outcome = await runPipeline(payloadFor(runId), api);

    expect(outcome).toMatchObject({ status: "succeeded", resumed_positions: [1], executed_positions: [2, 3] });
  });

  it("accepts the stored answer for a step that another delivery already finished", async () => {
    const api = new FakeInternalApi(operations);
    const runId = threeStepRun(api);
    // a second delivery races ahead and completes step 2 while this one is on step 1
    api.hooks.afterRecord = async (id, position) => {
      if (position === 1) {
        api.hooks.afterRecord = undefined;
        await api.executeStep(id, 2, api.run(id).steps[0]?.context_after ?? {});
      }
    };

    const outcome = await runPipeline(payloadFor(runId), api);

    expect(api.executions.map((e) => e.position)).toEqual([1, 2, 3]);
    expect(outcome.status).toBe("succeeded");
  });

  it("does nothing for a run that is already terminal at start", async () => {
    const api = new FakeInternalApi(operations);
    const runId = threeStepRun(api);
    api.cancel(runId);

    const outcome = await runPipeline(payloadFor(runId), api);

    expect(api.calls.map((c) => c.method)).toEqual(["start"]);
    expect(outcome).toMatchObject({ status: "canceled", already_terminal: true, executed_positions: [] });
  });

  it("finishes a run exactly once when it is delivered twice", async () => {
    const api = new FakeInternalApi(operations);
    const runId = threeStepRun(api);

    const first = await runPipeline(payloadFor(runId), api);
    const second = await runPipeline(payloadFor(runId), api);

    expect(first.status).toBe("succeeded");
    expect(second).toMatchObject({ status: "succeeded", already_terminal: true });
    expect(api.callsOf("finish")).toHaveLength(1);
    expect(api.executions).toHaveLength(3);
  });

  // that racing deliveries leave one entity version is the API's: tests/pipelines/test_step_semantics.py
  it("ends both of two racing deliveries of one run with the outcome the API reports", async () => {
    const slow: Operation = async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { status: "found", output: { email: "ada@example.com" } };
    };
    const api = new FakeInternalApi({ ...operations, "person.contact.resolve_email": slow });
    const runId = threeStepRun(api);

    const [a, b] = await Promise.all([runPipeline(payloadFor(runId), api), runPipeline(payloadFor(runId), api)]);

    expect([a.status, b.status]).toEqual(["succeeded", "succeeded"]);
    expect([a.entity_id, b.entity_id]).toContain(`entity-${runId}`);
  });

  it("reports a run that does not exist as a permanent error", async () => {
    const api = new FakeInternalApi(operations);

    await expect(runPipeline(payloadFor("30000000-0000-4000-8000-000000000009"), api)).rejects.toBeInstanceOf(
      PermanentPipelineError,
    );
  });

  it("stops between steps when the host aborts, leaving the rest for the retry", async () => {
    const api = new FakeInternalApi(operations);
    const runId = threeStepRun(api);
    const controller = new AbortController();
    api.hooks.afterRecord = (_id, position) => {
      if (position === 1) controller.abort(new Error("worker shutting down"));
    };

    await expect(runPipeline(payloadFor(runId), api, { signal: controller.signal })).rejects.toThrow(
      "worker shutting down",
    );
    expect(api.executions.map((e) => e.position)).toEqual([1]);
    expect(api.run(runId).status).toBe("running");
  });

  it("rejects a succeeded step that has no stored context as a broken contract", async () => {
    const api = new FakeInternalApi(operations);
    const runId = threeStepRun(api);
    const start = api.start.bind(api);
    api.start = async (id) => {
      const state = await start(id);
      state.steps[0] = { ...state.steps[0]!, status: "succeeded", context_after: null };
      return state;
    };

    await expect(runPipeline(payloadFor(runId), api)).rejects.toThrow(/no stored context_after/);
  });

  it("logs one event per executed step through the injected logger", async () => {
    const api = new FakeInternalApi(operations);
    const runId = threeStepRun(api);
    const events: string[] = [];
    let clock = 0;

    const outcome = await runPipeline(payloadFor(runId), api, {
      log: (event) => events.push(event),
      now: () => (clock += 10),
    });

    expect(events).toEqual(["step.succeeded", "step.succeeded", "step.succeeded", "run.finished"]);
    expect(outcome.duration_ms).toBeGreaterThan(0);
  });
});
