/**
 * The graphile-worker task `run-pipeline`. graphile-worker has no "fail now, do not retry"
 * (orchestration C4): a permanent error is recorded on the run through the API and the job
 * returns normally, so graphile deletes it. Transient errors are rethrown for graphile's
 * exponential backoff, except on the job's last attempt, where the failure is recorded too:
 * the API's run row, not graphile's job table, is the status users see.
 */
import type { JobHelpers, Task } from "graphile-worker";
import type { PipelineApi } from "../pipeline/apiClient.js";
import { describeError } from "../pipeline/errors.js";
import { recordFailure, runAndRecordFailure } from "../pipeline/host.js";
import { PIPELINE_TASK_ID } from "../pipeline/taskId.js";
import { pipelinePayloadSchema, type PipelinePayload } from "../pipeline/types.js";
import type { JsonLogger } from "./log.js";

// graphile-worker has no job timeout and unlocks jobs locked for 4 h: stay well below that
export const DEFAULT_RUN_TIMEOUT_MS = 60 * 60_000;

export interface RunPipelineTaskOptions {
  apiFor: (payload: PipelinePayload) => PipelineApi;
  log: JsonLogger;
  runTimeoutMs?: number;
  now?: () => number;
}

export function createRunPipelineTask(options: RunPipelineTaskOptions): Task {
  const { apiFor, log } = options;
  const runTimeoutMs = options.runTimeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;

  return async (rawPayload: unknown, helpers: JobHelpers) => {
    const job = { job_id: helpers.job.id, attempt: helpers.job.attempts, max_attempts: helpers.job.max_attempts };
    const parsed = pipelinePayloadSchema.safeParse(rawPayload);
    if (!parsed.success) {
      // retrying cannot repair a payload, and without its ids there is no run to fail
      log.error("run.invalid_payload", { ...job, issues: parsed.error.issues.map((i) => i.message) });
      return;
    }
    const payload = parsed.data;
    const api = apiFor(payload);
    const fields = { ...job, pipeline_run_id: payload.pipeline_run_id, org_id: payload.org_id };
    const signal = AbortSignal.any([helpers.abortSignal, AbortSignal.timeout(runTimeoutMs)]);

    log.info("run.start", fields);
    try {
      const result = await runAndRecordFailure(payload, api, {
        signal,
        ...(options.now ? { now: options.now } : {}),
        log: (event, eventFields) => log.debug(event, { ...eventFields, job_id: job.job_id }),
      });
      if (result.kind === "gave_up") {
        log.error("run.failure", { ...fields, permanent: true, error: describeError(result.error) });
        return;
      }
      const { outcome } = result;
      if (outcome.deferred_seconds !== null) {
        // a provider's long Retry-After: the run goes back to the queue for later instead of this
        // job sleeping on a worker slot. Same job key: this running job's key is released and the
        // new one takes it (orchestration C6), so the run still has exactly one pending job.
        const now = options.now ?? Date.now;
        await helpers.addJob(PIPELINE_TASK_ID, payload, {
          runAt: new Date(now() + outcome.deferred_seconds * 1000),
          jobKey: payload.pipeline_run_id,
          maxAttempts: job.max_attempts,
        });
        log.info("run.deferred", { ...fields, retry_after_seconds: outcome.deferred_seconds });
        return;
      }
      log.info("run.finish", {
        ...fields,
        status: outcome.status,
        executed_positions: outcome.executed_positions,
        resumed_positions: outcome.resumed_positions,
        failed_position: outcome.failed_position,
        error_message: outcome.error_message,
        entity_id: outcome.entity_id,
        already_terminal: outcome.already_terminal,
        duration_ms: outcome.duration_ms,
      });
    } catch (error) {
      if (job.attempt >= job.max_attempts) {
        await recordFailure(api, payload.pipeline_run_id, `retries exhausted: ${describeError(error)}`);
        log.error("run.failure", { ...fields, permanent: false, retries_exhausted: true, error: describeError(error) });
        return;
      }
      log.warn("run.failure", { ...fields, permanent: false, will_retry: true, error: describeError(error) });
      throw error;
    }
  };
}
