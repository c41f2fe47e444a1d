/**
 * The whole orchestration of one pipeline run, shared by both hosts (Trigger.dev and
 * graphile-worker). Its only effects are calls on `api`; the API owns every state transition.
 *
 * Resumable by construction: a host may call it again for the same run at any point (a retry
 * after a crash, a duplicated delivery). Steps the API reports `succeeded` are not executed
 * again and the context is rebuilt from the last one's stored `context_after`; a step answer for
 * a step that was already terminal is the stored result, taken as is.
 */
import type { PipelineApi } from "./apiClient.js";
import { PermanentPipelineError } from "./errors.js";
import {
  type FinishResult,
  isTerminalRun,
  type PipelineContext,
  type PipelinePayload,
  type RunStatus,
  type RunStep,
  type StepResult,
} from "./types.js";

export type PipelineLog = (event: string, fields: Record<string, unknown>) => void;

export interface PipelineDeps {
  /** Structured events (`step.succeeded`, …). Hosts adapt it; the pipeline never imports a logger. */
  log?: PipelineLog;
  /** Checked between steps and passed to every API call: host shutdown, cancel, max duration. */
  signal?: AbortSignal;
  now?: () => number;
}

export interface PipelineOutcome {
  pipeline_run_id: string;
  /** The run's status as last reported by the API. */
  status: RunStatus;
  /** Positions this call sent to steps/execute that came back succeeded or failed, in order. */
  executed_positions: number[];
  /** Positions found `succeeded` at start and therefore not executed again. */
  resumed_positions: number[];
  failed_position: number | null;
  error_message: string | null;
  entity_id: string | null;
  record_version: number | null;
  /** True when the run was already terminal at start, so nothing was done. */
  already_terminal: boolean;
  /**
   * Set when a step came back `queued` because a provider asked to wait this many seconds: the
   * host runs the run again after the wait (it resumes at that step) without holding a slot.
   */
  deferred_seconds: number | null;
  duration_ms: number;
}

export async function runPipeline(
  payload: PipelinePayload,
  api: PipelineApi,
  deps: PipelineDeps = {},
): Promise<PipelineOutcome> {
  const log = deps.log ?? (() => {});
  const now = deps.now ?? Date.now;
  const signal = deps.signal;
  const call = { signal };
  const startedAt = now();
  const runId = payload.pipeline_run_id;

  const executed: number[] = [];
  const resumed: number[] = [];
  const outcome = (status: RunStatus, extra: Partial<PipelineOutcome> = {}): PipelineOutcome => ({
    pipeline_run_id: runId,
    status,
    executed_positions: executed,
    resumed_positions: resumed,
    failed_position: null,
    error_message: null,
    entity_id: null,
    record_version: null,
    already_terminal: false,
    deferred_seconds: null,
    duration_ms: now() - startedAt,
    ...extra,
  });

  signal?.throwIfAborted();
  const run = await api.start(runId, call);
  if (isTerminalRun(run.status)) {
    log("run.already_terminal", { pipeline_run_id: runId, status: run.status });
    return outcome(run.status, { already_terminal: true });
  }

  // the API answers in position order; sorting again costs nothing and keeps the order a local fact
  const steps = [...run.steps].sort((a, b) => a.position - b.position);
  let context: PipelineContext = run.input;

  for (const step of steps) {
    if (step.status === "succeeded") {
      context = storedContext(step, runId);
      resumed.push(step.position);
      continue;
    }
    if (step.status === "skipped" && !isTerminalRun(run.status)) {
      // skipped by the API (a false condition, or fresh data): its stored context carries on
      if (step.context_after) context = step.context_after;
      resumed.push(step.position);
      continue;
    }

    signal?.throwIfAborted();
    const stepStartedAt = now();
    const result = await api.executeStep(runId, step.position, context, call);
    if (result.position !== step.position) {
      throw new PermanentPipelineError(
        `steps/execute answered for position ${result.position} when asked for ${step.position}`,
      );
    }
    const stepFields = {
      pipeline_run_id: runId,
      position: step.position,
      operation_id: step.operation_id,
      status: result.status,
      run_status: result.run_status,
      duration_ms: now() - stepStartedAt,
    };

    if (result.status === "failed") {
      // fail-fast: the API has already skipped the remaining steps and failed the run
      executed.push(step.position);
      log("step.failed", { ...stepFields, error_message: result.error_message ?? null });
      return outcome(isTerminalRun(result.run_status) ? result.run_status : "failed", {
        failed_position: step.position,
        error_message: result.error_message ?? null,
      });
    }

    if (result.status === "queued" && result.retry_after_seconds != null && !isTerminalRun(result.run_status)) {
      log("step.deferred", { ...stepFields, retry_after_seconds: result.retry_after_seconds });
      return outcome(result.run_status, { deferred_seconds: result.retry_after_seconds });
    }

    if (result.status === "succeeded") {
      executed.push(step.position);
      context = answeredContext(result, runId);
      log("step.succeeded", stepFields);
      if (result.finished) {
        // the API finished the run with its last step (the entity upserted): no finish call
        return finished(result.finished);
      }
    }

    if (result.status === "skipped" && !isTerminalRun(result.run_status)) {
      // the API decided not to run it (condition_not_met, fresh): no provider was called
      executed.push(step.position);
      if (result.context_after) context = result.context_after;
      log("step.skipped", { ...stepFields, skip_reason: result.skip_reason ?? null });
      continue;
    }

    if (isTerminalRun(result.run_status)) {
      // canceled (or failed, or finished by a concurrent delivery) while we were between steps
      log("run.stopped", { pipeline_run_id: runId, position: step.position, run_status: result.run_status });
      return outcome(result.run_status);
    }

    if (result.status !== "succeeded") {
      throw new PermanentPipelineError(
        `steps/execute left step ${step.position} "${result.status}" on a "${result.run_status}" run`,
      );
    }
  }

  signal?.throwIfAborted();
  return finished(await api.finish(runId, context, call));

  function finished(result: FinishResult): PipelineOutcome {
    log("run.finished", { pipeline_run_id: runId, status: result.status, entity_id: result.entity_id ?? null });
    return outcome(result.status, {
      entity_id: result.entity_id ?? null,
      record_version: result.record_version ?? null,
      // a failed entity upsert fails the run (CONTRACT §7); the API keeps the reason on the run
      ...(result.status === "failed" ? { error_message: "finish failed the run" } : {}),
    });
  }
}

function storedContext(step: RunStep, runId: string): PipelineContext {
  if (!step.context_after) {
    throw new PermanentPipelineError(
      `run ${runId}: step ${step.position} is succeeded but has no stored context_after`,
    );
  }
  return step.context_after;
}

function answeredContext(result: StepResult, runId: string): PipelineContext {
  if (!result.context_after) {
    throw new PermanentPipelineError(
      `run ${runId}: steps/execute reported step ${result.position} succeeded without context_after`,
    );
  }
  return result.context_after;
}
